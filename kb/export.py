"""Teaching material: a basket of passages, answers and practice cards exported as Markdown or
DOCX with numbered references in GB/T 7714-2015 style (作者. 题名[文献类型标志]. 出版者/来源, 日期.).

An item keeps its sentences and the sources each rests on separately from the text, so a
passage that itself contains "[1]" (a research paper's own citation) is never renumbered.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kb.render import heading_label, strip_marks
from kb.types import Answer, Document, Hit

KIND_LABELS = {"passage": "原文摘录", "answer": "问答", "card": "做法"}
_ONLINE = ("网", "新闻", "客户端", "微信", "公众号", "http")


@dataclass(frozen=True)
class Item:
    """One entry of the basket: sentences, each citing 1-based positions in ``sources``."""

    kind: str  # passage | answer | card
    title: str
    sentences: tuple[tuple[str, tuple[int, ...]], ...]
    sources: tuple[Document, ...]
    note: str = ""
    key: str = ""  # what it was made from (passage id, question…), to avoid adding twice


def from_hit(hit: Hit) -> Item:
    """A passage, cited to its document."""
    title = " > ".join(x for x in (hit.document.title, heading_label(hit.passage)) if x)
    return Item("passage", title, ((hit.passage.text, (1,)),), (hit.document,), key=hit.passage.passage_id)


def from_answer(answer: Answer) -> Item:
    """An answer with its citations; each sentence keeps the sources it cites."""
    if answer.sentences:
        leads = [s.group if s.group and (i == 0 or answer.sentences[i - 1].group != s.group) else None
                 for i, s in enumerate(answer.sentences)]  # fmt: skip
        sentences = tuple(
            (f"{lead}：" if lead else "") + strip_marks(s.text) for s, lead in zip(answer.sentences, leads, strict=True)
        )
        sentences = tuple(zip(sentences, (s.citations for s in answer.sentences), strict=True))
    else:
        sentences = ((strip_marks(answer.text), tuple(range(1, len(answer.citations) + 1))),)
    return Item("answer", answer.question, sentences, tuple(h.document for h in answer.citations), key=answer.question)


def from_card(name: str, region: str, text: str, document: Document, key: str = "") -> Item:
    """A practice card: its name and region as the title, its summary cited to its source."""
    return Item("card", f"{region}：{name}" if region else name, ((text, (1,)),), (document,), key=key or name)


def with_note(item: Item, note: str) -> Item:
    return replace(item, note=note)


# ---------------------------------------------------------------- GB/T 7714-2015 references


def type_mark(doc: Document) -> str:
    """文献类型标志 (GB/T 7714-2015 table B.1) for a document type; online news/commentary is EB/OL."""
    if doc.doc_type == "research":
        return "J"
    if doc.doc_type in ("survey", "work_report"):
        return "R"
    if doc.doc_type == "compilation":
        return "G"
    if doc.doc_type == "commentary":
        online = any(w in (doc.source or "") for w in _ONLINE) or doc.path.endswith((".html", ".htm"))
        return "EB/OL" if online else "N"
    return "Z"  # regulations and anything else: 其他


def reference(doc: Document) -> str:
    """One reference: 作者. 题名[标志]. 出版者/来源, 日期. (absent parts are left out)."""
    authors = ", ".join(a.strip() for a in re.split(r"[、，,；;]", doc.author or "") if a.strip())
    head = f"{authors}. " if authors else ""
    tail = ", ".join(x for x in (doc.source, doc.date) if x)
    return f"{head}{doc.title}[{type_mark(doc)}]." + (f" {tail}." if tail else "")


def numbered(items: Sequence[Item]) -> tuple[list[tuple[Item, list[tuple[str, tuple[int, ...]]]]], list[Document]]:
    """Give every distinct source one global number in order of first use.

    Returns each item with its sentences' citations renumbered, and the sources in order.
    """
    order: dict[str, int] = {}
    refs: list[Document] = []
    out = []
    for item in items:
        sentences = []
        for text, cites in item.sentences:
            global_cites = []
            for n in cites:
                if not 1 <= n <= len(item.sources):
                    continue
                doc = item.sources[n - 1]
                if doc.doc_id not in order:
                    refs.append(doc)
                    order[doc.doc_id] = len(refs)
                global_cites.append(order[doc.doc_id])
            sentences.append((text, tuple(dict.fromkeys(global_cites))))
        out.append((item, sentences))
    return out, refs


def _cited(text: str, cites: tuple[int, ...]) -> str:
    return text.strip() + "".join(f"[{n}]" for n in cites)


# ---------------------------------------------------------------- writers


def to_markdown(items: Sequence[Item], title: str = "教学素材") -> str:
    """The basket as Markdown: one section per item, its note as a quote, then 参考文献."""
    body, refs = numbered(items)
    lines = [f"# {title}", ""]
    for i, (item, sentences) in enumerate(body, start=1):
        lines += [f"## {i}. {KIND_LABELS.get(item.kind, item.kind)}：{item.title}", ""]
        lines += ["".join(_cited(t, c) for t, c in sentences), ""]
        if item.note.strip():
            lines += [f"> 批注：{item.note.strip()}", ""]
    if refs:
        lines += ["## 参考文献", ""]
        lines += [f"[{n}] {reference(doc)}  " for n, doc in enumerate(refs, start=1)]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(items: Sequence[Item], target: str | Path | None = None, title: str = "教学素材") -> bytes:
    """The basket as a Word document (python-docx), Chinese fonts set; written to ``target`` if given."""
    from docx import Document as Docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Docx()
    for style in ("Normal", "Title", "Heading 1", "Heading 2"):
        font = doc.styles[style].font
        font.name = "Noto Serif CJK SC" if style == "Normal" else "Noto Sans CJK SC"
        doc.styles[style].element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font.name)
    doc.styles["Normal"].font.size = Pt(11)
    doc.add_heading(title, level=0)
    body, refs = numbered(items)
    for i, (item, sentences) in enumerate(body, start=1):
        doc.add_heading(f"{i}. {KIND_LABELS.get(item.kind, item.kind)}：{item.title}", level=2)
        doc.add_paragraph("".join(_cited(t, c) for t, c in sentences))
        if item.note.strip():
            note = doc.add_paragraph()
            note.add_run(f"批注：{item.note.strip()}").italic = True
    if refs:
        doc.add_heading("参考文献", level=1)
        for n, ref in enumerate(refs, start=1):
            doc.add_paragraph(f"[{n}] {reference(ref)}")
    buf = io.BytesIO()
    doc.save(buf)
    data = buf.getvalue()
    if target is not None:
        Path(target).write_bytes(data)
    return data
