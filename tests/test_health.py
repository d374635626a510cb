"""kb.health, repair and damage: every damaged file ends in an IndexDamagedError naming it, and a repair.

Each test builds a real index (fake model), damages one file, and checks the message, `kb check`,
and that `kb repair` (or a plain ingest) brings back the same search results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import fake_settings, write_corpus

from kb import index
from kb.api import KnowledgeBase
from kb.cli import main
from kb.embed import FakeEmbedder
from kb.errors import IndexDamagedError, IndexStateError

TEXTS = {
    "grid.txt": "网格化管理\n社区划分网格，网格员每日巡查，发现问题及时上报。网格员待遇偏低，队伍流动性大。",
    "river.txt": "河长制\n河长定期巡河，发现污染问题及时处置，落实河湖管护责任。",
    "hotline.txt": "接诉即办\n市民热线诉求当日派单，限期办结，群众满意度纳入考核。",
    "mediation.txt": "人民调解\n村人民调解委员会及时化解邻里矛盾纠纷，做到小事不出村、大事不出镇。",
}
QUERIES = ("网格员 待遇", "河长 巡河", "热线 派单", "邻里 纠纷")


class CountingEmbedder(FakeEmbedder):
    """The fake model, counting the passages it embeds."""

    def __init__(self):
        super().__init__(64)
        self.name = "fake-hash-64"
        self.embedded = 0

    def embed_passages(self, texts, progress_bar=False):
        self.embedded += len(texts)
        return super().embed_passages(texts, progress_bar)


@pytest.fixture
def built(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", TEXTS)
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    index.ingest([corpus], settings, FakeEmbedder(64))
    return corpus, settings, Path(settings.index_dir)


def hits(settings) -> dict:
    with KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)) as kb:
        return {q: [h.passage.passage_id for h in kb.search(q, k=3)] for q in QUERIES}


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x13not what kb wrote\xff" * 20)


def truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def overflow_vocab(path: Path) -> None:
    vocab = json.loads(path.read_text(encoding="utf-8"))
    term = next(iter(vocab))
    vocab[term] = len(vocab) + 5  # an index past the matrix
    path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")


# name of the damaged file, how, and what the message must say about it
DERIVED = [
    ("bm25-1.vocab.json", garbage, "JSON"),
    ("bigram-1.vocab.json", garbage, "JSON"),
    ("bm25-1.npz", garbage, "not a readable BM25"),
    ("bigram-1.npz", truncate, "not a readable BM25"),
    ("bm25-1.vocab.json", overflow_vocab, "do not fit"),
    ("vectors-1.faiss", os.unlink, "missing"),
    ("vectors-1.faiss", truncate, "FAISS cannot read"),
    ("manifest.json", garbage, "unreadable"),
]


@pytest.mark.parametrize(("name", "damage", "detail"), DERIVED, ids=[f"{n}-{d.__name__}" for n, d, _ in DERIVED])
def test_a_damaged_derived_file_is_named_and_repaired(built, capsys, monkeypatch, name, damage, detail):
    _, settings, folder = built
    before = hits(settings)
    damage(folder / name)

    with pytest.raises(IndexDamagedError) as caught, KnowledgeBase(settings=settings) as kb:
        kb.search("网格员 待遇")
    message = str(caught.value)
    assert name in message and detail in message and "kb repair" in message
    assert "pickle" not in message.lower()

    report = KnowledgeBase(settings=settings).check()
    assert not report.ok and report.repairable
    assert [Path(p.file).name for p in report.problems] == [name]

    monkeypatch.setenv("KB_MODEL", "fake")
    code, out, err = cli(capsys, "search", "网格员", "--index", folder)
    assert code == 1 and name in err and "Traceback" not in err
    code, out, _ = cli(capsys, "check", "--index", folder)
    assert code == 1 and name in out and "kb repair" in out

    embedder = CountingEmbedder()
    repaired = KnowledgeBase(settings=settings, embedder=embedder).repair()
    assert [Path(p.file).name for p in repaired.problems] == [name]
    lost = repaired.reused == 0  # the whole vectors file was lost: every passage is embedded again
    assert embedder.embedded == (repaired.embedded if lost else 0) and repaired.generation == 2
    assert KnowledgeBase(settings=settings).check().ok
    assert hits(settings) == before


def test_only_passages_whose_vectors_are_missing_are_embedded_again(built):
    import faiss

    _, settings, folder = built
    before = hits(settings)
    vectors = faiss.read_index(str(folder / "vectors-1.faiss"))
    ids = faiss.vector_to_array(vectors.id_map)
    vectors.remove_ids(ids[:2].astype(np.int64))
    faiss.write_index(vectors, str(folder / "vectors-1.faiss"))

    found = KnowledgeBase(settings=settings).check()
    assert [(Path(p.file).name, p.detail) for p in found.problems] == [
        ("vectors-1.faiss", "2 passages of kb.sqlite missing")
    ]
    embedder = CountingEmbedder()
    report = KnowledgeBase(settings=settings, embedder=embedder).repair()
    assert (report.embedded, embedder.embedded, report.reused) == (2, 2, found.passages - 2)
    assert hits(settings) == before


def test_plain_ingest_repairs_a_deleted_vectors_file_instead_of_saying_unchanged(built):
    corpus, settings, folder = built
    before = hits(settings)
    (folder / "vectors-1.faiss").unlink()
    said: list[str] = []
    report = KnowledgeBase(settings=settings, embedder=FakeEmbedder(64), progress=said.append).ingest([corpus])
    assert report.count("unchanged") == len(TEXTS)
    assert [Path(p.file).name for p in report.repaired] == ["vectors-1.faiss"]
    assert any("损坏" in s and "vectors-1.faiss" in s for s in said)
    assert KnowledgeBase(settings=settings).check().ok
    assert hits(settings) == before


def test_ingest_repair_rewrites_the_derived_files_even_when_whole(built):
    corpus, settings, folder = built
    report = index.ingest([corpus], settings, FakeEmbedder(64), repair=True)
    assert report.generation == 2 and report.repaired == ()
    assert (folder / "bm25-2.npz").exists() and not (folder / "bm25-1.npz").exists()


def test_a_whole_index_needs_no_repair(built):
    _, settings, _ = built
    assert KnowledgeBase(settings=settings).check().ok
    report = KnowledgeBase(settings=settings).repair()
    assert (report.generation, report.problems, report.embedded) == (1, (), 0)


def test_a_truncated_sqlite_names_the_file_and_asks_for_a_rebuild(built, capsys, monkeypatch):
    corpus, settings, folder = built
    before = hits(settings)
    truncate(folder / "kb.sqlite")
    kb = KnowledgeBase(settings=settings, embedder=FakeEmbedder(64))
    for call in (lambda: kb.search("网格员"), kb.documents, lambda: kb.ingest([corpus]), kb.repair):
        with pytest.raises(IndexDamagedError, match=r"kb\.sqlite.*--rebuild"):
            call()
    report = kb.check()
    assert not report.ok and not report.repairable and report.problems[0].file.endswith("kb.sqlite")
    monkeypatch.setenv("KB_MODEL", "fake")
    for argv in (("docs",), ("search", "网格员"), ("ingest", corpus), ("repair",)):
        code, _, err = cli(capsys, *argv, "--index", folder)
        assert code == 1 and "kb.sqlite" in err and "Traceback" not in err
    assert cli(capsys, "check", "--index", folder)[0] == 1

    kb.rebuild([corpus])
    assert kb.check().ok and hits(settings) == before


def test_rebuild_refuses_a_folder_that_is_not_only_a_kb_index(built, tmp_path, capsys, monkeypatch):
    corpus, settings, folder = built
    (folder / "my notes.docx").write_bytes(b"precious")
    with pytest.raises(IndexStateError, match="my notes.docx"):
        KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)).rebuild([corpus])
    assert (folder / "my notes.docx").read_bytes() == b"precious" and (folder / "kb.sqlite").exists()

    home = write_corpus(tmp_path / "home", {"thesis.txt": "我的论文"})
    monkeypatch.setenv("KB_MODEL", "fake")
    code, _, err = cli(capsys, "ingest", corpus, "--index", home, "--rebuild")
    assert code == 1 and "thesis.txt" in err and (home / "thesis.txt").exists()


def test_check_of_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexStateError, match="kb ingest"):
        KnowledgeBase(settings=fake_settings(index_dir=str(tmp_path / "none"))).check()


def test_check_json(built, capsys, monkeypatch):
    _, _, folder = built
    monkeypatch.setenv("KB_MODEL", "fake")
    code, out, _ = cli(capsys, "check", "--index", folder, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["problems"] == [] and data["passages"] > 0
