"""Tokenise a question with only the vocabulary pieces it can use: the same ids, a fraction of the load.

e5's tokenizer is a Unigram (SentencePiece) model: Viterbi over the 250 000 vocabulary pieces
that occur in the normalised text. Building that vocabulary costs ≈0.8 s of CPU, half of a cold
`kb search`. A piece that is not a substring of the normalised text can never be chosen, so a
tokenizer built from just the pieces that are (looked up in an SQLite table) splits the text
identically, provided it keeps the special tokens at their ids and the vocabulary's
lowest-scored piece (the penalty for unknown characters is derived from it). Ids are then
mapped back to the full vocabulary. Text containing a special token's spelling goes to the
full tokenizer, as does any tokenizer that is not a plain Unigram.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TABLE = "pieces.sqlite"
SKELETON = "skeleton.json"
_VOCAB = '"__KB_VOCAB__"'


def build(tokenizer_json: Path, folder: Path) -> bool:
    """Write the piece table and the tokenizer skeleton next to ``tokenizer_json``; False if unsupported."""
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback") or not model.get("vocab"):
        return False
    vocab = model["vocab"]
    fixed = sorted({t["id"] for t in spec.get("added_tokens", []) if t["id"] < 16} | {model.get("unk_id", 0)})
    if fixed != list(range(len(fixed))):
        return False  # specials not at the start of the vocabulary: keep the full tokenizer
    low = min(range(len(vocab)), key=lambda i: vocab[i][1])
    specials = sorted({t["content"] for t in spec.get("added_tokens", [])})
    spec["added_tokens"] = [t for t in spec.get("added_tokens", []) if t["id"] < len(fixed)]
    spec["truncation"] = spec["padding"] = None
    spec["model"] = dict(model, vocab="__KB_VOCAB__")
    meta = {
        "fixed": len(fixed),
        "lowest": low,
        "longest": max(len(p) for p, _ in vocab),
        "specials": specials,
    }
    (folder / SKELETON).write_text(json.dumps({"meta": meta, "tokenizer": spec}, ensure_ascii=False), "utf-8")
    conn = sqlite3.connect(folder / TABLE)
    with conn:
        conn.execute("CREATE TABLE pieces (p TEXT PRIMARY KEY, id INTEGER NOT NULL, score REAL NOT NULL) WITHOUT ROWID")
        rows = {p: (i, s) for i, (p, s) in enumerate(vocab)}  # a repeated piece: the last id, as tokenizers does
        conn.executemany("INSERT INTO pieces VALUES (?, ?, ?)", ((p, i, s) for p, (i, s) in rows.items()))
    conn.close()
    return True


class SubVocabTokenizer:
    """``encode(texts) -> (ids, attention_mask)`` like the full tokenizer, padded and truncated."""

    def __init__(self, folder: Path, max_length: int, pad_id: int):
        from tokenizers import Tokenizer

        data = json.loads((folder / SKELETON).read_text(encoding="utf-8"))
        self.meta, spec = data["meta"], data["tokenizer"]
        self.template = json.dumps(spec, ensure_ascii=False).replace(json.dumps("__KB_VOCAB__"), _VOCAB)
        self.conn = sqlite3.connect(f"{(folder / TABLE).as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self.base = self._rows_by_id(list(range(self.meta["fixed"])) + [self.meta["lowest"]])
        self.max_length, self.pad_id = max_length, pad_id
        self.folder = folder
        self._full = None
        self._splitter = Tokenizer.from_str(self._spec(self.base))

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if any(s in t for t in texts for s in self.meta["specials"]):
            return encode_with(self.full(), texts)
        pieces = self._pieces(texts)
        tok = configured(self._from_rows(pieces), self.max_length, self.pad_id)
        ids, mask = encode_with(tok, texts)
        to_full = np.asarray([i for _, i, _ in pieces], dtype=np.int64)
        return to_full[ids], mask

    def full(self):
        """The whole tokenizer (loaded once, only for text that needs it)."""
        if self._full is None:
            from tokenizers import Tokenizer

            self._full = configured(Tokenizer.from_file(str(self.folder / "tokenizer.json")), self.max_length,
                                     self.pad_id)  # fmt: skip
        return self._full

    def _pieces(self, texts: Sequence[str]) -> list[tuple[str, int, float]]:
        """The base pieces, then every vocabulary piece that is a substring of a normalised text."""
        longest = self.meta["longest"]
        wanted: set[str] = set()
        for text in texts:
            norm = self._splitter.normalizer.normalize_str(text) if self._splitter.normalizer else text
            parts = self._splitter.pre_tokenizer.pre_tokenize_str(norm) if self._splitter.pre_tokenizer else [(norm, 0)]
            for part, _ in parts:
                n = len(part)
                wanted.update(part[i:j] for i in range(n) for j in range(i + 1, min(n, i + longest) + 1))
        found = self._rows_by_piece(sorted(wanted))
        have = {p for p, _, _ in self.base}
        return self.base + [r for r in found if r[0] not in have]

    def _rows_by_piece(self, pieces: list[str]) -> list[tuple[str, int, float]]:
        out: list[tuple[str, int, float]] = []
        for start in range(0, len(pieces), 500):
            chunk = pieces[start : start + 500]
            sql = f"SELECT p, id, score FROM pieces WHERE p IN ({','.join('?' * len(chunk))}) ORDER BY id"
            out += [tuple(r) for r in self.conn.execute(sql, chunk)]
        return out

    def _rows_by_id(self, ids: list[int]) -> list[tuple[str, int, float]]:
        sql = f"SELECT p, id, score FROM pieces WHERE id IN ({','.join('?' * len(ids))})"
        rows = {r[1]: tuple(r) for r in self.conn.execute(sql, ids)}
        return [rows[i] for i in ids]

    def _spec(self, rows: list[tuple[str, int, float]]) -> str:
        return self.template.replace(_VOCAB, json.dumps([[p, s] for p, _, s in rows], ensure_ascii=False))

    def _from_rows(self, rows: list[tuple[str, int, float]]):
        from tokenizers import Tokenizer

        return Tokenizer.from_str(self._spec(rows))


def configured(tok, max_length: int, pad_id: int):
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=pad_id)
    return tok


def encode_with(tok, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = tok.encode_batch(list(texts))
    ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
    return ids, np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
