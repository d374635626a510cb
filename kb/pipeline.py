"""From a loaded file to documents and passages: clean → metadata → segment → regions.

``parse_source`` is pure: the same Source and settings always give the same documents
and passages with the same ids, which is what lets ingest skip unchanged files and
keep passage ids stable.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kb import regions
from kb.clean import clean
from kb.metadata import date_from_path, doc_type, parse_header, part_title, strip_marker, title_from_path
from kb.segment import Block, chunk, count_articles, is_regulation, parse_articles, parse_blocks, split_parts
from kb.settings import Settings
from kb.types import Document, Passage, Region, Source

# Bump when parsing changes what passages a file yields: every file is then re-parsed
# on the next ingest (vectors of unchanged passage texts are reused, not recomputed).
# 4: character-bigram BM25 added to the index; 5: current division table joined;
# 6: regions are subjects only (no affiliations or comparisons), towns resolve through the
# county a document names, self-referring texts (我省) take their publisher's region,
# compilation excerpts that lost their opening no longer glue onto the part before.
PIPELINE_VERSION = 6


def pipeline_key(settings: Settings) -> str:
    """Identifies the parsing that produced an index: code version and chunk sizes."""
    return f"{PIPELINE_VERSION}:{settings.chunk_min}:{settings.chunk_max}"


@dataclass(frozen=True)
class Parsed:
    documents: tuple[Document, ...]  # file-level first, then compilation parts
    passages: tuple[Passage, ...]
    removed: tuple[str, ...]  # boilerplate lines dropped, for the report


def doc_id_for(path: str) -> str:
    """Stable id of a file's document, from its path (so edits keep the id)."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:12]


def passage_id_for(doc_id: str, seq: int, text: str) -> str:
    """Stable passage id from content and position."""
    return hashlib.sha1(f"{doc_id}\x00{seq}\x00{text}".encode()).hexdigest()[:16]


def parse_source(source: Source, settings: Settings, path: str | None = None) -> Parsed:
    """Turn one loaded file into its document(s) and passages."""
    path = path or source.path
    cleaned = clean(source.text)
    header = parse_header(cleaned.lines, source.meta, path)
    body = cleaned.lines[header.body_start : header.body_end]
    breaks = [b - header.body_start for b in cleaned.breaks if header.body_start < b < header.body_end]
    title = header.title or title_from_path(path)
    base = Document(
        doc_id=doc_id_for(path),
        path=path,
        title=title,
        author=header.author,
        date=header.date or date_from_path(path),
        source=header.source,
        references=cleaned.references,
        content_hash=source.content_hash,
    )
    if is_regulation(body):
        doc = _with_regions(base, "regulation", body, title_only=True)
        passages = _passages(doc, parse_articles(body), settings)
        return Parsed((doc,), tuple(passages), cleaned.removed)
    ranges = split_parts(body, breaks, places=_codes)
    if len(ranges) == 1:
        kind = doc_type(title, body, count_articles(body), bool(cleaned.references))
        doc = _with_regions(base, kind, body)
        return Parsed((doc,), tuple(_passages(doc, parse_blocks(body), settings)), cleaned.removed)
    return _compilation(base, body, ranges, settings, cleaned.removed)


def _compilation(base: Document, body: Sequence[str], ranges, settings: Settings, removed) -> Parsed:
    docs: list[Document] = []
    passages: list[Passage] = []
    for k, (a, b) in enumerate(ranges, start=1):
        lines = body[a:b]
        title = part_title(lines)
        part = Document(
            doc_id=f"{base.doc_id}-{k:02d}",
            path=base.path,
            title=title,
            date=base.date,
            source=base.source,
            parent_id=base.doc_id,
            part=k,
            content_hash=base.content_hash,
        )
        part = _with_regions(part, doc_type(title, lines, count_articles(lines), False), lines)
        docs.append(part)
        passages.extend(_passages(part, parse_blocks(lines), settings))
    union = _most_specific([r for d in docs for r in d.regions])
    parent = Document(**{**base.__dict__, "doc_type": "compilation", "regions": union})
    return Parsed((parent, *docs), tuple(passages), removed)


def _passages(doc: Document, blocks: Sequence[Block], settings: Settings) -> list[Passage]:
    doc_regions = tuple(r for name in doc.regions if (r := regions.resolve(name)))
    towns = regions.town_regions(_without_names("\n".join(b.text for b in blocks), doc.author), doc_regions)
    out: list[Passage] = []
    for seq, ch in enumerate(chunk(blocks, settings.chunk_min, settings.chunk_max)):
        path = ch.heading_path
        if path and strip_marker(path[0]) == doc.title:
            path = path[1:]
        heading_regions = _heading_regions(path, doc_regions)
        own = regions.find_regions(_without_names(ch.text, doc.author), context=heading_regions or doc_regions)
        own = _with_towns(own, ch.text, towns)
        inherited = heading_regions or doc_regions
        out.append(
            Passage(
                passage_id=passage_id_for(doc.doc_id, seq, ch.text),
                doc_id=doc.doc_id,
                seq=seq,
                text=ch.text,
                heading_path=(doc.title, *path),
                regions=tuple(r.name for r in (own or inherited)),
                own_regions=tuple(r.name for r in own),
                article=ch.article,
            )
        )
    return out


