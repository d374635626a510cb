"""Hybrid retrieval: filters first, then word-BM25, bigram-BM25 and dense candidates, fused.

Filters are turned into the set of allowed passage ids before any ranking, so a filter is
never silently ignored and a filtered search cannot be crowded out by unfiltered hits.
Near-duplicate passages (one text republished in several files) collapse into one hit
that lists every source.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from kb import bm25, focus, indexdir, regions, store
from kb.errors import IndexDamagedError, IndexStateError, ModelError, QueryError
from kb.index import MANIFEST, check_model, read_manifest
from kb.settings import Settings
from kb.tokens import bigrams, expansions, tokenize
from kb.types import DOC_TYPES, Filters, Hit

MODES = ("hybrid", "dense", "bm25")
MAX_K = 1000  # more hits than anyone reads; a larger k is capped (with a notice) rather than scanning everything
DUP_COSINE = 0.985
DOC_TOP = 2  # candidates per document averaged by document_boost


@dataclass
class LiveIndex:
    """An opened index folder: SQLite connection, FAISS vectors and both BM25s of the live generation."""

    folder: Path
    conn: object
    vectors: object
    ann: object | None
    bm25: bm25.BM25Index
    bigram: bm25.BM25Index
    manifest: dict
    matrix: np.ndarray = field(init=False)  # the flat index's vectors, a zero-copy view (row i ↔ row_vids[i])
    row_vids: np.ndarray = field(init=False)
    titles: tuple[tuple[str, str], ...] = field(init=False, default=())  # (doc_id, title), read on first need

    def __post_init__(self) -> None:
        import faiss

        flat = faiss.downcast_index(self.vectors.index)
        n, d = flat.ntotal, flat.d
        self.matrix = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d) if n else np.zeros((0, d), np.float32)
        self.row_vids = faiss.vector_to_array(self.vectors.id_map).astype(np.int64)

    def close(self) -> None:
        self.conn.close()


def open_index(settings: Settings) -> LiveIndex:
    """Open the index folder named by the settings, or explain how to build it."""
    import faiss

    folder = Path(settings.index_dir)
    if not (folder / store.DB_NAME).exists():
        raise IndexStateError(f"no index in {folder}/ yet: run `kb ingest corpus/` (or `kb ingest PATH…`) first")
    manifest = read_manifest(folder)
    if manifest is None:
        raise IndexDamagedError(str(folder / MANIFEST), "the file is missing", indexdir.REPAIR_STEP)
    with indexdir.sqlite_guard(folder):
        conn = store.connect(folder)
        gen = int(store.get_meta(conn, "generation", "0"))
        count = store.passage_count(conn)
    if not (folder / f"bigram-{gen}.npz").exists() and not (folder / f"bigram-{gen}.vocab.json").exists():
        conn.close()
        raise IndexStateError(
            f"{folder}/ was built by an older kb without the bigram index (or lost both bigram-{gen} files); "
            "run `kb ingest` on the same files (or `kb repair`) to write it: vectors are reused, nothing is re-embedded"
        )
    try:
        vectors = indexdir.read_vectors(folder, gen)
        bm = indexdir.read_sparse(folder, f"bm25-{gen}")
        grams = indexdir.read_sparse(folder, f"bigram-{gen}")
        indexdir.check_counts(folder, gen, count, vectors.ntotal, bm.size, grams.size)
    except IndexStateError:
        conn.close()
        raise
    ann_path = folder / f"ann-{gen}.faiss"
    ann = None
    if settings.faiss_index == "hnsw" and ann_path.exists():
        ann = faiss.read_index(str(ann_path))
        # the search beam must exceed the candidate pool, or HNSW loses most of its recall
        faiss.downcast_index(ann.index).hnsw.efSearch = max(2 * settings.candidates, 64)
    return LiveIndex(folder, conn, vectors, ann, bm, grams, manifest)


def ensure_model(live: LiveIndex, embedder) -> None:
    check_model(live.manifest, embedder.name, embedder.dim, live.folder / MANIFEST)


# ---------------------------------------------------------------- filters


def allowed_vids(live: LiveIndex, filters: Filters | None) -> np.ndarray | None:
    """Ids of passages passing every filter; None when there is no filter."""
    if filters is None or filters.is_empty():
        return None
    where, args = ["1=1"], []
    if filters.regions:
        prefixes = region_prefixes(filters.regions)
        likes = " OR ".join("code LIKE ?" for _ in prefixes)
        where.append(f"p.vid IN (SELECT vid FROM passage_regions WHERE {likes})")
        args += [f"{p}%" for p in prefixes]
    if filters.year_from is not None:
        where.append("d.year >= ?")
        args.append(filters.year_from)
    if filters.year_to is not None:
        where.append("d.year <= ?")
        args.append(filters.year_to)
    unknown = [t for t in filters.doc_types if t not in DOC_TYPES]
    if unknown:
        raise QueryError(f"未知文档类型“{unknown[0]}”，可用：{', '.join(DOC_TYPES)}")
    if filters.doc_types:
        where.append(f"d.doc_type IN ({','.join('?' * len(filters.doc_types))})")
        args += list(filters.doc_types)
    if filters.doc_ids:
        marks = ",".join("?" * len(filters.doc_ids))
        where.append(f"(d.doc_id IN ({marks}) OR d.parent_id IN ({marks}))")
        args += list(filters.doc_ids) * 2
    sql = f"SELECT p.vid FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE {' AND '.join(where)}"
    return np.asarray([r[0] for r in live.conn.execute(sql, args)], dtype=np.int64)


def region_prefixes(names: Sequence[str]) -> list[str]:
    """Adcode prefixes for region names (山东 → '37'); an unknown name is an error, not ignored."""
    out: list[str] = []
    for name in names:
        found = regions.resolve_all(name.strip())
        if not found:
            raise QueryError(f"未知地区“{name}”: use a province, city or county name such as 山东省, 东营市, 广饶县")
        out += [regions.code_prefix(r) for r in found]
    return sorted(set(out))


# ---------------------------------------------------------------- retrievers


def bm25_ranked(
    live: LiveIndex, query: str, n: int, allowed: np.ndarray | None, synonyms: Sequence[str] = (), weight: float = 0.0
) -> list[tuple[int, float]]:
    """Word BM25; ``synonyms`` (thesaurus expansions of the query) count ``weight`` each."""
    mask = None if allowed is None else np.isin(live.bm25.vids, allowed)
    extra = [t for term in synonyms for t in tokenize(term)]
    return bm25.search(live.bm25, tokenize(query), n, mask, extra, weight)


def bigram_ranked(
    live: LiveIndex, query: str, n: int, allowed: np.ndarray | None, synonyms: Sequence[str] = (), weight: float = 0.0
) -> list[tuple[int, float]]:
    """Character-bigram BM25; expansions enter as their character pairs."""
    mask = None if allowed is None else np.isin(live.bigram.vids, allowed)
    extra = [b for term in synonyms for b in bigrams(term)]
    return bm25.search(live.bigram, bigrams(query), n, mask, extra, weight)


def dense_ranked(live: LiveIndex, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """Top ``n`` by inner product: HNSW when loaded, else an exact scan of the flat vectors."""
    if allowed is not None and allowed.size == 0:
        return []
    q = np.asarray(qvec, dtype=np.float32).reshape(-1)
    if live.ann is not None:
        return _ann_ranked(live.ann, q, n, allowed)
    # one matrix-vector product: twice as fast as faiss's single-query flat search (a heap per row)
    rows = None if allowed is None else np.flatnonzero(np.isin(live.row_vids, allowed))
    scores = live.matrix @ q if rows is None else live.matrix[rows] @ q
    n = min(n, scores.size)
    if n == 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    vids = live.row_vids[top] if rows is None else live.row_vids[rows[top]]
    return [(int(v), float(x)) for v, x in zip(vids, scores[top], strict=True)]


def _ann_ranked(index, q: np.ndarray, n: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    import faiss

    k = min(n, index.ntotal if allowed is None else int(allowed.size))
    if k == 0:
        return []
    params = None if allowed is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
    scores, ids = index.search(q.reshape(1, -1), k, params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def zscore_fusion(ranked: Sequence[Sequence[tuple[int, float]]], weights: Sequence[float]) -> list[tuple[int, float]]:
    """Weighted sum of per-list z-scores; a candidate missing from a list gets that list's minimum.

    Unlike RRF this keeps how far ahead a candidate is: a BM25 hit that outscores the rest
    by a wide margin stays on top even when the dense list barely separates its candidates.
    """
    normed: list[dict[int, float]] = []
    for lst in ranked:
        if not lst:
            normed.append({})
            continue
        v = np.asarray([s for _, s in lst], dtype=np.float64)
        z = (v - v.mean()) / (v.std() + 1e-9) if len(v) > 1 else np.ones(1)
        normed.append({vid: float(x) for (vid, _), x in zip(lst, z, strict=True)})
    floors = [min(n.values(), default=0.0) for n in normed]
    fused: dict[int, float] = {}
    for vid in {v for n in normed for v in n}:
        fused[vid] = sum(w * n.get(vid, f) for n, w, f in zip(normed, weights, floors, strict=True))
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def rrf(ranked: Sequence[Sequence[tuple[int, float]]], weights: Sequence[float], k: int) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: score = Σ w / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for lst, w in zip(ranked, weights, strict=True):
        for rank, (vid, _) in enumerate(lst, start=1):
            fused[vid] = fused.get(vid, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def document_boost(
    fused: list[tuple[int, float]], doc_of: dict[int, str], weight: float, top: int = DOC_TOP
) -> list[tuple[int, float]]:
    """Add ``weight`` × the mean fused score of each document's best ``top`` candidates.

    A question about one law or report tends to match several of its passages; a passage
    whose document matches in several places is likelier right than an isolated hit.
    """
    best: dict[str, list[float]] = {}
    for vid, score in fused:
        got = best.setdefault(doc_of.get(vid, ""), [])
        if len(got) < top:
            got.append(score)
    doc = {d: sum(v) / top for d, v in best.items()}
    boosted = [(vid, score + weight * doc[doc_of.get(vid, "")]) for vid, score in fused]
    return sorted(boosted, key=lambda kv: (-kv[1], kv[0]))


# ---------------------------------------------------------------- search


def search(
    live: LiveIndex,
    embedder,
    query: str,
    settings: Settings,
    filters: Filters | None = None,
    k: int | None = None,
    mode: str | None = None,
    diverse: bool = False,
    spread: int | None = None,
) -> list[Hit]:
    """The k best passages for ``query`` under ``filters``; empty when nothing matches.

    Passages of a document the question names come first, then passages holding a quoted
    or long verbatim phrase of it; ``diverse`` spreads the top over documents and regions
    (for questions about several places, see ``focus.is_cross_region_question``): the top
    ``spread`` hits (default all k), the rest following in ranking order.
    """
    mode = mode or settings.mode
    k, _ = check_k(k, settings.top_k)
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if not query.strip():
        raise QueryError("empty query")
    allowed = allowed_vids(live, filters)
    if allowed is not None and allowed.size == 0:
        return []
    pool = max(settings.candidates, k * 3)
    qvec = embedder.embed_queries([query])[0] if mode in ("dense", "hybrid") else None
    fused, detail = _ranked(live, qvec, query, settings, allowed, pool, mode)
    named = (
        focus.named_documents(query, _titles(live), diverse) if settings.focus_names else focus.NamedDocs((), (), ())
    )
    if named.doc_ids:
        inside = _doc_vids(live, named.doc_ids, allowed)
        if inside.size:
            first, more = _ranked(live, qvec, query, settings, inside, pool, mode)
            detail = {name: {**detail.get(name, {}), **d} for name, d in more.items()} | {
                n: d for n, d in detail.items() if n not in more
            }
            taken = {v for v, _ in first}
            fused = first + [(v, s) for v, s in fused if v not in taken]
    if settings.focus_phrases:
        fused = phrase_first(live, query, fused, PHRASE_POOL)
    if diverse:
        doc_of = store.doc_ids(live.conn, [v for v, _ in fused])
        head = spread_pool(fused, doc_of, DIVERSE_POOL, DIVERSE_PER_DOC)
        vids = [v for v, _ in head]
        codes: dict[int, list[str]] = {}
        for vid, code in store.region_codes(live.conn, vids):
            codes.setdefault(vid, []).append(code)
        taken = set(vids)
        fused = diversify(head, doc_of, codes, min(spread or k, k)) + [vs for vs in fused if vs[0] not in taken]
    notice = None
    if named.unmatched:
        notice = "没有找到" + "、".join(f"《{n}》" for n in named.unmatched) + "：结果不限于该文件。"
    return _hits(live, fused, detail, k, notice)


PHRASE_POOL = 30  # candidates checked for a verbatim phrase of the question
DIVERSE_POOL = 100  # candidates a diversified top is chosen from (50 reached 2.8 regions of 3 wanted)
# ... at most this many from one document: a regulation wholly on the topic (深圳's 矛盾纠纷多元化解
# 条例) filled 87 of the 100, leaving 9 places to spread over; the spreading's document penalty
# never takes more than a few passages of one document into the top anyway
DIVERSE_PER_DOC = 6


def spread_pool(fused: Sequence[tuple[int, float]], doc_of: Mapping[int, str], size: int, per_doc: int) -> list:
    """The best ``size`` candidates in order, at most ``per_doc`` of them from any one document."""
    count: dict[str, int] = {}
    out = []
    for vid, score in fused:
        doc = doc_of.get(vid, "")
        if count.get(doc, 0) < per_doc:
            count[doc] = count.get(doc, 0) + 1
            out.append((vid, score))
            if len(out) == size:
                break
    return out


def _ranked(live: LiveIndex, qvec, query: str, settings: Settings, allowed, pool: int, mode: str):
    """Fused (vid, score) best first, and each list's (rank, score) per vid, for one candidate set."""
    syn = expansions(query, settings.synonyms_file) if settings.synonym_weight > 0 else []
    lists, weights, names = [], [], []
    if mode in ("bm25", "hybrid"):
        lists.append(bm25_ranked(live, query, pool, allowed, syn, settings.synonym_weight))
        weights.append(settings.bm25_weight)
        names.append("bm25")
    if mode == "hybrid" and settings.bigram_weight > 0:
        lists.append(bigram_ranked(live, query, pool, allowed, syn, settings.synonym_weight))
        weights.append(settings.bigram_weight)
        names.append("bigram")
    if mode in ("dense", "hybrid"):
        lists.append(dense_ranked(live, qvec, pool, allowed))
        weights.append(settings.dense_weight)
        names.append("dense")
    if len(lists) == 1:
        fused = lists[0]
    elif settings.fusion == "rrf":
        fused = rrf(lists, weights, settings.rrf_k)
    else:
        fused = zscore_fusion(lists, weights)
        if settings.doc_boost:
            fused = document_boost(fused, store.doc_ids(live.conn, [v for v, _ in fused]), settings.doc_boost)
        if settings.region_boost:
            fused = region_boost(live, query, fused, settings.region_boost)
    if settings.reranker:
        fused = rerank(live, query, fused, settings)
    detail = {
        name: {vid: (rank, s) for rank, (vid, s) in enumerate(lst, 1)} for name, lst in zip(names, lists, strict=True)
    }
    return fused, detail


