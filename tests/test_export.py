"""kb.export: GB/T 7714-2015 references, global numbering, Markdown and DOCX (re-opened with python-docx)."""

from __future__ import annotations

import io

import docx

from kb import export
from kb.types import Answer, AnswerSentence, Document, Hit, Passage

RESEARCH = Document(
    "r",
    "corpus/r.txt",
    "基层社会治理创新研究",
    author="刘凤",
    date="2016-04-22",
    source="学术期刊",
    doc_type="research",
)
NEWS = Document(
    "n",
    "corpus/n.html",
    "创新和完善城市基层治理",
    author="郑泰安、钟凯",
    date="2020-01-13",
    source="澎湃新闻",
    doc_type="commentary",
)
LAW = Document("l", "regs/调解法.md", "中华人民共和国人民调解法", date="2010-08-28", doc_type="regulation")
SURVEY = Document("s", "corpus/s.txt", "广饶县基层社会治理调查", author="张兴瑞", doc_type="survey")


def hit(doc: Document, text: str, pid: str) -> Hit:
    return Hit(Passage(pid, doc.doc_id, 0, text, (doc.title, "一、现状")), doc, 1.0, 1)


def test_reference_follows_gbt7714_author_title_mark_source_date():
    assert export.reference(RESEARCH) == "刘凤. 基层社会治理创新研究[J]. 学术期刊, 2016-04-22."
    assert export.reference(NEWS) == "郑泰安, 钟凯. 创新和完善城市基层治理[EB/OL]. 澎湃新闻, 2020-01-13."
    assert export.reference(LAW) == "中华人民共和国人民调解法[Z]. 2010-08-28."
    assert export.reference(SURVEY) == "张兴瑞. 广饶县基层社会治理调查[R]."


def test_sources_are_numbered_once_in_order_of_first_use():
    a = Answer(
        "问",
        "",
        (hit(SURVEY, "甲", "p1"), hit(LAW, "乙", "p2")),
        (AnswerSentence("甲。", (1,)), AnswerSentence("乙。", (2,))),
    )
    items = [export.from_hit(hit(LAW, "第一条", "p3")), export.from_answer(a), export.from_hit(hit(SURVEY, "丙", "p4"))]
    body, refs = export.numbered(items)
    assert [d.doc_id for d in refs] == ["l", "s"]
    assert body[1][1] == [("甲。", (2,)), ("乙。", (1,))]
    assert body[2][1] == [("丙", (2,))]


def test_a_passages_own_bracket_numbers_are_not_renumbered():
    item = export.from_hit(hit(RESEARCH, "已有研究[3]指出", "p1"))
    md = export.to_markdown([item])
    assert "已有研究[3]指出[1]" in md


def test_markdown_has_sections_notes_and_references():
    item = export.with_note(export.from_hit(hit(SURVEY, "加强网格队伍建设。", "p1")), "可用于第三讲")
    md = export.to_markdown([item], title="网格化管理")
    assert md.startswith("# 网格化管理\n")
    assert "## 1. 原文摘录：广饶县基层社会治理调查 > 一、现状" in md
    assert "> 批注：可用于第三讲" in md
    assert "[1] 张兴瑞. 广饶县基层社会治理调查[R]." in md


def test_docx_reopens_with_the_text_note_and_references(tmp_path):
    items = [
        export.with_note(export.from_hit(hit(SURVEY, "加强网格队伍建设。", "p1")), "重点"),
        export.from_hit(hit(NEWS, "处理好五大关系。", "p2")),
    ]
    target = tmp_path / "m.docx"
    data = export.to_docx(items, target, title="教学素材")
    assert target.read_bytes() == data
    paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    assert paragraphs[0] == "教学素材"
    assert "加强网格队伍建设。[1]" in paragraphs and "处理好五大关系。[2]" in paragraphs
    assert "批注：重点" in paragraphs
    refs = paragraphs[paragraphs.index("参考文献") + 1 :]
    assert refs == [f"[1] {export.reference(SURVEY)}", f"[2] {export.reference(NEWS)}"]


def test_an_answer_grouped_by_region_keeps_each_regions_lead():
    a = Answer(
        "各地怎么做",
        "",
        (hit(SURVEY, "甲", "p1"), hit(NEWS, "乙", "p2")),
        (
            AnswerSentence("甲一。", (1,), group="广饶县"),
            AnswerSentence("甲二。", (1,), group="广饶县"),
            AnswerSentence("乙。", (2,), group="成都市"),
        ),
        grouped=True,
    )
    item = export.from_answer(a)
    assert [t for t, _ in item.sentences] == ["广饶县：甲一。", "甲二。", "成都市：乙。"]
