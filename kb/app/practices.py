"""各地做法: practice cards by region, comparable practices from other regions, a region × theme heatmap."""

from __future__ import annotations

import streamlit as st

from kb import export, render
from kb.app import common
from kb.types import PracticeCard

LEVELS = {"省": "province", "市": "city", "县（区）": "county"}
CELL = "practices_cell"  # (region, theme) opened from the heatmap


def page() -> None:
    kb = common.get_kb()
    st.title("各地做法")
    similar_to = st.session_state.get(common.SIMILAR)
    if similar_to:
        show_similar(kb, similar_to)
        st.divider()
    themes = [t.name for t in kb.themes()]
    c1, c2 = st.columns([1, 2])
    theme = c1.selectbox("主题", ["", *themes], format_func=lambda t: t or "全部主题", key="practice_theme")
    query = c2.text_input("或描述一个问题", key="practice_query", placeholder="例：调解员队伍不稳定、小区物业矛盾多")
    cards_tab, map_tab = st.tabs(["做法卡片（按地区）", "地区 × 主题"])
    with cards_tab:
        groups = kb.practices(theme=theme or None, query=query.strip() or None, k=60)
        show_groups(groups)
    with map_tab:
        show_heatmap(kb, theme)


def show_groups(groups) -> None:
    if not groups:
        st.info("没有找到符合条件的做法卡片。下一步：换一个主题，或把问题描述得更具体些。", icon="🔍")
        return
    st.caption(f"{sum(len(g.cards) for g in groups)} 张卡片，来自 {len(groups)} 个地区；地区按卡片强度排序。")
    for group in groups:
        st.subheader(f"{group.region or '未标明地区'}（{len(group.cards)}）")
        cols = st.columns(2)
        for i, card in enumerate(group.cards):
            with cols[i % 2]:
                show_card(card)


def show_card(card: PracticeCard, key_prefix: str = "card") -> None:
    with st.container(border=True):
        kind = "规定" if card.kind == "rule" else "做法"
        where = " ".join(x for x in (card.region, card.locality) if x)
        st.markdown(f"**{render.escape_md(card.name)}** · {kind}")
        meta = " · ".join(x for x in (where, str(card.year or ""), "、".join(card.themes)) if x)
        st.caption(render.escape_md(meta))
        st.markdown(render.escape_md("".join(card.summary)))
        if card.figures:
            st.caption(render.escape_md("数字：" + "、".join(card.figures)))
        st.caption(render.escape_md("来源：" + card.doc_title))
        b1, b2 = st.columns(2)
        if b1.button("其他地方怎么做", key=f"{key_prefix}-similar-{card.card_id}", icon=":material/travel_explore:"):
            st.session_state[common.SIMILAR] = card.passage_id
            st.rerun()
        b2.button(
            "加入素材",
            key=f"{key_prefix}-basket-{card.card_id}",
            on_click=_add_card,
            args=(card,),
            icon=":material/add_shopping_cart:",
        )


def _add_card(card: PracticeCard) -> None:
    found = common.get_kb().passage(card.passage_id)
    if found is None:
        st.toast("这张卡片的来源已不在索引中")
        return
    text = "".join(card.summary)
    common.add_to_basket(export.from_card(card.name, card.region, text, found[1], key=card.card_id))


