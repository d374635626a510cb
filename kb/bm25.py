"""BM25 over jieba tokens as a precomputed sparse matrix (the bm25s approach).

Each passage's term weights are computed once at build time, so a query is a sum of a
few matrix columns. Saved as ``.npz`` arrays plus a JSON vocabulary — open formats, no
pickle.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COMMON_DF = 0.5  # query terms in more than this share of passages carry no evidence


@dataclass(frozen=True)
class BM25Index:
    vids: np.ndarray  # int64 passage ids, row order
    vocab: dict[str, int]
    df: np.ndarray  # document frequency per term
    matrix: object  # scipy.sparse.csc_matrix (rows = passages, cols = terms) of BM25 weights

    @property
    def size(self) -> int:
        return len(self.vids)


def build(vids: Sequence[int], docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> BM25Index:
    """Weight every (passage, term) pair once; tf saturation k1, length normalisation b."""
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows, cols, tfs = [], [], []
    lengths = np.zeros(len(docs), dtype=np.float32)
    for i, tokens in enumerate(docs):
        lengths[i] = len(tokens)
        counts: dict[int, int] = {}
        for t in tokens:
            j = vocab.setdefault(t, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        rows.extend([i] * len(counts))
        cols.extend(counts.keys())
        tfs.extend(counts.values())
    n = len(docs)
    rows_a, cols_a = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    tf = np.asarray(tfs, dtype=np.float32)
    df = np.bincount(cols_a, minlength=len(vocab)).astype(np.float32)
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    avgdl = float(lengths.mean()) if n else 1.0
    norm = k1 * (1 - b + b * lengths[rows_a] / max(avgdl, 1e-9))
    weights = idf[cols_a] * tf * (k1 + 1) / (tf + norm)
    matrix = sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(n, len(vocab)), dtype=np.float32)
    return BM25Index(np.asarray(vids, dtype=np.int64), vocab, df, matrix)


def query_terms(index: BM25Index, tokens: Sequence[str]) -> list[int]:
    """Known query terms, minus those so common they would match almost everything.

    A query made only of common words still ranks by them; but when the query's other
    words are unknown to the corpus, a shared common word is no evidence at all (else
    "基层 + something the corpus never mentions" would return every 基层 passage).
    """
    unique = list(dict.fromkeys(tokens))
    known = _known(index, unique)
    specific = _specific(index, known)
    if specific:
        return specific
    return known if len(known) == len(unique) else []


def _known(index: BM25Index, tokens: Sequence[str]) -> list[int]:
    return [index.vocab[t] for t in dict.fromkeys(tokens) if t in index.vocab]


def _specific(index: BM25Index, terms: Sequence[int]) -> list[int]:
    limit = max(COMMON_DF * index.size, 1)
    return [j for j in terms if index.df[j] <= limit]


def scores(index: BM25Index, tokens: Sequence[str], extra: Sequence[str] = (), extra_weight: float = 0.0) -> np.ndarray:
    """BM25 score of every passage (row order) for the query tokens.

    ``extra`` terms (thesaurus expansions) count ``extra_weight`` each; they are never
    common words and never repeat a query term, so they add evidence without diluting it.
    """
    terms = query_terms(index, tokens)
    more = [j for j in _specific(index, _known(index, extra)) if j not in terms] if extra_weight > 0 else []
    if not (terms or more) or index.size == 0:
        return np.zeros(index.size, dtype=np.float32)
    weights = np.array([1.0] * len(terms) + [extra_weight] * len(more), dtype=np.float32)
    return np.asarray(index.matrix[:, terms + more] @ weights).ravel()


def search(
    index: BM25Index,
    tokens: Sequence[str],
    k: int,
    allowed: np.ndarray | None = None,
    extra: Sequence[str] = (),
    extra_weight: float = 0.0,
) -> list[tuple[int, float]]:
    """Top-k (vid, score) with score > 0; ``allowed`` is a boolean row mask applied before ranking."""
    s = scores(index, tokens, extra, extra_weight)
    if allowed is not None:
        s = np.where(allowed, s, 0.0)
    nz = np.flatnonzero(s > 0)
    if nz.size == 0:
        return []
    top = nz[np.argsort(-s[nz], kind="stable")[:k]]
    return [(int(index.vids[i]), float(s[i])) for i in top]


def save(index: BM25Index, folder: Path, stem: str) -> None:
    m = index.matrix
    np.savez(
        folder / f"{stem}.npz",
        vids=index.vids, df=index.df, data=m.data, indices=m.indices, indptr=m.indptr,
        shape=np.asarray(m.shape, dtype=np.int64),
    )  # fmt: skip
    (folder / f"{stem}.vocab.json").write_text(json.dumps(index.vocab, ensure_ascii=False), encoding="utf-8")


class BadFile(ValueError):
    """A saved BM25 file that cannot be read or contradicts its companion file."""

    def __init__(self, path: Path, detail: str):
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def load(folder: Path, stem: str) -> BM25Index:
    """Read ``stem``.npz and ``stem``.vocab.json (no pickle); BadFile names the file that is wrong."""
    from scipy import sparse

    npz, vocab_path = folder / f"{stem}.npz", folder / f"{stem}.vocab.json"
    if not npz.exists() and not vocab_path.exists():
        raise FileNotFoundError(npz)
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("shape", "data", "indices", "indptr", "vids", "df")}
    except FileNotFoundError:
        raise BadFile(npz, "the file is missing") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise BadFile(npz, "not a readable BM25 array file") from exc
    try:
        vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadFile(vocab_path, "the file is missing") from None
    except (OSError, ValueError) as exc:
        raise BadFile(vocab_path, f"not a JSON vocabulary ({type(exc).__name__})") from exc
    problem = _inconsistency(arrays, vocab)
    if problem:
        raise BadFile(npz if problem[0] == "npz" else vocab_path, problem[1])
    shape = (int(arrays["shape"][0]), int(arrays["shape"][1]))
    matrix = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
    return BM25Index(arrays["vids"], vocab, arrays["df"], matrix)


def _inconsistency(a: dict[str, np.ndarray], vocab: object) -> tuple[str, str] | None:
    """('npz' | 'vocab', what is wrong) when the arrays or the vocabulary cannot describe one matrix."""
    if a["shape"].shape != (2,) or a["shape"].dtype.kind not in "iu":
        return "npz", "bad matrix shape"
    rows, cols = (int(x) for x in a["shape"])
    indptr, indices = a["indptr"], a["indices"]
    if (
        rows < 0
        or cols < 0
        or len(a["vids"]) != rows
        or len(a["df"]) != cols
        or len(indptr) != cols + 1
        or len(indices) != len(a["data"])
        or (len(indptr) and (indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0)))
        or (len(indices) and (indices.min() < 0 or indices.max() >= rows))
    ):
        return "npz", "its arrays do not form one matrix"
    if not isinstance(vocab, dict) or not all(isinstance(v, int) and 0 <= v < cols for v in vocab.values()):
        return "vocab", f"its term indices do not fit the {cols}-column matrix"
    return None


def idf_of(index: BM25Index, term: str) -> float:
    """Inverse document frequency of a term (0 when unknown), for explaining matches."""
    j = index.vocab.get(term)
    if j is None:
        return 0.0
    n, df = index.size, float(index.df[j])
    return math.log1p((n - df + 0.5) / (df + 0.5))


def idf_of_unseen(index: BM25Index) -> float:
    """The IDF a term found in no passage would have (the largest possible)."""
    n = index.size
    return math.log1p((n + 0.5) / 0.5)
