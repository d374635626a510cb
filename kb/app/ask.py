"""问答: a question, the cited answer, and the result cards with their context."""

from __future__ import annotations

import time

import streamlit as st

from kb import export, render
from kb.app import common
from kb.types import Answer, Filters, Hit

MODES = {"综合": "hybrid", "关键词": "bm25", "语义": "dense"}
RESULT = "ask_result"
CARDS = 10  # result cards fetched per question
SHOWN = 5  # drawn at once; the rest behind a button (every card costs the browser time on each answer)
MORE = "ask_more"


@st.cache_data(show_spinner=False)
def facets(index_dir: str) -> dict:
    """Sidebar choices from the index: region tree (full name → short name), years, types, documents."""
    kb = common.get_kb()
    tree: dict[str, dict[str, list[str]]] = {}
    short: dict[str, str] = {}
    for province, cities in sorted(kb.region_tree().items(), key=lambda kv: kv[0].code):
        short[province.name] = province.short
        branch = tree.setdefault(province.name, {})
        for city, counties in sorted(cities.items(), key=lambda kv: kv[0].code if kv[0] else ""):
            if city is None:
                continue
            short[city.name] = city.short
            branch[city.name] = [c.name for c in sorted(counties, key=lambda r: r.code)]
            short.update({c.name: c.short for c in counties})
    docs = kb.documents()
    return {
        "tree": tree,
        "short": short,
        "years": kb.year_range(),
        "types": sorted({d.doc_type for d, _ in docs}),
        "docs": {d.doc_id: d.title for d, _ in docs if not d.parent_id},
    }


def sidebar(f: dict) -> tuple[str, Filters | None]:
    """The filter widgets; returns (mode, filters)."""
    st.sidebar.header("检索设置")
    mode = MODES[st.sidebar.radio("检索方式", list(MODES), horizontal=True, key="mode")]
    name = f["short"].get
    st.sidebar.subheader("地区")
    province = st.sidebar.selectbox("省", ["", *f["tree"]], format_func=lambda x: name(x, "全部"), key="province")
    cities = f["tree"].get(province, {}) if province else {}
    city = st.sidebar.selectbox(
        "市", ["", *cities], format_func=lambda x: name(x, "全部"), key="city", disabled=not cities
    )
    counties = cities.get(city, []) if city else []
    county = st.sidebar.selectbox(
        "县（区）", ["", *counties], format_func=lambda x: name(x, "全部"), key="county", disabled=not counties
    )
    region = county or city or province
    lo, hi = f["years"]
    years = (None, None)
    if lo and hi and lo < hi:
        picked = st.sidebar.slider("年份", lo, hi, (lo, hi), key="years")
        years = (picked[0] if picked[0] > lo else None, picked[1] if picked[1] < hi else None)
    types = st.sidebar.multiselect(
        "文档类型", f["types"], format_func=lambda t: render.DOC_TYPE_LABELS.get(t, t), key="types", placeholder="全部"
    )
    docs = st.sidebar.multiselect(
        "文档", list(f["docs"]), format_func=lambda d: f["docs"].get(d, d), key="docs", placeholder="全部"
    )
    filters = Filters((region,) if region else (), years[0], years[1], tuple(types), tuple(docs))
    return mode, None if filters.is_empty() else filters


def page() -> None:
    kb = common.get_kb()
    mode, filters = sidebar(facets(kb.settings.index_dir))
    st.title("问答")
    with st.form("ask_form", border=False):
        question = st.text_input(
            "问题", key="question", placeholder="例：网格员待遇低、队伍不稳定怎么办？各地怎么做网格化管理？"
        )
        asked = st.form_submit_button("提问", type="primary", icon=":material/search:")
    question = (question or "").strip()
    result = st.session_state.get(RESULT)
    params = (question, mode, filters)
    if question and (asked or (result and result["params"] != params)):
        result = answer_question(kb, question, mode, filters)
        st.session_state[RESULT] = result
    if not result:
        st.caption("输入问题后回车或点“提问”。侧栏可按地区（省 → 市 → 县）、年份、文档类型和文档筛选。")
        return
    show_answer(result["answer"], result["question"], result["seconds"])
    show_cards(kb, result["hits"], result["question"])