def _with_towns(found: tuple[Region, ...], text: str, towns: dict[str, Region]) -> tuple[Region, ...]:
    """Add the county of every township or street the text names (桃花镇 → 普陀区), most specific kept."""
    extra = [r for town, r in towns.items() if town in text]
    if not extra:
        return found
    merged = list({r.code: r for r in (*found, *extra)}.values())
    return tuple(_most_specific_regions(merged))


def _heading_regions(path: Sequence[str], doc_regions: tuple[Region, ...]) -> tuple[Region, ...]:
    """Regions named by the nearest heading that names any."""
    for heading in reversed(path):
        found = regions.find_regions(heading, context=doc_regions)
        if found:
            return found
    return ()


def _with_regions(doc: Document, kind: str, body: Sequence[str], title_only: bool = False) -> Document:
    """A document is about the regions its title names, else those its text names most."""
    title = _without_names(doc.title, doc.author)
    found = regions.find_regions(title) or regions.find_regions(title, subjects_only=False)  # 《X市条例》解读
    if not found and not title_only:
        lines = [_without_names(ln, doc.author) for ln in body]
        found = _dominant_regions(lines) or _self_named(lines, doc.source)
    return Document(**{**doc.__dict__, "doc_type": kind, "regions": tuple(r.name for r in found)})


_SELF = re.compile(r"(?:我|本|全)(省|市|县|区)(?![域场属直委级])")
_SELF_LEVEL = {"省": 1, "市": 2, "县": 3, "区": 3}


def _self_named(lines: Sequence[str], source: str | None) -> tuple[Region, ...]:
    """The region of a text that names itself only as 我省/全县 (a provincial paper's commentary).

    When every place the text mentions — its publisher and authors' affiliations included
    (四川日报, 四川省社会科学院) — lies in one region, that region is the subject, cut to
    the level the text refers to (全省 → the province).
    """
    text = "\n".join([*lines, source or ""])
    levels = [_SELF_LEVEL[m.group(1)] for m in _SELF.finditer(text)]
    if not levels:
        return ()
    found = _most_specific_regions(list(regions.find_regions(text, subjects_only=False)))
    if not found:
        return ()
    common = _common_ancestor(found)
    if common is None:
        return ()
    level = min(levels)
    if common.level > level:
        common = next((a for a in regions.ancestors(common) if a.level == level), common)
    return (common,)


def _common_ancestor(found: Sequence[Region]) -> Region | None:
    """The deepest region containing all of ``found``, or None when they span provinces."""
    chains = [(*regions.ancestors(r), r) for r in found]
    common = None
    for level_regions in zip(*chains, strict=False):
        if len({r.code for r in level_regions}) != 1:
            break
        common = level_regions[0]
    return common


def _without_names(text: str, author: str | None) -> str:
    """Remove author names first: 郑泰安 is a person, not 泰安市."""
    for name in re.split(r"[、，,\s]+", author or ""):
        if len(name) >= 2:
            text = text.replace(name, "")
    return text


def _dominant_regions(lines: Sequence[str]) -> tuple[Region, ...]:
    """Regions named in at least two lines and at least a third as often as the most named one."""
    counts: Counter[str] = Counter()
    objs: dict[str, Region] = {}
    context: tuple[Region, ...] = ()
    for line in lines:
        found = regions.find_regions(line, context=context)
        for r in found:
            counts[r.code] += 1
            objs[r.code] = r
        context = found or context
    if not counts:
        return ()
    top = counts.most_common(1)[0][1]
    keep = [objs[c] for c, n in counts.most_common() if n >= 2 and n * 3 >= top]
    return tuple(_most_specific_regions(keep))


def _codes(line: str) -> frozenset[str]:
    """Every place a line names, affiliations included: where compilation parts start."""
    return frozenset(r.code for r in regions.find_regions(line, subjects_only=False))


def _most_specific_regions(found: Sequence[Region]) -> list[Region]:
    """Drop regions that are ancestors of other regions in the list."""
    return [r for r in found if not any(o.code != r.code and regions.within(o.code, r.code) for o in found)]


def _most_specific(names: Sequence[str]) -> tuple[str, ...]:
    objs = [r for n in dict.fromkeys(names) if (r := regions.resolve(n))]
    return tuple(r.name for r in _most_specific_regions(objs))