def _titles(live: LiveIndex) -> tuple[tuple[str, str], ...]:
    if not live.titles:
        live.titles = tuple((r[0], r[1]) for r in live.conn.execute("SELECT doc_id, title FROM documents"))
    return live.titles


def _doc_vids(live: LiveIndex, doc_ids: Sequence[str], allowed: np.ndarray | None) -> np.ndarray:
    """Passage vids of the given documents (and of their compilation parts), within ``allowed``."""
    marks = ",".join("?" * len(doc_ids))
    sql = f"SELECT p.vid FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE d.doc_id IN ({marks}) OR d.parent_id IN ({marks})"
    vids = np.asarray([r[0] for r in live.conn.execute(sql, [*doc_ids, *doc_ids])], dtype=np.int64)
    return vids if allowed is None else vids[np.isin(vids, allowed)]


def phrase_first(live: LiveIndex, query: str, fused: list[tuple[int, float]], n: int) -> list[tuple[int, float]]:
    """Move the best ``n`` candidates that hold a quoted or long verbatim phrase of the question to the top."""
    head = [v for v, _ in fused[:n]]
    rows = store.by_vids(live.conn, head)
    held = focus.phrase_hits(query, ((v, rows[v][0].text) for v in head if v in rows))
    if not held:
        return fused
    return [vs for vs in fused if vs[0] in held] + [vs for vs in fused if vs[0] not in held]


