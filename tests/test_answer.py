"""kb.answer: extractive answers (verbatim, cited, grouped by region), abstention, citation numbering."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import answering

from kb import answer, focus
from kb.answer import Abstain, Evidence, Limits, Part, extractive
from kb.answer.sentences import Sentence
from kb.api import KnowledgeBase
from kb.embed import FakeEmbedder
from kb.types import Document, Hit, Passage

EMBED = FakeEmbedder(64)
ALWAYS = Abstain(min_cosine=-1.0, min_words=0.0, sure_cosine=-1.0)


def hit(n: int, text: str, regions: tuple[str, ...] = (), doc_type: str = "survey", doc: str | None = None) -> Hit:
    doc_id = doc or f"d{n}"
    p = Passage(f"p{n}", doc_id, n, text, (f"文档{doc_id}",), regions, regions)
    return Hit(p, Document(doc_id, f"{doc_id}.txt", f"文档{doc_id}", doc_type=doc_type), 1.0 / (n + 1), n + 1)


def evidence(question: str, hits: list[Hit]) -> Evidence:
    terms = {t: 1.0 for t in re.findall(r"[\u4e00-\u9fff]{2}", question)}
    pairs = {question[i : i + 2]: 1.0 for i in range(len(question) - 1)}
    return Evidence(question, tuple(hits), EMBED.embed_queries([question])[0], terms, pairs)


def ask(question: str, hits: list[Hit], limits: Limits | None = None, across: bool | None = None):
    return answer.extractive_answer(evidence(question, hits), EMBED.embed_sentences, limits or Limits(), ALWAYS, across)


GRID = [
    hit(0, "广饶县建立942个网格，每个网格配备1名专职网格员。网格员每周走访群众。", ("山东省东营市广饶县",)),
    hit(1, "舟山市推行网格化管理、组团式服务，以100至150户为单元划分网格。", ("浙江省舟山市",)),
    hit(2, "三明市梅列区推行“三长制”，由街长、巷长、楼长分片负责。", ("福建省三明市梅列区",)),
    hit(3, "第十条 县级以上人民政府应当加强网格化服务管理工作。", (), "regulation"),
]


def test_sentences_cite_the_passage_they_come_from_and_are_verbatim():
    a = ask("网格怎么划分，网格员怎么配备", GRID)
    assert a.found and a.method == "extractive" and a.sentences
    for s in a.sentences:
        (n,) = s.citations
        assert s.text in a.citations[n - 1].passage.text


def test_citations_are_numbered_in_order_of_first_use():
    a = ask("网格怎么划分，网格员怎么配备", GRID, Limits(max_chars=1000, max_sentences=8))
    firsts = []
    for s in a.sentences:
        firsts += [n for n in s.citations if n not in firsts]
    assert firsts == list(range(1, len(a.citations) + 1))
    marks = [int(m) for m in re.findall(r"\[(\d+)\]", a.text)]
    assert list(dict.fromkeys(marks)) == firsts
    assert len({h.passage.passage_id for h in a.citations}) == len(a.citations)


def test_one_sources_sentences_keep_the_documents_order():
    text = "第一步，成立网格工作领导小组。第二步，划分网格并配备网格员。第三步，网格员每周入户走访。"
    a = ask("网格工作怎么开展，网格员入户走访", [hit(0, text)], Limits(max_chars=1000, max_sentences=5))
    starts = [text.index(s.text) for s in a.sentences]
    assert starts == sorted(starts) and len(starts) >= 2


def test_the_budget_bounds_the_answer():
    long = "".join(f"第{n}项措施是加强网格员培训和网格化管理。" for n in range(40))
    a = ask("网格员培训", [hit(0, long)], Limits(max_chars=60, max_sentences=10))
    assert 0 < sum(len(s.text) for s in a.sentences) <= 60


def test_near_identical_sentences_are_said_once():
    same = "舟山市推行网格化管理、组团式服务，以100至150户为单元划分网格。"
    a = ask("网格化管理、组团式服务", [hit(0, same, ("浙江省舟山市",)), hit(1, same, ("浙江省舟山市",))])
    assert len(a.sentences) == 1


@pytest.mark.parametrize(
    "question",
    [
        "各地是怎么开展网格化管理的",
        "哪些地方实行了网格化管理",
        "其他地区的网格化经验做法",
        "比较几个县的网格划分",
        "业委会换届要提前多久启动？几个城市的条例规定有啥不一样",
    ],
)
def test_questions_about_several_places_are_recognised(question):
    assert answer.is_cross_region_question(question)


@pytest.mark.parametrize("question", ["网格员待遇低怎么办", "调解协议怎么申请司法确认", "广饶县的网格怎么划分"])
def test_questions_about_one_thing_are_not(question):
    assert not answer.is_cross_region_question(question)


def test_a_cross_region_answer_has_one_paragraph_per_region_led_by_its_name():
    a = ask("各地是怎么开展网格化管理的", GRID)
    assert a.grouped
    groups = [s.group for s in a.sentences]
    assert len(set(groups)) >= 3
    for name in dict.fromkeys(groups):
        assert sum(g == name for g in groups) <= 2
        assert f"{name}：" in a.text
    paragraphs = a.text.split("\n")
    assert len(paragraphs) == len(set(groups))


def test_every_region_gets_its_best_sentence_before_any_gets_a_second():
    hits = [hit(i, f"{place}第一句措施。{place}第二句措施。", (region,)) for i, (place, region) in enumerate(PLACES)]
    cands = []
    for i, h in enumerate(hits):
        for j, text in enumerate(h.passage.text.split("。")[:2]):
            start = h.passage.text.index(text)
            sentence = Sentence(start, start + len(text) + 1, text + "。")
            cands.append(extractive.Candidate(i, sentence, 3.0 - j * 0.5 - i * 0.1, frozenset({f"{i}{j}"})))
    one_each = 4 * len(cands[0].sentence.text)
    tight = extractive.by_region(cands, hits, Limits(per_region=2, max_regions=8, region_max_chars=one_each))
    assert [c.group for c in tight] == [r for _, r in PLACES]  # four places, not two places with two sentences
    roomy = extractive.by_region(cands, hits, Limits(per_region=2, max_regions=8, region_max_chars=10_000))
    assert [c.group for c in roomy] == [r for _, r in PLACES for _ in range(2)]  # seconds while room lasts


def test_regions_keep_the_order_of_their_best_ranked_passage():
    # 舟山's best passage ranks first; its candidate sentence comes from its third passage
    hits = [
        hit(0, "舟山市概况。", ("浙江省舟山市",)),
        hit(1, "广饶县建立三级网格。", ("山东省东营市广饶县",)),
        hit(2, "舟山市以150户为单元划分网格。", ("浙江省舟山市",)),
    ]
    cands = [
        extractive.Candidate(1, Sentence(0, 10, hits[1].passage.text), 2.0, frozenset({"a"})),
        extractive.Candidate(2, Sentence(0, 16, hits[2].passage.text), 1.0, frozenset({"b"})),
    ]
    chosen = extractive.by_region(cands, hits, Limits())
    assert [c.group for c in chosen] == ["浙江省舟山市", "山东省东营市广饶县"]


def test_a_place_is_represented_by_its_sentence_stating_a_figure():
    # one place, two sentences alike but for the concrete measure: the one stating a figure leads
    text = "舟山市网格划分以社区为单元。舟山市网格划分以150户为单元。"
    hits = [hit(0, text, ("浙江省舟山市",)), hit(1, "广饶县网格划分以村为单元。", ("山东省东营市广饶县",))]
    across = extractive.candidates(*_scoring("各地网格划分", hits), across=True)
    assert "150户" in max((c for c in across if c.hit == 0), key=lambda c: c.score).sentence.text
    plain = {c.sentence.text: c.score for c in extractive.candidates(*_scoring("各地网格划分", hits))}
    for c in across:  # the bonus, and nothing else, differs; questions about one thing get none
        bonus = extractive.W_FIGURE if "150" in c.sentence.text else 0.0
        assert c.score - plain[c.sentence.text] == pytest.approx(bonus)


def _scoring(question: str, hits: list[Hit]):
    ev = evidence(question, hits)
    return ev.question_vec, ev.hits, ev.terms, ev.pairs, EMBED.embed_sentences


def test_a_note_on_where_a_text_comes_from_is_never_quoted():
    hits = [
        hit(0, "四川省推行网格化管理，全省划分网格5万个。(本文刊载于2020年1月9日四川日报。", ("四川省",)),
        hit(1, "(根据2011年广州市调研访谈资料整理,也可参见广州日报。广州市购买社会工作服务。", ("广东省广州市",)),
    ]
    texts = [
        c.sentence.text
        for c in extractive.candidates(*_weights("各地怎么做网格化管理", hits), EMBED.embed_sentences, True)
    ]
    assert texts and not any("刊载于" in t or "资料整理" in t for t in texts)
    assert any("5万个" in t for t in texts) and any("购买社会工作服务" in t for t in texts)


@pytest.mark.parametrize(
    "text",
    [
        "根据群众需求整理出12项服务清单，逐项落实。",
        "根据《条例》规定，社区应当设立调解委员会。",
        "本文认为网格化管理需要完善。",
    ],
)
def test_a_practice_that_mentions_a_source_is_still_answer_material(text):
    assert extractive.is_answer_material(text)


def _weights(question: str, hits: list[Hit]):
    ev = evidence(question, hits)
    return ev.question_vec, ev.hits, ev.terms, ev.pairs


def test_max_regions_caps_the_paragraphs():
    hits = [
        hit(i, f"{place}推行网格化管理，网格员每周走访群众。", (region,)) for i, (place, region) in enumerate(PLACES)
    ]
    a = ask("各地网格化管理怎么做的", hits, Limits(max_regions=2, region_max_chars=10_000))
    assert [s.group for s in a.sentences] == [PLACES[0][1], PLACES[1][1]]  # the retriever's order


PLACES = [
    ("广饶县", "山东省东营市广饶县"),
    ("舟山市", "浙江省舟山市"),
    ("梅列区", "福建省三明市梅列区"),
    ("宿豫区", "江苏省宿迁市宿豫区"),
]


def test_national_law_forms_its_own_group():
    a = ask("各地是怎么开展网格化服务管理工作的", GRID, Limits(max_chars=1000))
    assert extractive.NATIONAL in {s.group for s in a.sentences}


def test_a_county_joins_its_citys_paragraph():
    hits = [
        hit(0, "舟山市推行网格化管理、组团式服务，把乡镇划分成若干网格。", ("浙江省舟山市",)),
        hit(1, "普陀区桃花镇的网格服务团队每月走访网格内群众。", ("浙江省舟山市普陀区",)),
        hit(2, "广饶县建立942个网格，每个网格配备专职网格员。", ("山东省东营市广饶县",)),
    ]
    a = ask("各地网格化管理怎么做的", hits, Limits(max_chars=1000))
    assert {s.group for s in a.sentences} == {"浙江省舟山市", "山东省东营市广饶县"}


def test_region_group_prefers_the_most_specific_own_region():
    h = hit(0, "x", ("浙江省", "浙江省舟山市普陀区", "浙江省舟山市"))
    assert extractive.region_group(h) == "浙江省舟山市普陀区"
    assert extractive.region_group(hit(1, "x")) == extractive.UNPLACED
    assert extractive.region_group(hit(2, "x", doc_type="regulation")) == extractive.NATIONAL


def test_weak_evidence_abstains_and_cites_nothing():
    ev = evidence("网格怎么划分", GRID)
    strict = Abstain(min_cosine=0.999, min_words=1.0, sure_cosine=0.999)
    a = answer.extractive_answer(ev, EMBED.embed_sentences, Limits(), strict)
    assert not a.found and not a.citations and not a.sentences
    assert a.text.startswith(answer.NOT_FOUND) and "最接近的内容" in a.text
    assert a.suggestions


def test_no_hits_is_not_found():
    a = answer.extractive_answer(evidence("网格", []), EMBED.embed_sentences, Limits(), ALWAYS)
    assert not a.found and a.citations == ()


# ---------------------------------------------------------------- questions asking several things

REPORTING = [
    hit(0, "社区矫正对象应当按时报告。第九条 社区矫正对象应当自判决生效之日起十日内到执行地社区矫正机构报到。"),
    hit(1, "社区矫正对象应当遵守法律。社区矫正机构应当加强教育帮扶，组织公益活动，帮助矫正对象融入社会。"),
    hit(2, "第二十七条 社区矫正对象离开所居住的市、县，应当报经社区矫正机构批准。"),
]


def _with_parts(question: str, hits: list[Hit], parts: dict[str, tuple[int, ...]]) -> Evidence:
    ev = evidence(question, hits)
    made = []
    for text, found in parts.items():
        sub = evidence(text, hits)
        made.append(Part(text, sub.question_vec, sub.terms, sub.pairs, found))
    return Evidence(ev.question, ev.hits, ev.question_vec, ev.terms, ev.pairs, tuple(made))


def test_each_sub_question_gets_its_best_sentence_first():
    question = "判决生效后多久去报到？离开所居住的市县要谁批准？"
    ev = _with_parts(question, REPORTING, {"判决生效后多久去报到？": (0,), "离开所居住的市县要谁批准？": (2,)})
    cands = extractive.candidates(ev.question_vec, ev.hits, ev.terms, ev.pairs, EMBED.embed_sentences, parts=ev.parts)
    assert all(len(c.covers) == 2 for c in cands)
    best = {max(cands, key=lambda c, i=i: c.covers[i]).sentence.text for i in range(2)}
    limits = Limits(max_chars=120, max_sentences=1, min_sentences=1)  # two parts: 200 characters, 2 sentences
    a = answer.extractive_answer(ev, EMBED.embed_sentences, limits, ALWAYS)
    assert {s.text for s in a.sentences} == best  # one for each part
    for s in a.sentences:
        assert s.text in a.citations[s.citations[0] - 1].passage.text


def _cand(text: str, score: float, covers: tuple[float, ...]) -> extractive.Candidate:
    sentence = Sentence(0, len(text), text)
    return extractive.Candidate(0, sentence, score, frozenset(extractive._pairs(text)), covers=covers)


def test_a_sub_question_already_answered_takes_no_second_sentence():
    both = _cand("自判决生效之日起十日内到执行地社区矫正机构报到。", 1.0, (2.0, 2.0))
    other = _cand("社区矫正机构应当加强教育帮扶。", 0.5, (1.0, 1.5))
    assert extractive._cover_parts([both, other], Limits()) == [both]
    third = _cand("离开所居住的市、县，应当报经批准。", 0.2, (0.0, 3.0))
    assert extractive._cover_parts([both, other, third], Limits()) == [both, third]


def test_the_shortlist_takes_turns_between_the_question_and_its_parts():
    whole = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    part = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert extractive._in_turns([np.array(whole), np.array(part)], 4) == [0, 5, 1, 4]
    assert sorted(extractive._in_turns([np.array(whole)], 10)) == list(range(6))


# ---------------------------------------------------------------- through the API, on the session index


@pytest.fixture(scope="module")
def kb(built_index):
    with KnowledgeBase(settings=answering(built_index.settings), embedder=built_index.embedder) as opened:
        yield opened


@pytest.mark.parametrize(
    "question",
    ["网格员的职责有哪些", "调解协议书应当载明哪些事项", "信访事项怎么办理", "各地在矛盾纠纷化解上有哪些做法"],
)
def test_api_answers_cite_passages_of_the_index(kb, question):
    a = kb.ask(question, generate=False)
    assert a.question == question and a.method == "extractive" and a.found
    assert a.citations and all(len(s.citations) == 1 for s in a.sentences)
    assert a.grouped == ("各地" in question)


def test_api_evidence_for_several_places_keeps_the_best_plain_passages(kb):
    question = "各地在矛盾纠纷化解上有哪些做法"
    ev = kb.evidence(question, 3, diverse=True)
    topic = focus.without_framing(question)  # searched and scored by its topic, not by 各地…有哪些做法
    assert ev.question_vec == pytest.approx(kb.query_embedder.embed_queries([topic])[0])
    spread = [h.passage.passage_id for h in kb.search(topic, k=3, diverse=True)]
    plain = [h.passage.passage_id for h in kb.search(topic, k=kb.settings.answer_region_plain)]
    got = [h.passage.passage_id for h in ev.hits]
    assert got[:3] == spread  # the spread comes first: it orders the answer's regions
    assert set(plain) <= set(got) and len(got) == len(set(got))
    assert set(plain) - set(spread)  # some best plain passages were outside the spread top
    single = kb.evidence("网格员的职责有哪些", 3)
    assert len(single.hits) == 3


def test_api_region_filter_restricts_the_sources(kb):
    a = kb.ask("网格员的职责有哪些", region="山东省", generate=False)
    assert all(any(r.startswith("山东省") for r in h.passage.regions) for h in a.citations)


def test_api_a_filter_matching_nothing_says_so(kb):
    a = kb.ask("网格员的职责", years=(1900, 1901), generate=False)
    assert not a.found and "筛选条件" in a.text


def test_api_a_city_absent_from_the_index_is_not_answered_from_elsewhere(kb):
    a = kb.ask("哈尔滨市是怎么搞网格化管理的", generate=False)
    assert not a.found and "哈尔滨" in a.text and not a.citations


def test_api_sub_questions_are_searched_within_the_documents_found(kb):
    question = "调解协议书应当载明哪些事项？调解协议书自什么时候起生效？"
    ev = kb.evidence(question, 3)
    assert len(ev.parts) == 2 and ev.parts[0].text.startswith("调解协议书应当载明")
    best_docs = {h.document.doc_id for h in ev.hits[:2]}
    for part in ev.parts:
        assert part.hits and all(ev.hits[i].document.doc_id in best_docs for i in part.hits)
    ids = [h.passage.passage_id for h in ev.hits]
    assert len(ids) == len(set(ids)) and ids[:3] == [h.passage.passage_id for h in kb.search(question, k=3)]
    assert kb.evidence("调解协议书应当载明哪些事项", 3).parts == ()


def test_each_further_part_widens_the_budget():
    base = Limits(max_chars=300, max_sentences=6)
    assert extractive.for_parts(base, 0) == base and extractive.for_parts(base, 1) == base
    three = extractive.for_parts(base, 3)
    assert three.max_chars == 300 + 2 * extractive.PART_CHARS and three.max_sentences == 8


def test_a_sentence_stating_what_the_question_asks_for_is_marked():
    texts = ["应当自受理之日起六十日内办结。", "信访工作应当坚持党的领导。", "代表人数不得超过5人。"]
    assert list(extractive._states_asked("信访事项多久办结？", texts)) == [1.0, 0.0, 0.0]
    assert list(extractive._states_asked("最多能去几个代表？", texts)) == [1.0, 0.0, 1.0]  # 六十日 is a quantity too
    assert list(extractive._states_asked("信访工作坚持什么原则？", texts)) == [0.0, 0.0, 0.0]


def test_the_prompt_gets_each_sub_questions_best_passage_too():
    hits = [hit(i, f"第{i}条 内容{i}。") for i in range(8)]
    ev = _with_parts("甲多久？乙找谁？", hits, {"甲多久？": (1, 6), "乙找谁？": (7, 2)})
    got = [h.passage.passage_id for h in answer.for_prompt(ev, 3)]
    assert got == ["p0", "p1", "p2", "p7"]  # the best 3, then part two's best; part one's is among them
    assert [h.passage.passage_id for h in answer.for_prompt(evidence("甲", hits), 3)] == ["p0", "p1", "p2"]
