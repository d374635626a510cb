"""The frozen records that flow through kb's pipeline.

load → clean → segment → metadata → embed → index → retrieve → answer → practices.
Every stage takes and returns these values; nothing mutates them, so a stage can be
tested on its own and its output cached or compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Document types kb recognises (stored as these strings).
DOC_TYPES = (
    "regulation",  # 法律法规、条例、办法 (第X条)
    "research",  # 研究论文 (摘要/关键词/参考文献)
    "survey",  # 调查/调研报告
    "commentary",  # 评论、媒体文章
    "work_report",  # 工作报告/总结/计划
    "compilation",  # 多篇文章汇编
    "other",
)


@dataclass(frozen=True)
class SourceMeta:
    """Metadata a file format states explicitly (HTML meta tags, docx core properties)."""

    title: str | None = None
    author: str | None = None
    date: str | None = None  # raw string as found; metadata normalises it
    source: str | None = None


@dataclass(frozen=True)
class Source:
    """A loaded file: its text as lines, before cleaning.

    Format-specific structure is already folded into the text: headings found by the
    loader (HTML <h1>…, docx heading styles) are written as markdown ``#`` lines, tables
    as tab-separated rows. Everything downstream therefore reads one plain-text shape.
    """

    path: str
    text: str
    fmt: str  # txt | md | html | pdf | docx
    content_hash: str  # sha256 of the raw bytes
    encoding: str | None = None
    meta: SourceMeta = field(default_factory=SourceMeta)


@dataclass(frozen=True)
class Region:
    """An administrative division resolved against the division data set."""

    code: str  # 6-digit adcode, e.g. 321311
    name: str  # full name, province → … → this, e.g. 江苏省宿迁市宿豫区
    short: str  # the name as written for this level, e.g. 宿豫区
    level: int  # 1 province, 2 city, 3 county


@dataclass(frozen=True)
class Document:
    """One logical document: a file, or one article of a compilation file."""

    doc_id: str
    path: str
    title: str
    author: str | None = None
    date: str | None = None  # YYYY-MM-DD (or YYYY-MM / YYYY when only that is known)
    source: str | None = None  # publisher, e.g. 澎湃新闻
    doc_type: str = "other"
    regions: tuple[str, ...] = ()  # full region names the document is about
    references: tuple[str, ...] = ()
    parent_id: str | None = None  # the file-level document of a compilation part
    part: int = 0  # 0 for a whole file; 1.. for compilation parts
    content_hash: str = ""


@dataclass(frozen=True)
class Passage:
    """The unit of retrieval: a span of one document under one heading."""

    passage_id: str
    doc_id: str
    seq: int  # order within the document
    text: str
    heading_path: tuple[str, ...]  # document title > … > nearest heading
    regions: tuple[str, ...] = ()  # full names, own and inherited
    own_regions: tuple[str, ...] = ()  # named in the passage text itself
    article: str | None = None  # 第X条 for regulation articles


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its document and how it was found."""

    passage: Passage
    document: Document
    score: float
    rank: int
    scores: tuple[tuple[str, float], ...] = ()  # per-retriever scores/ranks, e.g. ("bm25", 12.3)
    duplicates: tuple[tuple[str, str], ...] = ()  # (passage_id, source path) of collapsed copies
    notice: str | None = None  # what the search could not honour, e.g. a named document not in the index


