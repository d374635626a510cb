"""kb.metadata: title, author, date, source and type from the text itself (seeds and regulations)."""

from __future__ import annotations

import pytest
from conftest import fake_settings

from kb.load import load
from kb.metadata import date_from_path, doc_type, normalize_date, parse_header, part_title, title_from_path
from kb.pipeline import parse_source
from kb.types import SourceMeta

# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "date"),
    [
        ("2016-04-22刘凤", "2016-04-22"),
        ("2020-01-13 16:19", "2020-01-13"),
        ("时间:2023-08-10 16:51:05", "2023-08-10"),
        ("2021年6月29日 滨州市第十一届人民代表大会常务委员会第四十一次会议通过", "2021-06-29"),
        ("２０２０年１月１３日", "2020-01-13"),  # full-width digits
        ("2020/1/3", "2020-01-03"),
        ("2020.01.03", "2020-01-03"),
        ("2023-05-06T10:30:00+08:00", "2023-05-06"),
    ],
)
def test_normalize_date(raw, date):
    assert normalize_date(raw) == date


@pytest.mark.parametrize("raw", [None, "", "2016年", "2016-13-45", "1800-01-01", "第三十二次会议"])
def test_normalize_date_needs_a_plausible_full_date(raw):
    assert normalize_date(raw) is None


def test_date_and_title_from_lawrefbook_file_names():
    assert date_from_path("x/人民调解法(2010-08-28).md") == "2010-08-28"
    assert date_from_path("x/北京市信访条例.md") is None
    assert title_from_path("x/人民调解法(2010-08-28).md") == "人民调解法"
    assert title_from_path("seeds/000_fdb6099f8e5e04f7.txt") == "000_fdb6099f8e5e04f7"


# ---------------------------------------------------------------- synthetic headers


def test_header_lines_are_read_and_excluded_from_the_body():
    lines = [
        "社区治理的新探索",
        "2021-03-05 10:00",
        "来源：人民网·观点频道",
        "作者：王小明",
        "摘要：本文研究社区治理。",
        "正文一段。",
        "（作者单位：某某大学）",
    ]
    h = parse_header(lines)
    assert (h.title, h.author, h.date, h.source) == ("社区治理的新探索", "王小明", "2021-03-05", "人民网")
    assert lines[h.body_start : h.body_end] == ["摘要：本文研究社区治理。", "正文一段。"]


def test_author_prefix_of_a_title_and_original_publication_note():
    lines = ["王五、赵六：网格化管理的得失", "2019年5月6日", "正文。" * 30, "(本文原载于2019年5月1日光明日报)"]
    h = parse_header(lines)
    assert h.author == "王五、赵六"
    assert h.date == "2019-05-06"
    assert h.source == "光明日报"


def test_explicit_source_metadata_wins():
    meta = SourceMeta(title="元数据标题", author="张三", date="2022-02-02T10:00:00", source="某网")
    h = parse_header(["# 元数据标题", "正文。"], meta)
    assert (h.title, h.author, h.date, h.source) == ("元数据标题", "张三", "2022-02-02", "某网")


@pytest.mark.parametrize(
    ("lines", "title", "author"),
    [
        (["刘凤", "基层治理研究", "正文。" * 30], "基层治理研究", "刘凤"),  # a name before the title
        (["欧阳明月", "基层治理研究", "正文。" * 30], "基层治理研究", "欧阳明月"),  # compound surname
        (["垃圾分类", "基层社区推行垃圾分类，志愿者在投放点值守引导居民。"], "垃圾分类", None),  # a 4-character title
        (["养老服务", "田生海", "正文。" * 30], "养老服务", "田生海"),
    ],
)
def test_short_first_lines_names_versus_titles(lines, title, author):
    h = parse_header(lines)
    assert (h.title, h.author) == (title, author)


def test_organisation_lines_are_not_authors():
    h = parse_header(["基层治理研究", "李四", "中共某某市委党校", "正文第一段很长，" * 12])
    assert h.title == "基层治理研究" and h.author == "李四"


def test_a_short_sentence_naming_an_organisation_is_body_not_an_affiliation():
    lines = ["物业管理", "基层物业管理纠纷多发，业主委员会与物业企业的矛盾需要调处。"]
    h = parse_header(lines)
    assert h.title == "物业管理" and h.body_start == 1


def test_part_title_uses_the_first_heading_or_opening_words():
    assert part_title(["一、社会转型期的挑战", "正文。"]) == "社会转型期的挑战"
    opening = "改革开放后，伴随社会转型及单位制逐渐解体，城市基层社会管理工作的环境发生变化。后文。"
    assert part_title([opening]) == "改革开放后，伴随社会转型及单位制逐渐解体…"  # whole clauses, original characters
    unbroken = "桃花镇二百多名机关社区干部和教师医生民警等分成四十个网格管理服务小组进村入户"
    assert part_title([unbroken + "。"]) == unbroken[:30] + "…"
    assert part_title(["网格员怎么办？后文。"]) == "网格员怎么办"


