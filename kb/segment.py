"""Split a cleaned text along its own structure into passages that carry their heading path.

Chinese official and academic writing marks structure with numbering, not typography:
第X编/章/节, 一、, （一）, 1. / 1.1, （1）, ①, and markdown ``#`` from converted files.
Which marker sits at which depth varies by author, so depth is learnt per document: a
marker kind seen for the first time nests under the current heading; a kind already on
the stack closes everything below it. Regulations are cut into one passage per 第X条.
A compilation (several articles pasted into one file) is cut into parts where the
top-level numbering restarts, an article header or reference list ends an article, or
the subject region changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kb.clean import normalize

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUM = "零〇一二两三四五六七八九十百千"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# Characters that make a leading decimal a quantity, not a section number.
_UNITS = "%％‰万亿千百十元角个倍人户名次件项所家座条米吨年月日岁"
# Only this much of a line is needed to recognise a marker (lines can be megabytes long).
_SCAN = 200

ARTICLE_RE = re.compile(rf"^第([{_CN_NUM}\d]+)条(?:之[{_CN_NUM}]+)?(?:[\s\u3000]+|$)")
_PART_RE = re.compile(rf"^第([{_CN_NUM}\d]+)([编章节])(?:[\s\u3000]+(.*)|$)")
_MD_RE = re.compile(r"^(#{1,6})\s+(.+)$")
_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cn", re.compile(rf"^([{_CN_NUM}]+)\s*[、.．]\s*(.*)$")),
    ("cnp", re.compile(rf"^[(（]([{_CN_NUM}]+)[)）]\s*(.*)$")),
    # 1.1 / 1.1.2 headings; not a quantity such as "3.5亿元投入…" or "2.5万名网格员…"
    ("dec", re.compile(rf"^(\d+(?:\.\d+)+)\.?(?![{_UNITS}])\s*(\D.*)$")),
    ("num", re.compile(r"^(\d{1,2})(?:\s*[.．、]\s*|\s+)(\D.*)$")),
    ("nump", re.compile(r"^[(（](\d{1,2})[)）]\s*(.*)$")),
    ("circ", re.compile(rf"^([{_CIRCLED}])\s*(.*)$")),
)
_SENT_END = "。！？；!?;"
_HEADING_MAX = 40  # a run-in heading's first sentence is at most this long
_PLAIN_HEADING_MAX = 30
_SECTION_TITLE_MAX = 20  # an unnumbered title line inside a regulation


def cn_to_int(text: str) -> int | None:
    """二十三 → 23, 一百零五 → 105, 12 → 12; None if not a number."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            return None
    return total + current


@dataclass(frozen=True)
class Heading:
    kind: str  # md1..md6, 编/章/节, cn, cnp, dec2.., num, nump, circ, plain
    number: int | None
    text: str  # the heading as displayed (marker included)


