"""kb.segment: headings, heading stacks, regulation articles, compilation parts and chunking."""

from __future__ import annotations

import pytest

from kb.segment import (
    Block,
    Heading,
    chunk,
    cn_to_int,
    count_articles,
    is_plain_heading,
    is_regulation,
    parse_articles,
    parse_blocks,
    parse_heading,
    split_parts,
    split_sentences,
)

SENT_END = "。！？；"


def paths(blocks: list[Block]) -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(h.text for h in b.headings), b.text) for b in blocks]


# ---------------------------------------------------------------- numbers and headings


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("一百零五", 105), ("两千", 2000), ("12", 12)],
)
def test_cn_to_int(text, value):
    assert cn_to_int(text) == value


def test_cn_to_int_rejects_non_numbers():
    assert cn_to_int("总则") is None


@pytest.mark.parametrize(
    ("line", "kind", "number", "text"),
    [
        ("第一编 总则", "编", 1, "第一编 总则"),
        ("第十二章　法律责任", "章", 12, "第十二章　法律责任"),
        ("第三节 业主大会", "节", 3, "第三节 业主大会"),
        ("一、总体要求", "cn", 1, "一、总体要求"),
        ("十一、其他", "cn", 11, "十一、其他"),
        ("（一）加强党建引领", "cnp", 1, "（一）加强党建引领"),
        ("(二)完善工作机制", "cnp", 2, "(二)完善工作机制"),
        ("1. 背景", "num", 1, "1. 背景"),
        ("2、研究方法", "num", 2, "2、研究方法"),
        ("1 宿豫基层社会治理的积极探索", "num", 1, "1 宿豫基层社会治理的积极探索"),
        ("1.1 以强化服务为宗旨,推动政府职能大转变", "dec2", 1, "1.1 以强化服务为宗旨,推动政府职能大转变"),
        ("2.3.1 数据来源", "dec3", 1, "2.3.1 数据来源"),
        ("（1）网格划分", "nump", 1, "（1）网格划分"),
        ("(2)人员配备", "nump", 2, "(2)人员配备"),
        ("①摸清底数", "circ", 1, "①摸清底数"),
        ("③ 建立台账", "circ", 3, "③ 建立台账"),
        ("# 社区治理工作方案", "md1", None, "社区治理工作方案"),
        ("### 三级标题", "md3", None, "三级标题"),
    ],
)
def test_heading_kinds(line, kind, number, text):
    found = parse_heading(line)
    assert found is not None, line
    heading, rest = found
    assert (heading.kind, heading.number, heading.text, rest) == (kind, number, text, "")


@pytest.mark.parametrize(
    "line",
    [
        "一是建设县镇两级中心。县级层面，整合网格、民生热线相关职能。",
        "二是完善工作机制",
        "三要推进基层治理规范化、专业化、精细化。",
        "第一条 为了规范物业管理活动，制定本条例。",  # an article, not a heading
        "2016年以来，全县共建成网格320个。",
        "3.5亿元投入基层党群服务中心建设。",  # a quantity, not section 3.5
        "12345热线是群众反映诉求的渠道。",
        "近年来，宿豫区政府采购紧贴保障和改善民生重点。",
        "",
    ],
)
def test_not_headings(line):
    assert parse_heading(line) is None


def test_run_in_heading_is_split_from_its_body():
    heading, rest = parse_heading("（一）“大党委”唤起社区内生活力。公共资源不足、管理机制不畅等一直是现实。")
    assert heading == Heading("cnp", 1, "（一）“大党委”唤起社区内生活力")
    assert rest == "公共资源不足、管理机制不畅等一直是现实。"


def test_numbered_paragraph_with_a_long_first_sentence_is_not_a_heading():
    line = "（4）推进省直管县的财政管理体制改革，减少财政管理层级，按照基本公共服务均等化的要求完善转移支付制度。"
    assert parse_heading(line) is None


def test_overlong_part_line_is_not_a_heading():
    assert parse_heading("第一章" + "很长的描述" * 10) is None


def test_plain_heading_between_paragraphs():
    body = "近几年，广饶县以加强党的绝对领导为统领，强化联动共融，多元共治，基层社会治理水平达到了新高度。"
    assert is_plain_heading("广饶县基层社会治理现状", "上一段。", body)
    assert not is_plain_heading("广饶县基层社会治理现状", "上一段。", None)  # last line
    assert not is_plain_heading("这是一句完整的话。", None, body)
    assert not is_plain_heading("2020-01-13 16:19", None, body)


