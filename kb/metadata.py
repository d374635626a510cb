"""Document metadata from the text itself: title, author, date, source, type.

Copied governance texts state their metadata as loose lines at the top ("2016-04-22刘凤",
"来源:澎湃新闻·澎湃号·政务", "时间:2023-08-10 16:51:05", an author's name alone on a
line) or at the bottom ("(本文刊载于…四川日报…)"). ``parse_header`` reads the header zone
line by line and says where the body starts, so those lines never become passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.clean import normalize
from kb.segment import parse_heading
from kb.types import SourceMeta

_HAN = r"\u4e00-\u9fff"
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YM_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_DATE_LINE = re.compile(
    rf"^(?:(?:时间|日期|发布时间|发布日期|发表时间|更新时间)\s*[:：]\s*)?"
    rf"(\d{{4}}\s*[-/.年]\s*\d{{1,2}}\s*[-/.月]\s*\d{{1,2}}\s*日?)"
    rf"(?:\s*\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?\s*([{_HAN}]{{2,4}})?\s*$"
)
_NAME = rf"[{_HAN}·]{{2,5}}"
_AUTHOR_LINE = re.compile(rf"^(?:作者|文|撰稿)?\s*[:：|丨]?\s*({_NAME}(?:[、，,\s]+{_NAME}){{0,5}})$")
_TITLE_AUTHOR = re.compile(rf"^({_NAME}(?:、{_NAME}){{0,4}})\s*[:：]\s*\S")
_SOURCE_LINE = re.compile(r"^(?:来源|来源于|出处|稿源|信息来源|文章来源)\s*[:：]\s*(.+)$")
_ORG_WORDS = re.compile(
    r"大学|学院|党校|研究院|研究所|研究中心|委员会|办公室|智库|政府|局$|厅$|部$|中心$|协会|出版社|编辑部|报社"
)
_SKIP_LINE = re.compile(r"^(关键词|关键字|key\s*words|导言|编者按|摘\s*要\s*[:：]?$|[(（]?作者单位)", re.I)
_BODY_LINE = re.compile(r"^(摘\s*要|〔内容提要〕|\[内容提要\]|内容提要|【摘要】|摘要)")
_PUBLISHED_IN = re.compile(
    rf"(?:刊载于|原载于|原载|刊发于|发表于|刊于|转自)[^。，,]*?《?([{_HAN}]{{2,10}}?(?:日报|晚报|时报|周刊|杂志|报|网))》?"
)
_COMPOUND_SURNAMES = frozenset(
    re.findall("..", "欧阳司马诸葛上官东方皇甫尉迟公孙慕容长孙宇文司徒夏侯令狐独孤南宫西门端木申屠轩辕")
)
_INFO_END = "<!-- INFO END -->"
_HEADER_SCAN = 14
_LONG_LINE = 300  # header lines, notes and titles are shorter; only this much of a line is examined


@dataclass(frozen=True)
class Header:
    """What the top (and tail) of a text says about it, and where its body is."""

    title: str | None
    author: str | None
    date: str | None
    source: str | None
    body_start: int  # first body line
    body_end: int  # one past the last body line (trailing 作者单位 lines excluded)


def normalize_date(raw: str | None) -> str | None:
    """'2016-04-22', '2020-01-13 16:19', '2021年6月29日' → 'YYYY-MM-DD'; None when no full date."""
    if not raw:
        return None
    m = _DATE_RE.search(normalize(raw))
    if m:
        y, mo, d = (int(g) for g in m.groups())
        if 1949 <= y <= 2100 and 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def parse_header(lines: Sequence[str], meta: SourceMeta | None = None, path: str | None = None) -> Header:
    """Read the header zone (title, author, date, source lines) of a cleaned text."""
    meta = meta or SourceMeta()
    if _INFO_END in (ln.strip() for ln in lines):
        return _regulation_header(lines, meta, path)
    title, author, date, source = meta.title, meta.author, normalize_date(meta.date), meta.source
    start = 0
    if lines and re.match(r"^#\s+\S", lines[0]):  # markdown / converted docx or HTML: '# 标题'
        title, start = title or lines[0].lstrip("#").strip(), 1
    for i, line in enumerate(lines[:_HEADER_SCAN]):
        if i < start:
            continue
        if len(line) > _LONG_LINE:  # a paragraph: the header zone is over
            break
        key = normalize(line).strip()
        kind, value = _classify(key, line, title is None)
        if kind == "body":
            break
        start = i + 1
        if kind == "date":
            date = date or normalize_date(value[0])
            author = author or value[1]
        elif kind == "author":
            author = author or value
        elif kind == "source":
            source = source or value
        elif kind == "title":
            title = value
        elif kind == "intro":
            title = title or value
    end = len(lines)
    while end > start and re.match(r"^[(（]?作者单位", normalize(lines[end - 1][:_LONG_LINE]).strip()):
        end -= 1
    if title and not author and (m := _TITLE_AUTHOR.match(normalize(title))):
        author = m.group(1)
    source = _merge_source(source, lines[start:end])
    return Header(title, author, date, source, start, end)


def _classify(key: str, line: str, want_title: bool) -> tuple[str, object]:
    """Label one header-zone line: date, author, source, skip, title, intro or body."""
    if m := _DATE_LINE.match(key):
        return "date", (m.group(1), m.group(2))
    if m := _SOURCE_LINE.match(key):
        return "source", re.split(r"[·•|丨\s]", m.group(1).strip())[0]
    if key.startswith("导言") and (m := re.search(r"\d+篇(.+?)[,，。]", key)):
        return "intro", m.group(1).strip()
    if _BODY_LINE.match(key) or len(key) > 70 or parse_heading(line) is not None:
        return "body", None
    if len(key) > 12 and re.search(r"[。！？!?]$", key):  # a sentence, even when it names a 委员会
        return "body", None
    if _SKIP_LINE.match(key):
        return "skip", None
    if m := _AUTHOR_LINE.match(key):
        if _ORG_WORDS.search(key):
            return "skip", None
        return ("author", m.group(1)) if not want_title or _looks_like_name(key) else ("title", line.strip())
    if _ORG_WORDS.search(key) and len(key) <= 30:
        return "skip", None
    if want_title and len(key) <= 60 and not re.search(r"[。；;]$", key):
        return "title", line.strip()
    return "body", None


def _looks_like_name(key: str) -> bool:
    """A short line before the title is a name: 2–3 characters, or 4 with a compound surname.

    Four-character lines are otherwise titles ('垃圾分类', '养老服务'), not people.
    """
    return len(key) <= 3 or (len(key) == 4 and key[:2] in _COMPOUND_SURNAMES)


def _merge_source(source: str | None, body: Sequence[str]) -> str | None:
    """Add the original publication named in a note ('本文刊载于…四川日报') to the source."""
    for line in list(body[-3:]):
        m = _PUBLISHED_IN.search(_DATE_RE.sub("", normalize(line[-_LONG_LINE:])))
        if m:
            original = m.group(1)
            if not source:
                return original
            if original not in source:
                return f"{source}（原载{original}）"
    return source


def _regulation_header(lines: Sequence[str], meta: SourceMeta, path: str | None = None) -> Header:
    """LawRefBook markdown: '# 标题', an INFO block, '<!-- INFO END -->', then the body.

    The date is the latest adoption or amendment (通过/修订/修正) not after the version
    date in the file name, so each version of a law carries its own date.
    """
    end_info = next(i for i, ln in enumerate(lines) if ln.strip() == _INFO_END)
    title = meta.title or next((ln.lstrip("#").strip() for ln in lines[:end_info] if ln.startswith("#")), None)
    version = date_from_path(path) if path else None
    info = [ln for ln in lines[:end_info] if not ln.startswith("#")]
    events = [d for d in _event_dates(info) if version is None or d <= version]
    dates = events or [d for d in map(normalize_date, info) if d]
    return Header(title, meta.author, max(dates) if dates else version, meta.source, end_info + 1, len(lines))


def _event_dates(info: Sequence[str]) -> list[str]:
    """Dates of adoptions and amendments in an INFO block.

    A line may carry several events ('2009年9月28日 …批准2021年8月31日…第二次修订') and an
    event may wrap onto the next line ('…〈…条例〉\n的决定》修正'), so the block is read as
    one text cut at each date: a piece that says 通过/修订/修正 dates that event.
    """
    text = normalize("\n".join(info))
    found = list(_DATE_RE.finditer(text))
    out = []
    for k, m in enumerate(found):
        piece = text[m.end() : found[k + 1].start() if k + 1 < len(found) else len(text)]
        if re.search(r"通过|修订|修正", piece) and (d := normalize_date(m.group(0))):
            out.append(d)
    return out


def date_from_path(path: str) -> str | None:
    """LawRefBook file names carry the version date: '人民调解法(2010-08-28).md'."""
    m = re.search(r"\((\d{4}-\d{2}-\d{2})\)", Path(path).name)
    return m.group(1) if m else None


def title_from_path(path: str) -> str:
    stem = Path(path).stem
    stem = re.sub(r"\(\d{4}-\d{2}-\d{2}\)$", "", stem)
    return re.sub(r"^\d+_[0-9a-f]{8,}$", "", stem) or Path(path).stem


def part_title(lines: Sequence[str]) -> str:
    """A compilation part has no title line: use its first heading, else its opening words."""
    for line in lines[:6]:
        found = parse_heading(line)
        if found and found[0].kind in ("cn", "cnp", "plain", "md1", "md2"):
            return strip_marker(found[0].text)
    first = lines[0].strip() if lines else ""  # shown to users: keep the original characters
    first = re.split(r"[。！？；：!?;:]", first)[0]
    if len(first) <= 30:
        return first
    cut = max(first.rfind(c, 0, 31) for c in "，,")  # end on a whole clause when one is long enough
    return (first[:cut] if cut >= 10 else first[:30]) + "…"


def strip_marker(text: str) -> str:
    return re.sub(
        r"^([一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十]+[)）]|\d+(\.\d+)*[.、．\s])\s*", "", text
    )


# ---------------------------------------------------------------- document type

_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("survey", re.compile(r"调查|调研|考察报告|实地研究")),
    (
        "work_report",
        re.compile(r"工作报告|工作总结|工作计划|述职|情况汇报|工作要点|工作开展情况|取得的主要成果|工作安排"),
    ),
    ("research", re.compile(r"摘\s*要|内容提要|关键词|参考文献|中图分类号|文献标[志识]码|DOI")),
    ("commentary", re.compile(r"来源[:：]|记者|日报|新闻|评论|观点|专家认为|接受记者采访")),
)
_REGULATION_TITLE = re.compile(r"(法|条例|办法|规定|决定|决议|规则|细则|解释|章程|准则)(\(.*\))?$")
# A legislature's or government's 决定/决议 is a normative document even without 第X条.
_RESOLUTION_TITLE = re.compile(r"(人民代表大会|常务委员会|人民政府|国务院|办公厅).{0,12}关于.+的(决定|决议)$")


def doc_type(title: str, lines: Sequence[str], n_articles: int, has_references: bool, parts: int = 1) -> str:
    """Classify as regulation, survey, work_report, research, commentary, compilation or other."""
    if parts > 1:
        return "compilation"
    head = normalize(title)
    if n_articles >= 3 and (_REGULATION_TITLE.search(head) or n_articles >= 10):
        return "regulation"
    if _RESOLUTION_TITLE.search(head):
        return "regulation"
    for kind, rx in _TYPE_RULES:
        if rx.search(head):
            return kind
    text = normalize("\n".join(ln[:_LONG_LINE] for ln in lines[:40]))
    if has_references:
        return "research"
    for kind, rx in sorted(_TYPE_RULES, key=lambda kr: kr[0] != "research"):
        if rx.search(text):
            return kind
    return "other"