@dataclass(frozen=True)
class Block:
    """A body paragraph (or a whole regulation article) under its headings."""

    headings: tuple[Heading, ...]
    text: str
    line: int  # index of its first line in the input
    article: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage-to-be: text plus heading path (without the document title)."""

    heading_path: tuple[str, ...]
    text: str
    article: str | None = None


def parse_heading(line: str) -> tuple[Heading, str] | None:
    """Recognise a heading at the start of ``line``; return it and the run-in body text."""
    raw = line.strip()[:_SCAN]
    key = normalize(raw).strip()
    if m := _MD_RE.match(key):
        return Heading(f"md{len(m.group(1))}", None, line.lstrip("#").strip()), ""
    if (m := _PART_RE.match(key)) and len(line.strip()) <= 40:
        return Heading(m.group(2), cn_to_int(m.group(1)), line.strip()), ""
    for kind, rx in _MARKERS:
        # NFKC folds ① into 1, so circled numbers are matched on the raw text only
        if (kind == "circ") != (raw[:1] in _CIRCLED):
            continue
        m = rx.match(raw if kind == "circ" else key)
        if not m:
            continue
        if kind == "dec":
            kind = f"dec{m.group(1).count('.') + 1}"
        number = cn_to_int(m.group(1)) if kind in ("cn", "cnp") else _arabic(m.group(1))
        return _split_run_in(Heading(kind, number, line.strip()), line)
    return None


def _arabic(token: str) -> int | None:
    if token in _CIRCLED:
        return _CIRCLED.index(token) + 1
    head = token.split(".")[-1]
    return int(head) if head.isdigit() else None


def _split_run_in(heading: Heading, line: str) -> tuple[Heading, str] | None:
    """'（一）标题。正文…' → heading '（一）标题', body '正文…'; long first sentences are not headings."""
    text = line.strip()
    cut = next((i for i, ch in enumerate(text[: _HEADING_MAX + 21]) if ch in _SENT_END), None)
    if cut is None:
        if len(text) > _HEADING_MAX + 20:
            return None
        return heading, ""
    if cut > _HEADING_MAX:
        return None
    head, rest = text[:cut], text[cut + 1 :].strip()
    return Heading(heading.kind, heading.number, head), rest


def is_plain_heading(line: str, prev: str | None, nxt: str | None) -> bool:
    """An unnumbered short line standing between paragraphs, e.g. '广饶县基层社会治理现状'."""
    if nxt is None or len(line.strip()) > _PLAIN_HEADING_MAX * 2:
        return False
    key = normalize(line).strip()
    if not 4 <= len(key) <= _PLAIN_HEADING_MAX:
        return False
    if re.search(r"[。！？；;，,:：、]$|[。；;！？]", key) or key[-1] in ")）":
        return False
    if re.match(r"^[\d\s:：.\-/年月日]+$", key):
        return False
    return len(normalize(nxt.strip()[: _SCAN // 2])) > len(key) * 2 or parse_heading(nxt) is not None


def parse_blocks(lines: Sequence[str]) -> list[Block]:
    """Walk lines keeping a heading stack; every body line becomes a Block under it."""
    stack: list[Heading] = []
    blocks: list[Block] = []
    for i, line in enumerate(lines):
        found = parse_heading(line)
        if found is None and is_plain_heading(line, lines[i - 1] if i else None, _get(lines, i + 1)):
            found = Heading("plain", None, line.strip()), ""
        if found is None:
            blocks.append(Block(tuple(stack), line.strip(), i))
            continue
        heading, rest = found
        stack = _push(stack, heading)
        if rest:
            blocks.append(Block(tuple(stack), rest, i))
    return blocks


def _get(seq: Sequence[str], i: int) -> str | None:
    return seq[i] if 0 <= i < len(seq) else None


_FIXED_DEPTH = {"编": 1, "章": 2, "节": 3}
# Numbered kinds that sit below 一、 in every convention (GB/T 9704: 一、 > （一） > 1. > （1）).
_BELOW_CN = ("cnp", "num", "dec", "nump", "circ")


def _push(stack: list[Heading], heading: Heading) -> list[Heading]:
    """Close headings at the same or deeper level, then open ``heading``."""
    kinds = [h.kind for h in stack]
    if heading.kind.startswith("md"):
        depth = int(heading.kind[2:])
        kept = [h for h in stack if h.kind.startswith("md") and int(h.kind[2:]) < depth]
        return [*kept, heading]
    if heading.kind in _FIXED_DEPTH:
        level = _FIXED_DEPTH[heading.kind]
        kept = [h for h in stack if h.kind.startswith("md") or _FIXED_DEPTH.get(h.kind, 9) < level]
        return [*kept, heading]
    if heading.kind in kinds:
        return [*stack[: kinds.index(heading.kind)], heading]
    if heading.kind == "cn":
        # 一、 never nests under 1. or （一）: a text that starts mid-way (an excerpt whose
        # 一、 is missing) must not file the rest of the article under its last 1. heading
        low = next((i for i, k in enumerate(kinds) if k.startswith(_BELOW_CN)), None)
        if low is not None:
            return [*stack[:low], heading]
    return [*stack, heading]


# ---------------------------------------------------------------- regulations


def _article_key(line: str) -> str:
    return normalize(line.strip()[:_SCAN]).strip()


def count_articles(lines: Sequence[str]) -> int:
    return sum(1 for ln in lines if ARTICLE_RE.match(_article_key(ln)))


def is_regulation(lines: Sequence[str]) -> bool:
    """Three or more lines opening with 第X条 make a text a regulation."""
    return count_articles(lines) >= 3


def parse_articles(lines: Sequence[str]) -> list[Block]:
    """One Block per 第X条 article (its 款 and 项 included), under 编/章/节 headings."""
    stack: list[Heading] = []
    blocks: list[Block] = []
    current: list[str] = []
    article: str | None = None
    start = 0

    def flush() -> None:
        if current:
            blocks.append(Block(tuple(stack), "\n".join(current), start, article))

    for i, line in enumerate(lines):
        key = _article_key(line)
        m = ARTICLE_RE.match(key)
        if m:
            flush()
            article, current, start = key[: m.end()].strip(), [line.strip()], i
            continue
        found = parse_heading(line)
        if found and (found[0].kind in _FIXED_DEPTH or found[0].kind.startswith("md")):
            flush()
            current, article = [], None
            stack = _push(stack, found[0])
            continue
        if _is_section_title(line, _get(lines, i + 1)):
            # a short unpunctuated line right before an article: a 节/章 title whose number
            # was lost ("业主大会"), or the second line of a wrapped chapter title
            flush()
            current, article = [], None
            stack = _push(stack, Heading("plain", None, line.strip()))
            continue
        if current:
            current.append(line.strip())
        else:  # preamble text before the first article (序言, 说明)
            blocks.append(Block(tuple(stack), line.strip(), i))
    flush()
    return blocks


def _is_section_title(line: str, nxt: str | None) -> bool:
    if nxt is None or len(line.strip()) > _SECTION_TITLE_MAX:
        return False
    key = normalize(line).strip()
    return (
        bool(key) and not re.search(r"[。！？；;，,:：、)）]", key) and ARTICLE_RE.match(_article_key(nxt)) is not None
    )


# ---------------------------------------------------------------- compilations


def split_parts(
    lines: Sequence[str],
    breaks: Sequence[int] = (),
    places: Callable[[str], frozenset[str]] | None = None,
) -> list[tuple[int, int]]:
    """Line ranges of the logical articles of a compilation; one range for a normal text.

    Strong cues: top-level numbering (一、) restarting or starting above 一 after
    unnumbered text, and ``breaks`` (after 参考文献, at 中图分类号…). A file with at
    least two strong cues is a compilation; then a paragraph naming only regions
    unrelated to those of the current part also starts a part.
    """
    strong = _strong_cuts(lines, breaks)
    if len(strong) < 2:
        return [(0, len(lines))]
    cuts = set(strong)
    if places is not None:
        by_region = _region_cuts(lines, sorted(cuts), places)
        cuts = by_region | set(_strong_cuts(lines, sorted(set(breaks) | by_region)))
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(lines)), len(lines)]
    if places is not None:
        bounds = [
            0,
            *(_opening_back(lines, a, c, places) for a, c in zip(bounds, bounds[1:-1], strict=False)),
            len(lines),
        ]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


_OPENING_MAX = 6  # paragraphs an excerpt's lost first section may leave before its 二、


def _opening_back(lines: Sequence[str], start: int, cut: int, places: Callable[[str], frozenset[str]]) -> int:
    """Move a cut at 二、/三、… back over the place-free paragraphs that open that excerpt.

    An excerpt that starts at 二、 lost its first heading, not its first paragraphs: the
    unheaded paragraphs just before it (naming no place, while the part before names
    places) are its opening, not the end of the previous part.
    """
    found = parse_heading(lines[cut])
    if found is None or found[0].kind != "cn" or not found[0].number or found[0].number < 2:
        return cut
    j = cut
    while j - 1 > start and cut - (j - 1) <= _OPENING_MAX and parse_heading(lines[j - 1]) is None:
        if places(lines[j - 1]):
            break
        j -= 1
    if j == cut or not any(places(ln) for ln in lines[start:j]):
        return cut
    return j


def _strong_cuts(lines: Sequence[str], breaks: Sequence[int]) -> list[int]:
    cuts = [b for b in breaks if b > 3]
    last_top: int | None = None
    numbered_in_part = False
    body_in_part = 0
    for i, line in enumerate(lines):
        if i in breaks:
            last_top, numbered_in_part, body_in_part = None, False, 0
        found = parse_heading(line)
        if found is None:
            body_in_part += 1
            continue
        heading = found[0]
        if heading.kind == "cn" and heading.number is not None:
            restart = last_top is not None and heading.number <= last_top
            late_start = last_top is None and heading.number > 1 and body_in_part >= 3 and not numbered_in_part
            if restart or late_start:
                cuts.append(i)
                numbered_in_part, body_in_part = False, 0
            last_top = heading.number
        numbered_in_part = True
    return sorted(set(cuts))


def _region_cuts(lines: Sequence[str], cuts: list[int], places: Callable[[str], frozenset[str]]) -> set[int]:
    """Paragraphs naming only provinces the current part never named start a part."""
    extra: set[int] = set()
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if i in cuts:
            seen = set()
        found = places(line)
        if not found:
            continue
        if seen and not any(_related(a, b) for a in found for b in seen) and parse_heading(line) is None:
            extra.add(i)
            seen = set()
        seen |= found
    return extra


def _related(a: str, b: str) -> bool:
    """In the same province (adcode prefix): neighbouring cities are one article's comparison."""
    return a[:2] == b[:2]


