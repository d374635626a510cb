"""Comparable practices: `similar` against "search with the passage text, drop same-region hits", same run.

Over an index of corpus/ + ../shared/corpus/regulations built with the real model (a copy:
the card step is re-run on it), for every case of benchmarks/data/similar_cases.jsonl:
precision@5, recall@10 (of min(|gold|, 10)), MRR@10 and distinct other regions in the
top 5, for the baseline, `similar` on vectors alone, and `similar` fused with both BM25s.
Each is scored twice: against the rule gold of the cases file (a proxy that under-labels) and
against the pooled hand judgements of benchmarks/data/similar_judgments.jsonl (similar_pool.py).
Also: the card step's time, `similar` p95 latency and `compare` time, and card precision
on the hand-labelled sample benchmarks/data/card_labels.jsonl when present.
Usage: python benchmarks/practices_bench.py --index /tmp/copy-of-index
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import index, store  # noqa: E402
from kb.api import KnowledgeBase  # noqa: E402
from kb.practices import build  # noqa: E402
from kb.practices.similar import group_region, related  # noqa: E402
from kb.settings import Settings  # noqa: E402


def head(text: str) -> str:
    return re.sub(r"\s+", "", text)[:30]


def find_pid(conn, path: str, hd: str) -> str:
    for r in conn.execute(
        "SELECT p.passage_id, p.text FROM passages p JOIN documents d ON d.doc_id=p.doc_id WHERE d.path=?", (path,)
    ):
        if head(r[1]) == hd:
            return r[0]
    raise SystemExit(f"query passage not in the index: {path} {hd}")


def baseline(kb: KnowledgeBase, passage, own: list[str], k: int = 10):
    """Search with the passage text as the query; drop hits of the same region (and so its document)."""
    hits = kb.search(passage.text, k=60)
    out = []
    for h in hits:
        r = group_region(h.passage)
        if r is not None and related(r.code, own):
            continue
        out.append((h.document.path, head(h.passage.text), r.code if r else ""))
    return out[:k]


def scores(ranked, gold: set, k: int = 10) -> dict:
    rel = [(p, hd) in gold for p, hd, _ in ranked[:k]]
    first = next((i for i, x in enumerate(rel) if x), None)
    return {
        "P@5": sum(rel[:5]) / 5,
        "R@10": sum(rel[:10]) / min(len(gold), 10),
        "MRR@10": 0.0 if first is None else 1 / (first + 1),
        "regions@5": len({c for _, _, c in ranked[:5] if c}),
    }


def mean(rows: list[dict]) -> dict:
    return {m: round(float(np.mean([r[m] for r in rows])), 3) for m in rows[0]} if rows else {}


def labelled(conn) -> dict:
    """Theme precision/recall on theme_labels.jsonl and card precision on card_labels.jsonl (hand labels)."""
    data = ROOT / "benchmarks" / "data"
    got = want = hit = 0
    for line in (data / "theme_labels.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pid = find_pid(conn, row["path"], row["head"])
        pred = set(store.themes_of_passages(conn, [pid]).get(pid, []))
        gold = set(row["themes"])
        got, want, hit = got + len(pred), want + len(gold), hit + len(pred & gold)
    cards = {(c.doc_title, c.name): c for c in store.cards(conn)}
    rows = [json.loads(line) for line in (data / "card_labels.jsonl").read_text(encoding="utf-8").splitlines()]
    by_kind = {}
    for kind in ("practice", "rule"):
        mine = [r for r in rows if r["kind"] == kind and (r["doc_title"], r["name"]) in cards]
        by_kind[kind] = f"{sum(r['ok'] for r in mine)}/{len(mine)}"
    found = [r for r in rows if (r["doc_title"], r["name"]) in cards]
    return {
        "theme_precision": round(hit / max(got, 1), 3),
        "theme_recall": round(hit / max(want, 1), 3),
        "theme_passages": len((data / "theme_labels.jsonl").read_text(encoding="utf-8").splitlines()),
        "card_precision": round(sum(r["ok"] for r in found) / max(len(found), 1), 3),
        "card_precision_by_kind": by_kind,
    }


def judgments(path: Path) -> dict[str, tuple[set, set]]:
    """Case id → (relevant, judged) passages of benchmarks/data/similar_judgments.jsonl (see similar_pool.py)."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        seen = {(j["path"], j["head"]) for j in row["judged"]}
        out[row["id"]] = ({(j["path"], j["head"]) for j in row["judged"] if j["rel"]}, seen)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--cases", default=str(ROOT / "benchmarks" / "data" / "similar_cases.jsonl"))
    ap.add_argument("--judgments", default=str(ROOT / "benchmarks" / "data" / "similar_judgments.jsonl"))
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.index)
    kb = KnowledgeBase(settings=settings)
    conn = store.connect(args.index)
    store.set_meta(conn, build.META_KEY, "stale")  # force the card step over every document
    gen = int(store.get_meta(conn, "generation"))
    emb = kb.embedder
    t0 = time.perf_counter()
    build.refresh(conn, lambda: index._load_vectors(Path(args.index), gen, emb.dim), settings, emb)
    card_s = time.perf_counter() - t0
    conn.close()
    live = kb._open()
    cases = [json.loads(line) for line in Path(args.cases).read_text(encoding="utf-8").splitlines()]
    judged = judgments(Path(args.judgments))
    results: dict[str, dict[str, list[dict]]] = {
        f"{m}{g}": {"regulation": [], "report": []} for m in ("baseline", "dense", "similar") for g in ("", "_judged")
    }
    latency, unjudged = [], {}
    for case in cases:
        pid = find_pid(live.conn, case["query"]["path"], case["query"]["head"])
        passage, _ = kb.passage(pid)
        own = [r.code for r in [group_region(passage)] if r]
        gold = {(g["path"], g["head"]) for g in case["gold"]}
        ranked = {"baseline": baseline(kb, passage, own)}
        for name, fusion in (("dense", False), ("similar", True)):
            t = time.perf_counter()
            found = kb.similar(pid, per_region=2, k=10, fusion=fusion)
            if fusion:
                latency.append(time.perf_counter() - t)
            ranked[name] = [(s.hit.document.path, head(s.hit.passage.text), s.region_code) for s in found]
        for name, got in ranked.items():
            results[name][case["kind"]].append(scores(got, gold))
            if case["id"] in judged:
                relevant, seen = judged[case["id"]]
                results[f"{name}_judged"][case["kind"]].append(scores(got, relevant))
                # national texts (no region) are misses by definition: the gold is other regions' passages
                unjudged[name] = unjudged.get(name, 0) + sum(bool(c) and (p, hd) not in seen for p, hd, c in got[:5])
    compare_s = {}
    for level in ("province", "city", "county"):
        t = time.perf_counter()
        kb.compare(level=level)
        compare_s[level] = round(time.perf_counter() - t, 3)
    out = {
        "cases": len(cases),
        "index_passages": live.conn.execute("SELECT count(*) FROM passages").fetchone()[0],
        "card_step_s": round(card_s, 2),
        "cards": dict(live.conn.execute("SELECT kind, count(*) FROM practice_cards GROUP BY kind").fetchall()),
        "similar_p95_ms": round(1000 * float(np.percentile(latency, 95)), 1),
        "similar_p50_ms": round(1000 * float(np.percentile(latency, 50)), 1),
        "compare_s": compare_s,
    }
    out |= labelled(live.conn)
    out["top5_unjudged"] = unjudged  # passages in a method's top 5 that nobody judged (counted as misses)
    for name, by_kind in results.items():
        if not by_kind["regulation"] + by_kind["report"]:
            continue
        out[name] = {"all": mean(by_kind["regulation"] + by_kind["report"])} | {k: mean(v) for k, v in by_kind.items()}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
