"""What a question points at beyond its words: named documents, verbatim phrases, many places.

Pure functions over the question and over (doc_id, title) pairs or passage texts, used by
retrieve.search: a question that names a document (《人民调解法》, 物业管理条例,
滨州市网格化条例) is answered from that document first; a quoted or long verbatim phrase
(“乡呼县应、上下联动”) ranks the passages holding it first; a question about several
places (各地…有哪些做法) asks for a ranking spread over documents and regions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from kb import regions

# 比较 before a quality is "rather" (账目往来比较多), not "compare"; 外地 before a person is where
# someone comes from or goes to (外地居民, 去外地打工), not a request for other places' practice
_DEGREE = r"多|少|大|小|高|低|好|差|难|易|快|慢|长|短|重|轻|强|弱|突出|普遍|复杂|常见|集中|严重|明显|薄弱|困难|紧张|落后|麻烦|乱|有效|成熟|完善"
_MANY = re.compile(
    r"各地|各省|各市|各区县|各县|各城市|全国各地|多地|哪些地方|哪些地区|哪些省|哪些市|哪些城市|哪些县|"
    r"其他地区|其他地方|其他省|其他城市|外地(?=是|有|都|怎么|如何|的(?:做法|经验))|别的地方|别的地区|"
    r"不同地区|不同地方|不同城市|不同省|"
    r"几个(?:省市|省份?|城市|市|地方|地区|县区?|区县)|几地|多个(?:省份?|城市|地方|地区)|"
    r"比较(?!" + _DEGREE + r")|对比|异同|有何不同|有什么不同|有什么区别|有何区别|差异|不一样"
)
# "how was it done" asks about many places only when the question names no single place
_HOW = re.compile(r"经验做法|典型做法|典型经验|先进经验|怎么做的|如何做的|是怎样做的|做法有哪些|有哪些做法")


_FRAMING = re.compile(
    r"(?:比较|对比)一下|(?:有没有|有什么|有哪些)?(?:可以)?(?:参考|借鉴)的?(?:做法|经验)?|"
    r"(?:都|还)?有(?:什么|哪些)(?:好的|具体的|成型的)?(?:做法|经验|例子|案例)"
)
# ... and what it asks of them when that ends the clause: 不同地方的配法, 各地的规定
_OF_MANY = re.compile(r"(?:" + _MANY.pattern + r")(?:的[^\s，,。？?！!；;]{1,3}(?=[\s，,。？?！!；;]|$))?")


def without_framing(question: str) -> str:
    """The question minus the words that ask about many places (各地…有哪些做法, 比较一下不同地方的).

    They say how to answer, not what about: weighing a sentence by them would favour
    sentences that happen to say 各地 or 比较 over the ones on the question's topic.
    """
    text = _OF_MANY.sub(" ", _HOW.sub(" ", _FRAMING.sub(" ", question)))
    return text if text.strip(" ，,。？?！!") else question


_CLAUSE_END = re.compile(r"(?<=[，,？?；;！!。])")
_ASKS = re.compile(
    r"多少|几(?![十百千万])|怎么|怎样|如何|什么|哪|吗|是否|多久|多长|谁|有无|能否|可否|要不要|需不需要|呢"
)
# what is left of "可以用来干什么" without these says nothing by itself: such a part joins the one before
_BARE = re.compile(
    _ASKS.pattern + r"|可以|能够|能|可|用来|用于|干|做|办|要|需要|应该|应当|会|还|又|那|这|的|了|是|有|呢|吗"
)
MAX_PARTS = 4


def question_parts(question: str) -> tuple[str, ...]:
    """The sub-questions of a question that asks several things at once; () when it asks one.

    "判决生效后多久报到？想去外地打工要谁同意？电子定位最长戴多久？" wants three facts,
    usually from three articles: searched and scored as one, the first part's words drown
    the others'. A part runs up to a clause that asks something (多久, 谁, 怎么…); clauses
    before it are its context (村里账目比较多，多久公开一次？ is one part).
    """
    parts: list[str] = []
    pending = ""
    for clause in _CLAUSE_END.split(question):
        pending += clause
        if not _ASKS.search(clause) or len(_meaningful(pending)) < 4:
            continue
        if parts and len(_meaningful(_BARE.sub("", pending))) < 3:
            parts[-1] += pending.strip()
        else:
            parts.append(pending.strip())
        pending = ""
    if parts and _meaningful(pending):
        parts[-1] += pending.strip()
    return tuple(parts[:MAX_PARTS]) if len(parts) >= 2 else ()


def is_cross_region_question(question: str) -> bool:
    """Whether a question asks about practices across places (各地, 哪些地方, 比较, 经验做法…).

    Also true when it names two or more unrelated regions (宁波和深圳的规定有何不同); a
    question about how one named place did something (梅列区的微治理是怎么做的) is not.
    Such questions want a ranking spread over documents and regions (``diverse=True``).
    """
    text = _norm(question)
    if _MANY.search(text):
        return True
    places = {r.code[:4] for r in regions.find_regions(text)}
    return len(places) >= 2 or (not places and _HOW.search(text) is not None)


# ---------------------------------------------------------------- named documents

_DOC_TYPES = ("实施办法", "条例", "办法", "规定", "细则", "决定", "决议", "规则", "法")
_TITLE_PREFIX = re.compile(r"^中华人民共和国")
_BOOK = re.compile(r"《([^《》]{2,60})》")
_QUOTE = re.compile(r"[“\"「『]([^“”\"「」『』]{2,40})[”\"」』]")


@dataclass(frozen=True)
class NamedDocs:
    """Documents a question names: those found, and names that matched no document."""

    doc_ids: tuple[str, ...]
    titles: tuple[str, ...]
    unmatched: tuple[str, ...]


def core_title(title: str) -> str:
    """A title without 中华人民共和国, a version in brackets and spaces: how people cite it."""
    t = _norm(title)
    t = re.sub(r"[(（]\d{4}.*?[)）]$", "", t)
    return _TITLE_PREFIX.sub("", t).replace("《", "").replace("》", "")


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


@functools.lru_cache(maxsize=8)
def _title_index(titles: tuple[tuple[str, str], ...]) -> tuple[tuple[tuple[str, str], ...], str]:
    """(doc_id, core title) pairs and all cores joined, for one index's titles (cached)."""
    cores = tuple((d, core_title(t)) for d, t in titles)
    return cores, "\n".join(c for _, c in cores)


