"""kb.store: the SQLite half of the index (documents, passages, region rows, file records)."""

from __future__ import annotations

import pytest

from kb import store
from kb.types import Document, Passage


def doc(doc_id: str, path: str, **kw) -> Document:
    return Document(doc_id=doc_id, path=path, title=kw.pop("title", doc_id), content_hash="h", **kw)


def passage(pid: str, doc_id: str, seq: int, text: str, **kw) -> Passage:
    return Passage(passage_id=pid, doc_id=doc_id, seq=seq, text=text, heading_path=(doc_id, "一、甲"), **kw)


@pytest.fixture
def conn(tmp_path):
    c = store.connect(tmp_path / "idx")
    yield c
    c.close()


@pytest.fixture
def filled(conn):
    """A plain file (a.txt) and a compilation file (b.txt) with two parts."""
    docs = [
        doc("a", "a.txt", date="2016-04-22", regions=("江苏省宿迁市宿豫区",), references=("[1]参考",)),
        doc("b", "b.txt", doc_type="compilation"),
        doc("b-01", "b.txt", parent_id="b", part=1),
        doc("b-02", "b.txt", parent_id="b", part=2, date="2023"),
    ]
    ps = [
        passage("pa0", "a", 0, "甲文一", regions=("江苏省宿迁市宿豫区",), own_regions=("江苏省宿迁市宿豫区",)),
        passage("pa1", "a", 1, "甲文二", regions=("江苏省宿迁市宿豫区",)),
        passage("pb1", "b-01", 0, "乙文一"),
        passage("pb2", "b-02", 0, "甲文一"),  # same text as pa0
    ]
    store.insert_documents(conn, docs)
    store.insert_passages(
        conn,
        ps,
        vids=[1, 2, 3, 4],
        text_hashes=["h-a0", "h-a1", "h-b1", "h-a0"],
        tokens=["甲文 一", "甲文 二", "乙文 一", "甲文 一"],
        region_codes=[[("321311", True)], [("321311", False)], [], []],
    )
    return conn


def test_connect_creates_the_database(tmp_path):
    c = store.connect(tmp_path / "new")
    assert (tmp_path / "new" / store.DB_NAME).exists()
    c.close()


def test_meta_round_trip(conn):
    assert store.get_meta(conn, "generation", "0") == "0"
    store.set_meta(conn, "generation", "3")
    store.set_meta(conn, "generation", "4")
    assert store.get_meta(conn, "generation") == "4"


def test_file_records(conn):
    store.put_file(conn, store.FileRecord("a.txt", "sha", "ok", None, 2), "a", "2024-01-01T00:00:00")
    store.put_file(conn, store.FileRecord("bad.pdf", None, "error", "encrypted", 0), None, "2024-01-01T00:00:00")
    records = store.file_records(conn)
    assert records["a.txt"] == store.FileRecord("a.txt", "sha", "ok", None, 2)
    assert records["bad.pdf"].error == "encrypted"


def test_documents_in_path_and_part_order_with_counts(filled):
    rows = store.documents(filled)
    assert [(d.doc_id, n) for d, n in rows] == [("a", 2), ("b", 0), ("b-01", 1), ("b-02", 1)]
    a = rows[0][0]
    assert a.regions == ("江苏省宿迁市宿豫区",) and a.references == ("[1]参考",) and a.date == "2016-04-22"
    assert store.document(filled, "b-02").parent_id == "b"
    assert store.document(filled, "nope") is None


def test_year_column_is_derived_from_the_date(filled):
    years = dict(filled.execute("SELECT doc_id, year FROM documents").fetchall())
    assert years == {"a": 2016, "b": None, "b-01": None, "b-02": 2023}


def test_passages_of_a_compilation_file_include_its_parts(filled):
    assert [p.passage_id for p in store.passages_of(filled, "b")] == ["pb1", "pb2"]
    assert [p.passage_id for p in store.passages_of(filled, "a")] == ["pa0", "pa1"]
    p = store.passages_of(filled, "a")[0]
    assert p.heading_path == ("a", "一、甲") and p.own_regions == ("江苏省宿迁市宿豫区",)


def test_by_vids_joins_passage_and_document(filled):
    rows = store.by_vids(filled, [4, 1, 99])
    assert set(rows) == {1, 4}
    p, d, h = rows[4]
    assert (p.passage_id, d.doc_id, d.parent_id, h) == ("pb2", "b-02", "b", "h-a0")


def test_hash_to_vid_finds_the_first_copy(filled):
    assert store.hash_to_vid(filled, ["h-a0", "h-b1", "missing"]) == {"h-a0": 1, "h-b1": 3}


def test_vids_of_path_and_delete_path(filled):
    assert sorted(store.vids_of_path(filled, "b.txt")) == [(3, "h-b1"), (4, "h-a0")]
    store.delete_path(filled, "a.txt")
    assert store.document(filled, "a") is None
    assert store.passages_of(filled, "a") == []
    assert filled.execute("SELECT count(*) FROM passage_regions").fetchone()[0] == 0
    assert store.all_tokens(filled) == ([3, 4], ["乙文 一", "甲文 一"])
    assert store.max_vid(filled) == 4


def test_max_vid_of_an_empty_store(conn):
    assert store.max_vid(conn) == 0
    assert store.all_tokens(conn) == ([], [])
