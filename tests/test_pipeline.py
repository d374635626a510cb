"""kb.pipeline on the real seeds and every regulation file: structure, parts, regions, articles."""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import fake_settings, seed_path

from kb.load import load
from kb.pipeline import doc_id_for, parse_source
from kb.segment import parse_heading
from kb.types import Source

# The article-start rule, written independently of kb.segment.ARTICLE_RE, on the raw file.
ARTICLE_LINE = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]+条(之[一二三四五六七八九十]+)?[\s　]")
STRUCTURAL = re.compile(r"^(md\d|编|章|节)$")


def heading_lines(parsed) -> list[tuple[str, int, str]]:
    """(doc_id, seq, line) for passage lines that are themselves headings of their document."""
    heads = defaultdict(set)
    for p in parsed.passages:
        heads[p.doc_id].update(p.heading_path)
    regulation = {d.doc_id for d in parsed.documents if d.doc_type == "regulation"}
    bad = []
    for p in parsed.passages:
        for line in p.text.split("\n"):
            found = parse_heading(line)
            if p.doc_id in regulation:  # 项 （一）… belong to their article; only 章/节 would cross
                found = found if found and STRUCTURAL.match(found[0].kind) else None
            if found is not None or line.strip() in heads[p.doc_id]:
                bad.append((p.doc_id, p.seq, line))
    return bad


# ---------------------------------------------------------------- structure of the seeds


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_passages_never_cross_a_heading(parsed_seeds, name):
    assert heading_lines(parsed_seeds[name]) == []


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_heading_path_starts_with_the_document_title(parsed_seeds, name):
    parsed = parsed_seeds[name]
    titles = {d.doc_id: d.title for d in parsed.documents}
    assert parsed.passages
    for p in parsed.passages:
        assert p.heading_path[0] == titles[p.doc_id]
        assert p.text.strip() == p.text and p.text


def test_heading_paths_of_000(parsed_seeds):
    paths = [p.heading_path for p in parsed_seeds["000"].passages]
    assert ("基层社会治理创新研究", "1 宿豫基层社会治理的积极探索", "1.1 以强化服务为宗旨,推动政府职能大转变") in paths
    assert ("基层社会治理创新研究", "2 宿豫基层社会治理亟待突破的问题", "2.2 社区民主法治建设难") in paths
    # 1.2 is closed by "2 …": no path mixes the two chapters
    assert not any(
        "1.2 以责任落实为手段 促进社会治理可持续" in p and "2 宿豫基层社会治理亟待突破的问题" in p for p in paths
    )


def test_heading_paths_of_001_and_002(parsed_seeds):
    paths_001 = {p.heading_path[1:] for p in parsed_seeds["001"].passages}
    assert ("一、社区“微治理”的实践", "(一)“大党委”唤起社区内生活力") in paths_001  # as written
    paths_002 = {p.heading_path[1:] for p in parsed_seeds["002"].passages}
    assert ("广饶县基层社会治理现状", "(一)县域治理运行管理体系逐步完善") in paths_002


def test_inline_enumerations_are_body_text(parsed_seeds):
    for parsed in parsed_seeds.values():
        for p in parsed.passages:
            assert not any(re.match(r"^[一二三四五]是", h) for h in p.heading_path)
    assert any(p.text.startswith("一是建设县镇两级中心") for p in parsed_seeds["002"].passages)


def test_passage_sizes_follow_the_settings(parsed_seeds, seed_dir):
    default = parsed_seeds["002"].passages
    assert max(len(p.text) for p in default) <= 500 * 1.5
    small = parse_source(load(seed_path(seed_dir, "002")), fake_settings(chunk_min=50, chunk_max=200)).passages
    assert len(small) > len(default)
    assert max(len(p.text) for p in small) <= 200 * 1.5


def test_parsing_is_deterministic_and_ids_are_stable(seed_dir, parsed_seeds):
    again = parse_source(load(seed_path(seed_dir, "003")), fake_settings())
    assert again == parsed_seeds["003"]
    ids = [p.passage_id for p in again.passages]
    assert len(set(ids)) == len(ids)
    assert again.documents[0].doc_id == doc_id_for(str(seed_path(seed_dir, "003")))


def test_doc_id_depends_on_the_path_only():
    a = Source("a/x.txt", "标题\n正文。", "txt", "h1")
    b = Source("a/x.txt", "标题\n改过的正文。", "txt", "h2")
    pa, pb = parse_source(a, fake_settings()), parse_source(b, fake_settings())
    assert pa.documents[0].doc_id == pb.documents[0].doc_id
    assert pa.passages[0].passage_id != pb.passages[0].passage_id


