"""The index folder: incremental ingest into SQLite + FAISS + BM25, one generation at a time.

Layout (open formats only)::

    index/
      manifest.json            model, dimension, settings, counts, generation (for humans and checks)
      kb.sqlite                files, documents, passages, tokens, region codes, meta(generation)
      vectors-<gen>.faiss      IndexIDMap2(IndexFlatIP): passage vid → normalised embedding
      ann-<gen>.faiss          optional HNSW over the same vectors (faiss_index = hnsw)
      bm25-<gen>.npz/.vocab.json     BM25 over jieba words
      bigram-<gen>.npz/.vocab.json   BM25 over Chinese character bigrams

An ingest writes generation g+1 files first, then commits SQLite (which names the live
generation) in one transaction, then deletes generation g. Killed at any point, the
folder still opens at g or g+1, never half-way.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb import bm25, health, indexdir, regions, store
from kb.errors import IndexDamagedError, IndexStateError, KBError, LoadError
from kb.indexdir import REPAIR_STEP
from kb.load import find_files, load, read_bytes
from kb.lock import LOCK_NAME, writer_lock
from kb.pipeline import Parsed, parse_source, pipeline_key
from kb.practices import build as practices
from kb.settings import Settings
from kb.tokens import bigrams, tokenize
from kb.types import Document, IndexProblem, Passage, RepairReport

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
Progress = Callable[[str], None]


@dataclass(frozen=True)
class FileResult:
    path: str
    status: str  # added | updated | unchanged | removed | error | skipped (a link out of the folder)
    passages: int = 0
    documents: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileResult, ...]
    generation: int
    embedded: int  # passages embedded in this run (others reused their vectors)
    total_documents: int
    total_passages: int
    seconds: float
    repaired: tuple[IndexProblem, ...] = ()  # damage found in the live generation and repaired first

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


@dataclass
class _Plan:
    """What an ingest run will change, gathered before anything is written."""

    parsed: dict[str, Parsed] = field(default_factory=dict)  # path → new content
    hashes: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    results: list[FileResult] = field(default_factory=list)


def embed_text(passage: Passage, document: Document) -> str:
    """What gets embedded and BM25-indexed: title and headings give a passage its context."""
    return context_text(document.title, passage.heading_path, passage.text)


def context_text(title: str, heading_path: Sequence[str], text: str) -> str:
    """Title, headings below the title, then the text: one string per passage."""
    heads = " > ".join(heading_path[1:])
    return "\n".join(x for x in (title, heads, text) if x)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def display_path(path: Path) -> str:
    """Paths are stored relative to the working directory when inside it (portable ids)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


# ---------------------------------------------------------------- manifest and model checks


def read_manifest(index_dir: str | Path) -> dict | None:
    p = Path(index_dir) / MANIFEST
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexDamagedError(str(p), f"unreadable: {type(exc).__name__}", REPAIR_STEP) from exc
    if not isinstance(data, dict):
        raise IndexDamagedError(str(p), "not a JSON object", REPAIR_STEP)
    return data


def check_model(manifest: dict | None, model_name: str, dim: int, index_dir: str | Path) -> None:
    """Refuse to mix vectors of two models in one index."""
    if not manifest or not manifest.get("passages"):
        return
    if manifest.get("model") != model_name or int(manifest.get("dim", dim)) != dim:
        raise IndexStateError(
            f"the index in {index_dir} was built with model {manifest.get('model')!r} (dim {manifest.get('dim')}), "
            f"but the current model is {model_name!r} (dim {dim}). Use the same model (KB_MODEL / --model), "
            f"or rebuild: `kb ingest --rebuild PATH…` (or delete {index_dir})."
        )


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- planning


