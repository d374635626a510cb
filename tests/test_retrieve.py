"""kb.retrieve: fusion, filters (before ranking), duplicates, modes — on the session index and tiny ones."""

from __future__ import annotations

import math

import pytest
from conftest import HIT_FIELDS, fake_settings, write_corpus

from kb import index, regions, retrieve
from kb.embed import FakeEmbedder
from kb.errors import ModelError, QueryError
from kb.tokens import tokenize
from kb.types import Filters

MODES = ("bm25", "dense", "hybrid")


def search(live, built_index, query, filters=None, k=10, mode="hybrid"):
    return retrieve.search(live, built_index.embedder, query, built_index.settings, filters, k=k, mode=mode)


def year(hit) -> int | None:
    return int(hit.document.date[:4]) if hit.document.date else None


# ---------------------------------------------------------------- reciprocal-rank fusion


def test_rrf_on_a_hand_example():
    bm25_list = [(1, 9.0), (2, 8.0)]
    dense_list = [(2, 0.9), (3, 0.8)]
    fused = retrieve.rrf([bm25_list, dense_list], [1.0, 1.0], k=60)
    assert [vid for vid, _ in fused] == [2, 1, 3]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1][1] == pytest.approx(1 / 61)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_rrf_weights_and_ties():
    fused = retrieve.rrf([[(1, 0.0), (2, 0.0)], [(2, 0.0), (3, 0.0)]], [2.0, 1.0], k=60)
    assert dict(fused) == pytest.approx({1: 2 / 61, 2: 2 / 62 + 1 / 61, 3: 1 / 62})
    assert [vid for vid, _ in fused] == [2, 1, 3]
    tie = retrieve.rrf([[(5, 1.0)], [(4, 1.0)]], [1.0, 1.0], k=60)
    assert tie == [(4, pytest.approx(1 / 61)), (5, pytest.approx(1 / 61))]  # equal scores: by id, stable


def test_rrf_constant_flattens_rank_differences():
    steep = retrieve.rrf([[(1, 0), (2, 0)]], [1.0], k=1)
    flat = retrieve.rrf([[(1, 0), (2, 0)]], [1.0], k=1000)
    assert steep[0][1] / steep[1][1] > flat[0][1] / flat[1][1]


def test_zscore_fusion_on_a_hand_example():
    bm25_list = [(1, 4.0), (2, 2.0), (3, 0.0)]  # z = +1.2247, 0, -1.2247
    dense_list = [(3, 0.9), (4, 0.5)]  # z = +1, -1; missing candidates get the list's minimum
    z = 2 / math.sqrt(8 / 3)
    fused = dict(retrieve.zscore_fusion([bm25_list, dense_list], [1.0, 1.0]))
    assert fused == pytest.approx({1: z - 1, 2: 0 - 1, 3: -z + 1, 4: -z - 1})
    order = [vid for vid, _ in retrieve.zscore_fusion([bm25_list, dense_list], [1.0, 1.0])]
    assert order == [1, 3, 2, 4]
    weighted = [vid for vid, _ in retrieve.zscore_fusion([bm25_list, dense_list], [2.0, 1.0])]
    assert weighted == [1, 2, 3, 4]


def test_document_boost_lifts_passages_of_a_document_matching_in_several_places():
    fused = [(1, 2.0), (2, 1.9), (3, 1.8), (4, 0.5)]
    doc_of = {1: "lone", 2: "law", 3: "law", 4: "law"}
    assert retrieve.document_boost(fused, doc_of, 0.0) == fused
    boosted = retrieve.document_boost(fused, doc_of, 0.5)
    assert [v for v, _ in boosted] == [2, 3, 1, 4]
    assert dict(boosted)[2] == pytest.approx(1.9 + 0.5 * (1.9 + 1.8) / 2)
    assert dict(boosted)[1] == pytest.approx(2.0 + 0.5 * 2.0 / 2)  # a lone hit averages with nothing


def test_zscore_fusion_edge_cases():
    assert retrieve.zscore_fusion([[(7, 3.0)], []], [1.0, 1.0]) == [(7, pytest.approx(1.0))]
    assert retrieve.zscore_fusion([[], []], [1.0, 1.0]) == []


