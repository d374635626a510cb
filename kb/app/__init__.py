"""The Streamlit app: one module per page, one cached KnowledgeBase (see ``common``).

``app.py`` at the repository root sets the page config and calls ``run()``. With no index yet,
the first start builds one from ``corpus_dir`` with a progress bar, then shows the pages.
"""

from __future__ import annotations

import streamlit as st

from kb.app import common

# Streamlit's English input hints ("Press Enter to submit form") hidden; a constant, never document text.
STYLE = "<style>[data-testid='InputInstructions']{display:none}</style>"
PAGES = (
    ("ask", "问答", ":material/question_answer:"),
    ("practices", "各地做法", ":material/map:"),
    ("library", "文库管理", ":material/folder_open:"),
    ("material", "素材导出", ":material/description:"),
)


def run() -> None:
    """Build the index on first start if needed, then show the selected page."""
    st.html(STYLE)
    try:
        s = common.settings()
        if not common.has_index(s):
            first_start(s)
            return
        common.get_kb()
    except Exception as exc:  # noqa: BLE001 - any failure becomes a Chinese message, never a traceback
        common.show_error(exc)
        return
    wanted = st.session_state.get(common.PAGE_KEY, "ask")
    pages = [
        st.Page(_page(name), title=title, icon=icon, url_path=name, default=name == wanted)
        for name, title, icon in PAGES
    ]
    common.PAGES.update({p.url_path: p for p in pages})
    st.navigation(pages).run()


def _page(name: str):
    def show() -> None:
        import importlib

        module = importlib.import_module(f"kb.app.{name}")
        try:
            module.page()
        except Exception as exc:  # noqa: BLE001 - as above (st.rerun/st.stop are BaseExceptions, not caught)
            common.show_error(exc)

    show.__name__ = name
    return show


def first_start(s) -> None:
    """No index yet: build one from the corpus folder with visible progress, then rerun."""
    st.title("治理知库")
    st.info(f"首次启动：正在从 {s.corpus_dir}/ 建立索引，完成后即可提问。文档较多时需要几分钟。")
    bar = st.progress(0.0, text="正在加载模型…")
    report_ = common.writer(common.progress_to(bar, st.empty())).ingest([s.corpus_dir])
    bar.progress(1.0, text="索引已建好")
    errors = [f for f in report_.files if f.status == "error"]
    if not report_.total_passages:
        st.error(
            f"{s.corpus_dir}/ 中没有可读的文档，索引是空的。下一步：把 TXT、MD、HTML、PDF 或 DOCX 文件放进 "
            f"{s.corpus_dir}/ 后刷新本页（或设置 KB_CORPUS_DIR 指向你的文件夹）。"
        )
        return
    if errors:
        st.warning(f"{len(errors)} 个文件无法读取，已跳过；详情见“文库管理”页。")
    common.refresh()
    st.rerun()
