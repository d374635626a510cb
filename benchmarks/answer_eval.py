"""`kb ask` against the baseline "top-3 search passages as the answer", same index, same run.

    python benchmarks/answer_eval.py                       # evaluation set
    python benchmarks/answer_eval.py --calibrate           # sweep the abstention thresholds
    python benchmarks/answer_eval.py --all                 # + the blind development sets, one line each

Questions (benchmarks/data/answer_questions.jsonl) carry ``kind`` (single | cross |
regulation | none), ``facts`` (verbatim evidence snippets) and, for cross-region questions,
the ``regions`` that answer them. Reported per kind and overall: fact recall (share of facts
found verbatim, whitespace aside, in the answer), citation precision (share of answer
sentences verbatim in the passage they cite), region coverage (share of expected regions
among the cited passages' regions), abstention on unanswerable questions, false abstention
on answerable ones, mean length (characters, citation marks and region leads excluded) and
latency with the model loaded. The index is corpus/ + ../shared/corpus/regulations, built
into benchmarks/out/answer-index on first use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import answer  # noqa: E402
from kb.answer.sentences import is_verbatim, normalise  # noqa: E402
from kb.api import KnowledgeBase  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.types import Answer  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
SOURCES = [ROOT / "corpus", ROOT.parent / "shared" / "corpus" / "regulations"]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def open_kb(index_dir: Path) -> KnowledgeBase:
    kb = KnowledgeBase(settings=Settings.load(index_dir=str(index_dir)), progress=lambda m: print(m, file=sys.stderr))
    if not (index_dir / "manifest.json").exists():
        kb.ingest(SOURCES)
    return kb


def covered(expected: str, region_names) -> bool:
    return any(expected in name for name in region_names)


def score_one(q: dict, text: str, region_names: set[str], found: bool) -> dict:
    facts = q.get("facts") or []
    norm = normalise(text)
    row = {"kind": q["kind"], "answerable": q.get("answerable", True), "found": found, "length": len(text)}
    row["recall"] = sum(normalise(f) in norm for f in facts) / len(facts) if facts else None
    wanted = q.get("regions") or []
    row["regions"] = sum(covered(r, region_names) for r in wanted) / len(wanted) if wanted else None
    return row


def run_ask(kb: KnowledgeBase, q: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    a = kb.ask(q["query"], generate=False)
    took = time.perf_counter() - start
    body = "".join(s.text for s in a.sentences)
    names = {r for h in a.citations for r in h.passage.regions}
    row = score_one(q, body if a.found else "", names, a.found)
    row["precision"] = [is_verbatim(s.text, a.citations[s.citations[0] - 1].passage.text) for s in a.sentences]
    row["length"] = len(body)
    return row, took


def run_baseline(kb: KnowledgeBase, q: dict) -> dict:
    hits = kb.search(q["query"], k=3)
    body = "".join(h.passage.text for h in hits)
    return score_one(q, body, {r for h in hits for r in h.passage.regions}, True)


def summary(rows: list[dict]) -> dict:
    def mean(values):
        values = [v for v in values if v is not None]
        return round(statistics.fmean(values), 3) if values else None

    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    precision = [ok for r in rows for ok in r.get("precision", [])]
    return {
        "n": len(rows),
        "fact_recall": mean(r["recall"] for r in answerable),
        "region_coverage": mean(r["regions"] for r in answerable),
        "abstention": mean(not r["found"] for r in unanswerable),
        "false_abstention": mean(not r["found"] for r in answerable),
        "citation_precision": round(sum(precision) / len(precision), 3) if precision else None,
        "mean_length": mean(r["length"] for r in answerable),
    }


def evaluate(kb: KnowledgeBase, questions: list[dict]) -> None:
    kb.ask("网格化管理", generate=False)  # load the model and the ONNX encoder first
    asked, base, times = [], [], []
    for q in questions:
        row, took = run_ask(kb, q)
        asked.append(row)
        times.append(took)
        base.append(run_baseline(kb, q))
    kinds = ["all", *sorted({q["kind"] for q in questions})]
    keys = ["fact_recall", "region_coverage", "abstention", "false_abstention", "citation_precision", "mean_length"]
    print(f"{'kind':<11}{'n':>4}  " + "  ".join(f"{k:>19}" for k in keys))
    for kind in kinds:
        pick = lambda r, kind=kind: kind == "all" or r["kind"] == kind  # noqa: E731
        a, b = summary([r for r in asked if pick(r)]), summary([r for r in base if pick(r)])
        cells = [f"{_fmt(a[k])} / {_fmt(b[k])}" for k in keys]
        print(f"{kind:<11}{a['n']:>4}  " + "  ".join(f"{c:>19}" for c in cells))
    print("(each cell: kb ask / top-3 search passages)")
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(
        f"ask latency over {len(times)} questions: p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    misses = [
        (q["id"], r["recall"])
        for q, r in zip(questions, asked, strict=True)
        if r["recall"] is not None and r["recall"] < 1
    ]
    print("facts missed (id, recall):", misses)


DEV_SETS = ("dev_single", "dev_regulation", "cross_dev_a", "cross_dev_b")


def evaluate_all(kb: KnowledgeBase) -> None:
    """Every question set, `ask` only: the evaluation set and the development sets written blind
    (by helpers who saw neither code nor answers), then all answerable questions pooled by kind."""
    kb.ask("网格化管理", generate=False)
    pooled, times = [], []
    for name in ("answer_questions", *DEV_SETS):
        rows = []
        for q in read(DATA / f"{name}.jsonl"):
            row, took = run_ask(kb, q)
            rows.append(row)
            times.append(took)
        pooled += rows
        for kind in sorted({r["kind"] for r in rows}):
            print(f"{name:<17} {kind:<11} " + _line(summary([r for r in rows if r["kind"] == kind]), kind))
    for kind in ("single", "regulation", "cross"):
        print(f"{'pooled':<17} {kind:<11} " + _line(summary([r for r in pooled if r["kind"] == kind]), kind))
    print(f"{'pooled':<17} {'answerable':<11} " + _line(summary([r for r in pooled if r["answerable"]]), ""))
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(
        f"ask latency over {len(times)} questions: p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )


def _line(s: dict, kind: str) -> str:
    if kind != "cross":  # the regions a cross-region question asks about; elsewhere the one place named
        s = s | {"region_coverage": None}
    keys = (("n", "n"), ("fact_recall", "recall"), ("region_coverage", "coverage"), ("abstention", "abstention"),
            ("false_abstention", "false abst."), ("mean_length", "length"))  # fmt: skip
    return "  ".join(f"{label} {_fmt(s[k])}" for k, label in keys if s[k] is not None)


def _fmt(x) -> str:
    return "-" if x is None else f"{x:g}"


def calibrate(kb: KnowledgeBase, questions: list[dict]) -> None:
    """Best sentence's (cosine, word share) per question, then the threshold grid on them."""
    s = kb.settings
    signals = []
    for q in questions:
        across = answer.is_cross_region_question(q["query"])
        ev = kb.evidence(q["query"], s.answer_region_passages if across else s.answer_passages, diverse=across)
        if isinstance(ev, Answer):  # nothing to answer from: abstains at any threshold
            signals.append((q, None))
            continue
        cands = answer.extractive.candidates(ev.question_vec, ev.hits, ev.terms, ev.pairs, kb._sentence_vectors, across)
        signals.append((q, (max(c.dense for c in cands), max(c.words for c in cands)) if cands else None))
    for q, sig in signals:
        print(f"{q['id']:<6} {str(q.get('answerable', True)):<6} {sig}  {q['query']}")
    best = []
    for cos in [x / 100 for x in range(74, 90)]:
        for words in [x / 20 for x in range(0, 13)]:
            for sure in [x / 100 for x in range(cos_int(cos), 93)]:
                th = answer.Abstain(cos, words, sure)
                ok = [sig is not None and _passes(sig, th) for _, sig in signals]
                ans = [o for (q, _), o in zip(signals, ok, strict=True) if q.get("answerable", True)]
                una = [not o for (q, _), o in zip(signals, ok, strict=True) if not q.get("answerable", True)]
                false_abst = 1 - sum(ans) / len(ans)
                best.append((false_abst <= 0.05, sum(una) / len(una), -false_abst, cos, words, sure))
    best.sort(reverse=True)
    print("best (false-abstention ≤ 5 %, abstention, -false abstention, min_cosine, min_words, sure_cosine):")
    for row in best[:10]:
        print("  ", row)


def cos_int(cos: float) -> int:
    return int(round(cos * 100))


def _passes(sig: tuple[float, float], th: answer.Abstain) -> bool:
    cosine, words = sig
    return cosine >= th.sure_cosine or (cosine >= th.min_cosine and words >= th.min_words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "benchmarks" / "out" / "answer-index")
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--all", action="store_true", help="every question set, one line per set and kind")
    args = parser.parse_args()
    kb = open_kb(args.index)
    if args.all:
        evaluate_all(kb)
    elif args.calibrate:
        calibrate(kb, read(args.questions or DATA / "calibration_questions.jsonl"))
    else:
        evaluate(kb, read(args.questions or DATA / "answer_questions.jsonl"))


if __name__ == "__main__":
    main()
