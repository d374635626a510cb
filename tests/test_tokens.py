"""kb.tokens: jieba search-mode tokens with kb's governance dictionary and stopwords."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import ConfigError
from kb.tokens import bigrams, expansions, stopwords, thesaurus, tokenize


def test_search_mode_emits_compound_and_parts():
    tokens = tokenize("网格化管理")
    assert {"网格化管理", "网格化", "网格", "管理"} <= set(tokens)


def test_governance_dictionary_terms_stay_whole():
    assert "枫桥经验" in tokenize("枫桥经验的推广")
    assert "网格员" in tokenize("专职网格员待遇低")
    # a longer dictionary term still shares its parts with the shorter one
    assert {"枫桥", "经验"} <= set(tokenize("枫桥经验")) & set(tokenize("坚持和发展新时代枫桥经验"))


def test_stopwords_and_single_characters_are_dropped():
    assert tokenize("的了是在") == []
    tokens = tokenize("网格员待遇低怎么办？")
    assert "怎么办" not in tokens and "低" not in tokens
    assert {"网格员", "待遇"} <= set(tokens)
    assert not set(tokens) & stopwords()
    assert all(len(t) > 1 for t in tokens)


def test_width_and_case_are_folded():
    assert tokenize("ＡＰＰ") == tokenize("app") == ["app"]
    assert "2020" in tokenize("２０２０年")


def test_punctuation_is_not_a_token():
    assert tokenize("，。！？——……“”《》（）") == []
    assert tokenize("") == []


def test_tokenize_is_deterministic():
    text = "加快推进市域社会治理现代化，构建共建共治共享的社会治理格局。"
    assert tokenize(text) == tokenize(text)


def test_stopword_list_is_loaded_from_the_package():
    words = stopwords()
    assert {"的", "我们", "怎么办"} <= words
    assert "网格" not in words


def test_bigrams_pair_characters_within_runs_only():
    assert bigrams("网格员，ABC 2024年") == ["网格", "格员", "abc", "2024"]  # no pair across punctuation
    assert bigrams("调解") == ["调解"] and bigrams("。") == []


def test_bigrams_meet_where_word_cuts_differ():
    # jieba cuts 调解员 and 人民调解 differently, the character pair 调解 is shared
    assert "调解" in set(bigrams("调解员素质不高")) & set(bigrams("加强人民调解工作"))


def test_thesaurus_is_shipped_and_maps_colloquial_phrases_to_formal_terms():
    pairs = dict(thesaurus())
    assert len(pairs) > 100
    assert "劳动报酬" in pairs["工资"]
    assert all(phrase and terms for phrase, terms in thesaurus())


def test_expansions_add_formal_terms_the_query_does_not_already_use():
    found = expansions("老板拖欠工资怎么办")
    assert "劳动报酬" in found
    assert "工资" not in found  # already in the question
    assert len(found) == len(set(found))
    assert expansions("枫桥经验的推广") == []


def test_a_custom_thesaurus_file(tmp_path):
    path = tmp_path / "syn.txt"
    path.write_text("# 注释\n街巷 楼栋 => 三长制 楼长\n没有箭头的行被忽略\n", encoding="utf-8")
    assert thesaurus(str(path)) == (("街巷", ("三长制", "楼长")), ("楼栋", ("三长制", "楼长")))
    assert expansions("街巷楼栋怎么管", str(path)) == ["三长制", "楼长"]


def test_an_unreadable_thesaurus_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="KB_SYNONYMS_FILE"):
        expansions("工资", str(tmp_path / "missing.txt"))


def test_the_on_disk_dictionary_cuts_exactly_as_loaded_jieba(seed_dir):
    import json
    import unicodedata

    from kb import tokens

    full = tokens._jieba()  # loading also saves the dictionary
    tokens._disk_jieba.cache_clear()
    disk = tokens._disk_jieba()
    assert disk is not None and disk is not full
    data = Path(__file__).parent / "data"
    texts = [json.loads(x)["query"] for f in data.glob("*questions.jsonl") for x in f.read_text("utf-8").splitlines()]
    texts += [line for f in sorted(seed_dir.glob("*.txt"))[:2] for line in f.read_text("utf-8").splitlines()[:80]]
    texts += ["阿布都热合曼在乌鲁木齐市沙依巴克区调解纠纷", "新时代枫桥经验 网格化服务管理 ABC-12 2021年"]
    for text in texts:
        norm = unicodedata.normalize("NFKC", text).lower()
        assert list(disk.cut_for_search(norm)) == list(full.cut_for_search(norm)), text
