"""What every page shares: the cached KnowledgeBase, Chinese error messages, the material basket.

The model loads once per process and the index once per generation (``st.cache_resource``);
``refresh()`` after an upload, delete or re-index drops the index so no page shows a removed
passage again, while the model stays loaded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from kb import index
from kb.api import KnowledgeBase
from kb.errors import (
    ConfigError,
    IndexDamagedError,
    IndexStateError,
    KBError,
    LoadError,
    ModelError,
    QueryError,
    UploadError,
    WriterBusyError,
)
from kb.export import Item
from kb.settings import Settings

BASKET = "kb_basket"
SIMILAR = "kb_similar_to"  # passage id whose comparable practices the 各地做法 page opens with
PAGE_KEY = "kb_page"  # session key naming the start page
PAGES: dict[str, object] = {}  # page name → st.Page, filled by kb.app.run()


def settings() -> Settings:
    return Settings.load()


@st.cache_resource(show_spinner="正在加载嵌入模型…")
def _embedder(model: str, cache_dir: str):
    from kb.embed import load_embedder

    return load_embedder(Settings.load(model=model, cache_dir=cache_dir))


@st.cache_resource(show_spinner="正在打开索引…")
def _knowledge_base(index_dir: str, model: str, cache_dir: str) -> KnowledgeBase:
    """Questions go through the model's torch-free ONNX export; the full model (torch) is
    loaded only by the first upload, delete or re-index (``writer``), so the page opens fast."""
    s = Settings.load(index_dir=index_dir, model=model, cache_dir=cache_dir)
    kb = KnowledgeBase(settings=s)
    if has_index(s):
        kb.search("基层治理", k=1)  # warm up: open the index, tokenizer, query encoder
    return kb


def get_kb() -> KnowledgeBase:
    """The process-wide KnowledgeBase for the current settings."""
    s = settings()
    return _knowledge_base(s.index_dir, s.model, s.cache_dir)


def refresh() -> None:
    """Forget the opened index and every cached view of it (after the library changed).

    The old KnowledgeBase is not closed: another session may be answering with it right now;
    it is released when the last reference goes."""
    _knowledge_base.clear()
    st.cache_data.clear()


def has_index(s: Settings) -> bool:
    return index.read_manifest(s.index_dir) is not None


def progress_to(bar, note) -> Callable[[float, str], None]:
    """A ``writer`` progress callback: fractions move ``bar``, messages (fraction < 0) go under it."""

    def report(fraction: float, message: str) -> None:
        if fraction >= 0:
            bar.progress(min(fraction, 1.0), text=message)
        else:
            note.caption(message)

    return report


def writer(report: Callable[[float, str], None]) -> KnowledgeBase:
    """A second KnowledgeBase over the same folder for one ingest/delete: the cached one keeps
    answering from the previous generation meanwhile. ``report(fraction, message)`` shows progress."""
    s = get_kb().settings
    model = _embedder(s.model, s.cache_dir)  # the full model, loaded once per process
    return KnowledgeBase(settings=s, embedder=_ProgressEmbedder(model, report), progress=lambda msg: report(-1, msg))


class _ProgressEmbedder:
    """Wraps an embedder so passage embedding (the slow part of an ingest) reports its fraction done."""

    STEP = 64

    def __init__(self, inner, report: Callable[[float, str], None]):
        self.inner, self.report = inner, report
        self.name, self.dim = inner.name, inner.dim

    def embed_queries(self, texts, progress_bar: bool = False):
        return self.inner.embed_queries(texts)

    def embed_sentences(self, texts):
        return self.inner.embed_sentences(texts)

    def embed_passages(self, texts, progress_bar: bool = False):
        texts = list(texts)
        parts = []
        for start in range(0, len(texts), self.STEP):
            parts.append(np.asarray(self.inner.embed_passages(texts[start : start + self.STEP]), dtype=np.float32))
            done = min(start + self.STEP, len(texts))
            self.report(done / len(texts), f"正在向量化：{done}/{len(texts)} 个段落")
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)


# ---------------------------------------------------------------- errors in Chinese


def user_message(exc: BaseException) -> str:
    """A Chinese message saying what went wrong and what to do next (never a traceback)."""
    detail = str(exc)
    if isinstance(exc, WriterBusyError):
        return f"索引正在被另一个任务更新：{detail.split('。')[0]}。下一步：等它结束后再点一次；问答和检索照常可用。"
    if isinstance(exc, IndexDamagedError):
        return f"索引文件损坏（{detail}）。下一步：在终端运行 `kb repair`（或在“文库管理”页点“重新索引”）后刷新本页。"
    if isinstance(exc, UploadError):
        return detail
    if isinstance(exc, LoadError):
        return f"文件“{exc.path}”无法读取：{exc.reason}。下一步：换用文字版 PDF、DOCX、TXT 或 HTML 后重新上传。"
    if isinstance(exc, IndexStateError):
        return (
            f"索引无法使用（{detail}）。下一步：到“文库管理”页点“重新索引”，"
            "或在终端运行 `kb ingest --rebuild corpus/` 后刷新本页。"
        )
    if isinstance(exc, ModelError):
        return (
            f"嵌入模型无法加载（{detail}）。下一步：检查设置 KB_MODEL 和模型目录（默认 ~/.cache/kb），"
            "修正后刷新本页；只用关键词检索可在侧栏选“关键词”。"
        )
    if isinstance(exc, QueryError):
        return f"查询无法执行（{detail}）。下一步：修改问题或放宽侧栏的筛选条件。"
    if isinstance(exc, ConfigError):
        return f"设置有误（{detail}）。下一步：修正对应的 KB_* 环境变量（`kb settings` 列出全部）后重启应用。"
    if isinstance(exc, KBError):
        return f"{detail}"
    return (
        f"出现意外错误（{type(exc).__name__}: {detail}）。下一步：刷新页面重试；"
        "如仍出错，请把这条信息连同操作步骤反馈给维护者。"
    )


def show_error(exc: BaseException) -> None:
    st.error(user_message(exc), icon="⚠️")


# ---------------------------------------------------------------- the material basket


def basket() -> list[Item]:
    return st.session_state.setdefault(BASKET, [])


def add_to_basket(item: Item) -> None:
    items = basket()
    if any(i.kind == item.kind and i.key == item.key for i in items):
        st.toast("已在素材篮中")
        return
    items.append(item)
    st.toast(f"已加入素材篮（共 {len(items)} 条）")


def basket_button(item: Item, key: str, label: str = "加入素材") -> None:
    st.button(label, key=key, on_click=add_to_basket, args=(item,), icon=":material/add_shopping_cart:")


def goto(name: str) -> None:
    """Switch to another page (by its name in kb.app.PAGES)."""
    st.session_state[PAGE_KEY] = name
    page = PAGES.get(name)
    if page is not None:
        st.switch_page(page)
