"""Passages → answer-sized sentences, each a verbatim span of its passage.

Governance writing packs several points into one run of text: ``一是…；二是…``, inline
``（一）…（二）…`` or ``1.…2.…``, ``首先…其次…``. Those markers start a new sentence even
after a comma, so one enumerated point can be cited alone. A fragment too short to say
anything (``三是加强网格队伍建设。`` alone is fine, ``一是`` is not) joins the next one.
Sentences are (start, end) spans, so the text shown is always the passage's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

END = "。！？；!?;"
CLOSE = "”’」』）)】"
MIN_CHARS = 6  # a shorter piece (a bare lead-in such as 一是) joins the following one

_CN = "一二三四五六七八九十"
# enumeration markers that start a point even after a comma or a colon
_POINT = re.compile(
    rf"(?:(?<=[，,：:、。；;！？!?\s])|^)"
    rf"(?=(?:[{_CN}]{{1,3}}是|第[{_CN}]{{1,3}}[，,、]|其[{_CN}]{{1,3}}[，,、是]"
    rf"|首先|其次|再次|最后[，,]|[（(][{_CN}\d]{{1,3}}[）)]|\d{{1,2}}[.．、](?!\d)|[①-⑳]))"
)
_END = re.compile(rf"[{END}]+[{CLOSE}]*|\n+")
_LEAD_IN = ("：", ":")
_ITEM = re.compile(rf"[（(][{_CN}\d]{{1,3}}[）)]|\d{{1,2}}[.．、]|[①-⑳]|[{_CN}]{{1,3}}、")
LIST_CHARS = 300  # a lead-in and its items stay one sentence up to this length


@dataclass(frozen=True)
class Sentence:
    """A span of a passage's text: ``text == passage_text[start:end]``."""

    start: int
    end: int
    text: str


def split(text: str, min_chars: int = MIN_CHARS, list_chars: int = LIST_CHARS) -> list[Sentence]:
    """Sentences of ``text`` in order: cut at sentence ends, line breaks and enumeration markers.

    A lead-in ending with a colon keeps the list items that follow it (``有下列情形之一的：
    （一）…（二）…``) as one sentence while that stays under ``list_chars``: an item alone
    says nothing.
    """
    cuts = {0, len(text)}
    cuts.update(m.end() for m in _END.finditer(text))
    cuts.update(m.start() for m in _POINT.finditer(text))
    bounds = sorted(cuts)
    spans = [_trim(text, a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
    joined = _join_short([s for s in spans if s is not None], text, min_chars)
    return _join_lists(joined, text, list_chars)


def _join_lists(sentences: list[Sentence], text: str, limit: int) -> list[Sentence]:
    out: list[Sentence] = []
    i = 0
    while i < len(sentences):
        s = sentences[i]
        j = i + 1
        if s.text.endswith(_LEAD_IN):
            while j < len(sentences) and _ITEM.match(sentences[j].text) and sentences[j].end - s.start <= limit:
                j += 1
        end = sentences[j - 1].end
        out.append(Sentence(s.start, end, text[s.start : end]))
        i = j
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without surrounding whitespace; None when nothing but whitespace/punctuation is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if not any(ch.isalnum() for ch in text[start:end]):
        return None
    return start, end


def _join_short(spans: list[tuple[int, int]], text: str, min_chars: int) -> list[Sentence]:
    """Join a too-short span to the next one on the same line (a lead-in such as ``一是``)."""
    out: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for start, end in spans:
        if pending is not None:
            if "\n" in text[pending[1] : start]:
                out.append(pending)
            else:
                start = pending[0]
            pending = None
        if end - start < min_chars:
            pending = (start, end)
        else:
            out.append((start, end))
    if pending is not None:
        if out and "\n" not in text[out[-1][1] : pending[0]]:
            out[-1] = (out[-1][0], pending[1])
        else:
            out.append(pending)
    return [Sentence(a, b, text[a:b]) for a, b in out]


def normalise(text: str) -> str:
    """Whitespace removed: the form in which an answer sentence must occur in its passage."""
    return re.sub(r"\s+", "", text)


def is_verbatim(sentence: str, passage_text: str) -> bool:
    """True when ``sentence`` occurs in ``passage_text`` after whitespace normalisation."""
    return normalise(sentence) in normalise(passage_text)
