"""kb.index: incremental ingest, stable ids, deletions, interrupted runs, model checks, bad inputs.

Every test builds its own index in tmp_path from copies of the seed files, with FakeEmbedder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import LOAD_DATA, fake_settings, seed_path, write_corpus

from kb import bm25, index, retrieve, store
from kb.api import KnowledgeBase
from kb.embed import FakeEmbedder
from kb.errors import IndexStateError, KBError
from kb.types import Filters

SMALL_SEEDS = ("000", "002", "004")  # 003 (the big compilation) is covered by the session index
QUERIES = ("网格员 队伍 稳定", "政府购买公共服务", "城市基层治理 五大关系", "广饶县 矛盾纠纷 调解")
MODES = ("bm25", "dense", "hybrid")


def copy_seeds(seed_dir: Path, corpus: Path, prefixes=SMALL_SEEDS) -> Path:
    corpus.mkdir(parents=True, exist_ok=True)
    for prefix in prefixes:
        shutil.copy(seed_path(seed_dir, prefix), corpus)
    return corpus


def snapshot(settings) -> dict:
    """Everything an ingest may change, in comparable form."""
    conn = store.connect(settings.index_dir)
    try:
        passages = conn.execute("SELECT vid, passage_id, doc_id, text FROM passages ORDER BY vid").fetchall()
        docs = conn.execute("SELECT * FROM documents ORDER BY doc_id").fetchall()
        return {
            "generation": store.get_meta(conn, "generation"),
            "passages": [tuple(r) for r in passages],
            "documents": [tuple(r) for r in docs],
            "files": store.file_records(conn),
        }
    finally:
        conn.close()


def results(settings, embedder, queries=QUERIES, k=10) -> dict:
    """Hit passage ids per (mode, query) on a freshly opened index."""
    live = retrieve.open_index(settings)
    try:
        return {
            (mode, q): [h.passage.passage_id for h in retrieve.search(live, embedder, q, settings, k=k, mode=mode)]
            for mode in MODES
            for q in queries
        }
    finally:
        live.close()


def statuses(report) -> dict[str, str]:
    return {Path(f.path).name: f.status for f in report.files}


@pytest.fixture
def setup(tmp_path, seed_dir):
    corpus = copy_seeds(seed_dir, tmp_path / "corpus")
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    return corpus, settings, FakeEmbedder(64)


# ---------------------------------------------------------------- first ingest and no-op re-ingest


def test_first_ingest_adds_every_file(setup):
    corpus, settings, embedder = setup
    report = index.ingest([corpus], settings, embedder)
    assert set(statuses(report).values()) == {"added"} and len(report.files) == 3
    assert report.generation == 1
    assert report.embedded == report.total_passages > 0
    assert report.total_documents == 3
    folder = Path(settings.index_dir)
    manifest = json.loads((folder / index.MANIFEST).read_text(encoding="utf-8"))
    assert (manifest["model"], manifest["dim"], manifest["generation"]) == ("fake-hash-64", 64, 1)
    assert manifest["passages"] == report.total_passages
    assert (folder / "vectors-1.faiss").exists() and (folder / "bm25-1.npz").exists()
    assert (folder / "bigram-1.npz").exists() and (folder / "bigram-1.vocab.json").exists()


def test_reingesting_unchanged_files_changes_nothing(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    before, files_before = snapshot(settings), sorted(p.name for p in Path(settings.index_dir).iterdir())
    report = index.ingest([corpus], settings, embedder)
    assert set(statuses(report).values()) == {"unchanged"}
    assert report.embedded == 0
    assert report.generation == 1
    assert snapshot(settings) == before
    assert sorted(p.name for p in Path(settings.index_dir).iterdir()) == files_before


# ---------------------------------------------------------------- a changed file


def test_changed_file_is_updated_and_only_its_new_passage_embedded(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    before = snapshot(settings)
    live = retrieve.open_index(settings)
    old_vectors = {pid: live.vectors.reconstruct(vid) for vid, pid, _, _ in before["passages"]}
    live.close()

    f000 = next(corpus.glob("000_*.txt"))
    f000.write_text(f000.read_text(encoding="utf-8").replace("已经有20多人被处分", "已经有30多人被处分"), "utf-8")
    report = index.ingest([corpus], settings, embedder)

    assert statuses(report) == {f000.name: "updated", **{n: "unchanged" for n in statuses(report) if n != f000.name}}
    assert report.embedded == 1  # one passage's text changed; every other vector was reused
    after = snapshot(settings)
    old_ids = {pid for _, pid, _, _ in before["passages"]}
    new_ids = {pid for _, pid, _, _ in after["passages"]}
    assert len(new_ids - old_ids) == 1 and len(old_ids - new_ids) == 1
    (changed,) = [text for _, pid, _, text in after["passages"] if pid not in old_ids]
    assert "30多人被处分" in changed

    live = retrieve.open_index(settings)
    try:
        for vid, pid, _, _ in after["passages"]:
            if pid in old_vectors:
                assert np.array_equal(live.vectors.reconstruct(vid), old_vectors[pid])
        assert live.vectors.ntotal == len(after["passages"])
        texts = [h.passage.text for h in retrieve.search(live, embedder, "被处分", settings, mode="bm25")]
    finally:
        live.close()
    assert any("30多人被处分" in t for t in texts) and not any("20多人被处分" in t for t in texts)


def test_same_text_in_a_new_file_reuses_the_vectors(tmp_path):
    text = "网格化管理实施办法\n" + "网格员负责采集信息、排查矛盾纠纷、代办公共服务。" * 12
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": text})
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    first = index.ingest([corpus], settings, FakeEmbedder(64))
    write_corpus(corpus, {"b.txt": text})
    second = index.ingest([corpus], settings, FakeEmbedder(64))
    assert statuses(second) == {"a.txt": "unchanged", "b.txt": "added"}
    assert second.embedded == 0 < first.embedded
    assert second.total_passages == 2 * first.total_passages


# ---------------------------------------------------------------- deletions


def test_deleted_files_passages_vanish_from_every_mode(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    f002 = next(corpus.glob("002_*.txt"))
    conn = store.connect(settings.index_dir)
    (doc_id,) = [d.doc_id for d, _ in store.documents(conn) if d.path.endswith(f002.name)]
    gone = {p.passage_id for p in store.passages_of(conn, doc_id)}
    conn.close()
    assert gone

    f002.unlink()
    report = index.ingest([corpus], settings, embedder)
    assert statuses(report)[f002.name] == "removed"
    after = snapshot(settings)
    assert not {pid for _, pid, _, _ in after["passages"]} & gone
    assert not any(d[0] == doc_id for d in after["documents"])
    assert not any(path.endswith(f002.name) for path in after["files"])

    live = retrieve.open_index(settings)
    try:
        assert live.vectors.ntotal == len(after["passages"]) == live.bm25.size
        for mode in MODES:
            for q in (*QUERIES, "广饶县基层社会治理调查", "广饶县"):
                hits = retrieve.search(live, embedder, q, settings, k=200, mode=mode)
                assert not {h.passage.passage_id for h in hits} & gone, (mode, q)
                assert not any(h.document.path.endswith(f002.name) for h in hits)
            assert retrieve.search(live, embedder, "广饶县", settings, Filters(doc_ids=(doc_id,)), mode=mode) == []
    finally:
        live.close()


def test_removing_an_explicit_file_path(tmp_path):
    corpus = write_corpus(
        tmp_path / "c", {"a.txt": "标题甲\n甲的正文很长。" * 3, "b.txt": "标题乙\n乙的正文很长。" * 3}
    )
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    index.ingest([corpus / "a.txt", corpus / "b.txt"], settings, FakeEmbedder(64))
    (corpus / "a.txt").unlink()
    report = index.ingest([corpus], settings, FakeEmbedder(64))
    assert statuses(report) == {"a.txt": "removed", "b.txt": "unchanged"}


# ---------------------------------------------------------------- stable ids


def test_passage_ids_are_stable_across_a_rebuild(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    fresh = settings.replace(index_dir=settings.index_dir + "-rebuilt")
    index.ingest([corpus], fresh, FakeEmbedder(64))
    first, second = snapshot(settings), snapshot(fresh)
    assert [(pid, doc, text) for _, pid, doc, text in first["passages"]] == [
        (pid, doc, text) for _, pid, doc, text in second["passages"]
    ]
    assert first["documents"] == second["documents"]
    assert results(settings, embedder) == results(fresh, embedder)


# ---------------------------------------------------------------- interrupted ingest


def _fail_in_bm25_save(monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full while writing BM25")

    monkeypatch.setattr(bm25, "save", boom)


def _fail_in_insert_passages(monkeypatch):
    real = store.insert_passages

    def half_then_boom(conn, passages, vids, *rest):
        real(conn, passages[:1], vids[:1], *(r[:1] for r in rest))  # some rows written, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "insert_passages", half_then_boom)


@pytest.mark.parametrize("fail", [_fail_in_bm25_save, _fail_in_insert_passages], ids=["bm25.save", "insert_passages"])
def test_interrupted_ingest_leaves_the_previous_index_usable(setup, seed_dir, monkeypatch, fail):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    before, searched = snapshot(settings), results(settings, embedder)

    shutil.copy(seed_path(seed_dir, "001"), corpus)  # a new file …
    f000 = next(corpus.glob("000_*.txt"))  # … and a changed one
    f000.write_text(f000.read_text(encoding="utf-8") + "\n新增的一段内容，说明考核办法。", "utf-8")
    fail(monkeypatch)
    with pytest.raises((OSError, KeyboardInterrupt)):
        index.ingest([corpus], settings, embedder)

    assert snapshot(settings) == before
    assert results(settings, embedder) == searched
    monkeypatch.undo()

    report = index.ingest([corpus], settings, embedder)  # the next run completes the work
    assert report.count("added") == 1 and report.count("updated") == 1
    assert report.generation == 2


def test_an_index_without_the_bigram_files_asks_for_an_upgrade_ingest(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    for name in ("bigram-1.npz", "bigram-1.vocab.json"):
        (Path(settings.index_dir) / name).unlink()
    with pytest.raises(IndexStateError, match="kb ingest"):
        retrieve.open_index(settings)


class Panic(BaseException):
    """Like pyo3's PanicException (a tokenizer crash): not an Exception subclass."""