def test_hybrid_rrf_scores_follow_the_formula(live, built_index):
    settings = built_index.settings.replace(fusion="rrf")
    hits = retrieve.search(live, built_index.embedder, "人民调解委员会 调解 纠纷", settings, k=10, mode="hybrid")
    assert hits
    weights = {"bm25": settings.bm25_weight, "dense": settings.dense_weight, "bigram": settings.bigram_weight}
    assert any(name == "bigram_rank" for h in hits for name, _ in h.scores)
    for h in hits:
        ranks = {name[: -len("_rank")]: r for name, r in h.scores if name.endswith("_rank")}
        assert h.score == pytest.approx(sum(weights[n] / (settings.rrf_k + r) for n, r in ranks.items()))


# ---------------------------------------------------------------- modes and hits


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_returns_ranked_hits(live, built_index, mode):
    hits = search(live, built_index, "网格员队伍不稳定怎么办", k=5, mode=mode)
    assert 0 < len(hits) <= 5
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    assert len({h.passage.passage_id for h in hits}) == len(hits)
    names = {name for h in hits for name, _ in h.scores}
    assert {"bm25": {"bm25", "bm25_rank"}, "dense": {"dense", "dense_rank"}}.get(mode, names) <= names


def test_bm25_finds_the_passage_that_names_the_term(live, built_index):
    hits = search(live, built_index, "民情监督员", k=3, mode="bm25")
    assert "民情监督员" in hits[0].passage.text
    assert hits[0].document.title == "基层社会治理创新研究"


def test_hybrid_hits_carry_both_retrievers_scores(live, built_index):
    hits = search(live, built_index, "人民调解委员会 调解 纠纷", k=10, mode="hybrid")
    both = [dict(h.scores) for h in hits if {"bm25", "dense"} <= dict(h.scores).keys()]
    assert both and all(s["bm25_rank"] >= 1 and s["dense_rank"] >= 1 for s in both)


def test_hit_json_fields(live, built_index):
    (hit,) = search(live, built_index, "民情监督员", k=1)
    row = retrieve.hit_to_json(hit)
    assert set(row) >= HIT_FIELDS
    assert row["rank"] == 1 and isinstance(row["heading_path"], list)
    assert row["source"] == hit.document.path and row["doc_title"] == hit.document.title


@pytest.mark.parametrize(("query", "mode"), [("", "hybrid"), ("   ", "bm25"), ("网格", "fuzzy")])
def test_invalid_requests_are_query_errors(live, built_index, query, mode):
    with pytest.raises(QueryError):
        search(live, built_index, query, mode=mode)


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_a_query_error(live, built_index, k):
    with pytest.raises(QueryError, match="at least 1"):
        search(live, built_index, "网格员", k=k)


def test_a_huge_k_is_capped_with_a_notice(built_index):
    from kb.api import KnowledgeBase

    said: list[str] = []
    kb = KnowledgeBase(settings=built_index.settings, embedder=built_index.embedder, progress=said.append)
    with kb:
        capped = kb.search("治理", k=10**9, mode="bm25")
        assert len(capped) == len(kb.search("治理", k=retrieve.MAX_K, mode="bm25")) > 10
    assert said == [f"k={10**9} 过大，只返回前 {retrieve.MAX_K} 条"]
    assert retrieve.check_k(None, 7) == (7, None) and retrieve.check_k(5, 7) == (5, None)
    quiet = KnowledgeBase(settings=built_index.settings, embedder=built_index.embedder)
    with quiet, pytest.warns(UserWarning, match="过大"):
        quiet.search("治理", k=5000, mode="bm25")


def test_an_unknown_document_type_is_rejected_listing_the_known_ones(live, built_index):
    with pytest.raises(QueryError) as caught:
        search(live, built_index, "网格员", Filters(doc_types=("regulations",)))
    assert "regulations" in str(caught.value) and "regulation, research, survey" in str(caught.value)
    assert search(live, built_index, "网格员", Filters(doc_types=("regulation",)))  # a known type still works


# ---------------------------------------------------------------- filters


def in_province(hit, province: str) -> bool:
    return any(r.startswith(province) for r in hit.passage.regions)