def diversify(
    fused: Sequence[tuple[int, float]],
    doc_of: Mapping[int, str],
    regions_of: Mapping[int, Sequence[str]],
    k: int,
    doc_weight: float = 0.5,
    region_weight: float = 0.5,
) -> list[tuple[int, float]]:
    """MMR-style reordering: the top ``k`` spread over documents and regions, then the rest in order.

    Each pick maximises its score (scaled to 0–1 over the candidates) minus ``doc_weight``
    per already-picked passage of its document and ``region_weight`` when one of its
    regions (division codes; none = national) already lies within, or contains, a picked
    passage's region. A question about several places then meets several places.
    """
    items = list(fused)
    if len(items) <= 1:
        return items
    scores = np.asarray([s for _, s in items], dtype=np.float64)
    span = float(scores.max() - scores.min()) or 1.0
    scaled = {vid: (s - scores.min()) / span for vid, s in items}
    order = {vid: i for i, (vid, _) in enumerate(items)}
    picked: list[tuple[int, float]] = []
    per_doc: dict[str, int] = {}
    covered: list[str] = []
    left = dict(items)
    while left and len(picked) < k:
        gains = {
            vid: scaled[vid]
            - doc_weight * per_doc.get(doc_of.get(vid, ""), 0)
            - region_weight * any(_nested(c, o) for c in (regions_of.get(vid) or [""]) for o in covered)
            for vid in left
        }
        best = max(left, key=lambda v: (gains[v], -order[v]))
        picked.append((best, left.pop(best)))
        doc = doc_of.get(best, "")
        per_doc[doc] = per_doc.get(doc, 0) + 1
        covered += regions_of.get(best) or [""]
    chosen = {v for v, _ in picked}
    return picked + [vs for vs in items if vs[0] not in chosen]


