"""Practice cards: the concrete measures a named place took, read off one passage.

A card needs a name and a place. Names come from quoted terms that read as a measure
(“三长制”, “乡呼县应、上下联动”, “1+1+N”) and from bodies a place set up (成立了翁墩自管会,
引进逢源人家服务中心). The place is the division named nearest before the name in the
same or an earlier sentence, else the passage's own region. Passages of local
regulations give "rule" cards instead: the articles the caller found distinctive.
Everything here is pure text work; ``kb.practices.build`` decides what to run it on.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from kb import regions
from kb.types import Document, Passage, PracticeCard, Region

_SENT = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』“\n]{2,20})[”\"」』]")
# A body a place set up: the verb, then a name ending in what such bodies are called.
_BODY = re.compile(
    r"(?:成立|建立|设立|组建|引进|创建|打造|建成|搭建|创设|组织成立)了?(?:一个|一支|了)?"
    r"([\u4e00-\u9fff]{2,10}?(?:服务中心|中心|自管会|委员会|工作室|服务站|驿站|联盟|议事会|理事会|工作法|调解室|服务社|协会|工作站))"
)
_ITEM_START = re.compile(
    r"(?:^|[。；\n])\s*(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十\d]+[、.．]|[一二三四五六七八九十]是)\s*$"
)
_NAME_SUFFIX = re.compile(
    r"(制|委|模式|机制|制度|工作法|工程|中心|平台|联动|行动|体系|服务|管理|治理|自治|会|站|室|队|网|岗|团|家|点|单)$"
)
_AFTER_MARK = (
    "模式",
    "机制",
    "制度",
    "工作法",
    "治理模式",
    "平台",
    "工程",
    "做法",
    "品牌",
    "服务",
    "体系",
    "工作",
    "改革",
    "经验",
    "行动",
    "建设",
    "格局",
    "活动",
)
_BEFORE_VERB = re.compile(
    r"(实施|推行|建立|探索|创新|推出|开展|打造|构建|实行|以|通过|形成|创建|推广|试行|健全|落实|坚持|完善|发挥好|组建|按照|叫做|称为)[^，。；]{0,4}$"
)
_NUMERIC = re.compile(r"[0-9０-９一二三四五六七八九十两]+[+＋个大长员联心化级]|\+|[A-Za-z]|^[一二三四五六七八九十]+$")
_PROBLEM = re.compile(r"不足|问题|困境|难题|弱化|现象|短板|矛盾突出|影响|理念")
_SPEECH = re.compile(r"(说|道|表示|认为|称)[:：]?$")
_FIGURE = re.compile(
    r"\d+(?:\.\d+)?(?:万|亿)?(?:余|多)?(?:个|名|户|人|支|家|项|件|万元|亿元|元|%|％|平方米|次|所|处|座|条|批|位|余人)"
    r"(?:[\u4e00-\u9fff]{0,4}?(?=[，。、；,;）)\s]|和|的|$))?"
)
_YEAR = re.compile(r"((?:19|20)\d{2})年")
_LOCALITY = re.compile(r"(?:^|[，,。；：、\s（(“]|[区县市])([\u4e00-\u9fff]{2,3}?(?:街道|镇|乡|社区|村))")
_LOCALITY_STOP = set("在对的了将和各全本该等个是由从向与及或把被为其中农城共担务以提高出创新区县市省内外依据设立下至")
_GENERIC_STARTS = ("为了", "本条例", "本办法", "本规定", "本细则", "本实施办法", "违反本")
# Provisions that only point elsewhere (参照本条例执行, 从其约定): nothing a place could compare.
_REFERRAL = re.compile(r"(参照本(条例|办法|规定)执行|从其(约定|规定))。?$")
_SUBJECT_HINTS = ("探索", "实施", "推行", "创新", "建立", "成立", "试点", "打造", "推出", "开展", "构建")

MIN_SCORE = 2.0  # evidence a quoted term needs to count as the name of a measure
BODY_SCORE = 2.8  # a body set up by a place (成立了…中心) is good evidence by itself
CARD_MIN = 2.6  # a card's final score (name + context) below this is dropped
_LEAD_VERB = re.compile(r"^(?:建立|设立|健全|成立|组建|新建|完善)+")
_BAD_BODY = re.compile(r"^[的各该其本]|[的和与及]")


@dataclass(frozen=True)
class Candidate:
    """A name found in a passage, where, and how strongly it reads as a measure."""

    name: str
    start: int
    score: float
    quoted: bool


def sentences(text: str) -> list[tuple[int, str]]:
    """(start offset, sentence) pairs, punctuation kept."""
    return [(m.start(), m.group()) for m in _SENT.finditer(text) if m.group().strip()]


def name_score(text: str, start: int, end: int, name: str) -> float:
    """How strongly the quoted ``name`` at text[start:end] reads as the name of a measure."""
    before, after = text[max(0, start - 12) : start], text[end : end + 6]
    score = 0.0
    if _NAME_SUFFIX.search(name):
        score += 1.5
    if after.startswith(_AFTER_MARK):
        score += 1.5
    if _BEFORE_VERB.search(before):
        score += 1.0
    if _ITEM_START.search(text[max(0, start - 8) : start]) or (start <= 4 and _ITEM_START.search(text[:start])):
        score += 2.0  # （一）“大党委”…: a numbered item named after the measure
    if _NUMERIC.search(name):
        score += 1.0
    if "、" in name or "，" in name:
        score += 0.5 if len(name) >= 7 else 0.0
    if _PROBLEM.search(text[end : end + 12]) or before.endswith("受"):
        score -= 1.5
    if _SPEECH.search(before) or len(name) > 16:
        score -= 2.0
    if "的" in name or name.endswith(("难", "差", "少", "弱", "慢", "了", "吗", "？")):
        score -= 1.5
    if 2 <= len(name) <= 3 and not _NAME_SUFFIX.search(name) and not _NUMERIC.search(name):
        score -= 1.0
    return score


def candidates(text: str) -> list[Candidate]:
    """Measure names in ``text``, best evidence first, one per name."""
    found: dict[str, Candidate] = {}
    for m in _QUOTED.finditer(text):
        name = m.group(1).strip()
        score = name_score(text, m.start(), m.end(), name)
        if score >= MIN_SCORE and (name not in found or found[name].score < score):
            found[name] = Candidate(name, m.start(), score, True)
    for m in _BODY.finditer(text):
        name = m.group(1)
        name = _LEAD_VERB.sub("", name.lstrip("了一个支所"))
        if len(name) >= 4 and not _BAD_BODY.search(name) and name not in found and not any(name in n for n in found):
            found[name] = Candidate(name, m.start(1), BODY_SCORE, False)
    return sorted(found.values(), key=lambda c: (-c.score, c.start))


def figures(text: str) -> tuple[str, ...]:
    """Counts with units as written (942个网格, 181名调解员, 3.2万户), in order, without repeats."""
    return tuple(dict.fromkeys(m.group().rstrip("和的") for m in _FIGURE.finditer(text)))


def year_of(text: str, document: Document) -> int | None:
    """A year stated in ``text`` (the earliest plausible one), else the document date's year."""
    years = [int(y) for y in _YEAR.findall(text) if 1978 <= int(y) <= 2100]
    if years:
        return min(years)
    return int(document.date[:4]) if document.date and document.date[:4].isdigit() else None


