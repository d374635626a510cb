"""The Streamlit app through streamlit.testing.v1.AppTest, on a fake-model copy of the session index.

Each test starts the real ``app.py`` on one page (the app opens the page named in the
session key ``kb_page``) and drives it as a user would: ask with a region filter, open
the context and comparable practices, upload a good and a bad file, delete, export a DOCX.
"""

from __future__ import annotations

import io
import shutil

import docx
import pytest
import streamlit as st
from conftest import LOAD_DATA, REPO_ROOT, seed_path
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from kb import errors, export, render
from kb.api import KnowledgeBase

APP = str(REPO_ROOT / "app.py")
GOOD = "社区网格化服务管理工作报告\n\n一、基本情况\n\n本社区划分12个网格，每个网格配备1名专职网格员，负责走访群众、排查矛盾纠纷。"


@pytest.fixture
def env(tmp_path, built_index, monkeypatch):
    """A writable copy of the session index; the app reads its settings from KB_* variables."""
    shutil.copytree(built_index.index_dir, tmp_path / "index")
    (tmp_path / "corpus").mkdir()
    for name, value in {
        "INDEX_DIR": tmp_path / "index",
        "CORPUS_DIR": tmp_path / "corpus",
        "MODEL": "fake",
        "ANSWER_MIN_COSINE": -1,  # the fake model's similarities are not e5's: never abstain on them
        "ANSWER_SURE_COSINE": -1,
        "ANSWER_MIN_WORDS": 0,
        "LLM_BASE_URL": "",
    }.items():
        monkeypatch.setenv(f"KB_{name}", str(value))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()


def open_page(name: str, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["kb_page"] = name
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def no_raw_html(at: AppTest) -> None:
    """No element of the page may render HTML (document text is always escaped Markdown)."""
    from kb.app import STYLE

    assert all(h.proto.body == STYLE for h in at.get("html"))
    assert all(not m.proto.allow_html for m in [*at.markdown, *at.caption])


def ask(at: AppTest, question: str) -> AppTest:
    at.text_input(key="question").input(question)
    return at.button(key="FormSubmitter:ask_form-提问").click().run()


def choose(box, value):
    """Select by the option's value (the widgets show short names of full region names)."""
    return box.select(value)


def test_ask_with_a_region_filter_cites_only_that_region(env):
    at = open_page("ask")
    ok(at)
    choose(at.sidebar.selectbox(key="province"), "山东省").run()
    choose(at.sidebar.selectbox(key="city"), "山东省东营市").run()
    at = ask(at, "网格员待遇低、队伍不稳定怎么办")
    ok(at)
    result = at.session_state["ask_result"]
    answer, hits = result["answer"], result["hits"]
    assert answer.found and answer.citations
    assert result["params"][2].regions == ("山东省东营市",), result["params"]
    assert all(any(r.startswith("山东省东营市") for r in h.passage.regions) for h in [*answer.citations, *hits]), [
        h.passage.regions for h in hits
    ]
    labels = [e.label for e in at.expander]
    assert any(label.startswith("\\[1\\] 广饶县基层社会治理调查") for label in labels)
    assert "提取式回答" in " ".join(c.value for c in at.caption)
    assert any("广饶县基层社会治理调查" in m.value for m in at.markdown)  # a result card's title
    first = hits[0].passage.passage_id
    at.toggle(key=f"context-{first}").set_value(True).run()
    ok(at)
    assert any(m.value.startswith("**▶**") for m in at.markdown)  # the passage between its neighbours
    no_raw_html(at)


def test_a_question_matching_nothing_under_the_filters_says_what_to_do(env):
    at = open_page("ask")
    choose(at.sidebar.selectbox(key="province"), "吉林省").run()
    at.sidebar.multiselect(key="types").select("regulation").run()
    at = ask(at, "物业费怎么收")
    ok(at)
    assert any("筛选" in i.value for i in at.info)


def test_result_and_answer_go_into_the_basket(env):
    at = ask(open_page("ask"), "人民调解委员会怎么组成")
    at.button(key="basket-answer-人民调解委员会怎么组成").click().run()
    first = at.session_state["ask_result"]["hits"][0].passage.passage_id
    at.button(key=f"basket-{first}").click().run()
    ok(at)
    kinds = [i.kind for i in at.session_state["kb_basket"]]
    assert kinds == ["answer", "passage"]


def test_five_result_cards_first_and_the_rest_on_request(env):
    from kb.app import ask as ask_page

    at = ask(open_page("ask"), "网格员待遇")
    hits = at.session_state["ask_result"]["hits"]
    assert len(hits) > ask_page.SHOWN, len(hits)
    titles = lambda: [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:6]]  # noqa: E731
    assert len(titles()) == ask_page.SHOWN
    at.button(key="ask-more").click().run()
    ok(at)
    assert len(titles()) == len(hits)
    assert not [b for b in at.button if b.key == "ask-more"]


