"""Write benchmarks/data/similar_cases.jsonl: query passages and the comparable passages of other regions.

Each sub-topic below was chosen by reading the regulations and seed reports: a family of
same-type documents (title pattern) and a rule saying which of their passages treat the
sub-topic (a keyword in the article's first sentence, or repeated in a report passage).
One case per document with a matching passage: that passage is the query, the matching
passages of the family's documents from other regions are the gold. Passages are named
by document path and the first 30 characters of their text (whitespace removed), so any
segmentation can be scored. Usage: python benchmarks/make_similar_cases.py --index DIR
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.practices.similar import related  # noqa: E402
from kb.regions import resolve  # noqa: E402

VILLAGE = r"实施《(?:中华人民共和国)?村民委员会组织法》"
PER_TOPIC = 8  # cases per sub-topic at most, so no family dominates
# (topic, title regex of the family, keyword in the article's first sentence, "head")
REGULATION_TOPICS = [
    ("村民代表会议", VILLAGE, "村民代表会议", "head"),
    ("村务公开", VILLAGE, "村务公开", "head"),
    ("村务监督", VILLAGE, "村务监督委员会", "head"),
    ("罢免村委会成员", VILLAGE + r"|村民委员会选举办法", "罢免", "head"),
    ("村民小组", VILLAGE, "村民小组", "head"),
    ("首次业主大会", r"物业管理", "首次业主大会", "head"),
    ("专项维修资金", r"物业管理", "专项维修资金", "head"),
    ("信访听证", r"信访条例", "听证", "head"),
    ("志愿服务记录", r"志愿服务", "志愿服务记录", "head"),
]
# Seed report passages: (topic, fragment identifying the query passage, keyword, minimum count in a gold passage)
REPORT_TOPICS = [
    ("网格化", "划定“网格”942个", "网格", 3),
    ("网格化", "以100至150户为单元", "网格", 3),
    ("网格化", "一网多格、一格多员", "网格", 3),
    ("网格化", "“三长制”治理模式", "网格", 2),
    ("矛盾纠纷化解", "选聘专职人民调解员181名", "调解", 2),
    ("便民服务", "“一站式”、“代办式”", "便民服务", 1),
    ("便民服务", "进驻镇(街道)便民服务中心", "便民服务", 1),
    ("社会组织", "逢源人家服务中心", "社会组织", 2),
    ("网格化", "分成40个网格管理服务小组", "网格", 3),
    ("矛盾纠纷化解", "矛盾纠纷联合调解", "调解", 2),
    ("党建引领", "大党委制为龙头", "党组织", 2),
    ("考核监督", "成立了民意访评中心", "考核", 2),
    ("社会组织", "以专业社会工作提升管理服务", "社会组织", 2),
    ("平安建设", "构建社会稳定风险评估体系", "风险", 2),
]


def head(text: str) -> str:
    return re.sub(r"\s+", "", text)[:30]


def article_body(text: str) -> str:
    return re.sub(r"^第[一二三四五六七八九十百零〇\d]+条\s*", "", text.strip())


def first_sentence(text: str) -> str:
    """An article's first sentence states its subject."""
    return re.split(r"[。；：:]", text, maxsplit=1)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "data" / "similar_cases.jsonl"))
    args = ap.parse_args()
    conn = sqlite3.connect(str(Path(args.index) / "kb.sqlite"))
    rows = conn.execute(
        "SELECT p.text, p.regions, d.path, d.title, d.doc_type, d.doc_id FROM passages p"
        " JOIN documents d ON d.doc_id = p.doc_id ORDER BY d.path, p.seq"
    ).fetchall()
    passages = [
        {"text": t, "regions": json.loads(r), "path": path, "title": title, "type": ty, "doc": doc}
        for t, r, path, title, ty, doc in rows
    ]
    cases = []
    for topic, family, keyword, _ in REGULATION_TOPICS:
        members = [
            p for p in passages
            if p["type"] == "regulation" and p["regions"] and re.search(family, p["title"])
            and keyword in first_sentence(article_body(p["text"]))
        ]  # fmt: skip
        for doc in list(dict.fromkeys(p["doc"] for p in members))[:PER_TOPIC]:
            query = next(p for p in members if p["doc"] == doc)
            cases.append(_case(f"reg-{len(cases)}", "regulation", topic, query, members))
    used = set()
    for topic, fragment, keyword, least in REPORT_TOPICS:
        query = next(p for p in passages if fragment in p["text"])
        if query["text"] in used:  # one case per query passage (a long passage may hold several topics)
            continue
        used.add(query["text"])
        members = [p for p in passages if p["text"].count(keyword) >= least]
        cases.append(_case(f"rep-{len(cases)}", "report", topic, query, members))
    cases = [c for c in cases if c["gold"]]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases ({sum(c['kind'] == 'report' for c in cases)} report) → {args.out}")


def _codes(p: dict) -> list[str]:
    return [r.code for n in p["regions"][:1] if (r := resolve(n))]


def _case(cid: str, kind: str, topic: str, query: dict, members: list[dict]) -> dict:
    own = _codes(query)
    gold = [m for m in members if m["doc"] != query["doc"] and _codes(m) and not related(_codes(m)[0], own)]
    return {
        "id": cid,
        "kind": kind,
        "topic": topic,
        "query": {"path": query["path"], "head": head(query["text"])},
        "regions": query["regions"],
        "gold": [{"path": m["path"], "head": head(m["text"])} for m in gold],
    }


if __name__ == "__main__":
    main()
