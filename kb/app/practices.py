"""各地做法: practice cards by region, comparable practices from other regions, a region × theme map."""

from __future__ import annotations

import streamlit as st

from kb.app import common


def page() -> None:
    st.title("各地做法")
    kb = common.get_kb()
    if not hasattr(kb, "practices"):
        st.info("这个版本的 kb 还没有做法卡片功能。")
        return
