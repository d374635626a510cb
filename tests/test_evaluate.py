"""kb.evaluate: Recall@k, MRR@10, nDCG@10 and STARD-style evidence matching, checked by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kb.errors import QueryError
from kb.evaluate import Question, evaluate, format_table, matches, read_questions, relevance, score_one, squash
from kb.types import Document, Hit, Passage

LAW_PATH = "national/人民调解法(2010-08-28).md"
LAW_TITLE = "中华人民共和国人民调解法"
ART_1 = "第一条 为了完善人民调解制度，规范人民调解活动，及时解决民间纠纷，维护社会和谐稳定，根据宪法，制定本法。"
ART_2 = "第二条 本法所称人民调解，是指人民调解委员会通过说服、疏导等方法，促使当事人在平等协商基础上自愿达成调解协议，解决民间纠纷的活动。"


def hit(text: str, title: str = LAW_TITLE, path: str = LAW_PATH, rank: int = 1, heading=()) -> Hit:
    doc = Document(doc_id="d", path=path, title=title)
    passage = Passage(passage_id=f"p{rank}", doc_id="d", seq=rank, text=text, heading_path=(title, *heading))
    return Hit(passage, doc, 1.0 / rank, rank)


def stard(law: str, article: str, body: str) -> dict:
    """A STARD evidence item: head = first 40 characters of the article body, whitespace removed."""
    return {"law": law, "article": article, "head": squash(body)[:40]}


# ---------------------------------------------------------------- metrics on hand examples


def test_metrics_on_a_hand_example():
    # two evidence items; item 0 found at rank 2, item 1 at rank 4
    rel = [set(), {0}, set(), {1}, set()]
    m = score_one(rel, 2)
    assert m["R@1"] == 0.0
    assert m["R@5"] == 1.0 and m["R@10"] == 1.0 and m["R@100"] == 1.0
    assert m["MRR@10"] == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert m["nDCG@10"] == pytest.approx(dcg / ideal)  # ≈ 0.651


def test_half_recall_and_first_relevant_rank():
    m = score_one([set(), set(), {1}], 2, cutoffs=(1, 3))
    assert m == pytest.approx(
        {"R@1": 0.0, "R@3": 0.5, "MRR@10": 1 / 3, "nDCG@10": (1 / math.log2(4)) / (1 + 1 / math.log2(3))}
    )


def test_perfect_and_empty_rankings():
    assert score_one([{0}, {1}], 2) == pytest.approx(
        {"R@1": 0.5, "R@5": 1.0, "R@10": 1.0, "R@100": 1.0, "MRR@10": 1.0, "nDCG@10": 1.0}
    )
    assert score_one([], 1) == {"R@1": 0.0, "R@5": 0.0, "R@10": 0.0, "R@100": 0.0, "MRR@10": 0.0, "nDCG@10": 0.0}


def test_repeated_evidence_counts_once():
    """A second copy of the same article adds no gain (nDCG stays ≤ 1)."""
    m = score_one([{0}, {0}, {0}], 1)
    assert m["nDCG@10"] == pytest.approx(1.0) and m["R@1"] == 1.0


def test_evidence_found_after_rank_10_only_counts_for_recall_at_100():
    rel = [set()] * 20 + [{0}]
    m = score_one(rel, 1)
    assert (m["R@10"], m["R@100"], m["MRR@10"], m["nDCG@10"]) == (0.0, 1.0, 0.0, 0.0)


def test_no_evidence_scores_zero():
    assert score_one([{0}], 0)["R@1"] == 0.0


# ---------------------------------------------------------------- evidence matching


def test_stard_evidence_matches_by_law_and_article_head():
    item = stard("人民调解法", "第一条", ART_1.removeprefix("第一条 "))
    assert matches(hit(ART_1), item)
    assert not matches(hit(ART_2), item)  # another article of the same law
    assert not matches(
        hit(ART_1, title="中华人民共和国物业管理条例", path="national/物业管理条例(2018-03-19).md"), item
    )


def test_stard_law_name_may_be_the_short_or_full_title():
    item = stard("中华人民共和国人民调解法", "第二条", ART_2.removeprefix("第二条 "))
    assert matches(hit(ART_2), item)
    short_title = hit(ART_2, title="人民调解法")  # title without 中华人民共和国: the file name still says it
    assert matches(short_title, stard("人民调解法", "第二条", ART_2.removeprefix("第二条 ")))


def test_matching_ignores_whitespace_and_width():
    spaced = ART_1.replace("，", "， ").replace("人民调解制度", "人民 调解\n制度")
    item = stard("人民调解法", "第一条", ART_1.removeprefix("第一条 "))
    assert matches(hit(spaced), item)
    assert squash("ＡＢ　c\nd") == "ABcd"


def test_free_text_evidence():
    h = hit("各级网格员队伍不稳定的问题比较突出。", title="广饶县基层社会治理调查", path="x.txt")
    assert matches(h, "网格员队伍不稳定")
    assert matches(h, {"snippet": "网格员 队伍不稳定"})
    assert not matches(h, "网格员待遇")
    assert not matches(h, 42)


def test_relevance_lists_evidence_per_hit():
    hits = [hit(ART_2, rank=1), hit(ART_1, rank=2)]
    evidence = [
        stard("人民调解法", "第一条", ART_1.removeprefix("第一条 ")),
        stard("人民调解法", "第二条", ART_2.removeprefix("第二条 ")),
    ]
    assert relevance(hits, evidence) == [{1}, {0}]


# ---------------------------------------------------------------- questions file and averaging


def test_read_questions(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "347", "query": "人民调解是什么？", "evidence": [stard("人民调解法", "第二条", ART_2[4:])]},
        {"query": "网格员怎么办？", "evidence": ["网格员"]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    questions = read_questions(path)
    assert [q.qid for q in questions] == ["347", "2"]
    assert questions[1] == Question("网格员怎么办？", ("网格员",), "2")


@pytest.mark.parametrize("line", ['{"query": "缺证据"}', "not json", '{"evidence": []}'])
def test_read_questions_reports_the_bad_line(tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "好", "evidence": ["好"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(QueryError, match=r"bad.jsonl:2"):
        read_questions(path)


def test_evaluate_averages_over_questions():
    questions = [
        Question("第一条是什么", (stard("人民调解法", "第一条", ART_1[4:]),)),
        Question("第二条是什么", (stard("人民调解法", "第二条", ART_2[4:]),)),
    ]
    ranking = [hit(ART_1, rank=1), hit(ART_2, rank=2)]
    result = evaluate(questions, lambda query: ranking)
    assert result["R@1"] == pytest.approx(0.5)  # q1 found at 1, q2 at 2
    assert result["R@5"] == pytest.approx(1.0)
    assert result["MRR@10"] == pytest.approx((1 + 0.5) / 2)
    assert result["nDCG@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)


def test_format_table_puts_modes_side_by_side():
    table = format_table({"bm25": {"R@1": 0.5, "MRR@10": 0.25}, "dense": {"R@1": 1.0, "MRR@10": 1.0}})
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "bm25", "dense"]
    assert lines[1].split() == ["R@1", "0.500", "1.000"]
    assert lines[2].split() == ["MRR@10", "0.250", "1.000"]


@pytest.mark.parametrize(
    ("name", "count", "folder"),
    [
        ("regulation_questions.jsonl", 40, "regulations"),
        ("blind_regulation_questions.jsonl", 40, "regulations"),
        ("blind_seed_questions.jsonl", 30, "seeds"),
    ],
)
def test_benchmark_question_sets_point_at_exactly_one_place(name, count, folder, regulations_dir, seed_dir):
    """Each evidence snippet of a benchmark occurs once in its corpus, so a hit is unambiguous."""
    questions = read_questions(Path(__file__).parent / "data" / name)
    assert len(questions) == count
    root, pattern = (regulations_dir, "*.md") if folder == "regulations" else (seed_dir, "*.txt")
    texts = [squash(p.read_text(encoding="utf-8")) for p in root.rglob(pattern)]
    for q in questions:
        (snippet,) = q.evidence
        assert sum(t.count(squash(snippet)) for t in texts) == 1, q.query