# ---------------------------------------------------------------- chunking


def chunk(blocks: Sequence[Block], chunk_min: int, chunk_max: int, article_max: int | None = None) -> list[Chunk]:
    """Group consecutive blocks under the same headings into passages of chunk_min..chunk_max chars.

    Articles stay whole unless longer than ``article_max`` (then they split at 款 lines).
    """
    article_max = article_max or chunk_max * 3
    out: list[Chunk] = []
    group: list[Block] = []

    def flush() -> None:
        if group:
            out.extend(_pack(group, chunk_min, chunk_max))
            group.clear()

    for block in blocks:
        if block.article is not None:
            flush()
            path = tuple(h.text for h in block.headings)
            out.extend(Chunk(path, t, block.article) for t in _split_article(block.text, article_max))
            continue
        if group and group[-1].headings != block.headings:
            flush()
        group.append(block)
    flush()
    return out


def _pack(group: Sequence[Block], chunk_min: int, chunk_max: int) -> list[Chunk]:
    path = tuple(h.text for h in group[0].headings)
    pieces = [p for b in group for p in split_sentences(b.text, chunk_max)]
    texts: list[str] = []
    for piece in pieces:
        if (
            texts
            and (len(texts[-1]) < chunk_min or len(texts[-1]) + len(piece) <= chunk_max)
            and len(texts[-1]) + len(piece) <= chunk_max * 1.5
        ):
            texts[-1] = texts[-1] + "\n" + piece
            continue
        texts.append(piece)
    if len(texts) > 1 and len(texts[-1]) < chunk_min and len(texts[-2]) + len(texts[-1]) <= chunk_max * 1.5:
        texts[-2:] = [texts[-2] + "\n" + texts[-1]]
    return [Chunk(path, t) for t in texts]