def _nested(a: str, b: str) -> bool:
    """Same region, or one within the other ("" is national: only equal to itself)."""
    if not a or not b:
        return a == b
    return regions.within(a, b) or regions.within(b, a)


def question_weights(live: LiveIndex, query: str, settings: Settings) -> tuple[dict[str, float], dict[str, float]]:
    """The question's words and character pairs → IDF over the index, for scoring answer sentences.

    A word the index does not know gets the highest IDF: a question about something the
    corpus never mentions should find little of itself in any sentence. Thesaurus
    expansions count at ``synonym_weight``.
    """
    top = bm25.idf_of_unseen(live.bm25)
    words = {t: bm25.idf_of(live.bm25, t) or top for t in tokenize(query)}
    for term in expansions(query, settings.synonyms_file) if settings.synonym_weight > 0 else []:
        for t in tokenize(term):
            words.setdefault(t, settings.synonym_weight * (bm25.idf_of(live.bm25, t) or top))
    top_pair = bm25.idf_of_unseen(live.bigram)
    pairs = {g: bm25.idf_of(live.bigram, g) or top_pair for g in bigrams(query)}
    return words, pairs


def regions_without_passages(live: LiveIndex, query: str) -> list[str]:
    """Regions the question names of which the index holds no passage (成都市 in a corpus without 成都)."""
    named = regions.find_regions(query)
    empty = [r.name for r in named if allowed_vids(live, Filters(regions=(r.name,))).size == 0]
    return empty if len(empty) == len(named) else []


