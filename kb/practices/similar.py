"""Comparable passages from other regions: "who else has done this, and how?"

The query passage's stored vector is compared with every passage's (no re-embedding),
and its most distinctive words and character pairs (tf·idf, as "more like this" does)
query both BM25 indexes; the three lists are fused by z-score like search. Candidates in
the query's own region, in a region containing it or inside it, in its own document, or
without any region (national texts) are dropped; the rest are grouped by region, at
most ``per_region`` each, best regions first.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb import bm25, regions, store
from kb.errors import QueryError
from kb.index import context_text
from kb.retrieve import LiveIndex, allowed_vids, bigram_ranked, dense_ranked, zscore_fusion
from kb.settings import Settings
from kb.tokens import bigrams, tokenize
from kb.types import Filters, Hit, Passage, Region, SimilarHit

MLT_WORDS = 25  # distinctive words of the query passage sent to word BM25
MLT_BIGRAMS = 40  # distinctive character pairs sent to bigram BM25
POOL = 300  # candidates per list: exclusion removes many
MATERIALISE = 200  # best fused candidates read from SQLite (theme bonuses rarely lift one from further down)
THEME_BONUS = 1.0  # fused-score bonus per theme shared with the query passage
# bonus for a regulation article when the query passage is not one: a report's "how do others
# do it" is answered by other reports' practices and by the rules other regions made on it,
# and report wording otherwise pulls only more reports (generic party-building talk)
RULE_BONUS = 1.5
CENTER = True  # compare vectors after removing the index's mean vector (see centered_dense)
ORDER = "round"  # grouped: a region's hits together; round: each region's best first, then seconds

_STATS: dict[int, tuple] = {}


def _centered_stats(live: LiveIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean vector, matrix @ mean, norms of the centred rows) of the live vectors, once per index."""
    got = _STATS.get(id(live))
    if got is None or got[0] is not live.matrix:
        mu = live.matrix.mean(axis=0) if len(live.matrix) else np.zeros(live.matrix.shape[1], np.float32)
        dots = live.matrix @ mu
        norms = np.sqrt(np.maximum(1.0 - 2 * dots + float(mu @ mu), 1e-12))
        got = _STATS[id(live)] = (live.matrix, mu, dots, norms)
    return got[1], got[2], got[3]


