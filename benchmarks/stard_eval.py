"""STARD retrieval quality and latency on an index built by ``stard_build.py``.

Questions: ``../shared/bench/stard/train.jsonl``; the held-out split is every question whose
numeric id is divisible by 5 (≈20 %, never used for tuning). Prints Recall@1/5/10/100,
MRR@10 and nDCG@10 for each mode side by side, then p50/p95 search latency over 200
questions per mode (model loaded, warm). Usage::

    python benchmarks/stard_eval.py [--index benchmarks/out/stard-index] [--split heldout|tune|all]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import retrieve  # noqa: E402
from kb.api import KnowledgeBase  # noqa: E402
from kb.evaluate import Question, evaluate, format_table  # noqa: E402
from kb.settings import Settings  # noqa: E402


def questions(path: Path, split: str) -> list[Question]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        held = int(row["id"]) % 5 == 0
        if split == "all" or (split == "heldout") == held:
            out.append(Question(row["query"], tuple(row["evidence"]), row["id"]))
    return out


def latency(kb: KnowledgeBase, qs: list[Question], mode: str) -> tuple[float, float]:
    kb.search(qs[0].query, k=10, mode=mode)  # warm-up
    times = []
    for q in qs:
        t = time.perf_counter()
        kb.search(q.query, k=10, mode=mode)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def scan_baseline(kb: KnowledgeBase, qs: list[Question]) -> None:
    """Same run, same question vectors: faiss's own exact single-query search against kb's scan."""
    live = retrieve.open_index(kb.settings)
    if live.ann is not None:
        return
    vecs = kb.embedder.embed_queries([q.query for q in qs])
    for name, fn in (
        ("faiss IndexFlatIP.search", lambda v: live.vectors.search(v.reshape(1, -1), 100)),
        ("kb dense_ranked (numpy)", lambda v: retrieve.dense_ranked(live, v, 100, None)),
    ):
        fn(vecs[0])
        times = []
        for v in vecs:
            t = time.perf_counter()
            fn(v)
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"exact top-100 scan, {name:<26} p50 {np.percentile(times, 50):5.1f} ms   p95 {np.percentile(times, 95):5.1f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "benchmarks/out/stard-index"))
    ap.add_argument("--queries", default=str(ROOT.parent / "shared/bench/stard/train.jsonl"))
    ap.add_argument("--split", default="heldout", choices=("heldout", "tune", "all"))
    ap.add_argument("--modes", default="bm25,dense,hybrid")
    ap.add_argument("--k", type=int, default=100)
    args = ap.parse_args()
    qs = questions(Path(args.queries), args.split)
    kb = KnowledgeBase(settings=Settings.load(index_dir=args.index))
    modes = args.modes.split(",")
    results = {m: evaluate(qs, lambda q, m=m: kb.search(q, k=args.k, mode=m)) for m in modes}
    print(f"STARD {args.split}: {len(qs)} questions, k={args.k}, index {args.index}")
    print(format_table(results))
    for m in modes:
        p50, p95 = latency(kb, qs[:200], m)
        print(f"latency {m:<7} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    if "dense" in modes or "hybrid" in modes:
        scan_baseline(kb, qs[:200])
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (index, model and all searches)"
    )
    out = Path(args.index).parent / f"stard_eval_{args.split}.json"
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