def plan(paths: Sequence[str | Path], conn, settings: Settings, progress: Progress | None = None) -> _Plan:
    """Load and parse changed files; find files that vanished. Nothing is written."""
    out = _Plan()
    records = store.file_records(conn)
    reparse = store.get_meta(conn, "pipeline") != pipeline_key(settings)
    files, links = find_files(paths, settings.ingest_follow_links)
    out.results += [FileResult(display_path(link), "skipped", reason=why) for link, why in links]
    seen: set[str] = set()
    bar = _bar(files, "解析文件", progress)
    for f in bar:
        rel = display_path(f)
        seen.add(rel)
        try:
            raw = read_bytes(f)
        except LoadError as exc:
            out.results.append(FileResult(rel, "error", reason=exc.reason))
            continue
        digest = hashlib.sha256(raw).hexdigest()
        rec = records.get(rel)
        if rec and rec.status == "ok" and rec.content_hash == digest and not reparse:
            out.results.append(FileResult(rel, "unchanged", rec.passages))
            continue
        try:
            parsed = parse_source(load(f, raw), settings, path=rel)
            if not parsed.passages:
                raise LoadError(rel, "no text left after removing page furniture")
        except LoadError as exc:
            out.results.append(FileResult(rel, "error", reason=exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - a bad file must never stop the run
            out.results.append(FileResult(rel, "error", reason=f"could not parse: {type(exc).__name__}: {exc}"))
            continue
        status = "updated" if rec and rec.status == "ok" else "added"
        out.parsed[rel] = parsed
        out.hashes[rel] = digest
        out.results.append(FileResult(rel, status, len(parsed.passages), len(parsed.documents)))
    roots = [display_path(Path(p)) for p in paths]
    for rel, rec in records.items():
        if rel not in seen and _under(rel, roots) and not Path(rel).exists():
            out.removed.append(rel)
            out.results.append(FileResult(rel, "removed", rec.passages))
    return out


def _under(rel: str, roots: Sequence[str]) -> bool:
    return any(rel == r or rel.startswith(r.rstrip("/") + "/") or r in (".", "") for r in roots)


def _bar(items, desc: str, progress: Progress | None, unit: str = "file"):
    if progress is None:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, leave=False)


# ---------------------------------------------------------------- ingest


def ingest(
    paths: Sequence[str | Path],
    settings: Settings,
    embedder,
    progress: Progress | None = None,
    strict: bool = False,
    wait: bool = False,
    repair: bool = False,
) -> IngestReport:
    """Bring the index in ``settings.index_dir`` up to date with the files under ``paths``.

    Holds the folder's writer lock throughout (``wait``: queue behind another writer instead
    of failing). A damaged live generation is repaired first (``repair``: rewrite every
    derived file even when none looks damaged).
    """
    index_dir = Path(settings.index_dir)
    with writer_lock(index_dir, wait, progress), indexdir.sqlite_guard(index_dir):
        return _ingest_locked(paths, settings, embedder, progress, strict, repair)


def rebuild(
    paths: Sequence[str | Path],
    settings: Settings,
    embedder,
    progress: Progress | None = None,
    strict: bool = False,
    wait: bool = False,
) -> IngestReport:
    """Empty the index folder and ingest ``paths`` afresh; refuses a folder holding anything but a kb index."""
    folder = Path(settings.index_dir)
    if folder.exists() and not folder.is_dir():
        raise IndexStateError(f"{folder} is a file, not an index folder; choose another --index")
    foreign = indexdir.foreign_files(folder)
    if foreign:
        listed = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise IndexStateError(
            f"refusing to rebuild {folder}/: it holds files that are not part of a kb index ({listed}); "
            "move them away or choose another --index folder"
        )
    with writer_lock(folder, wait, progress):
        for p in folder.iterdir():
            if p.name != LOCK_NAME:
                p.unlink()
        with indexdir.sqlite_guard(folder):
            return _ingest_locked(paths, settings, embedder, progress, strict, False)


def repair(
    settings: Settings,
    get_embedder: Callable[[], object],
    progress: Progress | None = None,
    wait: bool = False,
    force: bool = False,
) -> RepairReport:
    """Rewrite the derived files of a damaged index from kb.sqlite; the model loads only if vectors are missing."""
    started = time.perf_counter()
    folder = Path(settings.index_dir)
    if not (folder / store.DB_NAME).exists():
        raise IndexStateError(f"no index in {folder}/: nothing to repair (run `kb ingest PATH…` first)")
    with writer_lock(folder, wait, progress):
        found = health.check(folder, settings.faiss_index == "hnsw")
        bad_db = [p for p in found.problems if not p.repairable]
        if bad_db:
            raise IndexDamagedError(bad_db[0].file, bad_db[0].detail, indexdir.SQLITE_STEP)
        if found.ok and not force:
            return RepairReport(found.generation, (), 0, found.passages, time.perf_counter() - started)
        with indexdir.sqlite_guard(folder):
            conn = store.connect(folder)
            try:
                embedded, reused = _repair(conn, folder, found.generation, settings, get_embedder, progress)
            finally:
                conn.close()
    return RepairReport(found.generation + 1, found.problems, embedded, reused, time.perf_counter() - started)


def _ingest_locked(paths, settings: Settings, embedder, progress, strict: bool, repair: bool) -> IngestReport:
    started = time.perf_counter()
    index_dir = Path(settings.index_dir)
    conn = store.connect(index_dir)
    try:
        check_model(_built_with(conn, index_dir), embedder.name, embedder.dim, index_dir)
        gen = int(store.get_meta(conn, "generation", "0"))
        problems = _live_problems(conn, index_dir, gen, settings)
        if problems or (repair and gen):
            if problems and progress:
                progress(
                    "索引已损坏：" + "；".join(f"{Path(p.file).name}（{p.detail}）" for p in problems) + "。正在修复…"
                )
            _repair(conn, index_dir, gen, settings, lambda: embedder, progress)
            gen += 1
        work = plan(paths, conn, settings, progress)
        if strict and any(r.status == "error" for r in work.results):
            bad = next(r for r in work.results if r.status == "error")
            raise KBError(f"{bad.path}: {bad.reason} (--strict: nothing was changed)")
        embedded = 0
        if work.parsed or work.removed:
            embedded = _commit(conn, index_dir, gen, work, settings, embedder, progress)
            gen += 1
        practices.refresh(conn, lambda: _load_vectors(index_dir, gen, embedder.dim), settings, embedder, progress)
        totals = conn.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM passages)").fetchone()
        seconds = time.perf_counter() - started
        return IngestReport(tuple(work.results), gen, embedded, totals[0], totals[1], seconds, tuple(problems))
    finally:
        conn.close()


