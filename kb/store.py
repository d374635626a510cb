"""SQLite storage of files, documents and passages inside the index folder.

SQLite holds everything but the vectors and the BM25 matrix: metadata, passage text,
jieba tokens, region codes for hierarchical filters, and per-file content hashes for
incremental ingest. Vectors live in FAISS under the same integer id (``vid``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.types import Document, Passage, PracticeCard, Theme

DB_NAME = "kb.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, content_hash TEXT, status TEXT NOT NULL, error TEXT, doc_id TEXT,
    passages INTEGER DEFAULT 0, ingested_at TEXT
);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, author TEXT, date TEXT,
    year INTEGER, source TEXT, doc_type TEXT NOT NULL, regions TEXT NOT NULL, refs TEXT NOT NULL,
    parent_id TEXT, part INTEGER NOT NULL, content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_path ON documents(path);
CREATE TABLE IF NOT EXISTS passages (
    vid INTEGER PRIMARY KEY, passage_id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL, seq INTEGER NOT NULL,
    text TEXT NOT NULL, heading_path TEXT NOT NULL, regions TEXT NOT NULL, own_regions TEXT NOT NULL,
    article TEXT, text_hash TEXT NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, seq);
CREATE INDEX IF NOT EXISTS passages_hash ON passages(text_hash);
CREATE TABLE IF NOT EXISTS passage_regions (vid INTEGER NOT NULL, code TEXT NOT NULL, own INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS passage_regions_code ON passage_regions(code);
CREATE INDEX IF NOT EXISTS passage_regions_vid ON passage_regions(vid);
CREATE TABLE IF NOT EXISTS practice_themes (
    theme_id TEXT PRIMARY KEY, ord INTEGER NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
    keywords TEXT NOT NULL, vector BLOB
);
CREATE TABLE IF NOT EXISTS practice_docs (doc_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passage_themes (
    passage_id TEXT NOT NULL, doc_id TEXT NOT NULL, theme_id TEXT NOT NULL, score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS passage_themes_pid ON passage_themes(passage_id);
CREATE INDEX IF NOT EXISTS passage_themes_doc ON passage_themes(doc_id);
CREATE TABLE IF NOT EXISTS practice_cards (
    card_id TEXT PRIMARY KEY, passage_id TEXT NOT NULL, doc_id TEXT NOT NULL, region TEXT NOT NULL,
    region_code TEXT NOT NULL, level INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    summary TEXT NOT NULL, themes TEXT NOT NULL, figures TEXT NOT NULL, year INTEGER, score REAL NOT NULL,
    locality TEXT, doc_title TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS practice_cards_doc ON practice_cards(doc_id);
CREATE INDEX IF NOT EXISTS practice_cards_pid ON practice_cards(passage_id);
"""


@dataclass(frozen=True)
class FileRecord:
    path: str
    content_hash: str | None
    status: str  # ok | error
    error: str | None
    passages: int


def connect(index_dir: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the index database."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(Path(index_dir) / DB_NAME), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row["value"] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def file_records(conn: sqlite3.Connection) -> dict[str, FileRecord]:
    rows = conn.execute("SELECT path, content_hash, status, error, passages FROM files").fetchall()
    return {r["path"]: FileRecord(r["path"], r["content_hash"], r["status"], r["error"], r["passages"]) for r in rows}


def put_file(conn: sqlite3.Connection, rec: FileRecord, doc_id: str | None, when: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO files(path, content_hash, status, error, doc_id, passages, ingested_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (rec.path, rec.content_hash, rec.status, rec.error, doc_id, rec.passages, when),
    )


def vids_of_path(conn: sqlite3.Connection, path: str) -> list[tuple[int, str]]:
    """(vid, text_hash) of every passage that came from the file at ``path``."""
    rows = conn.execute(
        "SELECT p.vid, p.text_hash FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE d.path = ?",
        (path,),
    ).fetchall()
    return [(r["vid"], r["text_hash"]) for r in rows]


def delete_path(conn: sqlite3.Connection, path: str) -> None:
    """Remove a file's documents, passages and region rows (not its file record)."""
    doc_ids = [r["doc_id"] for r in conn.execute("SELECT doc_id FROM documents WHERE path=?", (path,))]
    for doc_id in doc_ids:
        conn.execute("DELETE FROM passage_regions WHERE vid IN (SELECT vid FROM passages WHERE doc_id=?)", (doc_id,))
        conn.execute("DELETE FROM passages WHERE doc_id=?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE path=?", (path,))


def insert_documents(conn: sqlite3.Connection, docs: Iterable[Document]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                d.doc_id, d.path, d.title, d.author, d.date, _year(d.date), d.source, d.doc_type,
                json.dumps(d.regions, ensure_ascii=False), json.dumps(d.references, ensure_ascii=False),
                d.parent_id, d.part, d.content_hash,
            )
            for d in docs
        ],
    )  # fmt: skip