# ---------------------------------------------------------------- the compilation (003)


def test_compilation_is_cut_into_parts(parsed_seeds):
    parsed = parsed_seeds["003"]
    parent, *parts = parsed.documents
    assert parent.doc_type == "compilation" and parent.parent_id is None
    assert len(parts) >= 8
    assert all(d.parent_id == parent.doc_id for d in parts)
    assert [d.part for d in parts] == list(range(1, len(parts) + 1))
    assert all(d.date == "2023-08-10" for d in parts)
    assert {p.doc_id for p in parsed.passages} <= {d.doc_id for d in parts}


def test_compilation_excerpts_about_different_cities_are_different_parts(parsed_seeds):
    parsed = parsed_seeds["003"]
    where = {city: {p.doc_id for p in parsed.passages if city in p.text} for city in ("淄博市", "广州市", "舟山市")}
    assert all(where.values()), where
    assert not where["淄博市"] & where["广州市"]
    assert not where["淄博市"] & where["舟山市"]
    assert not where["广州市"] & where["舟山市"]


def test_compilation_parts_have_their_own_regions(parsed_seeds):
    parts = {d.doc_id: d for d in parsed_seeds["003"].documents[1:]}
    zibo = next(p.doc_id for p in parsed_seeds["003"].passages if "淄博市" in p.text)
    assert parts[zibo].regions == ("山东省淄博市",)


# ---------------------------------------------------------------- regions of the seeds


@pytest.mark.parametrize(
    ("name", "region"),
    [("000", "江苏省宿迁市宿豫区"), ("001", "福建省三明市梅列区"), ("002", "山东省东营市广饶县")],
)
def test_document_regions(parsed_seeds, name, region):
    assert parsed_seeds[name].documents[0].regions == (region,)


@pytest.mark.parametrize("name", ["000", "001", "002"])
def test_passages_without_a_place_inherit_the_documents_region(parsed_seeds, name):
    parsed = parsed_seeds[name]
    doc_region = parsed.documents[0].regions
    silent = [p for p in parsed.passages if not p.own_regions]
    assert silent, "expected some passages that name no place"
    for p in silent:
        assert p.regions == doc_region


def test_own_regions_are_among_regions(parsed_seeds):
    for parsed in parsed_seeds.values():
        for p in parsed.passages:
            assert set(p.own_regions) <= set(p.regions)


def test_an_authors_name_is_not_a_place(parsed_seeds):
    """004 is by 郑泰安 (a person) about Sichuan; 泰安 must not make it a 山东省泰安市 document."""
    parsed = parsed_seeds["004"]
    assert not any("泰安" in r for r in parsed.documents[0].regions)
    assert not any("泰安" in r for p in parsed.passages for r in p.regions)


# ---------------------------------------------------------------- every regulation file


@pytest.fixture(scope="module")
def regulations(regulations_dir):
    """Every regulation file parsed once: {path: (raw text, Parsed)}."""
    settings = fake_settings()
    files = sorted(regulations_dir.rglob("*.md"))
    return {f: (f.read_text(encoding="utf-8"), parse_source(load(f), settings)) for f in files}


def test_all_regulation_files_are_parsed(regulations):
    assert len(regulations) >= 87


def test_one_passage_per_article_in_every_regulation(regulations):
    mismatches = []
    for path, (raw, parsed) in regulations.items():
        expected = sum(1 for line in raw.splitlines() if ARTICLE_LINE.match(line))
        distinct = {p.article for p in parsed.passages if p.article}
        if len(distinct) != expected:
            mismatches.append((path.name, expected, len(distinct)))
    assert not mismatches


def test_article_passages_are_whole_articles_in_order(regulations):
    for path, (raw, parsed) in regulations.items():
        starts = [m.group(0).strip() for line in raw.splitlines() if (m := ARTICLE_LINE.match(line))]
        if not starts:
            continue
        articles = [p.article for p in parsed.passages if p.article]
        assert list(dict.fromkeys(articles)) == starts, path.name  # file order, each article contiguous
        first = {}
        for p in parsed.passages:
            first.setdefault(p.article, p)
        assert all(first[a].text.startswith(a) for a in starts), path.name
        # nothing but articles: no stray title or blank passages between them
        assert all(p.article for p in parsed.passages), [p.text[:20] for p in parsed.passages if not p.article]


def test_regulations_never_cross_a_chapter(regulations):
    for path, (_, parsed) in regulations.items():
        assert heading_lines(parsed) == [], path.name


def test_every_regulation_file_is_a_regulation(regulations):
    kinds = {path.name: parsed.documents[0].doc_type for path, (_, parsed) in regulations.items()}
    assert {name for name, kind in kinds.items() if kind != "regulation"} == set()