def _built_with(conn, index_dir: Path) -> dict | None:
    """Model and dimension of the index from kb.sqlite (the manifest may be the damaged file)."""
    model, dim = store.get_meta(conn, "model"), store.get_meta(conn, "dim")
    if model and dim:
        return {"model": model, "dim": int(dim), "passages": store.passage_count(conn)}
    return read_manifest(index_dir)


def _live_problems(conn, index_dir: Path, gen: int, settings: Settings) -> list[IndexProblem]:
    """Damage in the derived files of the live generation (none for a new index)."""
    if gen == 0:
        return []
    vids = np.asarray(store.all_vids(conn), dtype=np.int64)
    dim = store.get_meta(conn, "dim")
    meta = {"model": store.get_meta(conn, "model"), "dim": dim}
    found = health.derived_problems(index_dir, gen, vids, int(dim) if dim else None, settings.faiss_index == "hnsw")
    return found + health.manifest_problems(index_dir, gen, len(vids), {k: v for k, v in meta.items() if v})


def _repair(conn, index_dir: Path, gen: int, settings: Settings, get_embedder, progress) -> tuple[int, int]:
    """Write generation gen+1 from kb.sqlite: intact vectors kept, missing ones embedded, BM25s rebuilt.

    Returns (passages embedded, passages whose vectors were reused).
    """
    import faiss

    vids, parts = store.all_texts(conn)
    texts = [context_text(*p) for p in parts]
    model, dim = store.get_meta(conn, "model"), int(store.get_meta(conn, "dim") or 0)
    ids, data = _salvage_vectors(index_dir, gen, dim or None)
    row = {int(v): i for i, v in enumerate(ids)}
    missing = [i for i, v in enumerate(vids) if v not in row]
    embedder = get_embedder() if missing or not dim else None
    if embedder is not None:
        check_model({"model": model or embedder.name, "dim": dim or embedder.dim, "passages": 1},
                    embedder.name, embedder.dim, index_dir)  # fmt: skip
        model, dim = embedder.name, embedder.dim
    matrix = np.zeros((len(vids), dim), dtype=np.float32)
    for i, v in enumerate(vids):
        if v in row:
            matrix[i] = data[row[v]]
    if missing:
        unique = {text_hash(texts[i]): texts[i] for i in missing}
        fresh = dict(zip(unique, _embed(embedder, list(unique.values()), progress), strict=True))
        for i in missing:
            matrix[i] = fresh[text_hash(texts[i])]
    vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if vids:
        vectors.add_with_ids(matrix, np.asarray(vids, dtype=np.int64))
    new_gen = gen + 1
    faiss.write_index(vectors, str(index_dir / f"vectors-{new_gen}.faiss"))
    if settings.faiss_index == "hnsw":
        faiss.write_index(_hnsw(vectors, settings), str(index_dir / f"ann-{new_gen}.faiss"))
    _write_sparse(conn, index_dir, new_gen, settings)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for key, value in {"generation": str(new_gen), "model": model, "dim": str(dim)}.items():
            store.set_meta(conn, key, value)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    _write_manifest(conn, index_dir, new_gen, settings, model, dim)
    _drop_generation(index_dir, gen)
    return len(missing), len(vids) - len(missing)