class ChokesOnDegrees(FakeEmbedder):
    def embed_passages(self, texts, progress_bar=False):
        if any("°" in t for t in texts):
            raise Panic("index out of bounds")
        return super().embed_passages(texts, progress_bar)


def test_a_file_the_model_fails_on_is_skipped_and_its_old_version_kept(tmp_path):
    corpus = write_corpus(
        tmp_path / "corpus",
        {"a.txt": "网格化管理\n社区划分网格，网格员每日巡查。", "b.txt": "河长制\n河长定期巡河，发现问题及时处置。"},
    )
    settings, embedder = fake_settings(index_dir=str(tmp_path / "index")), ChokesOnDegrees(64)
    index.ingest([corpus], settings, embedder)
    (corpus / "b.txt").write_text("河长制\n河长定期巡河，水温超过30°时加密巡查。", encoding="utf-8")
    (corpus / "c.txt").write_text("接诉即办\n市民热线诉求当日派单，限期办结。", encoding="utf-8")

    report = index.ingest([corpus], settings, embedder)

    assert statuses(report) == {"a.txt": "unchanged", "b.txt": "error", "c.txt": "added"}
    reason = next(f.reason for f in report.files if f.path.endswith("b.txt"))
    assert "embedding model failed" in reason and "Panic" in reason
    live = retrieve.open_index(settings)
    texts = [row[0] for row in live.conn.execute("SELECT text FROM passages")]
    live.close()
    assert any("河长定期巡河" in t and "°" not in t for t in texts)  # the old b.txt is still there
    assert any("接诉即办" in t or "派单" in t for t in texts)