def centered_dense(live: LiveIndex, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """Cosine after subtracting the mean passage vector: what all passages share (official boilerplate,
    "基层社会治理" talk) stops counting as similarity, so the specific sub-topic decides."""
    if allowed is not None and allowed.size == 0:
        return []
    mu, _, norms = _centered_stats(live)
    q = np.asarray(qvec, dtype=np.float32).reshape(-1) - mu
    q /= np.linalg.norm(q) + 1e-12
    scores = (live.matrix @ q - float(mu @ q)) / norms
    if allowed is not None:
        scores = np.where(np.isin(live.row_vids, allowed), scores, -np.inf)
    n = min(n, scores.size)
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(live.row_vids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]


@functools.cache
def _region(name: str) -> Region | None:
    return regions.resolve(name)


def group_region(passage: Passage) -> Region | None:
    """The region a passage counts for: its first (most specific) region."""
    for name in passage.regions:
        if (r := _region(name)) is not None:
            return r
    return None


def related(code: str, others: Sequence[str]) -> bool:
    """Whether division ``code`` is one of ``others``, contains one, or lies inside one."""
    return any(regions.within(code, o) or regions.within(o, code) for o in others)


def distinctive(terms: Sequence[str], index: bm25.BM25Index, n: int) -> list[str]:
    """The ``n`` terms with the highest tf·idf in ``terms`` (a long passage as a focused query)."""
    counts = Counter(terms)
    scored = sorted(counts, key=lambda t: -(1 + np.log(counts[t])) * bm25.idf_of(index, t))
    return [t for t in scored[:n] if bm25.idf_of(index, t) > 0]


def similar(
    live: LiveIndex,
    embedder,
    query: str,
    settings: Settings,
    other_regions: bool = True,
    per_region: int = 2,
    k: int = 10,
    filters: Filters | None = None,
    fusion: bool = True,
) -> list[SimilarHit]:
    """Passages comparable to ``query`` (a passage id, or free text), grouped by region.

    ``other_regions=False`` keeps the query's own region (still never its own document);
    ``fusion=False`` ranks by the vectors alone (for the benchmark).
    """
    if not query.strip():
        raise QueryError("empty query: give a passage id (see `kb passages DOC_ID`) or a text")
    if per_region < 1 or k < 1:
        raise QueryError("per_region and k must be at least 1")
    vid = store.vid_of_passage(live.conn, query.strip())
    if vid is not None:
        passage, document, _ = store.by_vids(live.conn, [vid])[vid]
        qvec = live.vectors.reconstruct(vid)
        text = context_text(document.title, passage.heading_path, passage.text)
        own = [r.code for n in passage.regions if (r := _region(n))]
        doc_id = document.doc_id
    else:
        if embedder is None:
            raise QueryError(f"{query[:20]!r} is no passage id; a free text needs the embedding model")
        text, qvec, doc_id = query, embedder.embed_queries([query])[0], None
        own = [r.code for r in regions.find_regions(query)]
    allowed = allowed_vids(live, filters)
    if allowed is not None and allowed.size == 0:
        return []
    lists = [centered_dense(live, qvec, POOL, allowed) if CENTER else dense_ranked(live, qvec, POOL, allowed)]
    weights = [settings.dense_weight]
    if fusion:
        lists.append(_words(live, text, allowed))
        lists.append(bigram_ranked(live, " ".join(distinctive(bigrams(text), live.bigram, MLT_BIGRAMS)), POOL, allowed))
        weights += [settings.bm25_weight, settings.bigram_weight]
    fused = zscore_fusion(lists, weights) if len(lists) > 1 else lists[0]
    q = _Query(vid, doc_id)
    if vid is not None:
        got = store.themes_of_passages(live.conn, [passage.passage_id]).get(passage.passage_id, [])
        q = _Query(vid, doc_id, frozenset(got), document.doc_type != "regulation")
    return _grouped(live, fused, q, own if other_regions else [], per_region, k)


def _words(live: LiveIndex, text: str, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    mask = None if allowed is None else np.isin(live.bm25.vids, allowed)
    return bm25.search(live.bm25, distinctive(tokenize(text), live.bm25, MLT_WORDS), POOL, mask)


@dataclass(frozen=True)
class _Query:
    """What the ranking needs to know about the query passage."""

    vid: int | None
    doc_id: str | None
    themes: frozenset[str] = frozenset()
    wants_rules: bool = False  # a passage that is no regulation article: other regions' rules count too


def _bonus(q: _Query, themes: Sequence[str], doc_type: str) -> float:
    """Shared themes (a report passage's sub-topic, which its generic wording hides from the
    vectors), and for such a passage, other regions' rules on it."""
    rule = RULE_BONUS if q.wants_rules and doc_type == "regulation" else 0.0
    return THEME_BONUS * len(q.themes & set(themes)) + rule


def _grouped(
    live: LiveIndex,
    fused: list[tuple[int, float]],
    q: _Query,
    own: Sequence[str],
    per_region: int,
    k: int,
) -> list[SimilarHit]:
    fused = fused[:MATERIALISE]
    rows = store.by_vids(live.conn, [v for v, _ in fused])
    themes = store.themes_of_passages(live.conn, [rows[v][0].passage_id for v, _ in fused if v in rows])
    scored = []
    for vid, score in fused:
        if vid == q.vid or vid not in rows:
            continue
        passage, document, _ = rows[vid]
        if q.doc_id is not None and q.doc_id in (document.doc_id, document.parent_id):
            continue
        scored.append((score + _bonus(q, themes.get(passage.passage_id, ()), document.doc_type), vid))
    scored.sort(key=lambda sv: (-sv[0], sv[1]))
    groups: dict[str, list[tuple[float, int]]] = {}
    taken = 0
    for score, vid in scored:
        region = group_region(rows[vid][0])
        if own and (region is None or related(region.code, own)):
            continue
        code = region.code if region else ""
        # nested places are one place here: 舟山市普陀区's hits count against 舟山市's limit
        code = next((g for g in groups if g and code and related(code, [g])), code)
        members = groups.setdefault(code, [])
        if len(members) < per_region:
            members.append((score, vid))
            taken += 1
            if taken == k:
                break
    cards = store.cards(live.conn, passage_ids=[rows[v][0].passage_id for g in groups.values() for _, v in g])
    by_passage: dict[str, list] = {}
    for c in cards:
        by_passage.setdefault(c.passage_id, []).append(c)
    names = dict(store_theme_names(live))
    out: list[SimilarHit] = []
    if ORDER == "round":
        width = max(map(len, groups.values()), default=0)
        order = [(c, m[i]) for i in range(width) for c, m in groups.items() if i < len(m)]
    else:
        order = [(c, m) for c, ms in groups.items() for m in ms]
    for code, (score, vid) in order:
        if True:
            passage, document, _ = rows[vid]
            hit = Hit(passage, document, float(score), len(out) + 1)
            region = regions.lookup(code).name if code else ""
            ths = tuple(names.get(t, t) for t in themes.get(passage.passage_id, ()))
            out.append(SimilarHit(hit, region, code, ths, tuple(by_passage.get(passage.passage_id, ()))))
    return out


def store_theme_names(live: LiveIndex) -> list[tuple[str, str]]:
    """(theme id, name) of the taxonomy the index's cards were made with."""
    themes, _ = store.stored_themes(live.conn)
    return [(t.theme_id, t.name) for t in themes]