# ---------------------------------------------------------------- heading stack


def test_conventional_numbering_nests():
    lines = [
        "引言段落，说明背景。",
        "一、总体要求",
        "总体要求的正文。",
        "（一）指导思想",
        "指导思想正文。",
        "1. 坚持党建引领",
        "正文甲。",
        "（1）细则",
        "细则正文。",
        "①第一点",
        "第一点正文。",
        "2. 坚持以人为本",
        "正文乙。",
        "（二）基本原则",
        "原则正文。",
        "二、主要任务",
        "任务正文。",
    ]
    assert paths(parse_blocks(lines)) == [
        ((), "引言段落，说明背景。"),
        (("一、总体要求",), "总体要求的正文。"),
        (("一、总体要求", "（一）指导思想"), "指导思想正文。"),
        (("一、总体要求", "（一）指导思想", "1. 坚持党建引领"), "正文甲。"),
        (("一、总体要求", "（一）指导思想", "1. 坚持党建引领", "（1）细则"), "细则正文。"),
        (("一、总体要求", "（一）指导思想", "1. 坚持党建引领", "（1）细则", "①第一点"), "第一点正文。"),
        (("一、总体要求", "（一）指导思想", "2. 坚持以人为本"), "正文乙。"),
        (("一、总体要求", "（二）基本原则"), "原则正文。"),
        (("二、主要任务",), "任务正文。"),
    ]


def test_depth_is_learnt_per_document():
    """An author who uses 1 / 1.1 (000) gets 1 > 1.1, and the next 1-level heading closes 1.1."""
    lines = ["1 探索", "探索正文。", "1.1 服务", "服务正文。", "1.2 责任", "责任正文。", "2 问题", "问题正文。"]
    assert paths(parse_blocks(lines)) == [
        (("1 探索",), "探索正文。"),
        (("1 探索", "1.1 服务"), "服务正文。"),
        (("1 探索", "1.2 责任"), "责任正文。"),
        (("2 问题",), "问题正文。"),
    ]


def test_chinese_top_level_heading_never_nests_under_arabic_numbers():
    """An excerpt that starts at '1.' (its 一、 cut off) must not file 二、 under its last 1.-level item."""
    lines = ["1.职责不清", "正文甲。", "2.资源不足", "正文乙。", "二、改革的做法", "正文丙。", "1.整合机构", "正文丁。"]
    assert paths(parse_blocks(lines)) == [
        (("1.职责不清",), "正文甲。"),
        (("2.资源不足",), "正文乙。"),
        (("二、改革的做法",), "正文丙。"),
        (("二、改革的做法", "1.整合机构"), "正文丁。"),
    ]


def test_inline_enumerations_stay_in_the_body():
    lines = ["（一）县域治理", "一是建设县镇两级中心。县级层面整合职能。", "二是建设一体化指挥平台。依托智慧广饶建设。"]
    assert paths(parse_blocks(lines)) == [
        (("（一）县域治理",), "一是建设县镇两级中心。县级层面整合职能。"),
        (("（一）县域治理",), "二是建设一体化指挥平台。依托智慧广饶建设。"),
    ]


def test_markdown_levels():
    lines = ["# 方案", "导语。", "## 一、目标", "目标正文。", "### 细节", "细节正文。", "## 二、措施", "措施正文。"]
    assert paths(parse_blocks(lines)) == [
        (("方案",), "导语。"),
        (("方案", "一、目标"), "目标正文。"),
        (("方案", "一、目标", "细节"), "细节正文。"),
        (("方案", "二、措施"), "措施正文。"),
    ]


def test_parts_chapters_and_sections_have_fixed_depth():
    lines = [
        "第一编 总则",
        "第一章 一般规定",
        "第一节 适用范围",
        "正文甲。",
        "第二章 组织",
        "正文乙。",
        "第二编 分则",
        "正文丙。",
    ]
    assert paths(parse_blocks(lines)) == [
        (("第一编 总则", "第一章 一般规定", "第一节 适用范围"), "正文甲。"),
        (("第一编 总则", "第二章 组织"), "正文乙。"),
        (("第二编 分则",), "正文丙。"),
    ]


def test_run_in_heading_body_is_a_block_under_the_heading():
    blocks = parse_blocks(["（一）网格管理。全县划分网格320个。"])
    assert paths(blocks) == [(("（一）网格管理",), "全县划分网格320个。")]


