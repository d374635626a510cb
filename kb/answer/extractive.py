"""The extractive answer: the few sentences of the best passages that answer the question.

Every sentence is a verbatim span of the passage it cites (``sentences.split``), so the
answer can never say more than its sources. Sentences are scored against the question by
meaning (e5 vectors of the sentences, computed on demand) and by the question's weighted
words and character pairs, lifted by how well their passage ranked; a maximal-marginal-
relevance pass keeps near-repeats out. Within one source the document's own order is kept.

Questions about practices across places get one short paragraph per region instead, led
by the region's name, so four places are not crowded out by four sentences of one of them.
Such a question is generic (各地…怎么做), so its words cannot tell a place's concrete measure
from a sentence restating the topic; a sentence stating a figure is lifted there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from kb import regions
from kb.answer.sentences import Sentence, split
from kb.types import AnswerSentence, Hit

NATIONAL = "国家层面"
UNPLACED = "未注明地区"

Embed = Callable[[Sequence[str]], np.ndarray]

# weights of the sentence score's parts (z-scored over the candidates of one question), fitted
# by benchmarks/sentence_weights.py on 83 questions of other sets (top-1 0.434 → 0.470 under
# cross-validation): once meaning and the passage's rank are known, repeating the question's
# words says little about a sentence
W_DENSE, W_WORDS, W_PAIRS, W_PASSAGE = 1.0, 0.1, 0.06, 1.8
MMR_LAMBDA = 0.7  # penalty × the candidate's character-pair overlap with an already chosen sentence
MAX_SENTENCE_CHARS = 240  # longer spans (tables, run-ons, long lists) are not answer material
# nor is a note on where a text comes from: (本文刊载于…四川日报。 / (根据…访谈资料整理,也可参见…
_SOURCE_NOTE = re.compile(
    r"^\s*(?:[（(]\s*根据[^。（()）]{0,60}?(?:整理|改编|编写)(?!出)"
    r"|[（(]?\s*(?:(?:本文|此文|原文)?(?:刊载于|原载于|原载|刊发于|发表于|刊于|转自|转载自)|(?:资料|数据|信息)?来源\s*[:：]))"
)
DROP = 1.4  # stop adding sentences scoring this far below the best one (1.2–3.0 swept on 103 questions)
SHORTLIST = 16  # sentences embedded per question (the cheap scores choose them)
# A sentence is embedded by its opening: it carries the topic, and cost grows with length
# (80 characters: same fact recall as whole sentences on the answer benchmark, p95 646 → 319 ms)
EMBED_CHARS = 80
EMBED_CHARS_ACROSS = 48  # questions about several places embed up to 24 sentences: the p95 of `ask`
# the same, 3 per region for 8 regions (a county may join its city's paragraph: 7 shown)
PER_GROUP_SHORTLIST, MAX_GROUPS = 3, 8
W_FIGURE = 1.0  # questions about several places: a sentence stating a figure (十五日内, 100至150户, 7大类)
_FIGURE = re.compile(
    r"\d|[一二两三四五六七八九十百千万]+(?:个|名|项|类|级|人|户|日|天|年|月|次|所|支|批|家|万|亿|%|％|分之)"
)


# a question asking 多久 / 多少 wants a sentence stating a time / a quantity: such a sentence is lifted
W_ASKED = 0.5
_ASKS_TIME = re.compile(r"多久|多长时间|多长期限|多少天|几天|几个月|多少日|什么时候|何时|时限|期限|最迟|最晚|多长时限")
_ASKS_NUMBER = re.compile(r"多少(?!时间)|几(?![十百千万])|多大比例|什么比例|多高")
_TIME = re.compile(
    r"[\d一二三四五六七八九十百两]+\s*(?:个)?(?:工作日|日|天|月|年|小时)|每(?:月|季度|半年|年|周)|日内|之日起|日以前|日前"
)


@dataclass(frozen=True)
class Limits:
    """How much answer to give (from Settings: answer_max_chars, answer_max_sentences, answer_per_region)."""

    max_chars: int = 300
    max_sentences: int = 6
    per_region: int = 2
    max_regions: int = 7
    region_max_chars: int = 600  # the budget of an answer grouped by region
    min_sentences: int = 2  # taken (budget permitting) even when they score below the cut


@dataclass(frozen=True)
class Part:
    """One sub-question of a question asking several things (``focus.question_parts``)."""

    text: str
    vec: np.ndarray
    terms: dict[str, float]
    pairs: dict[str, float]
    hits: tuple[int, ...]  # indices into the hits of the passages its own search found, best first


@dataclass(frozen=True)
class Candidate:
    """A sentence of one hit, with its score against the question."""

    hit: int  # index into the hits
    sentence: Sentence
    score: float
    pairs: frozenset[str]
    dense: float = 0.0  # cosine with the question
    words: float = 0.0  # weighted share of the question's words it contains
    covers: tuple[float, ...] = ()  # its score against each sub-question (``Part``)


@dataclass(frozen=True)
class Chosen:
    """A selected sentence and the region group it leads or belongs to."""

    hit: int
    sentence: Sentence
    group: str | None = None


def region_group(hit: Hit) -> str:
    """The region a hit's paragraph goes under: its most specific region; 国家层面 for national law."""
    p = hit.passage
    names = p.own_regions or p.regions
    if names:
        return max(names, key=lambda n: (_level(n), -names.index(n)))
    if hit.document.doc_type == "regulation":
        return NATIONAL
    return UNPLACED