def test_province_filter_includes_counties_and_inherited_regions(live, built_index):
    hits = search(live, built_index, "网格化服务管理 基层治理", Filters(regions=("山东省",)), k=100)
    assert hits and all(in_province(h, "山东省") for h in hits)
    titles = {h.document.title for h in hits}
    assert "广饶县基层社会治理调查" in titles  # 山东省 includes 东营市广饶县
    assert "滨州市社会治理网格化服务管理条例" in titles
    inherited = [h for h in hits if not h.passage.own_regions]
    assert inherited, "passages that only inherit a 山东 region must match too"
    assert any(h.passage.regions == ("山东省东营市广饶县",) for h in inherited)


@pytest.mark.parametrize("name", ["广饶县", "东营市", "山东省东营市广饶县", "山东"])
def test_region_names_at_every_level(live, built_index, name):
    hits = search(live, built_index, "基层社会治理", Filters(regions=(name,)), k=50)
    assert hits
    assert any(h.document.title == "广饶县基层社会治理调查" for h in hits)
    (target,) = regions.resolve_all(name)[:1]
    prefix = regions.code_prefix(target)
    for h in hits:
        codes = [regions.resolve(r).code for r in h.passage.regions]
        assert any(c.startswith(prefix) for c in codes), (name, h.passage.regions)


def test_exact_dense_scan_agrees_with_faiss(live, built_index):
    """The numpy scan over the flat index's vectors ranks exactly as faiss's own exact search."""
    qvec = built_index.embedder.embed_queries(["网格员 队伍 待遇"])[0]
    scores, ids = live.vectors.search(qvec.reshape(1, -1), 20)
    ours = retrieve.dense_ranked(live, qvec, 20, None)
    assert [v for v, _ in ours] == [int(i) for i in ids[0]]
    assert [s for _, s in ours] == pytest.approx([float(x) for x in scores[0]], abs=1e-5)
    allowed = live.row_vids[::3]
    filtered = retrieve.dense_ranked(live, qvec, 20, allowed)
    assert len(filtered) == 20 and {v for v, _ in filtered} <= set(allowed.tolist())
    best = max(allowed.tolist(), key=lambda v: float(live.vectors.reconstruct(int(v)) @ qvec))
    assert filtered[0][0] == best
    assert retrieve.dense_ranked(live, qvec, 10**6, allowed[:5]) == sorted(
        retrieve.dense_ranked(live, qvec, 5, allowed[:5]), key=lambda x: -x[1]
    )


def test_a_filter_is_never_crowded_out_by_better_unfiltered_hits(live, built_index):
    query = "人民调解委员会 调解 纠纷"  # the regulations answer this best
    hits = search(live, built_index, query, Filters(regions=("广饶县",)), k=5)
    assert len(hits) == 5
    assert {h.document.title for h in hits} == {"广饶县基层社会治理调查"}


def test_several_regions_are_alternatives(live, built_index):
    hits = search(live, built_index, "基层治理", Filters(regions=("宿豫区", "梅列区")), k=50)
    assert {h.document.title for h in hits} == {
        "基层社会治理创新研究",
        "社区“微治理”体系创新研究——以福建省三明市梅列区为例",
    }


def test_year_range(live, built_index):
    hits = search(live, built_index, "基层治理", Filters(year_from=2016, year_to=2016), k=50)
    assert hits and {h.document.title for h in hits} == {"基层社会治理创新研究"}
    later = search(live, built_index, "基层治理", Filters(year_from=2020), k=100)
    assert later and all(year(h) is not None and year(h) >= 2020 for h in later)
    earlier = search(live, built_index, "调解", Filters(year_to=2015), k=100)
    assert earlier and all(year(h) is not None and year(h) <= 2015 for h in earlier)


def test_doc_type_filter(live, built_index):
    hits = search(live, built_index, "基层治理 网格", Filters(doc_types=("regulation",)), k=50)
    assert hits and {h.document.doc_type for h in hits} == {"regulation"}
    surveys = search(live, built_index, "基层治理 网格", Filters(doc_types=("survey",)), k=50)
    assert surveys and {h.document.doc_type for h in surveys} == {"survey"}


def test_document_filter_includes_compilation_parts(live, built_index):
    (parent,) = [d for d, _ in live_documents(live) if d.doc_type == "compilation"]
    hits = search(live, built_index, "网格化管理", Filters(doc_ids=(parent.doc_id,)), k=20)
    assert hits and {h.document.parent_id for h in hits} == {parent.doc_id}
    (gr,) = [d for d, _ in live_documents(live) if d.title == "广饶县基层社会治理调查"]
    hits = search(live, built_index, "网格化管理", Filters(doc_ids=(gr.doc_id,)), k=20, mode="dense")
    assert hits and {h.document.doc_id for h in hits} == {gr.doc_id}