def test_no_empty_or_invisible_passages(regulations):
    for path, (_, parsed) in regulations.items():
        for p in parsed.passages:
            assert re.search(r"[\w\u4e00-\u9fff]", p.text), (path.name, p.seq, repr(p.text))


def test_local_regulations_take_their_region_from_the_title(regulations):
    for path, (_, parsed) in regulations.items():
        doc = parsed.documents[0]
        if path.parent.parent.name == "local":
            province = path.parent.name
            assert len(doc.regions) == 1 and doc.regions[0].startswith(province), (path.name, doc.regions)
        else:
            assert doc.regions == (), (path.name, doc.regions)


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("上海市信访条例(2018-05-24).md", "上海市"),
        ("滨州市社会治理网格化服务管理条例(2021-08-05).md", "山东省滨州市"),
        ("深圳经济特区矛盾纠纷多元化解条例(2022-03-28).md", "广东省深圳市"),
        ("河南省物业管理条例.md", "河南省"),
    ],
)
def test_local_regulation_region(regulations, name, region):
    (parsed,) = [parsed for path, (_, parsed) in regulations.items() if path.name == name]
    assert parsed.documents[0].regions == (region,)
    silent = [p for p in parsed.passages if not p.own_regions]
    assert silent and all(p.regions == (region,) for p in silent)


def test_binzhou_regulation(regulations):
    (parsed,) = [parsed for path, (_, parsed) in regulations.items() if path.name.startswith("滨州市社会治理网格化")]
    doc = parsed.documents[0]
    assert (doc.title, doc.date, doc.doc_type) == ("滨州市社会治理网格化服务管理条例", "2021-06-29", "regulation")
    assert [p.article for p in parsed.passages[:3]] == ["第一条", "第二条", "第三条"]
    third = parsed.passages[2]
    assert third.heading_path == (doc.title,)  # this law has no chapters
    assert third.text.count("\n") == 2  # 第三条 has three 款, kept in one passage
    assert third.regions == ("山东省滨州市",)


def test_overlong_article_splits_at_clauses_and_keeps_its_number():
    clauses = [f"第{n}款规定网格员的一项职责" + "，并明确相应的保障措施" * 4 + "。" for n in range(1, 9)]
    text = "\n".join(
        [
            "# 某市网格化服务管理条例",
            "<!-- INFO END -->",
            "## 第一章 总则",
            "第一条 为了规范网格化服务管理，制定本条例。",
            "第二条 " + clauses[0],
            *clauses[1:],
            "第三条 本条例自公布之日起施行。",
        ]
    )
    parsed = parse_source(
        Source("某市网格化服务管理条例.md", text, "md", "h"), fake_settings(chunk_min=40, chunk_max=100)
    )
    articles = [p.article for p in parsed.passages]
    assert articles[0] == "第一条" and articles[-1] == "第三条"
    second = [p for p in parsed.passages if p.article == "第二条"]
    assert len(second) > 1  # longer than article_max = 3 × chunk_max
    assert "\n".join(p.text for p in second) == "第二条 " + "\n".join(clauses)
    assert all(p.heading_path == ("某市网格化服务管理条例", "第一章 总则") for p in second)
    assert all(len(p.text) <= 300 for p in second)


# ---------------------------------------------------------------- robustness


def test_a_5mb_single_line_text_parses_quickly_into_bounded_passages():
    sentence = "社区网格员负责收集社情民意，及时化解矛盾纠纷。"
    text = sentence * (5 * 1024 * 1024 // len(sentence.encode("utf-8")))
    source = Source("big.txt", text, "txt", hashlib.sha256(text.encode()).hexdigest())
    started = time.perf_counter()
    parsed = parse_source(source, fake_settings())
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"parsing a 5 MB line took {elapsed:.1f} s"
    assert len(parsed.passages) > 1000
    assert max(len(p.text) for p in parsed.passages) <= 750
    assert sum(len(p.text.replace("\n", "")) for p in parsed.passages) == len(text)


def test_text_with_only_furniture_gives_no_passages():
    parsed = parse_source(Source("x.txt", "APP下载\n登录\n字号\n", "txt", "h"), fake_settings())
    assert parsed.passages == ()


def test_path_argument_overrides_the_source_path(tmp_path: Path):
    parsed = parse_source(
        Source(str(tmp_path / "a.txt"), "标题\n正文。", "txt", "h"), fake_settings(), path="rel/a.txt"
    )
    assert parsed.documents[0].path == "rel/a.txt"
    assert parsed.documents[0].doc_id == doc_id_for("rel/a.txt")
