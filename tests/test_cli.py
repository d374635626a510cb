"""kb.cli: `kb ingest/docs/passages/search/settings` through main([...]) with the fake model."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import HIT_FIELDS, LOAD_DATA, seed_path

from kb import regions
from kb.cli import main, parse_years
from kb.errors import KBError

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    """No KB_* setting leaks in from the environment; the model is the fake one."""
    for name in list(os.environ):
        if name.startswith("KB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KB_MODEL", "fake")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# ---------------------------------------------------------------- ingest


def test_ingest_json_report(tmp_path, seed_dir, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for prefix in ("000", "004"):
        shutil.copy(seed_path(seed_dir, prefix), corpus)
    shutil.copy(LOAD_DATA / "encrypted.pdf", corpus)
    index_dir = tmp_path / "index"

    report = run_json(capsys, "ingest", corpus, "--index", index_dir)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert set(by_name) == {"encrypted.pdf", *(p.name for p in corpus.glob("*.txt"))}
    for f in report["files"]:
        assert set(f) >= {"path", "status", "passages", "documents", "reason"}
    assert by_name["encrypted.pdf"]["status"] == "error" and "encrypted" in by_name["encrypted.pdf"]["reason"]
    txt = [f for name, f in by_name.items() if name.endswith(".txt")]
    assert all(f["status"] == "added" and f["passages"] > 0 and f["documents"] == 1 for f in txt)
    totals = report["totals"]
    assert (totals["added"], totals["error"], totals["unchanged"], totals["updated"], totals["removed"]) == (
        2,
        1,
        0,
        0,
        0,
    )
    assert totals["passages"] == sum(f["passages"] for f in txt) == totals["embedded"]
    assert totals["documents"] == 2
    assert report["generation"] == 1

    again = run_json(capsys, "ingest", corpus, "--index", index_dir)
    assert again["totals"]["unchanged"] == 2 and again["totals"]["embedded"] == 0
    assert again["generation"] == 1


def test_ingest_text_report_and_strict(tmp_path, seed_dir, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(seed_path(seed_dir, "000"), corpus)
    index_dir = tmp_path / "index"
    code, out, _ = run(capsys, "ingest", corpus, "--index", index_dir)
    assert code == 0 and "新增" in out and "共 1 个文件" in out

    shutil.copy(seed_path(seed_dir, "002"), corpus)
    shutil.copy(LOAD_DATA / "truncated.pdf", corpus)
    code, out, err = run(capsys, "ingest", corpus, "--index", index_dir, "--strict")
    assert code == 1
    assert "truncated.pdf" in err and "--strict" in err
    docs = run_json(capsys, "docs", "--index", index_dir)
    assert [d["title"] for d in docs] == ["基层社会治理创新研究"]  # nothing changed

    code, out, _ = run(capsys, "ingest", corpus, "--index", index_dir)
    assert code == 0 and "错误" in out and "truncated.pdf" in out
    assert len(run_json(capsys, "docs", "--index", index_dir)) == 2


def test_rebuild_starts_from_an_empty_index(tmp_path, seed_dir, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(seed_path(seed_dir, "000"), corpus)
    index_dir = tmp_path / "index"
    run_json(capsys, "ingest", corpus, "--index", index_dir)
    report = run_json(capsys, "ingest", corpus, "--index", index_dir, "--rebuild")
    assert report["totals"]["added"] == 1 and report["generation"] == 1


# ---------------------------------------------------------------- listing


def test_docs_json(built_index, capsys):
    docs = run_json(capsys, "docs", "--index", built_index.index_dir)
    assert len(docs) == built_index.report.total_documents
    for d in docs:
        assert set(d) >= {"doc_id", "title", "author", "date", "source", "doc_type", "regions", "path", "passages"}
        assert d["date"] is None or DATE.match(d["date"])
        for name in d["regions"]:
            assert regions.resolve(name).name == name  # full names
    by_title = {d["title"]: d for d in docs}
    d000 = by_title["基层社会治理创新研究"]
    assert (d000["author"], d000["date"], d000["doc_type"]) == ("刘凤", "2016-04-22", "research")
    assert d000["regions"] == ["江苏省宿迁市宿豫区"] and d000["passages"] > 0
    assert d000["path"].endswith(".txt")
    d004 = next(d for d in docs if d["author"] == "郑泰安、钟凯")
    assert "澎湃新闻" in d004["source"]
    parts = [d for d in docs if d["parent_id"]]
    assert len(parts) >= 8


def test_docs_text_listing(built_index, capsys):
    code, out, _ = run(capsys, "docs", "--index", built_index.index_dir)
    assert code == 0
    assert "基层社会治理创新研究" in out and "└" in out  # compilation parts indented


def test_passages_json(built_index, capsys):
    docs = run_json(capsys, "docs", "--index", built_index.index_dir)
    d002 = next(d for d in docs if d["title"] == "广饶县基层社会治理调查")
    rows = run_json(capsys, "passages", d002["doc_id"], "--index", built_index.index_dir)
    assert len(rows) == d002["passages"]
    for r in rows:
        assert set(r) >= {"passage_id", "text", "heading_path", "regions", "own_regions"}
        assert isinstance(r["heading_path"], list) and r["heading_path"][0] == "广饶县基层社会治理调查"
        assert r["regions"] == ["山东省东营市广饶县"]
        assert set(r["own_regions"]) <= set(r["regions"])
    assert [r["seq"] for r in rows] == list(range(len(rows)))


def test_passages_of_a_compilation_file_lists_its_parts(built_index, capsys):
    docs = run_json(capsys, "docs", "--index", built_index.index_dir)
    parent = next(d for d in docs if d["doc_type"] == "compilation")
    rows = run_json(capsys, "passages", parent["doc_id"], "--index", built_index.index_dir)
    assert len(rows) == sum(d["passages"] for d in docs if d["parent_id"] == parent["doc_id"])


def test_passages_of_an_unknown_document(built_index, capsys):
    code, out, err = run(capsys, "passages", "nope", "--index", built_index.index_dir)
    assert code == 1 and "nope" in err and "kb docs" in err and out == ""


# ---------------------------------------------------------------- search


def test_search_json(built_index, capsys):
    hits = run_json(capsys, "search", "网格员队伍不稳定怎么办", "--index", built_index.index_dir, "--k", 5)
    assert 0 < len(hits) <= 5
    for h in hits:
        assert set(h) >= HIT_FIELDS
        assert isinstance(h["heading_path"], list) and h["heading_path"][0] == h["doc_title"]
        assert h["date"] is None or DATE.match(h["date"])
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_modes(built_index, capsys, mode):
    hits = run_json(capsys, "search", "人民调解", "--index", built_index.index_dir, "--mode", mode)
    assert hits


def test_search_filters(built_index, capsys):
    index_dir = built_index.index_dir
    shandong = run_json(capsys, "search", "基层治理", "--index", index_dir, "--region", "山东省", "--k", 50)
    assert shandong and all(any(r.startswith("山东省") for r in h["regions"]) for h in shandong)
    assert "广饶县基层社会治理调查" in {h["doc_title"] for h in shandong}

    two = run_json(capsys, "search", "基层治理", "--index", index_dir, "--region", "宿豫区", "--region", "梅列区")
    assert {h["doc_title"][:6] for h in two} == {"基层社会治理", "社区“微治理"}

    y2016 = run_json(capsys, "search", "基层治理", "--index", index_dir, "--year", "2016")
    assert y2016 and {h["date"][:4] for h in y2016} == {"2016"}
    since = run_json(capsys, "search", "基层治理", "--index", index_dir, "--year", "2020-", "--k", 50)
    assert since and all(int(h["date"][:4]) >= 2020 for h in since)

    regs = run_json(capsys, "search", "调解", "--index", index_dir, "--type", "regulation", "--k", 30)
    assert regs and {h["doc_type"] for h in regs} == {"regulation"}

    both = run_json(capsys, "search", "网格", "--index", index_dir, "--type", "regulation", "--region", "山东")
    assert both and {h["doc_title"] for h in both} == {"滨州市社会治理网格化服务管理条例"}


def test_search_doc_filter(built_index, capsys):
    docs = run_json(capsys, "docs", "--index", built_index.index_dir)
    d000 = next(d for d in docs if d["title"] == "基层社会治理创新研究")
    hits = run_json(capsys, "search", "治理", "--index", built_index.index_dir, "--doc", d000["doc_id"])
    assert hits and {h["doc_title"] for h in hits} == {"基层社会治理创新研究"}


def test_filter_matching_nothing_prints_a_message(built_index, capsys):
    code, out, _ = run(capsys, "search", "基层治理", "--index", built_index.index_dir, "--region", "西藏自治区")
    assert code == 0
    assert "没有找到符合条件的段落" in out and "筛选" in out
    assert run_json(capsys, "search", "基层治理", "--index", built_index.index_dir, "--year", "1990-1991") == []


def test_unknown_region_is_an_error(built_index, capsys):
    code, out, err = run(capsys, "search", "基层治理", "--index", built_index.index_dir, "--region", "火星市")
    assert code == 1 and "火星市" in err and out == ""


def test_bad_year_is_an_error(built_index, capsys):
    code, _, err = run(capsys, "search", "基层治理", "--index", built_index.index_dir, "--year", "去年")
    assert code == 1 and "--year" in err


def test_search_text_output(built_index, capsys):
    # bm25: the fake embedder's dense list is noise, and only one passage names 民情监督员
    code, out, _ = run(capsys, "search", "民情监督员", "--index", built_index.index_dir, "--k", 2, "--mode", "bm25")
    assert code == 0
    assert out.startswith("1. 基层社会治理创新研究")
    assert "民情监督员" in out


def test_search_says_when_a_named_document_is_not_in_the_index(built_index, capsys):
    code, out, _ = run(
        capsys, "search", "《宿迁市网格管理办法》对网格员的规定", "--index", built_index.index_dir, "--k", 2
    )
    assert code == 0
    assert out.startswith("注意：没有找到《宿迁市网格管理办法》")


def test_search_diverse_spreads_documents(built_index, capsys):
    args = ("search", "各地在就地化解矛盾纠纷上有哪些做法", "--index", built_index.index_dir, "--k", 5)
    plain = run_json(capsys, *args)
    spread = run_json(capsys, *args, "--diverse")
    assert len({h["doc_id"] for h in spread}) >= max(4, len({h["doc_id"] for h in plain}))


# ---------------------------------------------------------------- missing index, options, settings


@pytest.mark.parametrize(("command", "extra"), [("search", ["网格员"]), ("docs", []), ("passages", ["abc"])])
def test_missing_index_exits_1_with_a_clear_message(tmp_path, capsys, command, extra):
    missing = tmp_path / "no-index-here"
    code, out, err = run(capsys, command, *extra, "--index", missing)
    assert code == 1 and out == ""
    assert "no index" in err and "kb ingest" in err
    assert not missing.exists()  # looking does not create it


def test_index_option_before_the_command(built_index, capsys):
    """`kb --index DIR docs` (the top-level option) must mean the same as `kb docs --index DIR`."""
    code, out, err = run(capsys, "--index", built_index.index_dir, "docs", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == built_index.report.total_documents


def test_index_from_the_environment(built_index, capsys, monkeypatch):
    monkeypatch.setenv("KB_INDEX_DIR", str(built_index.index_dir))
    code, out, err = run(capsys, "docs", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == built_index.report.total_documents


def test_settings_command_lists_every_variable(capsys, monkeypatch):
    monkeypatch.setenv("KB_TOP_K", "7")
    code, out, _ = run(capsys, "settings")
    assert code == 0
    for var in ("KB_INDEX_DIR", "KB_MODEL", "KB_CHUNK_MAX", "KB_RRF_K"):
        assert var in out
    top_k = next(line for line in out.splitlines() if line.startswith("top_k"))
    assert "7" in top_k


def test_invalid_setting_in_the_environment_exits_1(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_TOP_K", "many")
    code, _, err = run(capsys, "docs", "--index", tmp_path)
    assert code == 1 and "KB_TOP_K" in err


@pytest.mark.parametrize(
    ("text", "years"),
    [
        (None, (None, None)),
        ("2021", (2021, 2021)),
        ("2018-2024", (2018, 2024)),
        ("2018-", (2018, None)),
        ("-2020", (None, 2020)),
    ],
)
def test_parse_years(text, years):
    assert parse_years(text) == years


def test_parse_years_rejects_garbage():
    with pytest.raises(KBError):
        parse_years("20x1")