def check_k(k: int | None, default: int) -> tuple[int, str | None]:
    """The number of hits to return, and a notice when a huge ``k`` was capped at MAX_K; k < 1 is an error."""
    k = default if k is None else k
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise QueryError(f"k (the number of hits) must be a whole number of at least 1; got {k!r}")
    if k > MAX_K:
        return MAX_K, f"k={k} 过大，只返回前 {MAX_K} 条"
    return int(k), None


def region_boost(live: LiveIndex, query: str, fused: list[tuple[int, float]], weight: float) -> list[tuple[int, float]]:
    """Lift candidates about a region the question names (own or inherited regions, any level below)."""
    named = regions.find_regions(query)
    if not named or not fused:
        return fused
    prefixes = tuple(regions.code_prefix(r) for r in named)
    inside = {vid for vid, code in store.region_codes(live.conn, [v for v, _ in fused]) if code.startswith(prefixes)}
    return sorted(((v, s + weight * (v in inside)) for v, s in fused), key=lambda vs: -vs[1])


@cache
def _cross_encoder(name: str, device: str):
    """The configured sentence-transformers CrossEncoder, loaded once."""
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(name, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure means the same thing to the user
        raise ModelError(f"cannot load reranker {name!r} ({exc}); give a local folder or set KB_RERANKER=''") from exc


def rerank(live: LiveIndex, query: str, fused: list[tuple[int, float]], settings: Settings) -> list[tuple[int, float]]:
    """Reorder the best ``rerank_top`` fused candidates by cross-encoder score; the rest follow."""
    head, tail = fused[: settings.rerank_top], fused[settings.rerank_top :]
    rows = store.by_vids(live.conn, [v for v, _ in head])
    head = [(v, s) for v, s in head if v in rows]
    if not head:
        return fused
    model = _cross_encoder(settings.reranker, settings.device)
    scores = model.predict([(query, rows[v][0].text) for v, _ in head])
    ranked = sorted(zip((v for v, _ in head), (float(x) for x in scores), strict=True), key=lambda kv: -kv[1])
    return ranked + tail


def _hits(
    live: LiveIndex, fused: list[tuple[int, float]], detail: dict, k: int, notice: str | None = None
) -> list[Hit]:
    """Materialise hits best first, collapsing near-duplicates into the best-ranked copy."""
    top = fused[: k * 3]
    rows = store.by_vids(live.conn, [v for v, _ in top])
    kept: list[tuple[int, float, str, list[tuple[str, str]]]] = []
    vecs: dict[int, np.ndarray] = {}
    for vid, score in top:
        if vid not in rows:
            continue
        passage, document, _ = rows[vid]
        key = _dup_key(passage.text)
        twin = next((h for h in kept if h[2] == key or _near(live, vecs, h[0], vid)), None)
        if twin is not None:
            twin[3].append((passage.passage_id, document.path))
            continue
        if len(kept) < k:
            kept.append((vid, score, key, []))
    hits = []
    for rank, (vid, score, _, dups) in enumerate(kept, start=1):
        passage, document, _ = rows[vid]
        scores = tuple((f"{name}_rank", float(d[vid][0])) for name, d in detail.items() if vid in d)
        scores += tuple((name, d[vid][1]) for name, d in detail.items() if vid in d)
        hits.append(Hit(passage, document, float(score), rank, scores, tuple(dups), notice))
    return hits


def _dup_key(text: str) -> str:
    norm = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text))
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def _near(live: LiveIndex, cache: dict[int, np.ndarray], a: int, b: int) -> bool:
    """Dense near-duplicate test on the stored vectors (cosine ≥ DUP_COSINE)."""
    for v in (a, b):
        if v not in cache:
            cache[v] = live.vectors.reconstruct(int(v))
    return float(np.dot(cache[a], cache[b])) >= DUP_COSINE