# ---------------------------------------------------------------- regulations

REGULATION = [
    "第一章 总则",
    "第一条 为了加强网格化服务管理，制定本条例。",
    "第二条 本条例适用于本市行政区域内的网格化服务管理。",
    "本条例所称网格化服务管理，是指以网格为单元开展服务的活动。",
    "第三条 网格员履行下列职责：",
    "（一）采集基础信息；",
    "（二）排查矛盾纠纷；",
    "（三）法律、法规规定的其他职责。",
    "第二章 网格划分",
    "第四条之一 网格按照规模适度的原则划分。",
    "第5条 阿拉伯数字编号的条文也算一条。",
]


def test_regulation_detection():
    assert count_articles(REGULATION) == 5
    assert is_regulation(REGULATION)
    assert not is_regulation(["第一条 只有一条。", "普通段落。"])


def test_one_block_per_article_with_its_clauses_and_items():
    blocks = parse_articles(REGULATION)
    assert [b.article for b in blocks] == ["第一条", "第二条", "第三条", "第四条之一", "第5条"]
    by_article = {b.article: b for b in blocks}
    assert by_article["第二条"].text.count("\n") == 1  # two 款
    assert by_article["第三条"].text.endswith("（三）法律、法规规定的其他职责。")  # 项 stay inside
    assert [h.text for h in by_article["第三条"].headings] == ["第一章 总则"]
    assert [h.text for h in by_article["第四条之一"].headings] == ["第二章 网格划分"]


def test_regulation_section_titles_without_numbers_are_headings():
    """LawRefBook files sometimes lose '第一节' and keep only its title ('业主') before an article."""
    lines = [
        "## 第三章 业主自治管理",
        "业主",
        "第十八条 房屋的所有权人为业主。",
        "业主享有下列权利。",
        "业主大会",
        "第二十一条 业主大会由全体业主组成。",
        "## 第四章 物业服务",
        "第四十条 业主可以自行管理物业。",
    ]
    blocks = parse_articles(lines)
    assert [(b.article, tuple(h.text for h in b.headings)) for b in blocks] == [
        ("第十八条", ("第三章 业主自治管理", "业主")),
        ("第二十一条", ("第三章 业主自治管理", "业主大会")),
        ("第四十条", ("第四章 物业服务",)),
    ]
    assert blocks[0].text == "第十八条 房屋的所有权人为业主。\n业主享有下列权利。"


def test_article_stays_whole_unless_overlong():
    article = Block((Heading("章", 1, "第一章 总则"),), "第一条 短条文。\n第二款。", 0, "第一条")
    (only,) = chunk([article], 150, 500)
    assert only.article == "第一条" and only.text == article.text and only.heading_path == ("第一章 总则",)


def test_overlong_article_splits_at_clause_boundaries_keeping_its_number():
    clauses = [f"第{n}款内容" + "甲" * 60 + "。" for n in range(1, 9)]
    text = "第十条 " + "\n".join(clauses)
    article = Block((Heading("章", 2, "第二章 职责"),), text, 0, "第十条")
    pieces = chunk([article], 50, 100, article_max=200)
    assert len(pieces) > 1
    assert all(p.article == "第十条" for p in pieces)
    assert all(p.heading_path == ("第二章 职责",) for p in pieces)
    assert "\n".join(p.text for p in pieces) == text  # cut only at 款 (line) boundaries
    assert all(len(p.text) <= 200 for p in pieces)


# ---------------------------------------------------------------- chunking


def sentences(n: int, size: int = 39) -> str:
    marks = "。！？；"
    return "".join(f"第{i:02d}句" + "文" * (size - 5) + marks[i % 4] for i in range(n))


def test_split_sentences_cuts_only_at_sentence_ends():
    text = sentences(30)  # 1200 chars
    pieces = split_sentences(text, 200)
    assert "".join(pieces) == text
    assert all(len(p) <= 200 for p in pieces)
    assert all(p[-1] in SENT_END for p in pieces)


def test_split_sentences_keeps_closing_quotes_with_their_sentence():
    assert split_sentences("他说：“好。”然后走了。", 8) == ["他说：“好。”", "然后走了。"]


def test_split_sentences_leaves_short_text_alone():
    assert split_sentences("短句。", 500) == ["短句。"]