def locality(text: str) -> str | None:
    """A township, street, village or community named in ``text`` (徐碧街道), if any."""
    for m in _LOCALITY.finditer(text):
        name = m.group(1)
        stem = name[: -2 if name.endswith(("街道", "社区")) else -1]
        if len(stem) >= 2 and not set(stem) & _LOCALITY_STOP:
            return name
    return None


def _context(passage: Passage, document: Document) -> tuple[Region, ...]:
    names = passage.regions or document.regions
    return tuple(r for n in names if (r := regions.resolve(n)))


def _subject(sentence: str, found: Sequence[Region]) -> Region:
    """The first region of a sentence, or the city/province written apart before it (舟山在普陀区… → 舟山市)."""
    first = found[0]
    at = sentence.find(first.short) if first.short in sentence else len(sentence)
    ancs = regions.ancestors(first)
    stems = [a.short[:-1] if len(a.short) > 2 and a.short.endswith(("省", "市")) else a.short for a in ancs]
    for anc, stem in zip(ancs, stems, strict=True):
        i = sentence.find(stem)
        if i < 0 or i >= at:
            continue
        gap = sentence[i + len(stem) : at]
        for other in (*[a.short for a in ancs], *stems):
            gap = gap.replace(other, "")
        if gap.strip("省市"):  # written before and apart (舟山在普陀区…), not a chain (山东省东营市广饶县)
            return anc
    return first