def snippet(text: str, query: str, width: int = 220) -> str:
    """The ``width``-character stretch of ``text`` that shares most character pairs with the query.

    Starts are sentence starts, so a long passage shows the sentences that matched rather
    than always its opening; cut ends are marked with "…".
    """
    if len(text) <= width:
        return text
    wanted = set(bigrams(query))
    starts = [0] + [m.end() for m in re.finditer(r"[。！？；!?;\n]+", text) if m.end() < len(text)]

    def overlap(start: int) -> int:
        window = text[start : start + width]
        return sum(1 for g in wanted if g in window)

    best = max(starts, key=lambda st: (overlap(st), -st))
    out = text[best : best + width].strip()
    return ("…" if best > 0 else "") + out + ("…" if best + width < len(text) else "")


def hit_to_json(hit: Hit) -> dict:
    """The JSON object `kb search --json` prints for one hit."""
    p, d = hit.passage, hit.document
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "passage_id": p.passage_id,
        "doc_id": d.doc_id,
        "doc_title": d.title,
        "source": d.path,
        "publisher": d.source,
        "heading_path": list(p.heading_path),
        "regions": list(p.regions),
        "own_regions": list(p.own_regions),
        "date": d.date,
        "doc_type": d.doc_type,
        "article": p.article,
        "text": p.text,
        "scores": dict(hit.scores),
        "duplicates": [{"passage_id": pid, "source": src} for pid, src in hit.duplicates],
        "notice": hit.notice,
    }


__all__ = [
    "LiveIndex",
    "open_index",
    "search",
    "diversify",
    "rrf",
    "allowed_vids",
    "hit_to_json",
]