def insert_passages(
    conn: sqlite3.Connection,
    passages: Sequence[Passage],
    vids: Sequence[int],
    text_hashes: Sequence[str],
    tokens: Sequence[str],
    region_codes: Sequence[Sequence[tuple[str, bool]]],
) -> None:
    conn.executemany(
        "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                vid, p.passage_id, p.doc_id, p.seq, p.text, _j(p.heading_path), _j(p.regions), _j(p.own_regions),
                p.article, h, tok,
            )
            for p, vid, h, tok in zip(passages, vids, text_hashes, tokens, strict=True)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO passage_regions VALUES (?,?,?)",
        [(vid, code, int(own)) for vid, codes in zip(vids, region_codes, strict=True) for code, own in codes],
    )


def _j(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _year(date: str | None) -> int | None:
    return int(date[:4]) if date and date[:4].isdigit() else None


def row_to_document(r: sqlite3.Row) -> Document:
    return Document(
        doc_id=r["doc_id"], path=r["path"], title=r["title"], author=r["author"], date=r["date"],
        source=r["source"], doc_type=r["doc_type"], regions=tuple(json.loads(r["regions"])),
        references=tuple(json.loads(r["refs"])), parent_id=r["parent_id"], part=r["part"],
        content_hash=r["content_hash"],
    )  # fmt: skip


def row_to_passage(r: sqlite3.Row) -> Passage:
    return Passage(
        passage_id=r["passage_id"], doc_id=r["doc_id"], seq=r["seq"], text=r["text"],
        heading_path=tuple(json.loads(r["heading_path"])), regions=tuple(json.loads(r["regions"])),
        own_regions=tuple(json.loads(r["own_regions"])), article=r["article"],
    )  # fmt: skip


def documents(conn: sqlite3.Connection) -> list[tuple[Document, int]]:
    """Every document with its passage count, files in path order, parts after their file."""
    rows = conn.execute(
        "SELECT d.*, (SELECT count(*) FROM passages p WHERE p.doc_id = d.doc_id) AS n"
        " FROM documents d ORDER BY d.path, d.part"
    ).fetchall()
    return [(row_to_document(r), r["n"]) for r in rows]


def document(conn: sqlite3.Connection, doc_id: str) -> Document | None:
    row = conn.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    return row_to_document(row) if row else None


def passages_of(conn: sqlite3.Connection, doc_id: str) -> list[Passage]:
    """A document's passages in order; for a compilation file, those of all its parts."""
    rows = conn.execute(
        "SELECT p.* FROM passages p JOIN documents d ON d.doc_id = p.doc_id"
        " WHERE d.doc_id = ? OR d.parent_id = ? ORDER BY d.part, p.seq",
        (doc_id, doc_id),
    ).fetchall()
    return [row_to_passage(r) for r in rows]


def by_vids(conn: sqlite3.Connection, vids: Sequence[int]) -> dict[int, tuple[Passage, Document, str]]:
    """vid → (passage, its document, text_hash) for the given ids."""
    out: dict[int, tuple[Passage, Document, str]] = {}
    for start in range(0, len(vids), 500):
        chunk = [int(v) for v in vids[start : start + 500]]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT * FROM passages WHERE vid IN ({marks})", chunk).fetchall()
        docs = _documents_by_id(conn, {r["doc_id"] for r in rows})
        for r in rows:
            out[r["vid"]] = (row_to_passage(r), docs[r["doc_id"]], r["text_hash"])
    return out


def _documents_by_id(conn: sqlite3.Connection, doc_ids: set[str]) -> dict[str, Document]:
    ids = sorted(doc_ids)
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT * FROM documents WHERE doc_id IN ({marks})", ids).fetchall()
    return {r["doc_id"]: row_to_document(r) for r in rows}


def all_tokens(conn: sqlite3.Connection) -> tuple[list[int], list[str]]:
    """(vids, space-joined tokens) of every passage, in vid order, for building BM25."""
    rows = conn.execute("SELECT vid, tokens FROM passages ORDER BY vid").fetchall()
    return [r["vid"] for r in rows], [r["tokens"] for r in rows]


def all_texts(conn: sqlite3.Connection) -> tuple[list[int], list[tuple[str, list[str], str]]]:
    """(vids, (document title, heading path, text)) of every passage in vid order, for the bigram BM25."""
    sql = (
        "SELECT p.vid, d.title, p.heading_path, p.text FROM passages p JOIN documents d ON d.doc_id = p.doc_id "
        "ORDER BY p.vid"
    )
    rows = conn.execute(sql).fetchall()
    return [r["vid"] for r in rows], [(r["title"], json.loads(r["heading_path"]), r["text"]) for r in rows]


def region_codes(conn: sqlite3.Connection, vids: Sequence[int]) -> list[tuple[int, str]]:
    """(vid, division code) for every region, own or inherited, of the given passages."""
    out: list[tuple[int, str]] = []
    vids = list(vids)
    for start in range(0, len(vids), 500):
        chunk = vids[start : start + 500]
        sql = f"SELECT vid, code FROM passage_regions WHERE vid IN ({','.join('?' * len(chunk))})"
        out.extend((r["vid"], r["code"]) for r in conn.execute(sql, chunk))
    return out


def doc_ids(conn: sqlite3.Connection, vids: Sequence[int]) -> dict[int, str]:
    """The document id of each passage vid."""
    out: dict[int, str] = {}
    vids = list(vids)
    for start in range(0, len(vids), 500):
        chunk = vids[start : start + 500]
        sql = f"SELECT vid, doc_id FROM passages WHERE vid IN ({','.join('?' * len(chunk))})"
        out.update((r["vid"], r["doc_id"]) for r in conn.execute(sql, chunk))
    return out


def passage_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM passages").fetchone()[0])


def all_vids(conn: sqlite3.Connection) -> list[int]:
    """Every passage id, ascending."""
    return [r[0] for r in conn.execute("SELECT vid FROM passages ORDER BY vid")]


def max_vid(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(vid) AS m FROM passages").fetchone()
    return int(row["m"] or 0) if row else 0


def hash_to_vid(conn: sqlite3.Connection, hashes: Iterable[str]) -> dict[str, int]:
    """An existing vid for each text hash already indexed (to reuse its vector)."""
    out: dict[str, int] = {}
    hashes = list(set(hashes))
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(
            f"SELECT text_hash, min(vid) AS v FROM passages WHERE text_hash IN ({marks}) GROUP BY text_hash", chunk
        ):
            out[r["text_hash"]] = r["v"]
    return out


# ---------------------------------------------------------------- app views (by passage id, facets)


def passage_by_id(conn: sqlite3.Connection, passage_id: str) -> tuple[Passage, Document] | None:
    """A passage and its document by the stable passage id, or None."""
    row = conn.execute("SELECT * FROM passages WHERE passage_id=?", (passage_id,)).fetchone()
    if row is None:
        return None
    return row_to_passage(row), _documents_by_id(conn, {row["doc_id"]})[row["doc_id"]]


def passages_around(conn: sqlite3.Connection, doc_id: str, seq: int, before: int, after: int) -> list[Passage]:
    """The passages of one document with ``seq`` in [seq-before, seq+after], in order."""
    rows = conn.execute(
        "SELECT * FROM passages WHERE doc_id=? AND seq BETWEEN ? AND ? ORDER BY seq",
        (doc_id, seq - before, seq + after),
    ).fetchall()
    return [row_to_passage(r) for r in rows]


def distinct_region_codes(conn: sqlite3.Connection) -> list[str]:
    """Every division code some passage is about (own or inherited)."""
    return [r["code"] for r in conn.execute("SELECT DISTINCT code FROM passage_regions ORDER BY code")]


def year_span(conn: sqlite3.Connection) -> tuple[int | None, int | None]:
    row = conn.execute("SELECT min(year) AS lo, max(year) AS hi FROM documents WHERE year IS NOT NULL").fetchone()
    return (row["lo"], row["hi"]) if row else (None, None)


def file_states(conn: sqlite3.Connection) -> dict[str, tuple[str, str | None, str | None]]:
    """path → (status, error, ingested_at) of every file the index knows."""
    rows = conn.execute("SELECT path, status, error, ingested_at FROM files").fetchall()
    return {r["path"]: (r["status"], r["error"], r["ingested_at"]) for r in rows}


# ---------------------------------------------------------------- practices (cards and themes)


def _in_chunks(conn: sqlite3.Connection, sql: str, values: Sequence, before: Sequence = ()) -> list[sqlite3.Row]:
    """Rows of ``sql`` (with one ``{marks}`` for an IN list) over ``values`` in chunks of 500."""
    out: list[sqlite3.Row] = []
    values = list(values)
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        out += conn.execute(sql.format(marks=",".join("?" * len(chunk))), [*before, *chunk]).fetchall()
    return out


def practice_todo(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """(documents without current cards, documents whose cards are stale or whose document is gone)."""
    todo = [
        r["doc_id"]
        for r in conn.execute(
            "SELECT d.doc_id FROM documents d LEFT JOIN practice_docs x ON x.doc_id = d.doc_id"
            " WHERE x.content_hash IS NULL OR x.content_hash != d.content_hash ORDER BY d.doc_id"
        )
    ]
    stale = [
        r["doc_id"]
        for r in conn.execute(
            "SELECT x.doc_id FROM practice_docs x LEFT JOIN documents d ON d.doc_id = x.doc_id"
            " WHERE d.doc_id IS NULL OR d.content_hash != x.content_hash"
        )
    ]
    return todo, stale


def clear_practices(conn: sqlite3.Connection, doc_ids: Sequence[str] | None = None) -> None:
    """Forget the cards and passage themes of ``doc_ids`` (of every document when None)."""
    tables = ("practice_cards", "passage_themes", "practice_docs")
    if doc_ids is None:
        for t in (*tables, "practice_themes"):
            conn.execute(f"DELETE FROM {t}")
        return
    for t in tables:
        for start in range(0, len(doc_ids), 500):
            chunk = list(doc_ids[start : start + 500])
            conn.execute(f"DELETE FROM {t} WHERE doc_id IN ({','.join('?' * len(chunk))})", chunk)


def put_themes(conn: sqlite3.Connection, themes: Sequence[Theme], vectors) -> None:
    """Store the taxonomy in use with each theme's embedding (float32 bytes)."""
    conn.execute("DELETE FROM practice_themes")
    conn.executemany(
        "INSERT INTO practice_themes VALUES (?,?,?,?,?,?)",
        [
            (t.theme_id, i, t.name, t.description, _j(list(t.keywords)), vectors[i].astype("float32").tobytes())
            for i, t in enumerate(themes)
        ],
    )


def stored_themes(conn: sqlite3.Connection) -> tuple[list[Theme], list[bytes]]:
    """The taxonomy the stored cards were made with, and each theme's vector bytes."""
    rows = conn.execute("SELECT * FROM practice_themes ORDER BY ord").fetchall()
    themes = [Theme(r["theme_id"], r["name"], r["description"], tuple(json.loads(r["keywords"]))) for r in rows]
    return themes, [r["vector"] for r in rows]


def doc_passages(conn: sqlite3.Connection, doc_ids: Sequence[str]) -> list[tuple[int, Passage]]:
    """(vid, passage) of the given documents' own passages (not their parts'), in order."""
    rows = _in_chunks(conn, "SELECT * FROM passages WHERE doc_id IN ({marks}) ORDER BY doc_id, seq", doc_ids)
    return [(r["vid"], row_to_passage(r)) for r in rows]


def documents_by_id(conn: sqlite3.Connection, doc_ids: Sequence[str]) -> dict[str, Document]:
    rows = _in_chunks(conn, "SELECT * FROM documents WHERE doc_id IN ({marks})", sorted(set(doc_ids)))
    return {r["doc_id"]: row_to_document(r) for r in rows}


def national_regulation_vids(conn: sqlite3.Connection) -> list[int]:
    """Passages of regulations that name no region (national laws): what local rules are compared with."""
    sql = (
        "SELECT p.vid FROM passages p JOIN documents d ON d.doc_id = p.doc_id"
        " WHERE d.doc_type = 'regulation' AND d.regions = '[]' ORDER BY p.vid"
    )
    return [r["vid"] for r in conn.execute(sql)]


def put_practices(
    conn: sqlite3.Connection,
    done: Sequence[tuple[str, str]],
    passage_themes: Sequence[tuple[str, str, str, float]],
    cards: Sequence[PracticeCard],
) -> None:
    """Insert (doc_id, content_hash) marks, (passage_id, doc_id, theme_id, score) rows and cards."""
    conn.executemany("INSERT OR REPLACE INTO practice_docs VALUES (?,?)", done)
    conn.executemany("INSERT INTO passage_themes VALUES (?,?,?,?)", passage_themes)
    conn.executemany(
        "INSERT OR REPLACE INTO practice_cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                c.card_id, c.passage_id, c.doc_id, c.region, c.region_code, c.level, c.name, c.kind,
                _j(list(c.summary)), _j(list(c.themes)), _j(list(c.figures)), c.year, c.score, c.locality,
                c.doc_title,
            )
            for c in cards
        ],
    )  # fmt: skip


def _row_to_card(r: sqlite3.Row) -> PracticeCard:
    return PracticeCard(
        card_id=r["card_id"], passage_id=r["passage_id"], doc_id=r["doc_id"], region=r["region"],
        region_code=r["region_code"], level=r["level"], name=r["name"], kind=r["kind"],
        summary=tuple(json.loads(r["summary"])), themes=tuple(json.loads(r["themes"])),
        figures=tuple(json.loads(r["figures"])), year=r["year"], score=r["score"], locality=r["locality"],
        doc_title=r["doc_title"],
    )  # fmt: skip


def cards(
    conn: sqlite3.Connection,
    region_prefixes: Sequence[str] = (),
    kinds: Sequence[str] = (),
    passage_ids: Sequence[str] | None = None,
) -> list[PracticeCard]:
    """Stored cards, strongest first; restricted to division-code prefixes, kinds or passages when given."""
    where, args = ["1=1"], []
    if region_prefixes:
        where.append("(" + " OR ".join("region_code LIKE ?" for _ in region_prefixes) + ")")
        args += [f"{p}%" for p in region_prefixes]
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        args += list(kinds)
    sql = f"SELECT * FROM practice_cards WHERE {' AND '.join(where)}"
    if passage_ids is not None:
        rows = _in_chunks(conn, sql + " AND passage_id IN ({marks})", passage_ids, args)
    else:
        rows = conn.execute(sql, args).fetchall()
    return sorted((_row_to_card(r) for r in rows), key=lambda c: (-c.score, c.card_id))


def themes_of_passages(conn: sqlite3.Connection, passage_ids: Sequence[str]) -> dict[str, list[str]]:
    """passage id → theme ids, best first."""
    rows = _in_chunks(
        conn, "SELECT passage_id, theme_id, score FROM passage_themes WHERE passage_id IN ({marks})", passage_ids
    )
    out: dict[str, list[tuple[float, str]]] = {}
    for r in rows:
        out.setdefault(r["passage_id"], []).append((-r["score"], r["theme_id"]))
    return {pid: [t for _, t in sorted(v)] for pid, v in out.items()}


def vid_of_passage(conn: sqlite3.Connection, passage_id: str) -> int | None:
    row = conn.execute("SELECT vid FROM passages WHERE passage_id=?", (passage_id,)).fetchone()
    return int(row["vid"]) if row else None