def _match(name: str, titles: tuple[tuple[str, str], ...], several: bool = False) -> list[str]:
    """Doc ids whose title the name denotes: the same title, else one containing it, else its
    characters in order with the same first character and document type (滨州市网格化条例)."""
    name = core_title(name)
    if len(name) < 3:
        return []
    cores, joined = _title_index(titles)
    if name not in joined and len(name) < 5:
        return []
    if name in joined:
        exact = [d for d, c in cores if c == name]
        return exact if exact and not several else [d for d, c in cores if _contains_whole(c, name)]
    kind = next((k for k in _DOC_TYPES if name.endswith(k)), None)
    if kind is None:
        return []
    return [d for d, c in cores if c.endswith(kind) and c[:1] == name[0] and _is_subsequence(name, c)]


def _contains_whole(title: str, name: str) -> bool:
    """Whether ``title`` holds ``name`` other than as the tail of a place name in it
    (市信访条例, cut from 几个省市信访条例, is not a name of 上海市信访条例)."""
    at = title.find(name)
    while at >= 0:
        if at == 0 or regions.resolve(title[: at + 1]) is None:
            return True
        at = title.find(name, at + 1)
    return False


def _candidates(question: str) -> list[tuple[str, bool]]:
    """(name, explicit) for every document name the question may contain.

    Explicit names are 《…》 titles and unquoted names that start with a place (滨州市…条例);
    other unquoted ones end in a document type (人民调解法, 物业管理条例) and are tried
    longest first, from each possible start.
    """
    text = _norm(question)
    out = [(m.group(1), True) for m in _BOOK.finditer(text)]
    bare = _BOOK.sub("，", text)
    for kind in _DOC_TYPES:
        for m in re.finditer(kind, bare):
            end = m.end()
            after = bare[end : end + 2]
            if kind == "法" and (after[:1] in "律院官人庭治定" or (after[:1] == "规" and after != "规定")):
                continue  # 法律, 法院, 法定, 法规 are no titles; 人民调解法规定 is one
            start = end
            while start > 0 and "\u4e00" <= bare[start - 1] <= "\u9fff" and end - start < 24:
                start -= 1
            run = bare[start:end]
            for s in range(0, len(run) - len(kind) - 1):
                name = run[s:]
                placed = s == 0 and bool(regions.find_regions(name[:6], subjects_only=False))
                out.append((name, placed))
    return out