def _level(name: str) -> int:
    found = regions.resolve(name)
    return found.level if found else 0


# ---------------------------------------------------------------- scoring


def candidates(
    question_vec: np.ndarray,
    hits: Sequence[Hit],
    terms: dict[str, float],
    pairs: dict[str, float],
    embed: Embed,
    across: bool = False,
    shortlist: int = SHORTLIST,
    parts: Sequence[Part] = (),
    question: str = "",
) -> list[Candidate]:
    """The most promising sentences of ``hits`` with their combined score, best first.

    ``terms`` and ``pairs`` weigh the question's words and character pairs (IDF); a
    sentence's lexical scores are the weighted share of them it contains. Embedding every
    sentence of 30 passages would cost seconds, so only a shortlist chosen by the cheap
    scores (per region when ``across``, in turns per sub-question with ``parts``) is
    embedded and scored by meaning too.
    """
    spans = [(i, s) for i, h in enumerate(hits) for s in split(h.passage.text) if is_answer_material(s.text)]
    if not spans:
        return []
    texts = [s.text for _, s in spans]
    hit_of = np.array([i for i, _ in spans])
    words, grams = _lexical(texts, terms, pairs)
    prior = _passage_prior(hits)[hit_of]
    bonus = W_ASKED * _states_asked(question, texts) + (W_FIGURE * _states_figure(texts) if across else 0.0)
    cheap = _cheap(words, grams, prior) + bonus
    part_cheap = [
        _cheap(*_lexical(texts, p.terms, p.pairs), _part_prior(p, len(hits))[hit_of])
        + W_ASKED * _states_asked(p.text, texts)
        for p in parts
    ]
    if across:
        keep = _shortlist(cheap, list(hit_of), [region_group(hits[i]) for i in hit_of], shortlist)
    else:
        keep = _in_turns([cheap, *part_cheap], shortlist)
    spans, words, grams, prior, bonus = [spans[j] for j in keep], words[keep], grams[keep], prior[keep], bonus[keep]
    chars = EMBED_CHARS_ACROSS if across else EMBED_CHARS
    vecs = embed([s.text[:chars] for _, s in spans])
    dense = vecs @ np.asarray(question_vec, dtype=np.float32).reshape(-1)
    score = W_DENSE * _z(dense) + _cheap(words, grams, prior) + bonus  # lexical parts z-scored over the shortlist
    covers = np.zeros((len(spans), 0))
    if parts:
        part_dense = vecs @ np.stack([np.asarray(p.vec, dtype=np.float32).reshape(-1) for p in parts]).T
        covers = np.stack([W_DENSE * _z(part_dense[:, i]) + c[keep] for i, c in enumerate(part_cheap)], axis=1)
    out = [
        Candidate(i, s, float(x), frozenset(_pairs(s.text)), float(d), float(w), tuple(map(float, cov)))
        for (i, s), x, d, w, cov in zip(spans, score, dense, words, covers, strict=True)
    ]
    return sorted(out, key=lambda c: -c.score)


