"""The `kb` command. The only place (with the app) that turns KBError into user-facing text.

kb                         index corpus/ (incrementally) and answer questions typed at a prompt
kb ingest PATH…            add/update/remove files in the index
kb docs | kb passages ID   list what is indexed
kb search "问题" …          search with filters
kb ask "问题" …             a cited answer (extractive; generated when an LLM endpoint is configured)
kb check | kb repair       verify the index; rebuild damaged derived files from kb.sqlite
kb eval QUERIES.jsonl      Recall/MRR/nDCG for every mode side by side
kb practices | kb similar ID | kb compare   practice cards, comparable passages, region × theme
kb settings                every setting, its KB_* variable and current value
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kb.errors import KBError
from kb.settings import Settings
from kb.types import DOC_TYPES, Filters


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
        mode=getattr(args, "mode", None),
    )


def _kb(args: argparse.Namespace):
    from kb.api import KnowledgeBase

    return KnowledgeBase(settings=_settings(args), progress=_say)


# ---------------------------------------------------------------- ingest


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    wait = True if args.wait else None
    with _kb(args) as kb:
        if args.rebuild:
            report = kb.rebuild(args.paths, strict=args.strict, wait=wait)
        else:
            report = kb.ingest(args.paths, strict=args.strict, wait=wait, repair=args.repair)
    if args.json:
        print(json.dumps(_report_json(report), ensure_ascii=False, indent=2))
    else:
        print_report(report, settings, args.verbose)
    return 0


def print_report(report, settings: Settings, verbose: bool = False) -> None:
    """Per-file lines (errors always, unchanged files only when verbose) and totals."""
    for p in report.repaired:
        print(f"  修复  {p.file}: {p.detail}")
    for f in report.files:
        if f.status in ("error", "skipped"):
            print(f"  {'错误' if f.status == 'error' else '跳过'}  {f.path}: {f.reason}")
        elif f.status != "unchanged" or verbose:
            label = {"added": "新增", "updated": "更新", "removed": "移除", "unchanged": "未变"}[f.status]
            print(f"  {label}  {f.path}  ({f.passages} 段)")
    print(
        f"共 {len(report.files)} 个文件：新增 {report.count('added')}，更新 {report.count('updated')}，"
        f"未变 {report.count('unchanged')}，移除 {report.count('removed')}，错误 {report.count('error')}"
        + (f"，跳过链接 {report.count('skipped')}" if report.count("skipped") else "")
        + "；"
        f"本次向量化 {report.embedded} 段，用时 {report.seconds:.1f} 秒。"
        f"索引现有 {report.total_documents} 篇文档、{report.total_passages} 个段落（{settings.index_dir}/）。"
    )


def _report_json(report) -> dict:
    return {
        "files": [f.__dict__ for f in report.files],
        "totals": {s: report.count(s) for s in ("added", "updated", "unchanged", "removed", "error", "skipped")}
        | {"embedded": report.embedded, "documents": report.total_documents, "passages": report.total_passages},
        "generation": report.generation,
        "seconds": round(report.seconds, 3),
        "repaired": [p.__dict__ for p in report.repaired],
    }


# ---------------------------------------------------------------- check and repair


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when the index is whole, 1 when something is damaged (listed with the next step)."""
    with _kb(args) as kb:
        report = kb.check()
    if args.json:
        print(json.dumps(_check_json(report), ensure_ascii=False, indent=2))
        return 0 if report.ok else 1
    where = f"{report.folder}/（第 {report.generation} 代，{report.documents} 篇文档、{report.passages} 个段落）"
    if report.ok:
        print(f"索引完好：{where}；kb.sqlite、向量、BM25、二元组索引与清单一致。")
        return 0
    print(f"索引有损坏：{where}")
    for p in report.problems:
        print(f"  损坏  {p.file}: {p.detail}")
    if report.repairable:
        print("运行 `kb repair`（或 `kb ingest --repair PATH…`）修复：从 kb.sqlite 重建，只重新向量化缺失的段落。")
    else:
        print("kb.sqlite 本身损坏，无法从其他文件修复：请用 `kb ingest --rebuild PATH…` 对原始文件重建索引。")
    return 1


