"""Views of kb's records for people: dicts for JSON and tables, plain text, and safe Markdown.

The app renders document text only through ``escape_md``/``highlight_md`` here, so a document
holding HTML, ``<script>`` or Markdown syntax shows as the characters it contains and never
turns into markup. No function here returns HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from kb.retrieve import hit_to_json, snippet
from kb.tokens import tokenize
from kb.types import Answer, Document, Hit, Passage

DOC_TYPE_LABELS = {
    "regulation": "法规",
    "research": "研究论文",
    "survey": "调研报告",
    "commentary": "评论",
    "work_report": "工作报告",
    "compilation": "汇编",
    "other": "其他",
}
NATIONAL = "国家层面"
_ASCII_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character CommonMark can escape
_MARK = re.compile(r"\[(\d+)\]")


# ---------------------------------------------------------------- safe Markdown


def escape_md(text: str) -> str:
    """Text as Markdown that renders to exactly these characters (no links, HTML, LaTeX,
    emphasis, lists, headings, code blocks, colour directives or emoji codes); line breaks kept."""
    return _escape(_lines(text))


def _lines(text: str) -> str:
    """Lines without their edge spaces (four leading spaces would make a code block)."""
    return "\n".join(line.strip() for line in (text or "").splitlines())


def _escape(text: str) -> str:
    return _ASCII_PUNCT.sub(r"\\\1", text).replace("\n", "  \n")


def query_terms(query: str) -> list[str]:
    """The question's words worth marking in a passage: two characters or more, longest first."""
    return sorted({t for t in tokenize(query or "") if len(t) >= 2}, key=lambda t: (-len(t), t))


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_match) runs; overlapping terms merge into one run."""
    marked = [False] * len(text)
    lowered = text.lower()
    for term in terms:
        for m in re.finditer(re.escape(term.lower()), lowered):
            marked[m.start() : m.end()] = [True] * (m.end() - m.start())
    spans: list[tuple[str, bool]] = []
    for ch, flag in zip(text, marked, strict=True):
        if spans and spans[-1][1] == flag:
            spans[-1] = (spans[-1][0] + ch, flag)
        else:
            spans.append((ch, flag))
    return spans


def highlight_md(text: str, terms: Sequence[str]) -> str:
    """Escaped Markdown of ``text`` with the query terms on a highlighted background."""
    out = []
    for piece, hit in highlight_spans(_lines(text), terms):
        lines = _escape(piece)
        out.append(f":orange-background[{lines}]" if hit and "\n" not in piece else lines)
    return "".join(out)


# ---------------------------------------------------------------- records → dicts


def region_label(regions: Iterable[str]) -> str:
    return "、".join(regions) or "无地区"


def heading_label(passage: Passage) -> str:
    """The heading path below the document title (the title shows separately)."""
    return " > ".join(passage.heading_path[1:])


def document_view(doc: Document, passages: int | None = None, status: str | None = None) -> dict:
    """One row of the library table."""
    return {
        "doc_id": doc.doc_id,
        "标题": doc.title,
        "作者": doc.author or "",
        "日期": doc.date or "",
        "来源": doc.source or "",
        "类型": DOC_TYPE_LABELS.get(doc.doc_type, doc.doc_type),
        "地区": region_label(doc.regions),
        "段落数": passages if passages is not None else "",
        "状态": status or "",
        "文件": doc.path,
    }


def hit_view(hit: Hit, query: str = "", width: int = 220) -> dict:
    """What a result card shows; ``snippet_md`` is escaped Markdown with the query's terms marked."""
    p, d = hit.passage, hit.document
    stretch = snippet(p.text, query, width) if query else p.text[:width]
    return {
        "passage_id": p.passage_id,
        "doc_id": d.doc_id,
        "title": d.title,
        "author": d.author or "",
        "date": d.date or "",
        "region": region_label(p.regions or d.regions),
        "heading": heading_label(p),
        "doc_type": DOC_TYPE_LABELS.get(d.doc_type, d.doc_type),
        "source": d.path,
        "snippet": stretch,
        "snippet_md": highlight_md(stretch, query_terms(query)),
        "duplicates": [src for _, src in hit.duplicates],
    }


def hit_meta(hit: Hit) -> str:
    """One line of plain metadata: author · date · type · region."""
    d = hit.document
    parts = (d.author, d.date, DOC_TYPE_LABELS.get(d.doc_type, d.doc_type), region_label(hit.passage.regions))
    return " · ".join(x for x in parts if x)


def passage_json(p: Passage) -> dict:
    return {
        "passage_id": p.passage_id,
        "doc_id": p.doc_id,
        "seq": p.seq,
        "text": p.text,
        "heading_path": list(p.heading_path),
        "regions": list(p.regions),
        "own_regions": list(p.own_regions),
        "article": p.article,
    }


def answer_json(answer: Answer) -> dict:
    """Everything an Answer holds, with its citations as `kb search --json` hits (as `kb ask --json`)."""
    from kb.answer import answer_to_json

    return answer_to_json(answer, hit_to_json)


# ---------------------------------------------------------------- answers


def answer_paragraphs(answer: Answer) -> list[tuple[str | None, list[tuple[str, tuple[int, ...], bool]]]]:
    """The answer as (group lead or None, [(sentence, citation numbers, supported)]) paragraphs."""
    if not answer.sentences:
        return [(None, [(strip_marks(answer.text), marks_in(answer.text), True)])] if answer.text else []
    paragraphs: list[tuple[str | None, list]] = []
    for s in answer.sentences:
        if not paragraphs or paragraphs[-1][0] != s.group:
            paragraphs.append((s.group, []))
        paragraphs[-1][1].append((strip_marks(s.text), s.citations, s.supported))
    return paragraphs


def answer_md(answer: Answer) -> str:
    """The answer as escaped Markdown: ``[n]`` marks in blue, unsupported sentences struck red and flagged."""
    out = []
    for group, sentences in answer_paragraphs(answer):
        parts = [f"**{escape_md(group)}**：" if group else ""]
        for text, cites, supported in sentences:
            body = escape_md(text)
            if not supported:
                body = f":red-background[{body}] :red[（未经来源核实）]"
            marks = "".join(f":blue[\\[{n}\\]]" for n in cites)
            parts.append(body + marks)
        out.append("".join(parts))
    return "\n\n".join(out)


def answer_text(answer: Answer) -> str:
    """Plain text: the answer with ``[n]`` marks, then the numbered sources."""
    lines = [answer.text, ""]
    for n, hit in enumerate(answer.citations, start=1):
        lines.append(f"[{n}] {hit.document.title}（{hit_meta(hit)}）{heading_label(hit.passage)}  {hit.document.path}")
    return "\n".join(lines).rstrip()


def strip_marks(text: str) -> str:
    return _MARK.sub("", text).strip()


def marks_in(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(m) for m in _MARK.findall(text)))
