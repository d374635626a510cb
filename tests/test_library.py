"""kb.library (checked uploads) and the API's library methods: add_file, remove, reindex, neighbours, region_tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import LOAD_DATA, fake_settings, seed_path

from kb import library
from kb.api import KnowledgeBase
from kb.errors import KBError, UploadError

GOOD = "社区网格化服务管理工作报告\n\n一、基本情况\n\n本社区划分12个网格，每个网格配备1名专职网格员，负责走访群众、排查矛盾纠纷。"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\a\\报告 2021.DOCX", "报告_2021.docx"),
        ("<script>.html", "script.html"),
        ("...", "upload"),
        ("广饶县（调查）.md", "广饶县(调查).md"),
    ],
)
def test_safe_name_keeps_a_plain_base_name(name, safe):
    assert library.safe_name(name) == safe


def test_check_upload_refuses_type_size_empty_and_duplicates():
    s = fake_settings(upload_max_mb=1)
    with pytest.raises(UploadError, match="类型不受支持"):
        library.check_upload("a.exe", b"x", s, {})
    with pytest.raises(UploadError, match="空文件"):
        library.check_upload("a.txt", b"", s, {})
    with pytest.raises(UploadError, match="超过上限 1 MB"):
        library.check_upload("a.txt", b"x" * (1024 * 1024 + 1), s, {})
    import hashlib

    known = {hashlib.sha256(b"abc").hexdigest(): "corpus/a.txt"}
    with pytest.raises(UploadError, match="corpus/a.txt"):
        library.check_upload("b.txt", b"abc", s, known)


@pytest.fixture
def kb(tmp_path, built_index):
    """A writable copy of the session index, with its own library folder."""
    shutil.copytree(built_index.index_dir, tmp_path / "index")
    s = fake_settings(index_dir=str(tmp_path / "index"), corpus_dir=str(tmp_path / "corpus"))
    with KnowledgeBase(settings=s, embedder=built_index.embedder) as opened:
        yield opened


def test_add_file_saves_under_a_safe_name_and_indexes_it(kb, tmp_path):
    report = kb.add_file("../网格 报告.txt", GOOD.encode())
    saved = tmp_path / "corpus" / "uploads" / "网格_报告.txt"
    assert saved.exists()
    assert [f.status for f in report.files] == ["added"]
    assert any(d.path == report.files[0].path for d, _ in kb.documents())
    assert kb.search("专职网格员走访群众", k=1)[0].document.path == report.files[0].path


def test_add_file_refuses_the_same_content_twice(kb, seed_dir):
    data = seed_path(seed_dir, "002").read_bytes()
    with pytest.raises(UploadError, match="内容完全相同"):
        kb.add_file("copy.txt", data)


def test_an_unreadable_upload_is_reported_and_not_kept(kb, tmp_path):
    report = kb.add_file("scan.pdf", (LOAD_DATA / "image_only.pdf").read_bytes())
    assert [f.status for f in report.files] == ["error"] and report.files[0].reason
    assert not list((tmp_path / "corpus" / "uploads").glob("*.pdf"))


def test_remove_takes_a_document_out_and_deletes_only_library_files(kb, tmp_path):
    added = kb.add_file("net.txt", GOOD.encode()).files[0].path
    doc = next(d for d, _ in kb.documents() if d.path == added)
    kb.remove(doc.doc_id, delete_file=True)
    assert all(d.path != added for d, _ in kb.documents())
    assert not Path(added).exists()
    assert all(h.document.path != added for h in kb.search("专职网格员走访群众", k=10))
    seed = next(d for d, _ in kb.documents() if d.title == "广饶县基层社会治理调查")
    kb.remove(seed.path, delete_file=True)  # outside the library folder: out of the index, file kept
    assert Path(seed.path).exists()
    assert all(d.path != seed.path for d, _ in kb.documents())
    with pytest.raises(KBError):
        kb.remove("no-such-document")


def test_reindex_brings_back_nothing_removed_and_keeps_other_files(kb, tmp_path):
    before = {d.path for d, _ in kb.documents()}
    report = kb.reindex()
    assert {d.path for d, _ in kb.documents()} == before
    assert report.count("error") == 0 and report.count("added") == 0


def test_neighbours_are_the_passages_around_in_reading_order(kb):
    doc = next(d for d, _ in kb.documents() if d.title == "广饶县基层社会治理调查")
    passages = kb.passages(doc.doc_id)
    middle = passages[3]
    around = kb.neighbours(middle.passage_id)
    assert [p.passage_id for p in around] == [p.passage_id for p in passages[2:5]]
    assert kb.neighbours(passages[0].passage_id)[0].passage_id == passages[0].passage_id
    assert kb.neighbours("nope") == []
    assert kb.passage(middle.passage_id)[0] == middle


def test_region_tree_nests_counties_under_cities_under_provinces(kb):
    tree = kb.region_tree()
    names = {
        p.name: {c.name if c else None: [x.name for x in xs] for c, xs in cities.items()} for p, cities in tree.items()
    }
    assert "山东省东营市广饶县" in names["山东省"]["山东省东营市"]
    assert "山东省滨州市" in names["山东省"]
    assert all(p.level == 1 for p in tree)


def test_year_range_and_file_states(kb):
    lo, hi = kb.year_range()
    assert lo and hi and lo <= hi
    states = kb.files()
    assert states and all(status == "ok" for status, _, _ in states.values())
