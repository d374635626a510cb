"""kb.bm25: precomputed BM25 weights, hand-checked on a three-passage corpus."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kb import bm25

DOCS = [["网格", "治理"], ["网格", "网格", "服务"], ["调解"]]
VIDS = [10, 11, 12]


@pytest.fixture
def index():
    return bm25.build(VIDS, DOCS, k1=1.2, b=0.75)


def weight(tf: int, df: int, length: int, n: int = 3, avgdl: float = 2.0, k1: float = 1.2, b: float = 0.75) -> float:
    idf = math.log1p((n - df + 0.5) / (df + 0.5))
    return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl))


def test_weights_match_the_bm25_formula(index):
    s = bm25.scores(index, ["治理"])
    assert s[0] == pytest.approx(weight(tf=1, df=1, length=2), rel=1e-5)
    assert s[1] == 0 and s[2] == 0
    both = bm25.scores(index, ["治理", "调解"])
    assert both[2] == pytest.approx(weight(tf=1, df=1, length=1), rel=1e-5)


def test_term_frequency_saturates_and_long_passages_are_normalised(index):
    s = bm25.scores(index, ["网格"])  # df 2 of 3: common, but the query has nothing else
    assert s[0] == pytest.approx(weight(tf=1, df=2, length=2), rel=1e-5)
    assert s[1] == pytest.approx(weight(tf=2, df=2, length=3), rel=1e-5)
    assert s[1] < 2 * s[0]


def test_search_ranks_and_maps_rows_to_vids(index):
    assert [vid for vid, _ in bm25.search(index, ["网格"], k=10)] == [11, 10]
    hits = bm25.search(index, ["网格"], k=1)
    assert len(hits) == 1 and hits[0][0] == 11 and hits[0][1] > 0


def test_search_returns_only_positive_scores(index):
    assert bm25.search(index, ["调解"], k=10) == [(12, pytest.approx(weight(1, 1, 1), rel=1e-5))]
    assert bm25.search(index, ["火星"], k=10) == []
    assert bm25.search(index, [], k=10) == []


def test_allowed_mask_is_applied_before_ranking(index):
    mask = np.array([True, False, True])
    assert [vid for vid, _ in bm25.search(index, ["网格"], k=10, allowed=mask)] == [10]
    assert bm25.search(index, ["服务"], k=10, allowed=mask) == []


def test_common_terms_are_dropped_when_specific_ones_exist(index):
    assert bm25.query_terms(index, ["网格", "治理"]) == [index.vocab["治理"]]
    assert [vid for vid, _ in bm25.search(index, ["网格", "治理"], k=10)] == [10]


def test_a_query_of_only_common_words_still_ranks(index):
    assert bm25.query_terms(index, ["网格"]) == [index.vocab["网格"]]


def test_one_common_word_shared_with_the_corpus_is_no_evidence(index):
    """The query is about something the corpus never mentions; sharing 网格 must not match everything."""
    assert bm25.query_terms(index, ["网格", "火星", "殖民"]) == []
    assert bm25.search(index, ["网格", "火星", "殖民"], k=10) == []


def test_save_and_load_round_trip(index, tmp_path):
    bm25.save(index, tmp_path, "bm25-1")
    assert {p.name for p in tmp_path.iterdir()} == {"bm25-1.npz", "bm25-1.vocab.json"}
    loaded = bm25.load(tmp_path, "bm25-1")
    assert loaded.vocab == index.vocab
    assert list(loaded.vids) == VIDS
    for q in (["网格"], ["治理", "调解"], ["服务"]):
        assert np.allclose(bm25.scores(loaded, q), bm25.scores(index, q))


def test_idf_of(index):
    assert bm25.idf_of(index, "治理") == pytest.approx(math.log1p(2.5 / 1.5))
    assert bm25.idf_of(index, "火星") == 0.0
    assert bm25.idf_of(index, "治理") > bm25.idf_of(index, "网格")


def test_empty_index():
    empty = bm25.build([], [])
    assert empty.size == 0
    assert bm25.search(empty, ["网格"], k=5) == []
    assert bm25.scores(empty, ["网格"]).shape == (0,)


def test_k1_and_b_are_parameters():
    flat = bm25.build(VIDS, DOCS, k1=1.2, b=0.0)  # no length normalisation
    s = bm25.scores(flat, ["网格"])
    idf = math.log1p(1.5 / 2.5)
    assert s[0] == pytest.approx(idf * 2.2 / (1 + 1.2), rel=1e-5)
    assert s[1] == pytest.approx(idf * 2 * 2.2 / (2 + 1.2), rel=1e-5)


def test_extra_terms_count_their_weight_and_never_repeat_a_query_term(index):
    plain = bm25.scores(index, ["治理"])
    expanded = bm25.scores(index, ["治理"], extra=["调解", "治理", "未知词"], extra_weight=0.5)
    assert expanded[0] == pytest.approx(plain[0])  # 治理 is not counted twice
    assert expanded[2] == pytest.approx(0.5 * weight(tf=1, df=1, length=1), rel=1e-5)
    off = bm25.scores(index, ["治理"], extra=["调解"], extra_weight=0.0)
    assert np.array_equal(off, plain)


def test_extra_terms_alone_can_match_and_common_ones_are_dropped(index):
    only_extra = bm25.search(index, ["未知词"], 3, extra=["调解"], extra_weight=0.5)
    assert [v for v, _ in only_extra] == [12]
    assert bm25.search(index, ["未知词"], 3, extra=["网格"], extra_weight=0.5) == []  # df 2 of 3: common