def show_similar(kb, passage_id: str) -> None:
    """The comparable practices of one passage, from other regions, best region first."""
    found = kb.passage(passage_id)
    head, close = st.columns([6, 1])
    close.button("关闭", key="similar_close", on_click=lambda: st.session_state.pop(common.SIMILAR, None))
    if found is None:
        head.warning("这个段落已不在索引中（可能刚被删除）。")
        return
    passage, document = found
    head.subheader("其他地方怎么做")
    st.caption(render.escape_md(f"对照：{document.title} · {render.region_label(passage.regions)}"))
    st.markdown(render.escape_md(render.snippet(passage.text, "", 200)))
    hits = kb.similar(passage_id, per_region=2, k=10)
    if not hits:
        st.info("其他地区暂无可比的做法。下一步：在“文库管理”页上传更多地区的材料。", icon="🔍")
        return
    regions = list(dict.fromkeys(h.region for h in hits))
    st.caption(f"来自 {len(regions)} 个其他地区的 {len(hits)} 个段落，地区按相似度排序。")
    for region in regions:
        st.markdown(f"**{render.escape_md(region or '国家层面')}**")
        for h in (x for x in hits if x.region == region):
            with st.container(border=True):
                st.caption(
                    render.escape_md(
                        " · ".join(x for x in (h.hit.document.title, render.heading_label(h.hit.passage)) if x)
                    )
                )
                st.markdown(render.escape_md(render.snippet(h.hit.passage.text, "", 240)))
                if h.cards:
                    st.caption(render.escape_md("做法：" + "、".join(c.name for c in h.cards)))
                common.basket_button(export.from_hit(h.hit), key=f"similar-basket-{h.hit.passage.passage_id}")


def show_heatmap(kb, theme: str) -> None:
    """Region × theme card counts (Altair); clicking a cell opens its cards below."""
    import altair as alt

    level = LEVELS[st.radio("地区层级", list(LEVELS), index=1, horizontal=True, key="practice_level")]
    table = kb.compare(level=level)
    rows = [
        {"地区": region, "主题": t, "卡片数": cell.count, "代表做法": cell.best.name if cell.best else ""}
        for region, line in zip(table.regions, table.cells, strict=True)
        for t, cell in zip(table.themes, line, strict=True)
        if cell.count
    ]
    if not rows:
        st.info("索引中还没有做法卡片。", icon="🔍")
        return
    pick = alt.selection_point(fields=["地区", "主题"], name="cell")
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_rect(stroke="white")
        .encode(
            x=alt.X(
                "主题:N",
                sort=list(table.themes),
                axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelLimit=140, title=None),
            ),
            y=alt.Y("地区:N", sort=list(table.regions), axis=alt.Axis(labelOverlap=False, title=None)),
            color=alt.Color("卡片数:Q", scale=alt.Scale(scheme="orangered"), legend=alt.Legend(title="卡片数")),
            tooltip=["地区:N", "主题:N", "卡片数:Q", "代表做法:N"],
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)),
        )
        .add_params(pick)
        .properties(height=max(240, 26 * len(table.regions)))
    )
    event = st.altair_chart(chart, on_select="rerun", key="heatmap", width="stretch")
    chosen = _selected(event)
    regions = [r for r in table.regions if r and any(x["地区"] == r for x in rows)]
    themes = list(table.themes)
    if chosen and chosen != st.session_state.get("cell_clicked") and chosen[0] in regions and chosen[1] in themes:
        st.session_state["cell_clicked"] = chosen  # a click on the chart moves the two pickers below
        st.session_state["cell_region"], st.session_state["cell_theme"] = chosen
    if theme in themes and "cell_theme" not in st.session_state:
        st.session_state["cell_theme"] = theme
    c1, c2 = st.columns(2)
    region = c1.selectbox("地区", regions, key="cell_region")
    cell_theme = c2.selectbox("主题", themes, key="cell_theme")
    if not region:
        return
    groups = kb.practices(theme=cell_theme, region=region, k=20)
    st.caption(f"{region} × {cell_theme}：{sum(len(g.cards) for g in groups)} 张卡片")
    for g in groups:
        for card in g.cards:
            show_card(card, key_prefix="cell")


def _selected(event) -> tuple[str, str] | None:
    """The (region, theme) of the clicked heatmap cell, if any."""
    try:
        points = event["selection"]["cell"]
    except (KeyError, TypeError):
        return None
    if points:
        return points[0].get("地区"), points[0].get("主题")
    return None