def test_missing_generation_files_are_reported_as_damage(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    (Path(settings.index_dir) / "vectors-1.faiss").unlink()
    with pytest.raises(IndexStateError, match="damaged|missing"):
        retrieve.open_index(settings)


# ---------------------------------------------------------------- model checks


class OtherModel(FakeEmbedder):
    def __init__(self):
        super().__init__(64)
        self.name = "some-other-model"


@pytest.mark.parametrize("other", [FakeEmbedder(32), OtherModel()], ids=["other-dim", "other-name"])
def test_model_mismatch_is_refused(setup, other):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    before = snapshot(settings)
    with pytest.raises(IndexStateError, match="rebuild"):
        index.ingest([corpus], settings, other)
    with KnowledgeBase(settings=settings, embedder=other) as kb:
        for mode in ("dense", "hybrid"):
            with pytest.raises(IndexStateError, match="rebuild"):
                kb.search("网格员", mode=mode)
        assert kb.search("网格员", mode="bm25")  # BM25 needs no model
    assert snapshot(settings) == before


def test_the_same_model_opens_fine(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    with KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)) as kb:
        assert kb.search("网格员", mode="dense")


# ---------------------------------------------------------------- bad inputs

BAD = {
    "truncated.pdf": ("error", "truncated"),
    "encrypted.pdf": ("error", "encrypted"),
    "junk.txt": ("error", "binary"),
    "empty.txt": ("error", "empty"),
    "not_zip.docx": ("error", "not a valid .docx"),
    "gbk.txt": ("added", None),
    "utf16le.txt": ("added", None),
    "utf16be.txt": ("added", None),
    "page.html": ("added", None),
}