def test_run_on_sentence_is_cut_at_commas_then_blindly():
    text = "，".join(["网格员入户走访" * 3] * 20) + "。"
    pieces = split_sentences(text, 100)
    assert "".join(pieces) == text
    assert all(len(p) <= 100 for p in pieces)
    assert "".join(split_sentences("无" * 250, 100)) == "无" * 250


def test_long_paragraph_is_split_at_sentence_ends_within_chunk_max():
    text = sentences(40)  # 1600 chars under one heading
    chunks = chunk([Block((Heading("cn", 1, "一、现状"),), text, 0)], 150, 500)
    assert len(chunks) >= 4
    assert "".join(c.text for c in chunks) == text
    assert all(c.text[-1] in SENT_END for c in chunks)
    assert all(len(c.text) <= 500 for c in chunks)
    assert all(c.heading_path == ("一、现状",) for c in chunks)


def test_tiny_tail_merges_into_its_neighbour_but_stays_bounded():
    text = sentences(13)  # 507 chars: sentence cuts give 468 + 39; 39 < chunk_min joins the 468
    chunks = chunk([Block((), text, 0)], 150, 500)
    assert [c.text for c in chunks] == [text[:468] + "\n" + text[468:]]
    assert len(chunks[0].text) <= 500 * 1.5


def test_tiny_fragments_merge_under_the_same_heading_only():
    a, b = Heading("cn", 1, "一、甲"), Heading("cn", 2, "二、乙")
    blocks = [
        Block((a,), "短段一。", 0),
        Block((a,), "短段二。", 1),
        Block((a,), "短段三。", 2),
        Block((b,), "另一节的短段。", 3),
    ]
    chunks = chunk(blocks, 150, 500)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("一、甲",), "短段一。\n短段二。\n短段三。"),
        (("二、乙",), "另一节的短段。"),
    ]


def test_chunk_sizes_are_parameters():
    text = sentences(40)
    block = [Block((), text, 0)]
    small = chunk(block, 50, 200)
    large = chunk(block, 300, 1000)
    assert len(small) > len(large)
    assert max(len(c.text) for c in small) <= 200
    assert max(len(c.text) for c in large) <= 1000


# ---------------------------------------------------------------- compilations


def test_a_normal_text_is_one_part():
    lines = ["一、现状", "正文。", "（一）甲", "正文。", "二、问题", "正文。", "三、对策", "正文。"]
    assert split_parts(lines) == [(0, len(lines))]


def test_numbering_restarts_cut_a_compilation_into_parts():
    lines = [
        "一、甲文第一节",
        "甲文正文。",
        "二、甲文第二节",
        "甲文正文。",
        "一、乙文第一节",
        "乙文正文。",
        "二、乙文第二节",
        "乙文正文。",
        "一、丙文第一节",
        "丙文正文。",
    ]
    assert split_parts(lines) == [(0, 4), (4, 8), (8, 10)]


def test_breaks_after_references_cut_parts():
    lines = ["甲文正文一。", "甲文正文二。", "甲文正文三。", "甲文正文四。", "乙文正文一。", "乙文正文二。"]
    assert split_parts(lines, breaks=[4]) == [(0, len(lines))]  # one strong cue is not a compilation
    lines = lines + ["丙文正文一。", "丙文正文二。"]
    assert split_parts(lines, breaks=[4, 6]) == [(0, 4), (4, 6), (6, 8)]


def test_heading_texts_keep_their_original_characters():
    heading, _ = parse_heading("（一）全角括号")  # matched on the NFKC form "(一)"
    assert heading.text == "（一）全角括号"


def test_an_excerpt_starting_at_its_second_section_takes_its_placeless_opening_paragraphs():
    places = {"广州市整合街道机构。": frozenset({"440100"}), "广州市强化居委会。": frozenset({"440100"})}
    lines = [
        "一、背景",
        "正文甲。",
        "正文乙。",
        "一、广州市的做法",
        "广州市整合街道机构。",
        "二、广州市的启示",
        "广州市强化居委会。",
        "第一类:对国家战略的关注程度很低。",
        "第二类:关注程度较高。",
        "二、长效机制的内容",
        "正文丙。",
    ]
    parts = split_parts(lines, places=lambda ln: places.get(ln, frozenset()))
    assert parts == [(0, 3), (3, 7), (7, 11)]
    assert split_parts(lines) == [(0, 3), (3, 9), (9, 11)]  # without place information the cut stays
