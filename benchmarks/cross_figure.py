"""The figure bonus of answers about several places, swept on three cross-region question sets.

    python benchmarks/cross_figure.py [--weights 0,0.5,1,1.5,2] [--index DIR]

An answer grouped by region gives each place one or two sentences; the question is generic
(各地…怎么做), so its words and meaning cannot tell a place's concrete measure from a sentence
restating the topic. ``extractive.W_FIGURE`` lifts sentences that state a figure (十五日内,
100至150户, 7大类). Reported per weight: fact recall, region coverage and mean length of
`kb ask` on the cross questions of benchmarks/data/answer_questions.jsonl (the evaluation
set) and of cross_dev_a/b.jsonl (24 questions written for this sweep by two annotators who
saw neither the code nor its answers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import answer_eval as ae  # noqa: E402

from kb.answer import extractive  # noqa: E402

SETS = {"evaluation": "answer_questions.jsonl", "dev A": "cross_dev_a.jsonl", "dev B": "cross_dev_b.jsonl"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="0,0.5,1,1.5,2")
    ap.add_argument("--index", type=Path, default=ROOT / "benchmarks" / "out" / "answer-index")
    args = ap.parse_args()
    kb = ae.open_kb(args.index)
    sets = {name: [q for q in ae.read(ae.DATA / f) if q["kind"] == "cross"] for name, f in SETS.items()}
    print(f"{'W_FIGURE':>8}  " + "  ".join(f"{n + ': recall / coverage / length':>36}" for n in sets))
    for w in (float(x) for x in args.weights.split(",")):
        extractive.W_FIGURE = w
        cells = []
        for qs in sets.values():
            s = ae.summary([ae.run_ask(kb, q)[0] for q in qs])
            cells.append(f"{s['fact_recall']:.3f} / {s['region_coverage']:.3f} / {s['mean_length']:.0f}")
        print(f"{w:>8g}  " + "  ".join(f"{c:>36}" for c in cells))


if __name__ == "__main__":
    main()