def test_bad_inputs_get_their_own_status_and_change_nothing_else(setup):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    good = snapshot(settings)
    for name in BAD:
        shutil.copy(LOAD_DATA / name, corpus / name)

    report = index.ingest([corpus], settings, embedder)
    by_name = {Path(f.path).name: f for f in report.files}
    for name, (status, reason) in BAD.items():
        assert by_name[name].status == status, (name, by_name[name])
        if reason:
            assert reason in by_name[name].reason.lower(), (name, by_name[name].reason)
        else:
            assert by_name[name].passages > 0
    assert {by_name[n].status for n in by_name if n not in BAD} == {"unchanged"}

    after = snapshot(settings)
    kept = [row for row in after["passages"] if row in good["passages"]]
    assert kept == good["passages"]  # the good files' passages, ids and vectors ids untouched
    conn = store.connect(settings.index_dir)
    html = next(d for d, _ in store.documents(conn) if d.path.endswith("page.html"))
    html_text = "\n".join(p.text for p in store.passages_of(conn, html.doc_id))
    conn.close()
    for script in ("SECRET_SCRIPT_TEXT", "INLINE_SCRIPT_IN_BODY", "广告脚本内容", "console.log"):
        assert script not in html_text
    assert "枫桥" in html_text


def test_a_5mb_single_line_file_is_ingested_without_disturbing_the_rest(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"small.txt": "基层治理简报\n" + "社区议事协商制度逐步完善。" * 20})
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    index.ingest([corpus], settings, FakeEmbedder(64))
    before = snapshot(settings)
    sentence = "社区网格员负责收集社情民意，及时化解矛盾纠纷。"
    big = corpus / "big.txt"
    big.write_text(sentence * (5 * 1024 * 1024 // len(sentence.encode("utf-8"))), encoding="utf-8")
    assert big.stat().st_size > 5_000_000 and big.read_text(encoding="utf-8").count("\n") == 0

    report = index.ingest([corpus], settings, FakeEmbedder(64))
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["small.txt"].status == "unchanged"
    assert by_name["big.txt"].status == "added" and by_name["big.txt"].passages > 1000
    after = snapshot(settings)
    assert [row for row in after["passages"] if row in before["passages"]] == before["passages"]


def test_strict_mode_makes_a_failure_fatal_and_changes_nothing(setup, seed_dir):
    corpus, settings, embedder = setup
    index.ingest([corpus], settings, embedder)
    before = snapshot(settings)
    shutil.copy(seed_path(seed_dir, "001"), corpus)  # a good new file …
    shutil.copy(LOAD_DATA / "truncated.pdf", corpus / "truncated.pdf")  # … and a bad one
    with pytest.raises(KBError, match="truncated.pdf"):
        index.ingest([corpus], settings, embedder, strict=True)
    assert snapshot(settings) == before
    report = index.ingest([corpus], settings, embedder)  # without --strict the good file goes in
    assert statuses(report)["truncated.pdf"] == "error"
    assert report.count("added") == 1


# ---------------------------------------------------------------- approximate dense index


def test_hnsw_index_is_written_and_searched(tmp_path, seed_dir):
    corpus = copy_seeds(seed_dir, tmp_path / "corpus", ("000",))
    settings = fake_settings(index_dir=str(tmp_path / "index"), faiss_index="hnsw")
    index.ingest([corpus], settings, FakeEmbedder(64))
    assert (Path(settings.index_dir) / "ann-1.faiss").exists()
    live = retrieve.open_index(settings)
    try:
        assert live.ann is not None
        hits = retrieve.search(live, FakeEmbedder(64), "政府购买公共服务", settings, mode="dense")
        assert hits and hits[0].document.title == "基层社会治理创新研究"
    finally:
        live.close()


def test_a_link_out_of_the_folder_is_skipped_and_reported(tmp_path, capsys, monkeypatch):
    from kb.cli import main

    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "河长制\n河长定期巡河。"})
    secret = write_corpus(tmp_path / "home", {"diary.txt": "私人日记\n今天的心事。"}) / "diary.txt"
    (corpus / "diary.txt").symlink_to(secret)
    settings = fake_settings(index_dir=str(tmp_path / "index"))

    report = index.ingest([corpus], settings, FakeEmbedder(64))
    assert statuses(report) == {"a.txt": "added", "diary.txt": "skipped"}
    with KnowledgeBase(settings=settings) as kb:
        assert [Path(d.path).name for d, _ in kb.documents()] == ["a.txt"]

    monkeypatch.setenv("KB_MODEL", "fake")
    assert main(["ingest", str(corpus), "--index", settings.index_dir]) == 0
    out = capsys.readouterr().out
    assert "跳过" in out and "diary.txt" in out and "not followed" in out

    followed = index.ingest([corpus], settings.replace(ingest_follow_links=True), FakeEmbedder(64))
    assert statuses(followed)["diary.txt"] == "added"
