"""Region precision/recall per passage against the hand-written fixture, before and after.

``tests/data/passage_regions.jsonl`` holds, for every passage of the five seeds and a
sample of regulation articles, the regions a reader gives it (written from the text, not
from kb's output). A passage is found by the file and the opening words of its text.
Micro precision = correct / predicted regions, recall = correct / expected regions, and
the share of passages whose region set is exactly right. ``--before REF`` scores a git
ref of this repository in the same run (exported to a temporary folder). Usage::

    python benchmarks/region_quality.py [--before main] [--list]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/passage_regions.jsonl"


def predicted() -> dict[tuple[str, str], list[str]]:
    """(file, opening words) → the regions the current kb gives that passage."""
    sys.path.insert(0, str(Path.cwd()))
    from kb.load import load
    from kb.pipeline import parse_source
    from kb.settings import Settings

    rows = [json.loads(x) for x in FIXTURE.read_text(encoding="utf-8").splitlines() if x.strip()]
    settings = Settings.load()
    out: dict[tuple[str, str], list[str]] = {}
    for file in dict.fromkeys(r["file"] for r in rows):
        parsed = parse_source(load(ROOT / file), settings, file)
        for r in (r for r in rows if r["file"] == file):
            hits = [p for p in parsed.passages if p.text.startswith(r["start"])]
            out[(file, r["start"])] = list(hits[0].regions) if len(hits) == 1 else ["<not found>"]
    return out


def score(rows: list[dict], pred: dict) -> dict[str, float]:
    tp = n_pred = n_exp = exact = 0
    for r in rows:
        got, want = set(pred[(r["file"], r["start"])]), set(r["regions"])
        tp, n_pred, n_exp, exact = tp + len(got & want), n_pred + len(got), n_exp + len(want), exact + (got == want)
    return {
        "passages": len(rows),
        "precision": tp / n_pred if n_pred else 1.0,
        "recall": tp / n_exp if n_exp else 1.0,
        "exact": exact / len(rows) if rows else 0.0,
    }


def run_ref(ref: str) -> dict:
    """Predictions of another git ref, computed by that ref's own code."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", ref, "kb"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        code = f"import json,sys; sys.path.insert(0,{str(Path(__file__).parent)!r}); import region_quality as q; print(json.dumps([[k[0],k[1],v] for k,v in q.predicted().items()]))"
        res = subprocess.run([sys.executable, "-c", code], cwd=tmp, capture_output=True, text=True, check=True)
    return {(f, s): v for f, s, v in json.loads(res.stdout)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="git ref to compare with (e.g. main)")
    ap.add_argument("--list", action="store_true", help="print every passage whose regions differ from the fixture")
    args = ap.parse_args()
    rows = [json.loads(x) for x in FIXTURE.read_text(encoding="utf-8").splitlines() if x.strip()]
    runs = {}
    if args.before:
        runs[args.before] = run_ref(args.before)
    runs["this tree"] = predicted()
    groups = {"seeds": [r for r in rows if r["file"].startswith("corpus/")]}
    groups["regulations"] = [r for r in rows if not r["file"].startswith("corpus/")]
    groups["all"] = rows
    print(f"{'run':<12}{'set':<13}{'passages':>9}{'precision':>11}{'recall':>9}{'exact':>8}")
    for name, pred in runs.items():
        for g, rs in groups.items():
            s = score(rs, pred)
            print(f"{name:<12}{g:<13}{s['passages']:>9}{s['precision']:>11.3f}{s['recall']:>9.3f}{s['exact']:>8.3f}")
    if args.list:
        pred = runs["this tree"]
        for r in rows:
            got = pred[(r["file"], r["start"])]
            if set(got) != set(r["regions"]):
                print(f"{r['file']} | {r['start']} | expected {r['regions']} | got {got}")


if __name__ == "__main__":
    main()