def is_answer_material(text: str) -> bool:
    """Whether a sentence may be quoted as an answer: not a run-on table or list, not a source note."""
    return len(text) <= MAX_SENTENCE_CHARS and not _SOURCE_NOTE.match(text)


def _lexical(texts: Sequence[str], terms: dict[str, float], pairs: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([_coverage(t, terms) for t in texts]), np.array([_coverage(t, pairs) for t in texts])


def _cheap(words: np.ndarray, grams: np.ndarray, prior: np.ndarray) -> np.ndarray:
    return W_WORDS * _z(words) + W_PAIRS * _z(grams) + W_PASSAGE * prior


def _part_prior(part: Part, n: int) -> np.ndarray:
    """0…1 by the rank of a passage in the sub-question's own search; 0 for passages it did not find."""
    out = np.zeros(n)
    for rank, i in enumerate(part.hits):
        out[i] = max(out[i], 1.0 - rank / max(len(part.hits), 1))
    return out


def _in_turns(scores: Sequence[np.ndarray], n: int) -> list[int]:
    """Up to ``n`` indices, the best of each ranking in turn: the whole question's, then each part's."""
    orders = [iter(np.argsort(-s, kind="stable")) for s in scores]
    keep: dict[int, None] = {}
    while len(keep) < min(n, len(scores[0])):
        for order in orders:
            j = next((int(j) for j in order if int(j) not in keep), None)
            if j is not None and len(keep) < n:
                keep[j] = None
    return list(keep)


def _shortlist(cheap: np.ndarray, hit_of: list[int], groups: list[str] | None, n: int) -> list[int]:
    """Indices of the ``n`` best by the cheap score; with groups, the best few of each group instead.

    Groups are admitted in the order of their best-ranked hit: the retriever judged the
    whole passage, which is a steadier sign of a relevant place than one sentence's words.
    """
    order = [int(j) for j in np.argsort(-cheap, kind="stable")]
    if groups is None:
        return order[:n]
    first_hit: dict[str, int] = {}
    for j in range(len(groups)):
        first_hit[groups[j]] = min(first_hit.get(groups[j], hit_of[j]), hit_of[j])
    admitted = set(sorted(first_hit, key=first_hit.get)[:MAX_GROUPS])
    seen: dict[str, int] = {}
    keep = []
    for j in order:
        if groups[j] in admitted and seen.get(groups[j], 0) < PER_GROUP_SHORTLIST:
            seen[groups[j]] = seen.get(groups[j], 0) + 1
            keep.append(j)
    return keep


def _states_asked(question: str, texts: Sequence[str]) -> np.ndarray:
    """1 where a sentence states what the question asks for: a time for 多久, a quantity for 多少."""
    wanted = [rx for asks, rx in ((_ASKS_TIME, _TIME), (_ASKS_NUMBER, _FIGURE)) if asks.search(question)]
    return np.array([any(rx.search(t) for rx in wanted) for t in texts], dtype=np.float64)


def _states_figure(texts: Sequence[str]) -> np.ndarray:
    """1 where a sentence states a figure: one place's concrete measure, not a restatement of the topic."""
    return np.array([bool(_FIGURE.search(t)) for t in texts], dtype=np.float64)


def _coverage(text: str, weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in text) / total if total else 0.0


def _passage_prior(hits: Sequence[Hit]) -> np.ndarray:
    """0…1 by rank: the retriever's judgement of the whole passage."""
    n = len(hits)
    return np.array([1.0 - i / max(n, 1) for i in range(n)], dtype=np.float64)


def _z(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    sd = v.std()
    return (v - v.mean()) / sd if sd > 1e-9 else np.zeros_like(v)


def _pairs(text: str) -> list[str]:
    chars = [c for c in text if c.isalnum()]
    return [a + b for a, b in zip(chars, chars[1:], strict=False)]


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


# ---------------------------------------------------------------- selection


def select(cands: Sequence[Candidate], limits: Limits) -> list[Candidate]:
    """Maximal-marginal-relevance choice within the character and sentence budget.

    Each sub-question's best sentence comes first (a question asking three things wants
    three answers); then the best sentences overall. The first sentence is always taken;
    later ones only while they fit and score within ``DROP`` of the best (past ``min_sentences``).
    """
    if not cands:
        return []
    chosen = _cover_parts(cands, limits)
    floor = cands[0].score - DROP
    used = sum(len(c.sentence.text) for c in chosen)
    while len(chosen) < limits.max_sentences:
        cut = floor if len(chosen) >= limits.min_sentences else None
        got = _next(cands, chosen, limits.max_chars - used, cut, fit=bool(chosen))
        if got is None:
            break
        chosen.append(got)
        used += len(got.sentence.text)
    return chosen


PART_CHARS = 80  # more room for each further thing a question asks


def for_parts(limits: Limits, parts: int) -> Limits:
    """The budget of an answer to a question asking ``parts`` things: three questions want three answers."""
    more = max(parts - 1, 0)
    return replace(limits, max_chars=limits.max_chars + PART_CHARS * more, max_sentences=limits.max_sentences + more)


def _cover_parts(cands: Sequence[Candidate], limits: Limits) -> list[Candidate]:
    """The best sentence for each sub-question that no chosen sentence answers yet, budget permitting."""
    chosen: list[Candidate] = []
    used = 0
    for i in range(len(cands[0].covers)):
        ranked = sorted(cands, key=lambda c, i=i: -c.covers[i])
        if ranked[0] in chosen or len(chosen) == limits.max_sentences:
            continue
        got = _next(ranked, chosen, limits.max_chars - used, None, fit=bool(chosen), by=lambda c, i=i: c.covers[i])
        if got is not None:
            chosen.append(got)
            used += len(got.sentence.text)
    return chosen


def in_source_order(chosen: Sequence[Candidate]) -> list[Chosen]:
    """Sources by their best sentence; within a source, the document's own order."""
    first: dict[int, int] = {}
    for rank, c in enumerate(chosen):
        first.setdefault(c.hit, rank)
    ordered = sorted(chosen, key=lambda c: (first[c.hit], c.sentence.start))
    return [Chosen(c.hit, c.sentence) for c in ordered]


def by_region(cands: Sequence[Candidate], hits: Sequence[Hit], limits: Limits) -> list[Chosen]:
    """One paragraph per region, at most ``per_region`` sentences each, within the character budget.

    Every region's best sentence comes first, seconds only while the budget lasts: a fifth
    place with one sentence answers "各地怎么做" better than a second sentence of the first.
    Regions keep the order the retriever found them in: it judged whole passages, a steadier
    sign of a place with a relevant practice than one sentence's score.
    """
    raw = _groups(cands, hits)
    parent = _parents(raw)
    groups = _merge_nested(raw, parent)
    first: dict[str, int] = {}  # a region's best-ranked hit, whichever of its sentences are candidates
    for i, name in enumerate(map(region_group, hits)):
        if name in parent:
            first.setdefault(parent[name], i)
    order = sorted(groups, key=lambda g: (g == UNPLACED, first[g]))
    picked: dict[str, list[Candidate]] = {}
    used = 0
    for round_ in range(limits.per_region):
        for name in order:
            if round_ == 0 and len(picked) == limits.max_regions:
                break
            if round_ > 0 and name not in picked:
                continue
            have = picked.get(name, [])
            cut = None if not have else groups[name][0].score - DROP / 2
            got = _next(groups[name], have, limits.region_max_chars - used, cut, fit=bool(picked))
            if got is not None:
                picked.setdefault(name, []).append(got)
                used += len(got.sentence.text)
    return [
        Chosen(c.hit, c.sentence, name)
        for name in order
        for c in sorted(picked.get(name, ()), key=lambda c: (c.hit, c.sentence.start))
    ]


def _next(
    pool: Sequence[Candidate],
    have: Sequence[Candidate],
    room: int,
    cut: float | None,
    fit: bool,
    by: Callable[[Candidate], float] = lambda c: c.score,
):
    """The best further sentence of one region (MMR against ``have``) that fits ``room``; None if none does."""
    ranked = sorted(
        pool, key=lambda c: -(by(c) - MMR_LAMBDA * max((_overlap(c.pairs, k.pairs) for k in have), default=0))
    )
    for c in ranked:
        if c in have or any(_overlap(c.pairs, k.pairs) > 0.8 for k in have):
            continue
        if cut is not None and c.score < cut:
            return None
        if fit and len(c.sentence.text) > room:
            continue
        return c
    return None


def _groups(cands: Sequence[Candidate], hits: Sequence[Hit]) -> dict[str, list[Candidate]]:
    groups: dict[str, list[Candidate]] = {}
    for c in cands:
        groups.setdefault(region_group(hits[c.hit]), []).append(c)
    return groups


def _merge_nested(groups: dict[str, list[Candidate]], parent: dict[str, str]) -> dict[str, list[Candidate]]:
    """A county's sentences join its city's paragraph when both answer (舟山市普陀区 → 舟山市).

    Provinces keep their own paragraph: a provincial regulation and a city's practice are
    two answers, not one.
    """
    out: dict[str, list[Candidate]] = {}
    for name in sorted(groups, key=len):
        out.setdefault(parent[name], []).extend(groups[name])
    return {g: sorted(cs, key=lambda c: -c.score) for g, cs in out.items()}


def _parents(names) -> dict[str, str]:
    """Each region name → the paragraph it goes under: its city's when that answers too, else its own."""
    out: dict[str, str] = {}
    for name in sorted(names, key=len):
        out[name] = next((g for g in out.values() if name.startswith(g) and _level(g) >= 2), name)
    return out


# ---------------------------------------------------------------- composing


def compose(chosen: Sequence[Chosen], hits: Sequence[Hit]) -> tuple[str, tuple[AnswerSentence, ...], tuple[Hit, ...]]:
    """Answer text with ``[n]`` marks, its sentences, and the cited hits numbered by first use."""
    number: dict[int, int] = {}
    sentences: list[AnswerSentence] = []
    for c in chosen:
        n = number.setdefault(c.hit, len(number) + 1)
        sentences.append(AnswerSentence(c.sentence.text, (n,), True, c.group))
    text = render_text(sentences)
    cited = tuple(hits[i] for i in sorted(number, key=number.get))
    return text, tuple(sentences), cited


def render_text(sentences: Sequence[AnswerSentence]) -> str:
    """Sentences with their marks; a new paragraph, led by the region, where the group changes."""
    parts: list[str] = []
    group: str | None = None
    for s in sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        flag = "" if s.supported else "〔未核实〕"
        if s.group is not None and s.group != group:
            parts.append(("\n" if parts else "") + f"{s.group}：")
            group = s.group
        parts.append(re.sub(r"\s*\n\s*", "", s.text) + marks + flag)
    return "".join(parts)
