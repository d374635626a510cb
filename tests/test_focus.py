"""Named documents, verbatim phrases and cross-region questions (kb/focus.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb import focus

TITLES = (
    ("a", "中华人民共和国人民调解法"),
    ("b", "宁波市人民调解条例"),
    ("c", "物业管理条例"),
    ("d", "山东省物业管理条例"),
    ("e", "滨州市社会治理网格化服务管理条例"),
    ("f", "信访工作条例"),
    ("g", "上海市信访条例"),
    ("h", "信访条例"),
    ("i", "浙江省信访条例"),
)


def test_a_quoted_title_names_its_document():
    assert focus.named_documents("按照《人民调解法》，调解协议怎么申请强制执行", TITLES).doc_ids == ("a",)


def test_short_names_and_place_plus_type_name_documents():
    assert focus.named_documents("人民调解法规定调解员能不能收费", TITLES).doc_ids == ("a",)
    assert focus.named_documents("物业管理条例对业主大会有什么规定", TITLES).doc_ids == ("c",)  # exact title first
    assert focus.named_documents("滨州市网格化条例对网格员有什么要求", TITLES).doc_ids == ("e",)
    assert focus.named_documents("信访工作条例里的办结时限", TITLES).doc_ids == ("f",)


def test_a_kind_of_document_names_every_places_one_only_in_a_question_about_several_places():
    question = "比较一下几个省市信访条例的办理时限"
    assert focus.named_documents(question, TITLES).doc_ids == ("h",)  # not 上海市信访条例 by its 市
    assert set(focus.named_documents(question, TITLES, several=True).doc_ids) == {"g", "h", "i"}
    assert focus.named_documents("上海市信访条例的办理时限", TITLES, several=True).doc_ids == ("g",)


def test_ordinary_words_name_no_document():
    for q in ("这种做法合法吗", "法院怎么判", "有什么办法让物业退钱", "依法调解的规定"):
        assert focus.named_documents(q, TITLES).doc_ids == (), q


def test_an_explicit_name_that_matches_nothing_is_reported():
    named = focus.named_documents("《宿迁市网格管理办法》怎么规定网格员", TITLES)
    assert named.doc_ids == ()
    assert named.unmatched == ("宿迁市网格管理办法",)


def test_quoted_terms_and_longest_overlap():
    assert focus.quoted_terms("“三长制”和《人民调解法》") == ["三长制", "人民调解法"]
    assert (
        focus.longest_overlap("乡呼县应、上下联动机制", "探索了“乡呼县应、上下联动”“社区吹哨") == "乡呼县应、上下联动"
    )


def test_phrase_hits_need_a_quoted_term_or_a_long_overlap():
    texts = [(1, "探索了“乡呼县应、上下联动”机制"), (2, "上下级之间联动配合"), (3, "实施“三长制”治理模式")]
    assert focus.phrase_hits("乡呼县应、上下联动机制", texts) == {1}
    assert focus.phrase_hits("“三长制”是什么", texts) == {3}
    assert focus.phrase_hits("上下级联动怎么做", texts) == set()  # no verbatim stretch worth a name


def test_a_bare_rare_name_is_a_phrase_a_common_term_is_not():
    texts = [(1, "探索了“乡呼县应、上下联动”机制"), (2, "上下级之间联动配合"), (3, "实施“三长制”治理模式")]
    assert focus.phrase_hits("三长制", texts) == {3}
    assert focus.phrase_hits("请问三长制是什么意思？", texts) == {3}
    assert focus.phrase_hits("上下联动怎么做", texts) == {1}
    common = [(i, f"第{i}条 推进网格化管理，划分网格") for i in range(5)]
    assert focus.phrase_hits("网格化管理", common) == set()  # held by many: an ordinary term
    assert focus.phrase_hits("网格员工资低、干不长，人员老换怎么办", texts) == set()


def test_cross_region_questions_are_recognised():
    rows = Path(__file__).parent / "data" / "cross_region_questions.jsonl"
    for line in rows.read_text(encoding="utf-8").splitlines():
        assert focus.is_cross_region_question(json.loads(line)["query"]), line
    assert focus.is_cross_region_question("宁波和深圳的人民调解规定有什么区别")
    assert focus.is_cross_region_question("广饶县和梅列区的社区治理")  # two places
    assert focus.is_cross_region_question("除了梅列区，其他地方的微治理是怎么做的")
    for q in (
        "网格员工资低怎么办",
        "调解协议怎么申请强制执行",
        "宿豫区的民情监督员是怎么选的",
        "梅列区的社区微治理是怎么做的？",  # how one named place did it
        "舟山的网格化管理有哪些经验做法",
        "村里账目往来比较多，财务多久公开一次？",  # 比较 as "rather"
        "社区外地居民多，怎么让他们参与治理？",  # 外地 as where people come from
        "缓刑期间想去外地打工要谁批准？",
        "这个县城乡各有多少个网格？",
    ):
        assert not focus.is_cross_region_question(q), q
    assert focus.is_cross_region_question("外地是怎么解决物业纠纷的")


def test_question_sets_are_large_enough():
    data = Path(__file__).parent / "data"
    assert len((data / "named_questions.jsonl").read_text(encoding="utf-8").splitlines()) >= 20
    rows = [json.loads(x) for x in (data / "cross_region_questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 15 and all(len(r["regions"]) >= 3 for r in rows)


@pytest.mark.parametrize(
    ("question", "kept", "gone"),
    [
        ("网格里的工作力量一般由哪些人组成？比较一下不同地方的配法", "工作力量", ("比较", "一下", "不同地方", "配法")),
        ("各地划分网格都按什么标准？有没有可以参考的做法", "划分网格", ("各地", "参考", "做法")),
        ("老人吃饭难，其他地方在社区养老上都有哪些做法？", "社区养老", ("其他地方", "做法")),
    ],
)
def test_without_framing_keeps_the_topic_and_drops_the_words_asking_about_many_places(question, kept, gone):
    topic = focus.without_framing(question)
    assert kept in topic
    assert not any(g in topic for g in gone), topic


def test_without_framing_keeps_a_question_that_is_nothing_but_framing():
    assert focus.without_framing("各地有哪些做法") == "各地有哪些做法"


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "判决生效后多久要报到？想去外地打工要谁同意？电子定位最长戴多久？",
            ("判决生效后多久要报到？", "想去外地打工要谁同意？", "电子定位最长戴多久？"),
        ),
        # a clause that asks nothing is context for the part it leads into
        (
            "村里账目比较多，财务多久公开一次？村民去哪里反映？",
            ("村里账目比较多，财务多久公开一次？", "村民去哪里反映？"),
        ),
        # a part that says nothing by itself joins the one before
        ("小区的专项维修资金归谁所有？可以用来干什么？", ()),
        # 几十户 is a number, not a question
        (
            "几十户村民想一起上访，去多少人有限制吗？信访多久办结？",
            ("几十户村民想一起上访，去多少人有限制吗？", "信访多久办结？"),
        ),
        ("网格员的职责有哪些", ()),
        ("宿豫区是怎么压实乡村两级党组织书记抓基层治理责任的？", ()),
    ],
)
def test_question_parts_are_the_sub_questions_asked(question, parts):
    assert focus.question_parts(question) == parts