_LEADS = re.compile(r"^(?:按照|根据|依照|依据|关于|请问|我想问|想问|问|在|按|依|对于|对|看|查|是|的|了)+")


def named_documents(question: str, titles: tuple[tuple[str, str], ...], several: bool = False) -> NamedDocs:
    """The documents (doc_id, title pairs) a question names, and explicit names that match none.

    ``several``: the question is about several places, so a kind of document (信访条例)
    names every place's one (北京市信访条例, 浙江省信访条例…), not only the same title.
    """
    found: list[str] = []
    names: list[str] = []
    unmatched: list[str] = []
    seen: set[str] = set()
    for name, explicit in _candidates(question):
        name = _LEADS.sub("", name)
        if name in seen or len(name) < 3:
            continue
        seen.add(name)
        ids = _match(name, titles, several)
        if ids:
            if not any(name in n for n in names):  # 人民调解法 once, not 调解法 again
                names.append(name)
                found += [d for d in ids if d not in found]
        elif explicit and not any(name in n or n in name for n in names):
            unmatched.append(name)
    titles_of = dict(titles)
    unmatched = [u for u in unmatched if not any(u in n for n in names)]
    return NamedDocs(tuple(found), tuple(dict.fromkeys(titles_of[d] for d in found)), tuple(dict.fromkeys(unmatched)))


# ---------------------------------------------------------------- verbatim phrases

# ... and this share of the question: a question that is mostly a name (乡呼县应、上下联动机制)
# names it; a long question sharing a legal phrase (签订无固定期限劳动合同) merely paraphrases.
PHRASE_SHARE = 0.6
PHRASE_MIN = 7  # characters (letters, digits, Han) a verbatim overlap needs to count as naming a phrase


# A question that is only a term plus a question word names that term when few candidates hold it
NAME_MIN, NAME_MAX, NAME_RARE = 3, 12, 3
_FILLER = re.compile(
    r"^(?:请问|请介绍一下|介绍一下|什么是|啥是)|"
    r"(?:的)?(?:是什么意思|是指什么|指的是什么|是什么|是啥|怎么做的?|怎么搞|怎么样|怎样做|如何做|"
    r"有哪些做法|有什么做法|的做法|做法|经验|吗|呢)?[?？。！!\s]*$"
)


def quoted_terms(question: str) -> list[str]:
    """Terms the question quotes: “…”, "…", 「…」 and 《…》."""
    text = _norm(question)
    return [t for rx in (_QUOTE, _BOOK) for t in rx.findall(text) if len(t.strip()) >= 2]


def longest_overlap(question: str, text: str) -> str:
    """The longest stretch of the question that occurs verbatim in ``text`` (whitespace ignored)."""
    q, t = _squash(question), _squash(text)
    best = ""
    for i in range(len(q)):
        j = i + len(best) + 1
        while j <= len(q) and q[i:j] in t:
            best = q[i:j]
            j += 1
    return best


def phrase_hits(question: str, texts: Iterable[tuple[int, str]]) -> set[int]:
    """Ids of the texts holding a quoted term, the bare name the question is, or its longest verbatim phrase.

    A bare name (the question minus its question words, 3–12 characters) counts when at
    most NAME_RARE texts hold it: a rare term is a name, a common one (网格化管理) is not.
    Otherwise only the longest overlap found among the texts counts, and only from PHRASE_MIN
    characters and PHRASE_SHARE of the question on, so a shared common word (人民法院) or a
    legal phrase inside a long question never reorders anything.
    """
    texts = list(texts)
    quoted = [_squash(t) for t in quoted_terms(question)]
    held = {vid for vid, text in texts if any(q and q in _squash(text) for q in quoted)}
    if held:
        return held
    core = _meaningful(_FILLER.sub("", _norm(question)))
    if NAME_MIN <= len(core) <= NAME_MAX:  # the question is a bare name (三长制 / 三长制是什么)
        named = {vid for vid, text in texts if core in _meaningful(_norm(text))}
        if 0 < len(named) <= NAME_RARE:
            return named
    overlaps = {vid: longest_overlap(question, text) for vid, text in texts}
    best = max((len(_meaningful(o)) for o in overlaps.values()), default=0)
    if best < PHRASE_MIN or best < PHRASE_SHARE * len(_meaningful(_norm(question))):
        return set()
    return {vid for vid, o in overlaps.items() if len(_meaningful(o)) == best}


def _meaningful(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", _norm(text))


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)