def test_document_text_cannot_inject_markup(env):
    hostile = "<script>alert('x')</script> 网格化治理的经验 [点我](javascript:alert(1)) <img src=x onerror=alert(2)>"
    (env / "corpus" / "hostile.txt").write_text("恶意文档\n\n" + hostile * 3, encoding="utf-8")
    with KnowledgeBase() as kb:
        kb.ingest([env / "corpus"])
    at = ask(open_page("ask"), "网格化治理的经验")
    ok(at)
    shown = " ".join(m.value for m in at.markdown)
    assert "\\<script\\>" in shown and "<script>" not in shown
    assert "](javascript" not in shown
    no_raw_html(at)


def test_first_start_builds_the_index_from_the_corpus_then_answers(env, seed_dir):
    shutil.rmtree(env / "index")
    shutil.copy(seed_path(seed_dir, "002"), env / "corpus")
    at = open_page("ask")
    ok(at)
    assert (env / "index" / "manifest.json").exists()
    at = ask(at, "网格员队伍建设")
    ok(at)
    assert at.session_state["ask_result"]["answer"].citations


def test_an_empty_corpus_on_first_start_says_what_to_do(env):
    shutil.rmtree(env / "index")
    at = open_page("ask")
    assert not at.exception
    assert any("没有可读的文档" in e.value for e in at.error)


def test_library_upload_good_and_bad_files(env):
    at = open_page("library")
    ok(at)
    at.file_uploader(key="uploads").set_value(
        [
            ("网格 报告.txt", GOOD.encode(), "text/plain"),
            ("扫描件.pdf", (LOAD_DATA / "image_only.pdf").read_bytes(), "application/pdf"),
        ]
    ).run()
    at.button(key="upload_go").click().run()
    assert not at.exception
    assert any("网格 报告.txt" in s.value and "已加入文库" in s.value for s in at.success)
    assert any("扫描件.pdf" in e.value and "下一步" in e.value for e in at.error)
    uploads = env / "corpus" / "uploads"
    assert [p.name for p in uploads.iterdir()] == ["网格_报告.txt"]
    with KnowledgeBase() as kb:
        assert any(d.path.endswith("网格_报告.txt") for d, _ in kb.documents())
    table = at.dataframe[0].value
    assert any(str(p).endswith("网格_报告.txt") for p in table["文件"])


def test_library_refuses_a_duplicate_upload(env, seed_dir):
    at = open_page("library")
    at.file_uploader(key="uploads").set_value(
        ("again.txt", seed_path(seed_dir, "002").read_bytes(), "text/plain")
    ).run()
    at.button(key="upload_go").click().run()
    assert any("内容完全相同" in e.value for e in at.error)


def test_library_delete_removes_the_document_everywhere(env):
    at = open_page("library")
    with KnowledgeBase() as kb:
        target = next(d.doc_id for d, _ in kb.documents() if d.title == "广饶县基层社会治理调查")
    choose(at.selectbox(key="delete_target"), target).run()
    at.checkbox(key="delete_sure").check().run()
    at.button(key="delete_go").click().run()
    ok(at)
    assert any("已删除" in s.value for s in at.success)
    assert all(t != "广饶县基层社会治理调查" for t in at.dataframe[0].value["标题"])
    at = ask(open_page("ask"), "广饶县网格队伍建设")
    hits = at.session_state["ask_result"]["hits"]
    assert hits and all(h.document.title != "广饶县基层社会治理调查" for h in hits)


def test_library_reindex_shows_the_report(env):
    at = open_page("library")
    at.button(key="reindex_go").click().run()
    ok(at)
    assert any("索引已更新" in s.value for s in at.success)
    assert any("最近一次索引报告" in h.value for h in at.subheader)


