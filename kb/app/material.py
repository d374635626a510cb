"""素材导出: the basket of passages, answers and cards; reorder, annotate, export DOCX/Markdown."""

from __future__ import annotations

import time

import streamlit as st

from kb import export, render
from kb.app import common


def page() -> None:
    st.title("素材导出")
    items = common.basket()
    if not items:
        st.info("素材篮是空的。在“问答”或“各地做法”页点“加入素材”，把段落、回答或做法卡片收集到这里。", icon="🧺")
        return
    st.caption("调整顺序、写批注，然后导出为 Word（DOCX）或 Markdown；参考文献按 GB/T 7714-2015 格式自动编号。")
    title = st.text_input("标题", value="教学素材", key="material_title")
    for i, item in enumerate(list(items)):
        with st.container(border=True):
            head, up, down, drop = st.columns([12, 1, 1, 1])
            head.markdown(
                f"**{i + 1}. {export.KIND_LABELS.get(item.kind, item.kind)}：{render.escape_md(item.title)}**"
            )
            up.button(
                ":material/arrow_upward:", key=f"up-{i}", help="上移", on_click=_move, args=(i, -1), disabled=i == 0
            )
            down.button(
                ":material/arrow_downward:",
                key=f"down-{i}",
                help="下移",
                on_click=_move,
                args=(i, 1),
                disabled=i == len(items) - 1,
            )
            drop.button(":material/close:", key=f"drop-{i}", help="移出素材篮", on_click=_drop, args=(i,))
            text = "".join(t for t, _ in item.sentences)
            st.markdown(render.escape_md(text[:400] + ("…" if len(text) > 400 else "")))
            refs = dict.fromkeys(export.reference(d) for d in item.sources)
            st.caption(render.escape_md("来源：" + "；".join(refs)))
            note = st.text_area("批注", value=item.note, key=f"note-{i}-{item.key}", height=68)
            if note != item.note:
                items[i] = export.with_note(item, note)
    items = common.basket()
    stamp = time.strftime("%Y%m%d")
    c1, c2, c3 = st.columns([1, 1, 3])
    c1.download_button(
        "导出 DOCX",
        data=export.to_docx(items, title=title),
        file_name=f"教学素材-{stamp}.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        type="primary",
        icon=":material/download:",
        key="export_docx",
    )
    markdown = export.to_markdown(items, title=title)
    c2.download_button(
        "导出 Markdown",
        data=markdown.encode("utf-8"),
        file_name=f"教学素材-{stamp}.md",
        mime="text/markdown",
        icon=":material/download:",
        key="export_md",
    )
    c3.button("清空素材篮", on_click=_clear, icon=":material/delete_sweep:")
    with st.expander("预览参考文献"):
        _, refs = export.numbered(items)
        for n, doc in enumerate(refs, start=1):
            st.markdown(render.escape_md(f"[{n}] {export.reference(doc)}"))


def _move(i: int, step: int) -> None:
    items = common.basket()
    j = i + step
    if 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]


def _drop(i: int) -> None:
    items = common.basket()
    if 0 <= i < len(items):
        items.pop(i)


def _clear() -> None:
    common.basket().clear()