def answer_question(kb, question: str, mode: str, filters: Filters | None) -> dict:
    """Ask (streaming into the page when an LLM endpoint answers) and search for the result cards."""
    started = time.perf_counter()
    stream = st.empty()
    streamed: list[str] = []

    def on_token(token: str) -> None:
        streamed.append(token)
        stream.markdown(render.escape_md("".join(streamed)) + " ▌")

    # a still line, not st.spinner: on two cores the spinner's animation slows the answer it waits for
    stream.caption("正在检索和组织回答…")
    hits = kb.search(question, k=CARDS, mode=mode, filters=filters)
    answer = kb.ask(question, mode=mode, filters=filters, on_token=on_token)
    stream.empty()
    return {
        "params": (question, mode, filters),
        "question": question,
        "answer": answer,
        "hits": hits,
        "seconds": time.perf_counter() - started,
    }


def show_answer(answer: Answer, question: str, seconds: float) -> None:
    st.subheader("回答")
    st.caption(render.escape_md(f"问题：{question}"))
    if answer.method == "generated":
        st.caption(f"由大模型生成，已逐句与引用来源核对；标红的句子未获来源支持，请勿直接引用。（{seconds:.2f} 秒）")
    else:
        st.caption(f"提取式回答：每句都是来源原文，[n] 标出处（未配置大模型接口）。（{seconds:.2f} 秒）")
    if answer.notice:
        st.warning(answer.notice, icon="ℹ️")
    if not answer.found:
        st.info(answer.text or "未找到相关内容。", icon="🔍")
        if answer.suggestions:
            st.caption("索引中相近的主题：" + "、".join(answer.suggestions))
        return
    with st.container(border=True):
        st.markdown(render.answer_md(answer))
    terms = render.query_terms(question)
    for n, hit in enumerate(answer.citations, start=1):
        label = f"\\[{n}\\] {render.escape_md(hit.document.title)} · {render.escape_md(render.region_label(hit.passage.regions))}"
        with st.expander(label):
            heading = render.heading_label(hit.passage)
            st.caption(render.escape_md(" · ".join(x for x in (render.hit_meta(hit), heading, hit.document.path) if x)))
            st.markdown(render.highlight_md(hit.passage.text, terms))
    common.basket_button(export.from_answer(answer), key=f"basket-answer-{question}", label="回答加入素材")


def show_cards(kb, hits: list[Hit], question: str) -> None:
    st.subheader(f"检索结果（{len(hits)}）")
    if not hits:
        st.info("没有找到符合条件的段落。下一步：换个说法，或放宽侧栏的地区、年份、类型筛选。", icon="🔍")
        return
    has_similar = hasattr(kb, "similar")
    everything = st.session_state.get(MORE) == question
    for hit in hits if everything else hits[:SHOWN]:
        v = render.hit_view(hit, question)
        with st.container(border=True):
            st.markdown(f"**{hit.rank}. {render.escape_md(v['title'])}**")
            st.caption(render.escape_md(render.hit_meta(hit)))
            if v["heading"]:
                st.caption(render.escape_md(v["heading"]))
            st.markdown(v["snippet_md"])
            if v["duplicates"]:
                st.caption(render.escape_md("另见：" + "；".join(v["duplicates"])))
            cols = st.columns([1, 1.4, 1, 2])
            with cols[0]:
                common.basket_button(export.from_hit(hit), key=f"basket-{v['passage_id']}")
            if has_similar:
                with cols[1]:
                    if st.button("其他地方怎么做", key=f"similar-{v['passage_id']}", icon=":material/travel_explore:"):
                        st.session_state[common.SIMILAR] = v["passage_id"]
                        common.goto("practices")
            with cols[2]:
                # drawn on demand: an expander would run (and send) every card's context on every answer
                context = st.toggle("上下文", key=f"context-{v['passage_id']}")
            if context:
                show_context(kb, hit.passage.passage_id, question)
    rest = 0 if everything else len(hits) - SHOWN
    if rest > 0 and st.button(f"显示其余 {rest} 条结果", key="ask-more", icon=":material/expand_more:"):
        st.session_state[MORE] = question
        st.rerun()


def show_context(kb, passage_id: str, question: str) -> None:
    """The passage between its neighbours in the same document; the passage itself is marked."""
    terms = render.query_terms(question)
    for p in kb.neighbours(passage_id):
        if p.passage_id == passage_id:
            st.markdown("**▶** " + render.highlight_md(p.text, terms))
        else:
            heading = render.heading_label(p)
            st.caption(render.escape_md(heading) if heading else "")
            st.markdown(render.escape_md(p.text))