def test_export_a_docx_and_reopen_it_with_its_references(env, monkeypatch):
    with KnowledgeBase() as kb:
        hits = kb.search("网格员", k=2) + kb.search("人民调解", k=1, doc_type="regulation")
    items = [export.from_hit(h) for h in hits]
    saved: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes) and filename:
            saved[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = open_page("material", kb_basket=list(items))
    ok(at)
    at.button(key="down-0").click().run()  # the second passage first
    at.text_area(key=f"note-0-{items[1].key}").input("第三讲用").run()
    ok(at)
    docx_name = next(n for n in saved if n.endswith(".docx"))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(saved[docx_name])).paragraphs]
    refs = paragraphs[paragraphs.index("参考文献") + 1 :]
    order = [items[1], items[0], items[2]]
    expected_docs = list(dict.fromkeys(i.sources[0].doc_id for i in order))
    by_id = {i.sources[0].doc_id: i.sources[0] for i in items}
    assert refs == [f"[{n}] {export.reference(by_id[d])}" for n, d in enumerate(expected_docs, start=1)]
    assert "批注：第三讲用" in paragraphs
    assert paragraphs[1].startswith("1. 原文摘录：" + items[1].title[:10])
    assert any(r.endswith("[Z].") or "[Z]." in r for r in refs)  # the regulation
    md_name = next(n for n in saved if n.endswith(".md"))
    assert saved[md_name].decode("utf-8").count("[1] ") == 1


def test_an_empty_basket_says_how_to_fill_it(env):
    at = open_page("material")
    ok(at)
    assert "加入素材" in at.info[0].value


def test_a_busy_writer_is_a_chinese_message_and_answers_keep_coming(env):
    from kb.lock import writer_lock

    at = open_page("library")
    with writer_lock(env / "index"):
        at.button(key="reindex_go").click().run()
        assert not at.exception
        assert any("正在被另一个任务更新" in e.value and "下一步" in e.value for e in at.error)
        at = ask(open_page("ask"), "人民调解委员会怎么组成")
        ok(at)
        assert at.session_state["ask_result"]["hits"]


@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (errors.IndexStateError("no index in index/ yet"), "no index in index/ yet"),
        (errors.ModelError("cannot load model"), "cannot load model"),
        (errors.QueryError("未知地区“火星”"), "火星"),
        (errors.ConfigError("top_k must be at least 1"), "top_k"),
        (errors.LoadError("a.pdf", "encrypted PDF"), "encrypted PDF"),
        (RuntimeError("boom"), "boom"),
    ],
)
def test_every_error_becomes_chinese_with_a_next_step(exc, fragment):
    from kb.app.common import user_message

    msg = user_message(exc)
    assert "下一步" in msg and fragment in msg


def test_practices_cards_by_region_open_comparable_practices_elsewhere(env):
    at = open_page("practices")
    ok(at)
    regions = [s.value for s in at.subheader]
    assert any(r.startswith("山东省东营市广饶县") for r in regions)
    with KnowledgeBase() as kb:
        card = next(c for g in kb.practices(region="广饶县") for c in g.cards)
    at.button(key=f"card-similar-{card.card_id}").click().run()
    ok(at)
    assert at.session_state["kb_similar_to"] == card.passage_id
    assert "其他地方怎么做" in [s.value for s in at.subheader]
    with KnowledgeBase() as kb:
        shown = kb.similar(card.passage_id, per_region=2, k=10)
    assert shown and all(not h.region.startswith("山东省东营市广饶县") for h in shown)
    text = " ".join(m.value for m in at.markdown)
    assert all(render.escape_md(h.region or "国家层面") in text for h in shown)
    at.button(key="similar_close").click().run()
    assert "其他地方怎么做" not in [s.value for s in at.subheader]
    no_raw_html(at)


def test_practices_theme_filter_and_heatmap_cell(env):
    at = open_page("practices")
    with KnowledgeBase() as kb:
        theme = kb.themes()[0].name
        table = kb.compare(level="city")
    region, cell_theme = next(
        (r, t)
        for r, line in zip(table.regions, table.cells, strict=True)
        for t, c in zip(table.themes, line, strict=True)
        if c.count and r
    )
    at.selectbox(key="practice_theme").select(theme).run()
    ok(at)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    at.selectbox(key="cell_region").select(region).run()
    at.selectbox(key="cell_theme").select(cell_theme).run()
    ok(at)
    assert any(c.value.startswith(f"{region} × {cell_theme}：") for c in at.caption)


def test_a_card_goes_into_the_basket(env):
    at = open_page("practices")
    key = next(b.key for b in at.button if b.key and b.key.startswith("card-basket-"))
    at.button(key=key).click().run()
    ok(at)
    (item,) = at.session_state["kb_basket"]
    assert item.kind == "card" and item.sources
