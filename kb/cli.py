"""The `kb` command. The only place (with the app) that turns KBError into user-facing text.

kb                         index corpus/ (incrementally) and ask questions interactively
kb ingest PATH…            add/update/remove files in the index
kb docs | kb passages ID   list what is indexed
kb search "问题" …          search with filters
kb eval QUERIES.jsonl      Recall/MRR/nDCG for every mode side by side
kb practices | kb similar ID | kb compare   practice cards, comparable passages, region × theme
kb settings                every setting, its KB_* variable and current value
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from kb.errors import KBError
from kb.settings import Settings
from kb.types import Filters


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
    if args.rebuild and Path(settings.index_dir).exists():
        shutil.rmtree(settings.index_dir)
    with _kb(args) as kb:
        report = kb.ingest(args.paths, strict=args.strict)
    if args.json:
        print(json.dumps(_report_json(report), ensure_ascii=False, indent=2))
    else:
        print_report(report, settings, args.verbose)
    return 0


def print_report(report, settings: Settings, verbose: bool = False) -> None:
    """Per-file lines (errors always, unchanged files only when verbose) and totals."""
    for f in report.files:
        if f.status == "error":
            print(f"  错误  {f.path}: {f.reason}")
        elif f.status != "unchanged" or verbose:
            label = {"added": "新增", "updated": "更新", "removed": "移除", "unchanged": "未变"}[f.status]
            print(f"  {label}  {f.path}  ({f.passages} 段)")
    print(
        f"共 {len(report.files)} 个文件：新增 {report.count('added')}，更新 {report.count('updated')}，"
        f"未变 {report.count('unchanged')}，移除 {report.count('removed')}，错误 {report.count('error')}；"
        f"本次向量化 {report.embedded} 段，用时 {report.seconds:.1f} 秒。"
        f"索引现有 {report.total_documents} 篇文档、{report.total_passages} 个段落（{settings.index_dir}/）。"
    )


def _report_json(report) -> dict:
    return {
        "files": [f.__dict__ for f in report.files],
        "totals": {s: report.count(s) for s in ("added", "updated", "unchanged", "removed", "error")}
        | {"embedded": report.embedded, "documents": report.total_documents, "passages": report.total_passages},
        "generation": report.generation,
        "seconds": round(report.seconds, 3),
    }


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
        rows = [
            {
                "passage_id": p.passage_id,
                "doc_id": p.doc_id,
                "seq": p.seq,
                "text": p.text,
                "heading_path": list(p.heading_path),
                "regions": list(p.regions),
                "own_regions": list(p.own_regions),
                "article": p.article,
            }
            for p in passages
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
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
    for name, env, _default, help in Settings.describe():
        print(f"{name:<16} {env:<20} {getattr(current, name)!r:<36} {help}")
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
    last = None
    for s in found:
        if s.region != last:
            print(f"== {s.region or '未知地区'}")
            last = s.region
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
        print("\n输入问题回车检索（例：网格员待遇低、队伍不稳定怎么办？），空行退出。")
        while True:
            try:
                query = input("问> ").strip()
            except EOFError:
                break
            if not query:
                break
            try:
                for h in kb.search(query, k=5):
                    print(format_hit(h, query))
            except KBError as exc:
                print(f"kb: {exc}")
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="治理知库：基层社会治理文档知识库")
    parser.add_argument("--index", help="index folder (default: KB_INDEX_DIR or ./index)")
    parser.add_argument("--model", help="embedding model (default: the embedded multilingual-e5-small)")
    sub = parser.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        # SUPPRESS keeps a `kb --index DIR <command>` value instead of resetting it to None
        p.add_argument("--index", default=argparse.SUPPRESS, help="index folder (default: KB_INDEX_DIR or ./index)")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("ingest", help="add/update/remove files in the index")
    p.add_argument("paths", nargs="+")
    p.add_argument("--strict", action="store_true", help="fail (changing nothing) if any file cannot be read")
    p.add_argument("--rebuild", action="store_true", help="delete the index folder first")
    p.add_argument("-v", "--verbose", action="store_true", help="also list unchanged files")
    common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("docs", help="list documents and their metadata")
    common(p)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("passages", help="list one document's passages in order")
    p.add_argument("doc_id")
    common(p)
    p.set_defaults(func=cmd_passages)

    p = sub.add_parser("search", help="search passages")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--mode", choices=("hybrid", "dense", "bm25"))
    p.add_argument("--region", action="append", help="region filter, hierarchical (山东省 includes 广饶县); repeatable")
    p.add_argument("--year", help="year or range: 2021, 2018-2024, 2018-, -2020")
    p.add_argument(
        "--type",
        action="append",
        help="document type: regulation, research, survey, commentary, work_report, compilation, other",
    )
    p.add_argument("--doc", action="append", help="restrict to a document id (repeatable)")
    p.add_argument(
        "--diverse", action="store_true", help="spread the results over documents and regions (各地的做法, 比较)"
    )
    common(p)
    p.set_defaults(func=cmd_search)

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