def _check_json(report) -> dict:
    return {
        "folder": report.folder,
        "ok": report.ok,
        "repairable": report.repairable,
        "generation": report.generation,
        "documents": report.documents,
        "passages": report.passages,
        "problems": [p.__dict__ for p in report.problems],
    }


def cmd_repair(args: argparse.Namespace) -> int:
    with _kb(args) as kb:
        report = kb.repair(force=args.force, wait=True if args.wait else None)
    if args.json:
        data = {k: v for k, v in report.__dict__.items() if k != "problems"}
        print(json.dumps(data | {"problems": [p.__dict__ for p in report.problems]}, ensure_ascii=False, indent=2))
        return 0
    if not report.problems and report.embedded == 0 and not args.force:
        print("索引完好，无需修复。")
        return 0
    for p in report.problems:
        print(f"  已修复  {p.file}: {p.detail}")
    print(
        f"修复完成（第 {report.generation} 代）：保留 {report.reused} 个段落的向量，重新向量化 {report.embedded} 个，"
        f"用时 {report.seconds:.1f} 秒。"
    )
    return 0


# ---------------------------------------------------------------- listing


def doc_json(doc, n: int) -> dict:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "author": doc.author,
        "date": doc.date,
        "source": doc.source,
        "doc_type": doc.doc_type,
        "regions": list(doc.regions),
        "path": doc.path,
        "passages": n,
        "parent_id": doc.parent_id,
        "part": doc.part,
        "references": list(doc.references),
    }


def cmd_docs(args: argparse.Namespace) -> int:
    with _kb(args) as kb:
        rows = kb.documents()
    if args.json:
        print(json.dumps([doc_json(d, n) for d, n in rows], ensure_ascii=False, indent=2))
        return 0
    for d, n in rows:
        indent = "    └ " if d.parent_id else ""
        meta = " | ".join(x for x in (d.author, d.date, d.source, d.doc_type, "、".join(d.regions)) if x)
        print(f"{indent}{d.doc_id}  {d.title}  [{meta}]  {n} 段")
    return 0


def cmd_passages(args: argparse.Namespace) -> int:
    with _kb(args) as kb:
        if kb.document(args.doc_id) is None:
            raise KBError(f"no document {args.doc_id!r}; `kb docs` lists the ids")
        passages = kb.passages(args.doc_id)
    if args.json:
        from kb.render import passage_json

        print(json.dumps([passage_json(p) for p in passages], ensure_ascii=False, indent=2))
        return 0
    for p in passages:
        print(f"[{p.passage_id}] {' > '.join(p.heading_path)}  〔{'、'.join(p.regions) or '无地区'}〕")
        print(f"  {p.text}\n")
    return 0


# ---------------------------------------------------------------- search


def parse_years(text: str | None) -> tuple[int | None, int | None]:
    """'2018-2024', '2018-', '-2020' or '2021' → (from, to)."""
    if not text:
        return None, None
    lo, _, hi = text.partition("-") if "-" in text else (text, "", text)
    try:
        return (int(lo) if lo else None, int(hi) if hi else None)
    except ValueError as exc:
        raise KBError(f"--year expects YYYY, YYYY-YYYY, YYYY- or -YYYY; got {text!r}") from exc


def filters_from(args: argparse.Namespace) -> Filters | None:
    year_from, year_to = parse_years(args.year)
    f = Filters(tuple(args.region or ()), year_from, year_to, tuple(args.type or ()), tuple(args.doc or ()))
    return None if f.is_empty() else f