def card_region(passage: Passage, document: Document, sents: Sequence[tuple[int, str]], at: int) -> Region | None:
    """The place a measure named at offset ``at`` belongs to.

    The first division named in the name's sentence (the subject usually leads), else in
    the nearest earlier sentence of the passage that names one, else the passage's region.
    """
    context = _context(passage, document)
    idx = max((i for i, (s, _) in enumerate(sents) if s <= at), default=0)
    for i in range(idx, -1, -1):
        found = regions.find_regions(sents[i][1], context=context)
        if found:
            return _subject(sents[i][1], found)
    return context[0] if context else None


def summary(sents: Sequence[tuple[int, str]], at: int) -> tuple[str, ...]:
    """The sentence holding offset ``at``, and the next one when the first is short."""
    idx = max((i for i, (s, _) in enumerate(sents) if s <= at), default=0)
    first = sents[idx][1].strip()
    if len(first) < 60 and idx + 1 < len(sents):
        return (first, sents[idx + 1][1].strip())
    return (first,)


def card_id(doc_id: str, name: str) -> str:
    """Stable id of a document's card of that name (网格化管理,组团式服务 = 网格化管理、组团式服务)."""
    key = re.sub(r"[,，、;；\s]+", "、", unicodedata.normalize("NFKC", name))
    return hashlib.sha1(f"{doc_id}\x00{key}".encode()).hexdigest()[:16]


def practice_cards(passage: Passage, document: Document) -> list[PracticeCard]:
    """The practice cards of a report, article or survey passage (themes are added later).

    Names are looked for in the text and in the nearest heading (（一）全面实施“三大工程”);
    a heading's name is summarised by the passage's first sentences.
    """
    text = passage.text
    sents = sentences(text)
    if not sents:
        return []
    heading = passage.heading_path[-1] if len(passage.heading_path) > 1 else ""
    found = [(c, c.start) for c in candidates(text)]
    named = {c.name for c, _ in found}
    found += [(c, max(text.find(c.name), 0)) for c in candidates(heading) if c.name not in named]
    out: list[PracticeCard] = []
    for cand, at in found:
        region = card_region(passage, document, sents, at)
        if region is None:
            continue
        lines = summary(sents, at)
        joined = "".join(lines)
        figs = figures(joined)
        score = cand.score + 0.5 * cand.quoted + 0.2 * min(len(figs), 3)
        score += 0.5 * any(h in joined for h in _SUBJECT_HINTS)
        if score < CARD_MIN:
            continue
        out.append(
            PracticeCard(
                card_id=card_id(document.doc_id, cand.name),
                passage_id=passage.passage_id,
                doc_id=document.doc_id,
                region=region.name,
                region_code=region.code,
                level=region.level,
                name=cand.name,
                kind="practice",
                summary=lines,
                figures=figs,
                year=year_of(joined, document),
                score=round(score, 3),
                locality=locality(joined[: joined.find(cand.name) + 1] if cand.name in joined else joined),
                doc_title=document.title,
            )
        )
    return out


def rule_card(passage: Passage, document: Document) -> PracticeCard | None:
    """A local regulation article as a "rule" card; None for general provisions or no region."""
    text = passage.text.strip()
    body = re.sub(r"^第[一二三四五六七八九十百零〇\d]+条\s*", "", text)
    context = _context(passage, document)
    generic = body.startswith(_GENERIC_STARTS) or "施行" in body[-12:] or _REFERRAL.search(body)
    if not context or len(body) < 30 or generic:
        return None
    region = context[0]
    sents = sentences(body)
    quoted = [c for c in candidates(body) if c.quoted]
    name = quoted[0].name if quoted else re.split(r"[，。；：,;:]", body, maxsplit=1)[0][:20]
    first = sents[0][1].strip() if sents else body
    return PracticeCard(
        card_id=card_id(document.doc_id, f"{passage.article or passage.seq}"),
        passage_id=passage.passage_id,
        doc_id=document.doc_id,
        region=region.name,
        region_code=region.code,
        level=region.level,
        name=name,
        kind="rule",
        summary=(first,),
        figures=figures(body),
        year=year_of("", document),
        score=1.0,
        doc_title=document.title,
    )


def dedupe(cards: Sequence[PracticeCard]) -> list[PracticeCard]:
    """One card per (document, name): the strongest."""
    best: dict[str, PracticeCard] = {}
    for c in cards:
        if c.card_id not in best or best[c.card_id].score < c.score:
            best[c.card_id] = c
    return sorted(best.values(), key=lambda c: -c.score)