# ---------------------------------------------------------------- document types


@pytest.mark.parametrize(
    ("title", "lines", "n_articles", "refs", "parts", "kind"),
    [
        ("广饶县基层社会治理调查", ["正文。"], 0, False, 1, "survey"),
        ("2023年街道工作总结", ["正文。"], 0, False, 1, "work_report"),
        ("社区治理研究", ["摘要：本文……", "关键词：社区"], 0, False, 1, "research"),
        ("社区治理研究", ["正文。"], 0, True, 1, "research"),
        ("专家谈基层减负", ["来源：澎湃新闻", "正文。"], 0, False, 1, "commentary"),
        ("某某市物业管理条例", ["第一条 …", "第二条 …", "第三条 …"], 3, False, 1, "regulation"),
        ("某市网格员工作手册", ["第一条 …", "第二条 …"], 2, False, 1, "other"),
        ("汇编", ["正文。"], 0, False, 3, "compilation"),
        ("随笔", ["今天天气很好。"], 0, False, 1, "other"),
        # a legislature's resolution is a regulation although it has no 第X条
        (
            "河南省人民代表大会常务委员会关于加强基层文化设施建设有关问题的决议",
            ["一、提高认识。"],
            0,
            False,
            1,
            "regulation",
        ),
    ],
)
def test_doc_type(title, lines, n_articles, refs, parts, kind):
    assert doc_type(title, lines, n_articles, refs, parts) == kind


# ---------------------------------------------------------------- the real seeds


def test_seed_000(parsed_seeds):
    doc = parsed_seeds["000"].documents[0]
    assert (doc.title, doc.author, doc.date, doc.doc_type) == ("基层社会治理创新研究", "刘凤", "2016-04-22", "research")


def test_seed_001(parsed_seeds):
    doc = parsed_seeds["001"].documents[0]
    assert doc.title == "社区“微治理”体系创新研究——以福建省三明市梅列区为例"
    assert doc.author == "田生海"


def test_seed_002(parsed_seeds):
    doc = parsed_seeds["002"].documents[0]
    assert (doc.title, doc.author) == ("广饶县基层社会治理调查", "张兴瑞")
    assert doc.doc_type == "survey"


def test_seed_003_date(parsed_seeds):
    assert parsed_seeds["003"].documents[0].date == "2023-08-10"


def test_seed_004(parsed_seeds):
    doc = parsed_seeds["004"].documents[0]
    assert doc.author == "郑泰安、钟凯"
    assert doc.date == "2020-01-13"
    assert "澎湃新闻" in doc.source
    assert doc.title.endswith("创新和完善城市基层治理应处理好五大关系")


def test_header_lines_never_become_passages(parsed_seeds):
    texts = {ln for parsed in parsed_seeds.values() for p in parsed.passages for ln in p.text.split("\n")}
    for line in ("2016-04-22刘凤", "刘凤", "田生海", "张兴瑞", "中共三明市委党校", "天府智库", "2020-01-13 16:19"):
        assert line not in texts
    assert not any(t.startswith(("时间:", "来源:", "导言:")) for t in texts)


# ---------------------------------------------------------------- regulations


def regulation(regulations_dir, rel):
    return parse_source(load(regulations_dir / rel), fake_settings()).documents[0]


@pytest.mark.parametrize(
    ("rel", "date"),
    [
        ("local/山东/滨州市社会治理网格化服务管理条例(2021-08-05).md", "2021-06-29"),  # 通过, not 批准
        ("national/人民调解法(2010-08-28).md", "2010-08-28"),
        ("local/上海/上海市信访条例(2018-05-24).md", "2018-05-24"),  # the latest 修正
        # one INFO line holding two events: the amendment's date, not the line's first date
        ("local/山东/青岛市养老服务促进条例(2018-11-30).md", "2018-09-07"),
        ("local/浙江/宁波市住宅小区物业管理条例(2021-10-15).md", "2021-08-31"),
        ("local/河南/河南省实施《城市居民委员会组织法》办法(2020-06-04).md", "2020-06-03"),
        # an event wrapped onto the next INFO line ('…〈…〉\n的决定》修正')
        ("local/浙江/浙江省村民委员会选举办法(2020-07-31).md", "2020-07-31"),
        # no date in the file name: the latest event
        ("local/北京/北京市社会治安综合治理条例.md", "2010-12-23"),
    ],
)
def test_regulation_date_from_info_block(regulations_dir, rel, date):
    assert regulation(regulations_dir, rel).date == date


def test_regulation_title_from_markdown_heading(regulations_dir):
    doc = regulation(regulations_dir, "local/上海/上海市实施《村民委员会组织法》办法(2020-05-14).md")
    assert doc.title == "上海市实施《中华人民共和国村民委员会组织法》办法"
    assert doc.doc_type == "regulation"
