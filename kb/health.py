"""Is an index folder whole? Read-only checks behind `kb check`, and the test a plain ingest runs first.

kb.sqlite is the source of truth; every other file is derived from it and must agree on
the same passage ids. Problems are returned, not raised, so a report can list them all.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from kb import indexdir, store
from kb.errors import IndexStateError
from kb.types import CheckReport, IndexProblem

MANIFEST = "manifest.json"


def check(folder: Path, hnsw: bool = False) -> CheckReport:
    """SQLite integrity, then vectors, both BM25s, the HNSW index (when used) and the manifest against it."""
    db = folder / store.DB_NAME
    if not db.exists():
        raise IndexStateError(f"no index in {folder}/: nothing to check (run `kb ingest PATH…` first)")
    try:
        conn = sqlite3.connect(str(db))
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(rows[:3]))
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            vids = np.asarray([r[0] for r in conn.execute("SELECT vid FROM passages ORDER BY vid")], dtype=np.int64)
            docs = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        problem = IndexProblem(str(db), f"SQLite: {exc}; {indexdir.SQLITE_STEP}", repairable=False)
        return CheckReport(str(folder), 0, 0, 0, (problem,))
    gen = int(meta.get("generation", "0"))
    dim = int(meta["dim"]) if meta.get("dim") else None
    found = derived_problems(folder, gen, vids, dim, hnsw)
    found += manifest_problems(folder, gen, len(vids), meta)
    return CheckReport(str(folder), gen, int(docs), len(vids), tuple(found))


def derived_problems(folder: Path, gen: int, vids: np.ndarray, dim: int | None, hnsw: bool) -> list[IndexProblem]:
    """Vectors, BM25 and bigram files of generation ``gen`` that are missing, unreadable or hold other ids."""
    if gen == 0:
        return []
    out: list[IndexProblem] = []
    try:
        vectors = indexdir.read_vectors(folder, gen, dim)
        import faiss

        out += _id_problems(folder / f"vectors-{gen}.faiss", faiss.vector_to_array(vectors.id_map), vids)
    except IndexStateError as exc:
        out.append(_problem(exc))
    for stem in (f"bm25-{gen}", f"bigram-{gen}"):
        try:
            out += _id_problems(folder / f"{stem}.npz", indexdir.read_sparse(folder, stem).vids, vids)
        except IndexStateError as exc:
            out.append(_problem(exc))
    ann = folder / f"ann-{gen}.faiss"
    if hnsw or ann.exists():
        out += _ann_problems(ann, len(vids))
    return out


def manifest_problems(folder: Path, gen: int, passages: int, meta: dict[str, str]) -> list[IndexProblem]:
    """A manifest.json that is missing, unreadable or describes another generation, count or model."""
    path = folder / MANIFEST
    if gen == 0:
        return []
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        return [IndexProblem(str(path), "the file is missing")]
    except (OSError, ValueError) as exc:
        return [IndexProblem(str(path), f"unreadable ({type(exc).__name__})")]
    wrong = [
        f"{key} {manifest.get(key)!r}, kb.sqlite says {want!r}"
        for key, want in (("generation", gen), ("passages", passages), ("model", meta.get("model")))
        if want is not None and manifest.get(key) != want
    ]
    if meta.get("dim") and str(manifest.get("dim")) != meta["dim"]:
        wrong.append(f"dim {manifest.get('dim')!r}, kb.sqlite says {meta['dim']}")
    return [IndexProblem(str(path), "; ".join(wrong))] if wrong else []


def _id_problems(path: Path, have: np.ndarray, want: np.ndarray) -> list[IndexProblem]:
    have = np.asarray(have, dtype=np.int64)
    missing = np.setdiff1d(want, have).size
    extra = np.setdiff1d(have, want).size
    dups = have.size - np.unique(have).size
    parts = [
        f"{n} {what}"
        for n, what in ((missing, "passages of kb.sqlite missing"), (extra, "unknown ids"), (dups, "duplicate ids"))
        if n
    ]
    return [IndexProblem(str(path), ", ".join(parts))] if parts else []


def _ann_problems(path: Path, passages: int) -> list[IndexProblem]:
    import faiss

    if not path.exists():
        return [IndexProblem(str(path), "the file is missing (faiss_index = hnsw)")]
    try:
        n = faiss.read_index(str(path)).ntotal
    except RuntimeError:
        return [IndexProblem(str(path), "FAISS cannot read it")]
    return [] if n == passages else [IndexProblem(str(path), f"it holds {n} passages, kb.sqlite {passages}")]


def _problem(exc: IndexStateError) -> IndexProblem:
    return IndexProblem(getattr(exc, "path", "?"), getattr(exc, "detail", str(exc)))
