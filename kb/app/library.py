"""文库管理: the indexed documents, uploads, delete, re-index, and the last ingest report."""

from __future__ import annotations

import streamlit as st

from kb import library, render
from kb.app import common

REPORT = "library_report"
STATUS = {"ok": "已索引", "error": "出错"}
FILE_STATUS = {"added": "新增", "updated": "更新", "unchanged": "未变", "removed": "移除", "error": "错误"}


def page() -> None:
    kb = common.get_kb()
    s = kb.settings
    st.title("文库管理")
    rows = kb.documents()
    files = kb.files()
    table = [
        render.document_view(d, n, STATUS.get(files.get(d.path, ("",))[0], "")) | {"": "└ 部分" if d.parent_id else ""}
        for d, n in rows
    ]
    tops = [d for d, _ in rows if not d.parent_id]
    c1, c2, c3 = st.columns(3)
    c1.metric("文件", len(files))
    c2.metric("文档（含汇编各篇）", len(rows))
    c3.metric("段落", sum(n for _, n in rows))
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=["", "标题", "作者", "日期", "来源", "类型", "地区", "段落数", "状态", "文件"],
    )

    st.subheader("上传文件")
    kinds = [x.lstrip(".") for x in library.SUPPORTED]
    st.caption(
        f"支持 {'、'.join(kinds)}，单个文件不超过 {s.upload_max_mb} MB；保存到 {library.upload_folder(s)}/，"
        "内容与已有文件相同的会被拒绝。上传和索引期间，检索照常使用原来的索引。"
    )
    uploads = st.file_uploader("选择文件", type=kinds, accept_multiple_files=True, key="uploads")
    if uploads and st.button("上传并索引", type="primary", icon=":material/upload:", key="upload_go"):
        upload(uploads)

    st.subheader("删除文档")
    if tops:
        target = st.selectbox(
            "文档", [d.doc_id for d in tops], format_func=lambda i: _label(tops, i), key="delete_target"
        )
        doc = next(d for d in tops if d.doc_id == target)
        inside = library.inside(doc.path, s.corpus_dir)
        st.caption(
            f"将从索引中移除 {doc.path}"
            + (f"，并删除 {s.corpus_dir}/ 中的这个文件。" if inside else "（文件本身保留）。")
        )
        sure = st.checkbox("确认删除", key="delete_sure")
        if st.button("删除", disabled=not sure, icon=":material/delete:", key="delete_go"):
            change(lambda w: w.remove(target, delete_file=True), f"已删除“{doc.title}”。")

    st.subheader("重新索引")
    st.caption(f"按 {s.corpus_dir}/ 和索引中其他文件的当前内容更新索引：只处理新增、修改和已删除的文件。")
    if st.button("重新索引", icon=":material/refresh:", key="reindex_go"):
        change(lambda w: w.reindex(), "索引已更新。")

    show_report(st.session_state.get(REPORT))


def _label(docs, doc_id: str) -> str:
    d = next(x for x in docs if x.doc_id == doc_id)
    return f"{d.title}（{d.path}）"


def upload(uploads) -> None:
    """Each file through the API (checked, saved, ingested); refused ones say why."""
    messages, last = [], None
    for f in uploads:
        try:
            last = run_change(lambda w, f=f: w.add_file(f.name, f.getvalue()), f"正在索引 {f.name}…")
            bad = [r for r in last.files if r.status == "error"]
            if bad:
                messages.append(
                    (
                        "error",
                        f"“{f.name}”无法读取：{bad[0].reason}。下一步：换用文字版 PDF、DOCX、TXT 或 HTML 后重新上传。",
                    )
                )
            else:
                messages.append(("success", f"“{f.name}”已加入文库（{sum(r.passages for r in last.files)} 个段落）。"))
        except Exception as exc:  # noqa: BLE001 - shown as a Chinese message with the next step
            messages.append(("error", common.user_message(exc)))
    if last is not None:
        st.session_state[REPORT] = last
    st.session_state["library_messages"] = messages
    common.refresh()
    st.rerun()


def change(job, done: str) -> None:
    try:
        st.session_state[REPORT] = run_change(job, "正在更新索引…")
        st.session_state["library_messages"] = [("success", done)]
    except Exception as exc:  # noqa: BLE001 - as above
        st.session_state["library_messages"] = [("error", common.user_message(exc))]
    common.refresh()
    st.rerun()


def run_change(job, title: str):
    """Run one ingest/delete on a second KnowledgeBase with a progress bar; the cached one keeps serving."""
    with st.status(title, expanded=True) as status:
        bar = st.progress(0.0)
        result = job(common.writer(common.progress_to(bar, st.empty())))
        bar.progress(1.0, text="完成")
        status.update(label="完成", state="complete", expanded=False)
    return result


def show_report(report) -> None:
    for kind, text in st.session_state.pop("library_messages", []):
        (st.success if kind == "success" else st.error)(text)
    if report is None:
        return
    st.subheader("最近一次索引报告")
    st.caption(
        f"新增 {report.count('added')}，更新 {report.count('updated')}，未变 {report.count('unchanged')}，"
        f"移除 {report.count('removed')}，错误 {report.count('error')}；向量化 {report.embedded} 段，"
        f"用时 {report.seconds:.1f} 秒；索引现有 {report.total_documents} 篇文档、{report.total_passages} 个段落。"
    )
    rows = [
        {"文件": f.path, "结果": FILE_STATUS.get(f.status, f.status), "段落": f.passages, "原因": f.reason or ""}
        for f in report.files
        if f.status != "unchanged"
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