def cmd_search(args: argparse.Namespace) -> int:
    from kb.retrieve import hit_to_json

    with _kb(args) as kb:
        filters = filters_from(args)
        hits = kb.search(args.query, k=args.k, filters=filters, mode=args.mode, diverse=args.diverse)
    if args.json:
        print(json.dumps([hit_to_json(h) for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("没有找到符合条件的段落。" + ("（筛选条件没有匹配任何段落，请放宽地区/年份/类型。）" if filters else ""))
        return 0
    if hits[0].notice:
        print(f"注意：{hits[0].notice}\n")
    for h in hits:
        print(format_hit(h, args.query))
    return 0


def format_hit(h, query: str = "") -> str:
    from kb.retrieve import snippet

    d, p = h.document, h.passage
    where = "、".join(p.regions) or "无地区"
    meta = " | ".join(x for x in (d.date, d.doc_type, where) if x)
    text = snippet(p.text, query).replace("\n", "\n    ")  # keep multi-line passages indented
    dup = f"\n    另见：{'；'.join(src for _, src in h.duplicates)}" if h.duplicates else ""
    return f"{h.rank}. {' > '.join(p.heading_path)}\n    〔{meta}〕 {d.path}\n    {text}{dup}\n"


def cmd_ask(args: argparse.Namespace) -> int:
    from kb.answer import answer_to_json
    from kb.retrieve import hit_to_json

    with _kb(args) as kb:
        stream = None if args.json or args.extractive or not kb.settings.llm_enabled else _print_token
        answer = kb.ask(
            args.question, k=args.k, filters=filters_from(args), mode=args.mode, on_token=stream,
            generate=False if args.extractive else None,
        )  # fmt: skip
    if args.json:
        print(json.dumps(answer_to_json(answer, hit_to_json), ensure_ascii=False, indent=2))
        return 0
    if stream is not None:
        print("\n")  # the streamed draft ends; the checked answer follows
    print(format_answer(answer))
    return 0


def _print_token(piece: str) -> None:
    print(piece, end="", flush=True)


def format_answer(a) -> str:
    """The answer with its [n] marks, how it was made, then the numbered sources."""
    lines = [a.text, ""]
    if a.notice:
        lines.insert(0, f"（{a.notice}）")
    if not a.found:
        return "\n".join(lines).rstrip()
    how = "由生成模型撰写，逐句核对" if a.method == "generated" else "摘录自原文"
    lines.append(f"来源（{how}）：")
    for n, h in enumerate(a.citations, 1):
        d, p = h.document, h.passage
        meta = "，".join(x for x in (d.author, d.date, "、".join(p.regions) or None) if x)
        lines.append(f"[{n}] {' > '.join(p.heading_path)}" + (f"（{meta}）" if meta else ""))
        lines.append(f"    {d.path}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    from kb.evaluate import evaluate, format_table, read_questions

    questions = read_questions(args.queries)
    results = {}
    with _kb(args) as kb:
        for mode in args.modes.split(","):
            results[mode] = evaluate(questions, lambda q, m=mode: kb.search(q, k=args.k, mode=m))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{len(questions)} 个问题，k={args.k}")
        print(format_table(results))
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    current = Settings.load()
    shown = current.as_dict()
    for name, env, _default, help in Settings.describe():
        value = repr(shown[name]) if name in shown else ("'***'" if getattr(current, name) else "''")
        print(f"{name:<16} {env:<20} {value:<36} {help}")
    return 0


# ---------------------------------------------------------------- practices


def card_json(c) -> dict:
    """The JSON object for one practice card (`kb practices/similar/compare --json`)."""
    return {
        "card_id": c.card_id, "name": c.name, "kind": c.kind, "region": c.region, "region_code": c.region_code,
        "level": c.level, "locality": c.locality, "summary": list(c.summary), "themes": list(c.themes),
        "figures": list(c.figures), "year": c.year, "score": c.score, "passage_id": c.passage_id,
        "doc_id": c.doc_id, "doc_title": c.doc_title,
    }  # fmt: skip


def format_card(c) -> str:
    place = c.region + (f"·{c.locality}" if c.locality else "")
    extra = " | ".join(x for x in ("、".join(c.themes), "、".join(c.figures[:4]), str(c.year or "")) if x)
    return f"  【{c.name}】{place}（{'做法' if c.kind == 'practice' else '规定'}）〔{extra}〕\n    {''.join(c.summary)}"


def cmd_practices(args: argparse.Namespace) -> int:
    with _kb(args) as kb:
        groups = kb.practices(theme=args.theme, region=args.region, query=args.query, k=args.k, kind=args.kind)
    if args.json:
        rows = [
            {"region": g.region, "region_code": g.region_code, "cards": [card_json(c) for c in g.cards]} for g in groups
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not groups:
        print("没有符合条件的实践卡片。（放宽 --theme/--region，或先 `kb ingest`。）")
    for g in groups:
        print(f"{g.region or '未知地区'}（{len(g.cards)}）")
        for c in g.cards:
            print(format_card(c))
        print()
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from kb.retrieve import hit_to_json

    with _kb(args) as kb:
        found = kb.similar(
            args.query, other_regions=not args.same_region, per_region=args.per_region, k=args.k,
            filters=filters_from(args),
        )  # fmt: skip
    if args.json:
        rows = [
            hit_to_json(s.hit) | {"group": s.region, "group_code": s.region_code, "themes": list(s.themes),
                                  "cards": [card_json(c) for c in s.cards]}
            for s in found
        ]  # fmt: skip
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("其他地区没有找到可比的段落。")
    groups: dict[str, list] = {}  # regions in the order of their best hit, each with all its hits
    for s in found:
        groups.setdefault(s.region or "未知地区", []).append(s)
    for region, members in groups.items():
        print(f"== {region}")
        for s in members:
            print(format_hit(s.hit).rstrip())
            for c in s.cards:
                print(f"    ▸ 做法卡片：{c.name}（{'、'.join(c.themes)}）")
            print()
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from kb.practices.compare import to_csv

    with _kb(args) as kb:
        table = kb.compare(regions=args.regions, themes=args.themes, level=args.level, kind=args.kind)
    if args.csv:
        Path(args.csv).write_text(to_csv(table), encoding="utf-8-sig")  # BOM: Excel opens it as UTF-8
        _say(f"已写入 {args.csv}（{len(table.regions)} 个地区 × {len(table.themes)} 个主题）")
    if args.json:
        cells = [
            {"region": c.region, "theme": c.theme, "count": c.count, "best": card_json(c.best) if c.best else None}
            for row in table.cells for c in row if c.count
        ]  # fmt: skip
        print(json.dumps({"level": table.level, "regions": list(table.regions), "themes": list(table.themes),
                          "cells": cells}, ensure_ascii=False, indent=2))  # fmt: skip
        return 0
    if args.csv:
        return 0
    used = [j for j in range(len(table.themes)) if any(row[j].count for row in table.cells)]
    print("地区\t" + "\t".join(table.themes[j] for j in used))
    for region, row in zip(table.regions, table.cells, strict=True):
        print(
            region
            + "\t"
            + "\t".join(f"{row[j].count}" + (f" {row[j].best.name[:12]}" if row[j].best else "") for j in used)
        )
    return 0


# ---------------------------------------------------------------- default job


def cmd_start(args: argparse.Namespace) -> int:
    """Index corpus/ and answer questions typed at the prompt (the README's first command)."""
    settings = _settings(args)
    with _kb(args) as kb:
        print_report(kb.ingest([settings.corpus_dir]), settings)
        if not sys.stdin.isatty():
            print('（标准输入不是终端：索引已建好。用 `kb search "问题"` 检索。）')
            return 0
        print("\n输入问题回车得到回答（例：网格员待遇低、队伍不稳定怎么办？）；输入 s 列出上一问的检索结果；空行退出。")
        last = ""
        while True:
            try:
                query = input("问> ").strip()
            except EOFError:
                break
            if not query:
                break
            try:
                if query.lower() == "s" and last:
                    for h in kb.search(last, k=5):
                        print(format_hit(h, last))
                    continue
                if args.hits:
                    for h in kb.search(query, k=5):
                        print(format_hit(h, query))
                else:
                    print(format_answer(kb.ask(query)) + "\n")
                last = query
            except KBError as exc:
                print(f"kb: {exc}")
    return 0


# ---------------------------------------------------------------- parser


def search_filters(p: argparse.ArgumentParser) -> None:
    """--mode and the filters shared by `kb search` and `kb ask`."""
    p.add_argument("--mode", choices=("hybrid", "dense", "bm25"))
    p.add_argument("--region", action="append", help="region filter, hierarchical (山东省 includes 广饶县); repeatable")
    p.add_argument("--year", help="year or range: 2021, 2018-2024, 2018-, -2020")
    p.add_argument(
        "--type",
        action="append",
        help=f"document type: {', '.join(DOC_TYPES)}",
    )
    p.add_argument("--doc", action="append", help="restrict to a document id (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="治理知库：基层社会治理文档知识库")
    parser.add_argument("--index", help="index folder (default: KB_INDEX_DIR or ./index)")
    parser.add_argument("--model", help="embedding model (default: the embedded multilingual-e5-small)")
    parser.add_argument("--hits", action="store_true", help="prompt: list search hits instead of answering")
    sub = parser.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        # SUPPRESS keeps a `kb --index DIR <command>` value instead of resetting it to None
        p.add_argument("--index", default=argparse.SUPPRESS, help="index folder (default: KB_INDEX_DIR or ./index)")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("ingest", help="add/update/remove files in the index")
    p.add_argument("paths", nargs="+")
    p.add_argument("--strict", action="store_true", help="fail (changing nothing) if any file cannot be read")
    p.add_argument(
        "--rebuild", action="store_true", help="empty the index folder first (refused if it holds non-index files)"
    )
    p.add_argument("--repair", action="store_true", help="rewrite the derived files from kb.sqlite first")
    p.add_argument("--wait", action="store_true", help="wait for another writer instead of failing (KB_INGEST_WAIT)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list unchanged files")
    common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("check", help="verify the index: SQLite integrity, vectors/BM25/manifest agreement")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("repair", help="rebuild damaged derived files from kb.sqlite (re-embeds only lost vectors)")
    p.add_argument("--force", action="store_true", help="rewrite every derived file even if none looks damaged")
    p.add_argument("--wait", action="store_true", help="wait for another writer instead of failing (KB_INGEST_WAIT)")
    common(p)
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("docs", help="list documents and their metadata")
    common(p)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("passages", help="list one document's passages in order")
    p.add_argument("doc_id")
    common(p)
    p.set_defaults(func=cmd_passages)

    p = sub.add_parser("search", help="search passages")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=None, help="hits to return (default: KB_TOP_K; more than 1000 is capped)")
    search_filters(p)
    p.add_argument(
        "--diverse", action="store_true", help="spread the results over documents and regions (各地的做法, 比较)"
    )
    common(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="a cited answer to a question")
    p.add_argument("question")
    p.add_argument("--k", type=int, help="passages the answer may draw on (default: answer_passages)")
    p.add_argument("--extractive", action="store_true", help="never call the LLM endpoint, even when configured")
    search_filters(p)
    common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="Recall@1/5/10/100, MRR@10, nDCG@10 per mode")
    p.add_argument("queries")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--modes", default="bm25,dense,hybrid")
    common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("practices", help="practice cards grouped by region")
    p.add_argument("--theme", action="append", help="theme name or part (网格 → 网格化管理); repeatable")
    p.add_argument("--region", action="append", help="region, hierarchical (山东省 includes 广饶县); repeatable")
    p.add_argument("--query", help="keep cards whose passages a search for this finds")
    p.add_argument("--kind", choices=("practice", "rule"), help="only practices or only local rules")
    p.add_argument("--k", type=int, default=50, help="cards in all (default 50)")
    common(p)
    p.set_defaults(func=cmd_practices)

    p = sub.add_parser("similar", help="comparable passages and practices from other regions")
    p.add_argument("query", help="a passage id (kb passages / kb search --json) or a text")
    p.add_argument("--other-regions", action="store_true", default=True, help="exclude the query's region (default)")
    p.add_argument("--same-region", action="store_true", help="keep the query's own region too")
    p.add_argument("--per-region", type=int, default=2)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--region", action="append", help="only candidates in this region (hierarchical)")
    p.add_argument("--year", help="year or range: 2021, 2018-2024, 2018-, -2020")
    p.add_argument("--type", action="append", help="document type of candidates")
    p.add_argument("--doc", action="append", help="restrict candidates to a document id")
    common(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("compare", help="region × theme matrix of practice cards")
    p.add_argument("--regions", action="append", help="regions to show (hierarchical); repeatable or comma-separated")
    p.add_argument("--themes", action="append", help="themes to show; repeatable or comma-separated")
    p.add_argument("--level", choices=("province", "city", "county"), default="county", help="roll regions up")
    p.add_argument("--kind", choices=("practice", "rule"), help="only practices or only local rules")
    p.add_argument("--csv", help="write the matrix to this CSV file")
    common(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("settings", help="show every setting and its KB_* variable")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", cmd_start)
    try:
        return func(args)
    except KBError as exc:
        print(f"kb: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: interrupted; the index is unchanged or fully updated, never half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