def _salvage_vectors(index_dir: Path, gen: int, dim: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) still readable from generation ``gen``; empty when its file is lost."""
    import faiss

    try:
        vectors = indexdir.read_vectors(index_dir, gen, dim)
    except IndexStateError:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim or 0), dtype=np.float32)
    flat = faiss.downcast_index(vectors.index)
    data = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, flat.d), dtype=np.float32)
    return faiss.vector_to_array(vectors.id_map).astype(np.int64), data


def _commit(conn, index_dir: Path, gen: int, work: _Plan, settings: Settings, embedder, progress) -> int:
    """Write generation gen+1: vectors and BM25 files, then the SQLite transaction."""
    import faiss

    new_gen = gen + 1
    vectors = _load_vectors(index_dir, gen, embedder.dim)
    fresh = _embed_new(conn, work, embedder, progress)  # may turn files the model fails on into errors
    changed = [*work.parsed, *work.removed]
    old = [pair for path in changed for pair in store.vids_of_path(conn, path)]
    docs, passages, texts = _flatten(work.parsed)
    hashes = [text_hash(t) for t in texts]
    reuse = store.hash_to_vid(conn, [h for h in hashes if h not in fresh])
    next_vid = max(store.max_vid(conn), _max_id(vectors)) + 1
    vids = list(range(next_vid, next_vid + len(passages)))
    matrix = np.zeros((len(passages), embedder.dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        matrix[i] = fresh[h] if h in fresh else vectors.reconstruct(int(reuse[h]))
    if old:
        vectors.remove_ids(np.asarray([v for v, _ in old], dtype=np.int64))
    if passages:
        vectors.add_with_ids(matrix, np.asarray(vids, dtype=np.int64))
    faiss.write_index(vectors, str(index_dir / f"vectors-{new_gen}.faiss"))
    if settings.faiss_index == "hnsw":
        faiss.write_index(_hnsw(vectors, settings), str(index_dir / f"ann-{new_gen}.faiss"))
    tokens = [" ".join(tokenize(t)) for t in _bar(texts, "分词", progress, unit="段")]
    codes = [_region_codes(p) for p in passages]
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for path in changed:
            store.delete_path(conn, path)
        for path in work.removed:
            conn.execute("DELETE FROM files WHERE path=?", (path,))
        store.insert_documents(conn, docs)
        store.insert_passages(conn, passages, vids, hashes, tokens, codes)
        for path, parsed in work.parsed.items():
            rec = store.FileRecord(path, work.hashes[path], "ok", None, len(parsed.passages))
            store.put_file(conn, rec, parsed.documents[0].doc_id, now)
        _write_sparse(conn, index_dir, new_gen, settings)
        meta = {
            "generation": str(new_gen),
            "model": embedder.name,
            "dim": str(embedder.dim),
            "pipeline": pipeline_key(settings),
        }
        for key, value in meta.items():
            store.set_meta(conn, key, value)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    _write_manifest(conn, index_dir, new_gen, settings, embedder.name, embedder.dim)
    _drop_generation(index_dir, gen)
    return len(fresh)


def _write_sparse(conn, index_dir: Path, gen: int, settings: Settings) -> None:
    """Both BM25 indexes over every live passage: jieba words (stored tokens) and character bigrams."""
    vids, words = store.all_tokens(conn)
    bm = bm25.build(vids, [t.split() for t in words], settings.bm25_k1, settings.bm25_b)
    bm25.save(bm, index_dir, f"bm25-{gen}")
    vids, parts = store.all_texts(conn)
    grams = [bigrams(context_text(*p)) for p in parts]
    bm25.save(bm25.build(vids, grams, settings.bm25_k1, settings.bm25_b), index_dir, f"bigram-{gen}")


def _flatten(parsed: dict[str, Parsed]) -> tuple[list[Document], list[Passage], list[str]]:
    docs = [d for p in parsed.values() for d in p.documents]
    by_id = {d.doc_id: d for d in docs}
    passages = [x for p in parsed.values() for x in p.passages]
    return docs, passages, [embed_text(x, by_id[x.doc_id]) for x in passages]


def _embed_new(conn, work: _Plan, embedder, progress: Progress | None) -> dict[str, np.ndarray]:
    """Vectors of the passage texts not yet in the index, by text hash.

    Should the model fail on some text (tokenizer crash, device error), the files are
    retried one by one; those that still fail become errors and are skipped like any bad
    file, their previous version (if any) staying in the index.
    """
    texts = {text_hash(t): t for t in _flatten(work.parsed)[2]}
    known = store.hash_to_vid(conn, list(texts))
    todo = {h: t for h, t in texts.items() if h not in known}
    try:
        return dict(zip(todo, _embed(embedder, list(todo.values()), progress), strict=True))
    except BaseException as exc:  # noqa: BLE001 - tokenizers' Rust panics derive from BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        if progress:
            progress(f"向量化失败（{type(exc).__name__}），逐个文件重试…")
    out: dict[str, np.ndarray] = {}
    for path, parsed in list(work.parsed.items()):
        mine = {h: todo[h] for h in map(text_hash, _flatten({path: parsed})[2]) if h in todo and h not in out}
        try:
            out.update(zip(mine, _embed(embedder, list(mine.values()), None), strict=True))
        except BaseException as exc:  # noqa: BLE001 - as above
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            _fail(work, path, f"the embedding model failed on this file ({type(exc).__name__}: {exc})")
    return out


def _fail(work: _Plan, path: str, reason: str) -> None:
    """Take a file out of the plan and report it as an error."""
    work.parsed.pop(path, None)
    work.hashes.pop(path, None)
    work.results = [FileResult(path, "error", reason=reason) if r.path == path else r for r in work.results]


def _embed(embedder, texts: list[str], progress: Progress | None) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    if progress:
        progress(f"正在向量化 {len(texts)} 个段落…")
    return np.asarray(embedder.embed_passages(texts, progress_bar=progress is not None), dtype=np.float32)


def _region_codes(p: Passage) -> list[tuple[str, bool]]:
    own = set(p.own_regions)
    return [(r.code, name in own) for name in p.regions if (r := regions.resolve(name))]


def _load_vectors(index_dir: Path, gen: int, dim: int):
    import faiss

    if gen:
        return indexdir.read_vectors(index_dir, gen, dim)
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _max_id(vectors) -> int:
    import faiss

    if vectors.ntotal == 0:
        return 0
    return int(faiss.vector_to_array(vectors.id_map).max())


def _hnsw(vectors, settings: Settings):
    """An approximate index over the same vectors and ids (rebuilt per generation)."""
    import faiss

    ids = faiss.vector_to_array(vectors.id_map).astype(np.int64)
    flat = faiss.downcast_index(vectors.index)
    data = flat.reconstruct_n(0, flat.ntotal)
    ann = faiss.IndexIDMap(faiss.IndexHNSWFlat(flat.d, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT))
    if len(ids):
        ann.add_with_ids(data, ids)
    return ann


def _write_manifest(conn, index_dir: Path, gen: int, settings: Settings, model: str, dim: int) -> None:
    docs, passages, files = conn.execute(
        "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM passages), (SELECT count(*) FROM files)"
    ).fetchone()
    manifest = {
        "format": FORMAT_VERSION,
        "generation": gen,
        "model": model,
        "dim": dim,
        "documents": docs,
        "passages": passages,
        "files": files,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "settings": {k: v for k, v in settings.as_dict().items() if k not in ("index_dir", "cache_dir")},
    }
    _write_json_atomic(index_dir / MANIFEST, manifest)


def _drop_generation(index_dir: Path, gen: int) -> None:
    stems = (f"bm25-{gen}", f"bigram-{gen}")
    names = [
        f"vectors-{gen}.faiss",
        f"ann-{gen}.faiss",
        *(f"{s}{ext}" for s in stems for ext in (".npz", ".vocab.json")),
    ]
    for name in names:
        (index_dir / name).unlink(missing_ok=True)


def remove(
    paths: Sequence[str], settings: Settings, embedder, progress: Progress | None = None, wait: bool = False
) -> IngestReport:
    """Take the files stored under ``paths`` (as `kb docs` shows them) out of the index, whether or
    not they still exist on disk; a new generation is written as by ingest, under the writer lock."""
    index_dir = Path(settings.index_dir)
    with writer_lock(index_dir, wait, progress), indexdir.sqlite_guard(index_dir):
        return _remove_locked(paths, settings, embedder, progress)


def _remove_locked(paths: Sequence[str], settings: Settings, embedder, progress: Progress | None) -> IngestReport:
    started = time.perf_counter()
    index_dir = Path(settings.index_dir)
    conn = store.connect(index_dir)
    try:
        check_model(read_manifest(index_dir), embedder.name, embedder.dim, index_dir)
        records = store.file_records(conn)
        work = _Plan()
        for path in dict.fromkeys(paths):
            if path not in records:
                raise KBError(f"{path} is not in the index; `kb docs` lists the indexed files")
            work.removed.append(path)
            work.results.append(FileResult(path, "removed", records[path].passages))
        gen = int(store.get_meta(conn, "generation", "0"))
        if work.removed:
            _commit(conn, index_dir, gen, work, settings, embedder, progress)
            gen += 1
        totals = conn.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM passages)").fetchone()
        return IngestReport(tuple(work.results), gen, 0, totals[0], totals[1], time.perf_counter() - started)
    finally:
        conn.close()
