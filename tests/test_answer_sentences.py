"""kb.answer.sentences: passages cut into verbatim, answer-sized sentences."""

from __future__ import annotations

import pytest

from kb.answer.sentences import is_verbatim, normalise, split


def texts(text: str) -> list[str]:
    return [s.text for s in split(text)]


def test_every_sentence_is_the_passages_own_span():
    text = "广饶县推行“乡呼县应、上下联动”机制。一是坚持党建带群建，二是推动网格化管理，建立942个网格；\n三是加强队伍建设。"
    for s in split(text):
        assert text[s.start : s.end] == s.text


def test_sentence_ends_and_closing_quotes():
    assert texts("他说：“要把群众的事办好。”随后成立了议事会！效果究竟怎么样？") == [
        "他说：“要把群众的事办好。”",
        "随后成立了议事会！",
        "效果究竟怎么样？",
    ]


def test_yi_shi_er_shi_points_are_separate_even_after_commas():
    got = texts("主要做法有三条：一是坚持党建带群建，二是推动网格化管理，建立942个网格；三是加强网格队伍建设。")
    assert got[-3:] == ["一是坚持党建带群建，", "二是推动网格化管理，建立942个网格；", "三是加强网格队伍建设。"]


@pytest.mark.parametrize(
    "text",
    [
        "（一）完善网格设置，科学划分网格。（二）配强网格力量，每格配备专职网格员。",
        "1.完善网格设置，科学划分网格。2.配强网格力量，每格配备专职网格员。",
        "首先，完善网格设置，科学划分网格。其次，配强网格力量，每格配备专职网格员。",
        "①完善网格设置，科学划分网格；②配强网格力量，每格配备专职网格员。",
    ],
)
def test_enumeration_markers_start_sentences(text):
    got = texts(text)
    assert len(got) == 2
    assert "完善网格设置" in got[0] and "配强网格力量" in got[1]


def test_a_decimal_is_not_an_enumeration():
    assert texts("全县共有3.2万户群众参与，满意度达98.5%。") == ["全县共有3.2万户群众参与，满意度达98.5%。"]


def test_a_bare_lead_in_joins_the_next_piece():
    got = texts("一是，加强领导。")
    assert got == ["一是，加强领导。"]


def test_a_colon_lead_in_keeps_its_list_items():
    text = "第二十六条 有下列情形之一的，应当制作调解协议书：\n（一）当事人要求制作的；\n（二）人民调解委员会认为有必要的。\n口头协议自达成之日起生效。"
    got = texts(text)
    assert got[0].startswith("第二十六条") and got[0].endswith("认为有必要的。")
    assert got[1] == "口头协议自达成之日起生效。"


def test_a_too_long_list_is_not_joined():
    items = "".join(f"\n（{n}）{'很长的事项说明' * 8}；" for n in "一二三四五六")
    got = split("有下列情形之一的：" + items, list_chars=120)
    assert len(got) > 2


def test_line_breaks_end_sentences_and_blank_pieces_vanish():
    assert texts("第一款内容在这里\n\n  第二款内容在这里\n。") == ["第一款内容在这里", "第二款内容在这里"]


def test_verbatim_ignores_whitespace_only():
    passage = "经人民调解委员会调解达成调解协议后，\n双方当事人 可以申请司法确认。"
    assert is_verbatim("双方当事人可以申请司法确认。", passage)
    assert is_verbatim("调解协议后，双方当事人", passage)
    assert not is_verbatim("双方当事人应当申请司法确认。", passage)
    assert normalise(" a\tb\nc ") == "abc"


def test_a_short_last_piece_joins_the_sentence_before_it():
    assert texts("随后成立了议事会！效果好？") == ["随后成立了议事会！效果好？"]