def split_sentences(text: str, limit: int) -> list[str]:
    """Split an overlong paragraph at sentence ends (。！？；) into pieces of at most ``limit`` chars."""
    if len(text) <= limit:
        return [text]
    sentences = re.findall(rf"[^{_SENT_END}]*[{_SENT_END}]+[”’」』)）]*|[^{_SENT_END}]+$", text)
    pieces: list[str] = []
    for s in sentences:
        if pieces and len(pieces[-1]) + len(s) <= limit:
            pieces[-1] += s
        else:
            pieces.extend(_hard_wrap(s, limit))
    return [p for p in (x.strip() for x in pieces) if p]


def _hard_wrap(text: str, limit: int) -> list[str]:
    """A sentence longer than ``limit`` (rare: tables, run-ons) is cut at commas, then blindly."""
    if len(text) <= limit:
        return [text]
    parts = re.findall(r"[^，,、]*[，,、]?", text)
    out: list[str] = [""]
    for p in parts:
        if len(out[-1]) + len(p) <= limit:
            out[-1] += p
        else:
            out.extend(p[i : i + limit] for i in range(0, len(p), limit))
    return [o for o in out if o]


def _split_article(text: str, limit: int) -> list[str]:
    """Keep an article whole; an overlong one splits at its 款 (line) boundaries."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for para in text.split("\n"):
        if pieces and len(pieces[-1]) + len(para) + 1 <= limit:
            pieces[-1] += "\n" + para
        else:
            pieces.append(para)
    return pieces
