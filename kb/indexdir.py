"""The index folder's files: their names per generation, and reading them with damage reported as such.

Every derived file (vectors, both BM25s, the manifest) can be rebuilt from ``kb.sqlite``,
so damage to one names the file and points at ``kb repair``; damage to ``kb.sqlite``
itself points at a rebuild from the original files.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb import bm25
from kb.errors import IndexDamagedError

REPAIR_STEP = (
    "run `kb repair` (or `kb ingest --repair PATH…`): it rebuilds the file from kb.sqlite "
    "and re-embeds only passages whose vectors are missing"
)
SQLITE_STEP = (
    "kb.sqlite holds the documents themselves and cannot be rebuilt from the other files: "
    "run `kb ingest --rebuild PATH…` on the original files"
)
# every name an index folder may hold (rebuild refuses to delete a folder with anything else)
KB_FILE = re.compile(
    r"^(manifest\.json|manifest\.tmp|writer\.lock|kb\.sqlite(-wal|-shm|-journal)?"
    r"|(vectors|ann)-\d+\.faiss|(bm25|bigram)-\d+\.(npz|vocab\.json))$"
)


def generation_files(gen: int) -> list[str]:
    """Names of the files of one generation (ann only exists with faiss_index=hnsw)."""
    sparse = [f"{stem}-{gen}{ext}" for stem in ("bm25", "bigram") for ext in (".npz", ".vocab.json")]
    return [f"vectors-{gen}.faiss", f"ann-{gen}.faiss", *sparse]


def foreign_files(folder: Path) -> list[str]:
    """Entries of ``folder`` that are not part of a kb index (sorted)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not (p.is_file() and KB_FILE.match(p.name)))


def read_vectors(folder: Path, gen: int, dim: int | None = None):
    """The generation's FAISS IndexIDMap2; IndexDamagedError when missing, unreadable or of another size."""
    import faiss

    path = folder / f"vectors-{gen}.faiss"
    if not path.exists():
        raise IndexDamagedError(str(path), "the file is missing", REPAIR_STEP)
    try:
        vectors = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexDamagedError(str(path), f"FAISS cannot read it: {_first_line(exc)}", REPAIR_STEP) from exc
    if not hasattr(vectors, "id_map"):
        raise IndexDamagedError(str(path), "not an id-mapped FAISS index", REPAIR_STEP)
    if dim is not None and vectors.d != dim:
        raise IndexDamagedError(str(path), f"vectors of dimension {vectors.d}, expected {dim}", REPAIR_STEP)
    return vectors


def read_sparse(folder: Path, stem: str) -> bm25.BM25Index:
    """One BM25 index (``bm25-N`` or ``bigram-N``); IndexDamagedError naming the bad file."""
    try:
        return bm25.load(folder, stem)
    except FileNotFoundError:
        raise IndexDamagedError(str(folder / f"{stem}.npz"), "the file is missing", REPAIR_STEP) from None
    except bm25.BadFile as exc:
        raise IndexDamagedError(str(exc.path), exc.detail, REPAIR_STEP) from exc


def check_counts(folder: Path, gen: int, passages: int, vectors: int, words: int, grams: int) -> None:
    """Cheap agreement test when opening: each derived file holds one row per passage in kb.sqlite."""
    for name, n in ((f"vectors-{gen}.faiss", vectors), (f"bm25-{gen}.npz", words), (f"bigram-{gen}.npz", grams)):
        if n != passages:
            detail = f"it holds {n} passages but kb.sqlite holds {passages}"
            raise IndexDamagedError(str(folder / name), detail, REPAIR_STEP)


@contextmanager
def sqlite_guard(folder: Path) -> Iterator[None]:
    """Turn SQLite's 'malformed'/'not a database' errors into IndexDamagedError naming kb.sqlite."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
            raise  # locked, busy, read-only: not damage
        raise IndexDamagedError(str(folder / "kb.sqlite"), f"SQLite: {exc}", SQLITE_STEP) from exc


def _first_line(exc: BaseException) -> str:
    lines = [x for x in str(exc).splitlines() if x.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
