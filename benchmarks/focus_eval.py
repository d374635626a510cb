"""Named documents, verbatim phrases, diversified ranking and sparse-list weighting: before/after, one run.

Every variant searches the same index with the same loaded model, so differences are the
change alone. Prints, per question set (tests/data/*.jsonl with evidence), hybrid
R@1/R@5/R@10/MRR@10 for each variant; for tests/data/cross_region_questions.jsonl, the mean
number of expected regions among the top 5 with and without ``diverse``; and hybrid search
latency p50/p95. Usage::

    KB_INDEX_DIR=/tmp/idx python benchmarks/focus_eval.py [--sets a.jsonl,b.jsonl] [--variants base,names,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import regions  # noqa: E402
from kb.api import KnowledgeBase  # noqa: E402
from kb.evaluate import evaluate, read_questions  # noqa: E402
from kb.settings import Settings  # noqa: E402

VARIANTS = {
    "base": {"focus_names": False, "focus_phrases": False},
    "names": {"focus_names": True, "focus_phrases": False},
    "phrases": {"focus_names": False, "focus_phrases": True},
    "both": {"focus_names": True, "focus_phrases": True},
}


def coverage(kb: KnowledgeBase, path: Path, diverse: bool) -> float:
    """Mean number of a question's expected regions that the top 5 hits lie in."""
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    total = 0
    for row in rows:
        wanted = [r for name in row["regions"] if (r := regions.resolve(name))]
        hits = kb.search(row["query"], k=5, diverse=diverse)
        codes = [regions.resolve(n) for h in hits for n in h.passage.regions]
        total += sum(any(c and regions.within(c.code, w.code) for c in codes) for w in wanted)
    return total / len(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--latency", type=int, default=100, help="questions timed per variant (0 = skip)")
    args = ap.parse_args()
    sets = [Path(s) for s in args.sets.split(",") if s] or sorted(
        p for p in (ROOT / "tests/data").glob("*.jsonl") if "evidence" in p.read_text(encoding="utf-8")[:400]
    )
    base = Settings.load()
    first = KnowledgeBase(settings=base)
    embedder = first.embedder
    print(f"index {base.index_dir}")
    for name in args.variants.split(","):
        kb = KnowledgeBase(settings=base.replace(**VARIANTS[name]), embedder=embedder)
        for path in sets:
            qs = read_questions(path)
            m = evaluate(qs, lambda q, kb=kb: kb.search(q, k=100, mode="hybrid"))
            print(
                f"{name:<8} {path.name:<36} n={len(qs):<4} R@1 {m['R@1']:.3f}  R@5 {m['R@5']:.3f}  "
                f"R@10 {m['R@10']:.3f}  MRR@10 {m['MRR@10']:.3f}  R@100 {m['R@100']:.3f}"
            )
        if args.latency:
            qs = [q for p in sets for q in read_questions(p)][: args.latency]
            kb.search(qs[0].query, k=10)
            times = []
            for q in qs:
                t = time.perf_counter()
                kb.search(q.query, k=10)
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"{name:<8} latency hybrid k=10 over {len(qs)} questions: p50 {np.percentile(times, 50):.1f} ms  p95 {np.percentile(times, 95):.1f} ms"
            )
        kb.close()
    cross = ROOT / "tests/data/cross_region_questions.jsonl"
    if cross.exists():
        kb = KnowledgeBase(settings=base, embedder=embedder)
        print(
            f"cross-region questions: expected regions in the top 5, mean: plain {coverage(kb, cross, False):.2f}, diverse {coverage(kb, cross, True):.2f}"
        )


if __name__ == "__main__":
    main()