ANSWER_METHODS = ("extractive", "generated")


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer and the sources it rests on.

    ``citations`` are 1-based numbers into ``Answer.citations``. An extractive sentence is
    verbatim from the passage it cites; a generated one is ``supported`` only when the
    check against its cited passages passed. ``group`` is the region lead it belongs to in
    an answer grouped by region (国家层面 for national laws), else None.
    """

    text: str
    citations: tuple[int, ...] = ()
    supported: bool = True
    group: str | None = None


@dataclass(frozen=True)
class Answer:
    """An answer to a question; every claim cites one of ``citations`` by number.

    ``text`` is the whole answer with its ``[n]`` marks; ``citations`` are the cited hits,
    ``[1]…[n]`` in order of first use. ``found`` is False when nothing relevant was found
    (then ``text`` says so and nothing is cited); ``notice`` explains a fallback, e.g. an
    LLM endpoint that failed and the extractive answer shown instead.
    """

    question: str
    text: str
    citations: tuple[Hit, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()
    method: str = "extractive"  # one of ANSWER_METHODS
    found: bool = True
    notice: str | None = None
    grouped: bool = False  # one paragraph per region (questions about practices across places)
    suggestions: tuple[str, ...] = ()  # nearest topics the index has, when nothing was found


@dataclass(frozen=True)
class Filters:
    """Restrictions applied before ranking; None means 'any'.

    ``regions`` match hierarchically (山东省 includes 东营市广饶县), against a passage's own
    and inherited regions. Years compare with the document date's year.
    """

    regions: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    doc_types: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.regions or self.year_from or self.year_to or self.doc_types or self.doc_ids)


@dataclass(frozen=True)
class IndexProblem:
    """One thing `kb check` found wrong in an index folder."""

    file: str  # the damaged file, inside the index folder
    detail: str
    repairable: bool = True  # `kb repair` can fix it (every file but kb.sqlite itself)


@dataclass(frozen=True)
class CheckReport:
    """What `kb check` / KnowledgeBase.check() found: SQLite integrity and agreement of every file."""

    folder: str
    generation: int
    documents: int
    passages: int
    problems: tuple[IndexProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def repairable(self) -> bool:
        return all(p.repairable for p in self.problems)


@dataclass(frozen=True)
class RepairReport:
    """What `kb repair` did: the files it wrote anew and how many passages it had to embed again."""

    generation: int
    problems: tuple[IndexProblem, ...]  # what was wrong before the repair
    embedded: int  # passages whose vectors were missing and were embedded again
    reused: int  # passages whose vectors were intact and kept
    seconds: float


# ---------------------------------------------------------------- practices

CARD_KINDS = ("practice", "rule")  # a measure a place took; a local regulation's distinctive provision


@dataclass(frozen=True)
class Theme:
    """One governance theme of the taxonomy (kb/data/practice_themes.toml or the user's own)."""

    theme_id: str  # stable ascii id, e.g. "grid"
    name: str  # 网格化管理
    description: str  # one line, also what passages are compared with (e5)
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class PracticeCard:
    """A concrete measure taken by a named place, drawn from one passage at ingest time.

    ``region`` is the most specific division (full name, province → … → it) with its
    adcode and level (1 province, 2 city, 3 county); "" / "" / 0 when the place is not a
    division kb knows. ``locality`` is a township, street or village named with it
    (徐碧街道), which the division data does not cover. ``summary`` holds one or two
    sentences verbatim from the passage; ``themes`` are theme names, best first.
    """

    card_id: str
    passage_id: str
    doc_id: str
    region: str  # 福建省三明市梅列区
    region_code: str  # 350402
    level: int
    name: str  # 三长制, or a short head phrase
    kind: str  # one of CARD_KINDS
    summary: tuple[str, ...]
    themes: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()  # 942个网格, 181名调解员, 3.2万户
    year: int | None = None
    score: float = 0.0  # strength of the card (name evidence, themes, figures): orders cards
    locality: str | None = None
    doc_title: str = ""


@dataclass(frozen=True)
class RegionCards:
    """Cards of one region, strongest first (what ``KnowledgeBase.practices`` returns a list of)."""

    region: str  # full name; "" for cards without a known division
    region_code: str
    cards: tuple[PracticeCard, ...]


@dataclass(frozen=True)
class SimilarHit:
    """A passage comparable to the query passage, from another region (``KnowledgeBase.similar``).

    ``region`` is the group the hit counts for (its most specific region, full name; "" for
    national or region-less texts; nested places share the group of the first one found, so
    舟山市普陀区 counts against 舟山市's limit); ``cards`` are the practice cards drawn from the passage.
    Hits come in rounds: the best hit of every region (best region first), then each
    region's second hit, and so on; group by ``region`` in order of first appearance to
    show them region by region.
    """

    hit: Hit
    region: str
    region_code: str
    themes: tuple[str, ...] = ()
    cards: tuple[PracticeCard, ...] = ()


@dataclass(frozen=True)
class CompareCell:
    """One region × theme cell: how many cards, and the strongest one."""

    region: str
    theme: str
    count: int
    best: PracticeCard | None = None


@dataclass(frozen=True)
class Comparison:
    """A region × theme matrix (``KnowledgeBase.compare``); ``cells[i][j]`` is regions[i] × themes[j]."""

    regions: tuple[str, ...]  # full names at the requested level
    themes: tuple[str, ...]  # theme names
    cells: tuple[tuple[CompareCell, ...], ...]
    level: str = "county"  # province | city | county

    def cell(self, region: str, theme: str) -> CompareCell:
        return self.cells[self.regions.index(region)][self.themes.index(theme)]
