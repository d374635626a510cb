"""kb.clean: page furniture, recommendation lists and reference lists never reach passages."""

from __future__ import annotations

import pytest

from kb.clean import clean, is_furniture

# Substrings that occur in the seeds only inside web chrome; none may survive into a passage.
FURNITURE = (
    "APP下载",
    "PDF下载",
    "澎湃Logo",
    "下载客户端",
    "字号",
    "收藏",
    "我要举报",
    "扫码下载",
    "ICP",
    "公网安备",
    "许可证",
    "©",
    "责任编辑",
    "报料",
    "猜你喜欢",
    "基层为何总是栽同样的跟头",
    "基层治理如何避免“空转”",
    "心理建设:社区治理新方向",
    "未经授权不得转载",
    "DOI:",
    "基金资助",
    "文章地址",
    "中图分类号",
)


def all_passages(parsed_seeds):
    return [(name, p) for name, parsed in parsed_seeds.items() for p in parsed.passages]


@pytest.mark.parametrize("needle", FURNITURE)
def test_no_furniture_in_any_seed_passage(parsed_seeds, needle):
    offenders = [(name, p.seq) for name, p in all_passages(parsed_seeds) if needle in p.text]
    assert not offenders, f"{needle!r} left in passages {offenders}"


def test_no_furniture_in_seed_headings_or_titles(parsed_seeds):
    for parsed in parsed_seeds.values():
        for doc in parsed.documents:
            assert not any(n in doc.title for n in FURNITURE), doc.title
        for p in parsed.passages:
            assert not any(n in h for h in p.heading_path for n in FURNITURE), p.heading_path


def test_login_line_is_dropped_but_the_word_is_not_banned(parsed_seeds):
    lines = [ln.strip() for _, p in all_passages(parsed_seeds) for ln in p.text.split("\n")]
    assert "登录" not in lines
    assert "+1" not in lines and "• +1" not in lines


def test_removed_lines_are_reported(parsed_seeds):
    removed = parsed_seeds["004"].removed
    for line in ("澎湃Logo", "下载客户端", "登录", "字号", "收藏", "我要举报", "沪ICP备14003370号"):
        assert line in removed
    assert any(r.startswith("©") for r in removed)
    assert "猜你喜欢" in parsed_seeds["000"].removed
    assert "基层为何总是栽同样的跟头?" in parsed_seeds["000"].removed


def test_references_of_000_are_kept_aside(parsed_seeds):
    parsed = parsed_seeds["000"]
    refs = parsed.documents[0].references
    assert len(refs) == 3
    assert [r[:3] for r in refs] == ["[1]", "[2]", "[3]"]
    assert "戴鸿" in refs[0] and "龚维斌" in refs[2]
    for p in parsed.passages:
        assert "参考文献" not in p.text
        for ref in refs:
            assert ref not in p.text
            assert ref[3:12] not in p.text  # not even the start of an entry


# ---------------------------------------------------------------- synthetic texts


def test_clean_drops_furniture_and_keeps_body_lines():
    text = "\n".join(
        [
            "ＡＰＰ下载",  # full width is folded before matching
            "登录",
            "",
            "社区网格员负责收集社情民意。",
            "  字号  ",
            "扫一扫，分享到朋友圈",
            "京ICP备12345678号-1",
            "京公网安备11010502030000号",
            "Copyright © 2024 某某网",
            "责任编辑：王五",
            "本报报料邮箱：news@example.com",
            "未经授权不得转载，违者必究",
            "上一篇：关于网格化管理的通知",
            "阅读量：12345",
            "街道党工委统筹辖区资源。",
        ]
    )
    cleaned = clean(text)
    assert cleaned.lines == ("社区网格员负责收集社情民意。", "街道党工委统筹辖区资源。")
    assert "登录" in cleaned.removed and "责任编辑：王五" in cleaned.removed


@pytest.mark.parametrize(
    "line",
    [
        "登录后，居民可以在小程序里查看办事进度。",  # 登录 only as a whole line is chrome
        "群众收藏的老照片被整理成村史馆的展品。",
        "我们要举报制度化，而不是运动式治理。",
        "下载量说明了平台的受欢迎程度。",
    ],
)
def test_sentences_mentioning_furniture_words_are_kept(line):
    assert not is_furniture(line)
    assert clean(line).lines == (line,)


def test_long_paragraph_is_never_furniture():
    paragraph = "著作权保护是文化治理的组成部分，版权所有人与公共文化服务机构应当协商。" * 10
    assert len(paragraph) > 300
    assert not is_furniture(paragraph)
    assert clean(paragraph).lines == (paragraph,)


def test_recommendation_list_is_dropped_until_the_list_ends():
    text = "正文第一段。\n猜你喜欢\n标题甲\n标题乙：副题\n\n后记：这段是正文，含有句号。结束。"
    cleaned = clean(text)
    assert cleaned.lines == ("正文第一段。", "后记：这段是正文，含有句号。结束。")
    assert {"猜你喜欢", "标题甲", "标题乙：副题"} <= set(cleaned.removed)


def test_recommendation_list_stops_at_a_sentence():
    text = "猜你喜欢\n短标题\n这是一段真正的正文，它有完整的句子。并且不止一句。"
    assert clean(text).lines == ("这是一段真正的正文，它有完整的句子。并且不止一句。",)


def test_reference_list_is_set_aside_and_marks_a_break():
    text = "\n".join(
        [
            "正文结论。",
            "参考文献：",
            "[1]张三.基层治理研究[J].社会学研究,2019(2).",
            "[2]李四.社区营造[M].北京:人民出版社,2018.",
            "二、下一篇文章的开头",
            "下一篇的正文。",
        ]
    )
    cleaned = clean(text)
    assert cleaned.references == (
        "[1]张三.基层治理研究[J].社会学研究,2019(2).",
        "[2]李四.社区营造[M].北京:人民出版社,2018.",
    )
    assert cleaned.lines == ("正文结论。", "二、下一篇文章的开头", "下一篇的正文。")
    assert 1 in cleaned.breaks  # the line after the references starts a new article


def test_article_header_lines_mark_breaks():
    text = "甲文正文。\n中图分类号:D60 文献标志码:A 文章编号:1673-291X(2013)15-0263-02\n乙文正文。"
    cleaned = clean(text)
    assert cleaned.lines == ("甲文正文。", "乙文正文。")
    assert cleaned.breaks == (1,)


def test_page_jump_notes_are_removed_inside_lines():
    assert clean("网格化管理成效明显（下转第5页）").lines == ("网格化管理成效明显",)


def test_invisible_characters_do_not_make_lines():
    """Zero-width spaces (LawRefBook's 北京市物业管理条例 has lines of only U+200B) are not text."""
    text = "\u200b\n\u200b\u200b\n第一条 为了规范\u200b物业管理。\n\ufeff\n"
    assert clean(text).lines == ("第一条 为了规范物业管理。",)


def test_blank_and_whitespace_lines_are_dropped():
    assert clean("\n  \n\t\n\u3000\n正文。\n\n").lines == ("正文。",)
