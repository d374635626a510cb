"""kb.render: escaped Markdown (document text never becomes markup), highlighting, card views."""

from __future__ import annotations

import re

from kb import render
from kb.types import Answer, AnswerSentence, Document, Hit, Passage

HOSTILE = '<script>alert("x")</script> [点我](javascript:alert(1)) **粗** # 标题 $x^2$ :red[红] :smile: `code`'


def hit(text: str, title: str = "广饶县基层社会治理调查") -> Hit:
    p = Passage("p1", "d1", 3, text, (title, "（二）夯实群众自治基础"), ("山东省东营市广饶县",))
    d = Document("d1", "corpus/x.txt", title, author="张兴瑞", date="2021-05-01", doc_type="survey")
    return Hit(p, d, 1.0, 1)


def unescaped(md: str) -> str:
    """What CommonMark shows for Markdown made only of text and backslash escapes."""
    return re.sub(r"\\(.)", r"\1", md.replace("  \n", "\n"))


def test_escape_md_leaves_no_active_markdown_or_html():
    md = render.escape_md(HOSTILE)
    # every ASCII punctuation character is escaped, so none can open a tag, link, directive or emphasis
    assert not re.search(r"(?<!\\)[<>\[\]()*#$:`_]", md)
    assert unescaped(md) == HOSTILE


def test_escape_md_keeps_line_breaks_and_drops_code_block_indentation():
    md = render.escape_md("第一行\n    第二行")
    assert md == "第一行  \n第二行"


def test_highlight_marks_the_question_terms_and_escapes_the_rest():
    md = render.highlight_md("加强网格队伍建设<b>", ["网格", "队伍"])
    assert md.startswith("加强:orange-background[网格队伍]建设")
    assert md.endswith("\\<b\\>")


def test_highlight_inside_hostile_text_stays_escaped():
    md = render.highlight_md(HOSTILE, ["点我"])
    assert ":orange-background[点我]" in md
    assert "\\<script\\>" in md


def test_query_terms_are_words_of_two_or_more_characters():
    terms = render.query_terms("网格员待遇低怎么办")
    assert "网格员" in terms or "网格" in terms
    assert all(len(t) >= 2 for t in terms)
    assert terms == sorted(terms, key=lambda t: (-len(t), t))


def test_hit_view_has_what_a_card_shows():
    v = render.hit_view(hit("一是坚持党建带群建。二是加强网格队伍建设，完善网格员选拔聘用机制。"), "网格员")
    assert v["title"] == "广饶县基层社会治理调查"
    assert v["heading"] == "（二）夯实群众自治基础"
    assert v["region"] == "山东省东营市广饶县" and v["author"] == "张兴瑞" and v["date"] == "2021-05-01"
    assert ":orange-background[网格员]" in v["snippet_md"]


def test_answer_md_marks_citations_and_unsupported_sentences():
    a = Answer(
        "问",
        "甲[1]乙[2]",
        (hit("甲"), hit("乙")),
        (AnswerSentence("甲<i>", (1,)), AnswerSentence("乙", (2,), supported=False)),
        method="generated",
    )
    md = render.answer_md(a)
    assert "甲\\<i\\>:blue[\\[1\\]]" in md
    assert ":red-background[乙]" in md and "未经来源核实" in md


def test_grouped_answer_has_one_paragraph_per_region():
    a = Answer(
        "各地怎么做",
        "",
        (hit("a"), hit("b")),
        (
            AnswerSentence("a句", (1,), group="广饶县"),
            AnswerSentence("a2句", (1,), group="广饶县"),
            AnswerSentence("b句", (2,), group="舟山市"),
        ),
        grouped=True,
    )
    paragraphs = render.answer_md(a).split("\n\n")
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith("**广饶县**：") and paragraphs[1].startswith("**舟山市**：")


def test_answer_json_keeps_everything():
    a = Answer("问", "甲[1]", (hit("甲"),), (AnswerSentence("甲", (1,)),), notice="回退")
    j = render.answer_json(a)
    assert j["sentences"] == [{"text": "甲", "citations": [1], "supported": True, "group": None}]
    assert j["citations"][0]["passage_id"] == "p1" and j["notice"] == "回退"
