"""kb.settings: defaults, KB_* environment overrides with casting, explicit overrides, validation."""

from __future__ import annotations

import os
from dataclasses import fields

import pytest

from kb.errors import ConfigError
from kb.settings import DEFAULT_MODEL, Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("KB_"):
            monkeypatch.delenv(name)


def test_defaults():
    s = Settings.load()
    assert s == Settings()
    assert (s.model, s.mode, s.chunk_min, s.chunk_max, s.top_k, s.rrf_k) == (DEFAULT_MODEL, "hybrid", 150, 500, 10, 60)
    assert s.index_dir == "index" and s.faiss_index == "flat"


@pytest.mark.parametrize(
    ("var", "raw", "field", "value"),
    [
        ("KB_TOP_K", "5", "top_k", 5),
        ("KB_CHUNK_MAX", "800", "chunk_max", 800),
        ("KB_BM25_WEIGHT", "0.5", "bm25_weight", 0.5),
        ("KB_BM25_K1", "2", "bm25_k1", 2.0),
        ("KB_MODEL", "fake", "model", "fake"),
        ("KB_INDEX_DIR", "/tmp/somewhere", "index_dir", "/tmp/somewhere"),
        ("KB_MODE", "bm25", "mode", "bm25"),
        ("KB_FAISS_INDEX", "hnsw", "faiss_index", "hnsw"),
        ("KB_FUSION", "rrf", "fusion", "rrf"),
        ("KB_QUERY_PREFIX", "", "query_prefix", ""),
    ],
)
def test_environment_overrides_are_cast(monkeypatch, var, raw, field, value):
    monkeypatch.setenv(var, raw)
    got = getattr(Settings.load(), field)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("var", "raw"), [("KB_TOP_K", "ten"), ("KB_TOP_K", "2.5"), ("KB_DENSE_WEIGHT", "heavy")])
def test_uncastable_environment_values_are_config_errors(monkeypatch, var, raw):
    monkeypatch.setenv(var, raw)
    with pytest.raises(ConfigError, match=var):
        Settings.load()


@pytest.mark.parametrize(("var", "raw"), [("KB_MODE", "semantic"), ("KB_FAISS_INDEX", "ivf"), ("KB_FUSION", "mean")])
def test_choices_are_validated(monkeypatch, var, raw):
    monkeypatch.setenv(var, raw)
    with pytest.raises(ConfigError, match=raw):
        Settings.load()


def test_explicit_overrides_win_over_the_environment_and_none_is_ignored(monkeypatch):
    monkeypatch.setenv("KB_INDEX_DIR", "from-env")
    monkeypatch.setenv("KB_TOP_K", "3")
    s = Settings.load(index_dir="from-cli", top_k=None, mode=None)
    assert (s.index_dir, s.top_k, s.mode) == ("from-cli", 3, "hybrid")


def test_unknown_override_is_an_error():
    with pytest.raises(ConfigError, match="colour"):
        Settings.load(colour="red")


@pytest.mark.parametrize(
    "changes",
    [
        {"chunk_min": 500, "chunk_max": 500},
        {"chunk_min": 0},
        {"chunk_min": 600},
        {"top_k": 0},
        {"candidates": 0},
        {"batch_size": 0},
        {"mode": "keyword"},
        {"answer_region_plain": -1},
    ],
)
def test_invalid_values_are_rejected(changes):
    with pytest.raises(ConfigError):
        Settings.load(**changes)
    with pytest.raises(ConfigError):
        Settings().replace(**changes)


def test_invalid_combination_from_the_environment(monkeypatch):
    monkeypatch.setenv("KB_CHUNK_MIN", "900")
    with pytest.raises(ConfigError, match="chunk_min"):
        Settings.load()


def test_replace_returns_a_validated_copy():
    s = Settings()
    t = s.replace(top_k=3)
    assert (s.top_k, t.top_k) == (10, 3)


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().cache_dir == str(tmp_path / "kb")


def test_describe_lists_every_field_with_its_variable():
    rows = Settings.describe()
    assert [r[0] for r in rows] == [f.name for f in fields(Settings)]
    for name, var, _default, help_text in rows:
        assert var == f"KB_{name.upper()}"
        assert help_text
    assert dict((r[0], r[2]) for r in rows)["chunk_max"] == 500


def test_as_dict_round_trips():
    s = Settings(top_k=4)
    assert Settings(**s.as_dict()) == s


def test_boolean_settings_parse_false_and_zero(monkeypatch):
    for raw, want in (("false", False), ("0", False), ("true", True), ("1", True)):
        monkeypatch.setenv("KB_FOCUS_NAMES", raw)
        assert Settings.load().focus_names is want
    monkeypatch.setenv("KB_FOCUS_NAMES", "maybe")
    with pytest.raises(ConfigError):
        Settings.load()