def live_documents(live):
    from kb import store

    return store.documents(live.conn)


def test_filters_combine(live, built_index):
    hits = search(live, built_index, "网格", Filters(regions=("山东省",), doc_types=("regulation",)), k=50)
    assert hits and {h.document.title for h in hits} == {"滨州市社会治理网格化服务管理条例"}


@pytest.mark.parametrize(
    "filters",
    [
        Filters(regions=("西藏自治区",)),  # a real region the corpus never names
        Filters(year_from=1990, year_to=1991),
        Filters(doc_types=("work_report",), regions=("宿豫区",)),
        Filters(doc_ids=("no-such-document",)),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_filter_matching_nothing_returns_nothing(live, built_index, filters, mode):
    assert search(live, built_index, "基层治理", filters, mode=mode) == []


@pytest.mark.parametrize("name", ["火星市", "不存在县", "Atlantis"])
def test_unknown_region_is_an_error_not_ignored(live, built_index, name):
    with pytest.raises(QueryError, match=name):
        search(live, built_index, "基层治理", Filters(regions=(name,)))


# ---------------------------------------------------------------- duplicates and common words (tiny index)

REPUBLISHED = (
    "网格员培训制度逐步健全。各街道每季度组织一次集中培训，内容包括政策法规、群众工作方法和信息系统操作，"
    "培训结束后进行考核，考核结果与绩效挂钩。"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A few short files; one article republished under two titles; 基层 in every passage."""
    root = tmp_path_factory.mktemp("tiny")
    corpus = write_corpus(
        root / "corpus",
        {
            "a/街道简报.txt": "街道简报：网格员培训\n" + REPUBLISHED + "基层工作因此更加规范。",
            "b/转载.txt": "转载：某区网格员培训见闻\n" + REPUBLISHED + "基层工作因此更加规范。",
            "c.txt": "养老服务\n基层养老服务中心为老年人提供助餐、助浴和日间照料服务。",
            "d.txt": "物业管理\n基层物业管理纠纷多发，业主委员会与物业企业的矛盾需要调处。",
            "e.txt": "垃圾分类\n基层社区推行垃圾分类，志愿者在投放点值守引导居民。",
        },
    )
    settings = fake_settings(index_dir=str(root / "index"))
    embedder = FakeEmbedder(64)
    index.ingest([corpus], settings, embedder)
    live = retrieve.open_index(settings)
    yield live, settings, embedder
    live.close()


@pytest.mark.parametrize("mode", MODES)
def test_near_duplicates_collapse_into_one_hit_listing_both_sources(tiny, mode):
    live, settings, embedder = tiny
    hits = retrieve.search(live, embedder, "网格员培训 考核", settings, k=5, mode=mode)
    copies = [h for h in hits if REPUBLISHED[:20] in h.passage.text]
    assert len(copies) == 1, [(h.document.path, h.passage.text[:20]) for h in hits]
    (hit,) = copies
    sources = {hit.document.path, *(src for _, src in hit.duplicates)}
    assert {s.rsplit("/", 1)[-1] for s in sources} == {"街道简报.txt", "转载.txt"}
    assert hit.duplicates[0][0] != hit.passage.passage_id
    assert retrieve.hit_to_json(hit)["duplicates"][0]["source"] in sources


def test_a_query_sharing_only_a_very_common_word_does_not_return_everything(tiny):
    live, settings, embedder = tiny
    vocab = live.bm25.vocab
    assert live.bm25.df[vocab["基层"]] == live.bm25.size  # 基层 is in every passage
    query = "基层 火星殖民"
    assert [t for t in tokenize(query) if t in vocab] == ["基层"]
    assert retrieve.search(live, embedder, query, settings, k=100, mode="bm25") == []
    # …while a question that is only the common word still ranks by it
    assert retrieve.search(live, embedder, "基层", settings, k=100, mode="bm25")


def test_a_specific_word_beats_the_common_one(tiny):
    live, settings, embedder = tiny
    hits = retrieve.search(live, embedder, "基层 垃圾分类", settings, k=100, mode="bm25")
    assert [h.document.title for h in hits] == ["垃圾分类"]


def test_bigram_list_finds_a_phrase_jieba_cuts_differently(tiny):
    live, settings, embedder = tiny
    query = "物业纠纷调处"  # jieba: 物业/纠纷/调处; the passage says 物业管理纠纷…需要调处
    hits = retrieve.bigram_ranked(live, query, 5, None)
    top = retrieve.search(live, embedder, query, settings, k=1, mode="hybrid")[0]
    assert hits and top.document.title == "物业管理"
    assert dict(top.scores)["bigram_rank"] == 1.0
    only_other = retrieve.bigram_ranked(live, query, 5, live.bm25.vids[:1])
    assert {v for v, _ in only_other} <= {int(live.bm25.vids[0])}  # filters apply before ranking


def test_snippet_shows_the_sentences_that_match_the_query():
    text = (
        "开头一句讲总体情况。" * 30 + "网格员待遇低、队伍流动性大，是当前最突出的问题。" + "结尾一句讲其他事项。" * 10
    )
    shown = retrieve.snippet(text, "网格员待遇怎么提高", width=60)
    assert "网格员待遇低" in shown and shown.startswith("…") and shown.endswith("…")
    assert len(shown) <= 62
    assert retrieve.snippet("短文本。", "任何问题") == "短文本。"
    assert retrieve.snippet(text, "毫不相干", width=60).startswith("开头一句")  # no match: the opening


def test_hybrid_search_with_document_boost(live, built_index):
    settings = built_index.settings.replace(doc_boost=0.5)
    hits = retrieve.search(live, built_index.embedder, "人民调解委员会 调解 纠纷", settings, k=10, mode="hybrid")
    plain = search(live, built_index, "人民调解委员会 调解 纠纷")
    assert hits and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {h.passage.passage_id for h in hits} & {h.passage.passage_id for h in plain}


class KeywordCrossEncoder:
    """Stands in for a sentence-transformers CrossEncoder: scores a pair by one keyword."""

    def __init__(self, keyword: str):
        self.keyword = keyword
        self.pairs: list[tuple[str, str]] = []

    def predict(self, pairs):
        self.pairs = list(pairs)
        return [float(text.count(self.keyword)) for _, text in pairs]


@pytest.mark.parametrize("mode", MODES)
def test_a_configured_reranker_reorders_the_best_candidates(live, built_index, monkeypatch, mode):
    model = KeywordCrossEncoder("调解")
    monkeypatch.setattr(retrieve, "_cross_encoder", lambda name, device: model)
    settings = built_index.settings.replace(reranker="some/cross-encoder", rerank_top=20)
    query = "基层治理 网格 调解"
    plain = retrieve.search(live, built_index.embedder, query, built_index.settings, k=20, mode=mode)
    hits = retrieve.search(live, built_index.embedder, query, settings, k=10, mode=mode)
    assert len(model.pairs) == 20 and all(q == query for q, _ in model.pairs)
    counts = [h.passage.text.count("调解") for h in hits]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    assert {h.passage.passage_id for h in hits} <= {h.passage.passage_id for h in plain}


def test_a_reranker_that_cannot_load_is_a_model_error(live, built_index):
    retrieve._cross_encoder.cache_clear()
    settings = built_index.settings.replace(reranker=str(built_index.settings.index_dir) + "/no-such-model")
    with pytest.raises(ModelError, match="KB_RERANKER"):
        retrieve.search(live, built_index.embedder, "网格", settings, k=3)


def in_region(hit, prefix: str) -> bool:
    return any(regions.resolve(r).code.startswith(prefix) for r in hit.passage.regions)


def test_a_region_named_in_the_question_lifts_its_passages_without_filtering(live, built_index):
    query = "我们宁波这边，邻里纠纷找谁调解？"
    off = built_index.settings.replace(region_boost=0.0)
    on = built_index.settings.replace(region_boost=1.0)
    plain = retrieve.search(live, built_index.embedder, query, off, k=10)
    boosted = retrieve.search(live, built_index.embedder, query, on, k=10)
    ningbo = regions.code_prefix(regions.resolve("宁波市"))
    assert sum(in_region(h, ningbo) for h in boosted) > sum(in_region(h, ningbo) for h in plain)
    assert in_region(boosted[0], ningbo)
    wider = retrieve.search(live, built_index.embedder, query, on, k=60)
    assert not all(in_region(h, ningbo) for h in wider)  # a preference, not a filter


def test_region_boost_leaves_questions_naming_no_region_alone(live, built_index):
    query = "邻里纠纷找谁调解"
    on = built_index.settings.replace(region_boost=1.0)
    off = built_index.settings.replace(region_boost=0.0)
    ids = [
        [h.passage.passage_id for h in retrieve.search(live, built_index.embedder, query, s, k=10)] for s in (on, off)
    ]
    assert ids[0] == ids[1]


def test_thesaurus_expansion_meets_a_passage_in_formal_words(tiny):
    live, settings, embedder = tiny
    query = "管房子的公司和住户吵架"  # the passage says 物业…纠纷…矛盾
    off = retrieve.search(live, embedder, query, settings.replace(synonym_weight=0.0), k=5, mode="bm25")
    on = retrieve.search(live, embedder, query, settings.replace(synonym_weight=0.5), k=5, mode="bm25")
    assert off == []  # no word in common
    assert on[0].document.title == "物业管理"


# --- named documents, phrases, diversified ranking ----------------------------------------


def test_a_named_law_comes_first(live, built_index):
    hits = retrieve.search(
        live, built_index.embedder, "按照《人民调解法》，调解协议怎么申请强制执行", built_index.settings, k=5
    )
    assert all(h.document.title == "中华人民共和国人民调解法" for h in hits)
    assert hits[0].notice is None


def test_a_place_plus_type_name_steers_to_that_regulation(live, built_index):
    hits = retrieve.search(live, built_index.embedder, "滨州市网格化条例对网格员有什么要求", built_index.settings, k=3)
    assert hits[0].document.title == "滨州市社会治理网格化服务管理条例"


def test_a_name_that_matches_nothing_is_said_in_the_hits(live, built_index):
    hits = retrieve.search(
        live, built_index.embedder, "《宿迁市网格管理办法》怎么规定网格员", built_index.settings, k=3
    )
    assert hits and "宿迁市网格管理办法" in hits[0].notice
    assert retrieve.hit_to_json(hits[0])["notice"] == hits[0].notice


def test_a_verbatim_practice_name_ranks_its_passage_first(live, built_index):
    hits = retrieve.search(live, built_index.embedder, "乡呼县应、上下联动机制", built_index.settings, k=5)
    assert "乡呼县应、上下联动" in hits[0].passage.text


def test_diversify_spreads_documents_and_regions():
    fused = [(1, 3.0), (2, 2.9), (3, 2.8), (4, 1.0), (5, 0.9)]
    doc_of = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c"}
    regions_of = {1: ["440300"], 2: ["440300"], 3: ["440300"], 4: ["370500"], 5: ["330900"]}
    out = retrieve.diversify(fused, doc_of, regions_of, k=3)
    assert [v for v, _ in out[:3]] == [1, 4, 5]
    assert sorted(v for v, _ in out) == [1, 2, 3, 4, 5]  # nothing lost, the rest follows in order
    assert retrieve.diversify(fused, doc_of, regions_of, k=3, doc_weight=0, region_weight=0) == fused


def test_diverse_search_meets_more_documents(live, built_index):
    query = "各地在就地化解矛盾纠纷上有哪些做法"
    plain = retrieve.search(live, built_index.embedder, query, built_index.settings, k=5)
    spread = retrieve.search(live, built_index.embedder, query, built_index.settings, k=5, diverse=True)
    assert len({h.document.doc_id for h in spread}) >= len({h.document.doc_id for h in plain})
    assert len({h.document.doc_id for h in spread}) >= 4


def test_the_pool_a_spread_ranking_draws_from_holds_a_few_passages_per_document():
    # one regulation wholly on the topic would otherwise fill the pool: the other places come in
    fused = [(i, 1.0 - i / 100) for i in range(20)]
    doc_of = {i: "law" if i < 15 else f"d{i}" for i in range(20)}
    pool = retrieve.spread_pool(fused, doc_of, size=8, per_doc=3)
    assert [v for v, _ in pool] == [0, 1, 2, 15, 16, 17, 18, 19]
    assert pool == sorted(pool, key=lambda vs: -vs[1])  # still in ranking order
