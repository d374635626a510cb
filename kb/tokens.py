"""Terms for the two BM25 indexes: jieba words (with a governance user dictionary and
stopwords shipped in kb/data) and Chinese character bigrams.

Search-mode cutting (``cut_for_search``) emits both 网格化管理 and 网格/管理, so a query
that says 网格 still meets a text that says 网格化管理. Stopwords and one-character
tokens are dropped: they would make every passage match every question.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import threading
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path

from kb.errors import ConfigError

_LOCK = threading.Lock()


def _data_text(name: str) -> str:
    """A text file shipped in kb/data."""
    return resources.files("kb.data").joinpath(name).read_text(encoding="utf-8")


@cache
def stopwords() -> frozenset[str]:
    text = _data_text("stopwords.txt")
    return frozenset(w.strip() for w in text.splitlines() if w.strip())


SHORT = 256  # texts up to this many characters (questions) may be cut with the on-disk dictionary
DICT_FORMAT = 1


@cache
def _jieba():
    """A private jieba tokenizer with kb's user dictionary (loaded once, ~1 s)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _LOCK:
        tok = jieba.Tokenizer()
        tok.initialize()
        with resources.as_file(resources.files("kb.data").joinpath("governance_dict.txt")) as path:
            tok.load_userdict(str(path))
    _save_dictionary(tok.FREQ, tok.total)
    return tok


def tokenize(text: str) -> list[str]:
    """Normalised jieba search-mode tokens of ``text``, stopwords and single characters removed."""
    norm = unicodedata.normalize("NFKC", text).lower()
    stop = stopwords()
    return [t for t in _segmenter(len(norm)).cut_for_search(norm) if len(t) > 1 and t not in stop and _is_word(t)]


def _segmenter(length: int):
    """The loaded jieba; for a short text when none is loaded yet, one reading its dictionary from disk."""
    if length <= SHORT and _jieba.cache_info().currsize == 0:
        lazy = _disk_jieba()
        if lazy is not None:
            return lazy
    return _jieba()


# A question is cut in milliseconds, but loading jieba's dictionary (≈600k entries) takes most
# of a second, the largest cost of a cold `kb search`. jieba only ever looks up substrings of
# the text it cuts (get_DAG, calc, cut_for_search's 2- and 3-grams), so a dictionary that
# answers those lookups from an SQLite copy of the full one (with kb's user words and their
# frequencies) cuts exactly as the loaded one does, touching a few hundred rows.


def _dictionary_path() -> Path:
    import jieba

    key = hashlib.sha1(f"{jieba.__version__}|{DICT_FORMAT}|{_data_text('governance_dict.txt')}".encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"kb-jieba-{key[:16]}.sqlite"


def _save_dictionary(freq: dict[str, int], total: int) -> None:
    """Write the loaded dictionary once per jieba version and user dictionary (a cache: failures are ignored)."""
    path = _dictionary_path()
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        conn = sqlite3.connect(tmp)
        with conn:
            conn.execute("CREATE TABLE freq (w TEXT PRIMARY KEY, f INTEGER NOT NULL) WITHOUT ROWID")
            conn.execute("CREATE TABLE meta (total INTEGER NOT NULL)")
            conn.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
            conn.execute("INSERT INTO meta VALUES (?)", (int(total),))
        conn.close()
        os.replace(tmp, path)
    except (OSError, sqlite3.Error):
        tmp.unlink(missing_ok=True)


class _DiskFreq:
    """The part of jieba's FREQ dict that jieba uses (in, [], get), answered from SQLite and memoised."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.seen: dict[str, int | None] = {}
        self.lock = threading.Lock()

    def _find(self, word: str) -> int | None:
        if word not in self.seen:
            with self.lock:
                row = self.conn.execute("SELECT f FROM freq WHERE w = ?", (word,)).fetchone()
            self.seen[word] = row[0] if row else None
        return self.seen[word]

    def __contains__(self, word: str) -> bool:
        return self._find(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self._find(word)
        if found is None:
            raise KeyError(word)
        return found

    def get(self, word: str, default: int | None = None) -> int | None:
        found = self._find(word)
        return default if found is None else found


@cache
def _disk_jieba():
    """A jieba tokenizer over the saved dictionary, or None when it has not been saved yet."""
    path = _dictionary_path()
    if not path.exists():
        return None
    import jieba

    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        total = conn.execute("SELECT total FROM meta").fetchone()[0]
    except sqlite3.Error:
        return None
    tok = jieba.Tokenizer()
    tok.FREQ, tok.total, tok.initialized = _DiskFreq(conn), total, True
    return tok


_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9]+")


def bigrams(text: str) -> list[str]:
    """Overlapping Chinese character pairs (plus whole Latin/digit words), for a second BM25.

    Word segmentation misses when question and passage cut a phrase differently (网格员 vs
    网格化, 调解员 vs 人民调解); character pairs still meet there. Pairs never span
    punctuation, and rare pairs carry the weight through IDF like any term.
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for run in _RUNS.findall(norm):
        if run.isascii():
            out.append(run)
        elif len(run) == 1:
            continue
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


@cache
def thesaurus(path: str = "") -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(colloquial phrase, formal terms) pairs from ``path`` or the shipped kb/data/synonyms.txt.

    Lines read ``说法1 说法2 => 规范词1 规范词2``; ``#`` starts a comment. Questions say
    工资低、干不长 where documents say 待遇、队伍稳定: the formal side is what BM25 can meet.
    """
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"thesaurus {path} cannot be read ({exc}); fix KB_SYNONYMS_FILE or leave it empty for the shipped one"
            ) from exc
    else:
        text = _data_text("synonyms.txt")
    pairs = []
    for raw in text.splitlines():
        line = unicodedata.normalize("NFKC", raw.split("#", 1)[0]).lower()
        if "=>" not in line:
            continue
        left, right = line.split("=>", 1)
        terms = tuple(right.split())
        pairs += [(phrase, terms) for phrase in left.split() if terms]
    return tuple(pairs)


def expansions(query: str, path: str = "") -> list[str]:
    """Formal terms for every thesaurus phrase the query contains, not already in the query."""
    norm = unicodedata.normalize("NFKC", query).lower()
    found = [t for phrase, terms in thesaurus(path) if phrase in norm for t in terms if t not in norm]
    return list(dict.fromkeys(found))


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)
