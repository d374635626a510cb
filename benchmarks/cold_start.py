"""Cold `kb search` wall time, against `python -c "import numpy, faiss"` measured in the same run.

Each run is a fresh process (nothing imported, the OS page cache warm as after any earlier
use), so it measures what a user typing `kb search` waits for. The torch query path (the
full sentence-transformers model, as before the ONNX export was prepared at ingest) is timed
once for reference.

    PYTHONPATH=$PWD python benchmarks/cold_start.py --index /tmp/kb-index [--runs 7]

The index must exist and the default model must have been prepared by an ingest (that makes
the ONNX export the search path loads).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("网格员待遇低、队伍不稳定怎么办？", "邻里纠纷如何调解", "老旧小区加装电梯的资金怎么筹集")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-torch", action="store_true", help="skip the torch reference run")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")} | {"PYTHONPATH": str(ROOT)}
    baseline = [sys.executable, "-c", "import numpy, faiss"]

    def search(q: str) -> list[str]:
        return [sys.executable, "-m", "kb.cli", "search", q, "--index", args.index, "--k", "5"]

    check = [sys.executable, "-c", "from kb.embed import load_query_embedder as q; from kb.settings import "
             "Settings; import sys; sys.exit(q(Settings()) is None)"]  # fmt: skip
    if subprocess.run(check, env=env, cwd=ROOT).returncode != 0:
        sys.exit("the ONNX export is not prepared: run `kb ingest` once with the default model first")
    timed(search(QUESTIONS[0]), env)  # warm the page cache once, like any earlier use
    rows: dict[str, list[tuple[float, float]]] = {"import numpy, faiss": [], "kb search (ONNX, no torch)": []}
    for i in range(args.runs):  # interleaved, so load from other processes hits both alike
        rows["import numpy, faiss"].append(timed(baseline, env))
        rows["kb search (ONNX, no torch)"].append(timed(search(QUESTIONS[i % len(QUESTIONS)]), env))
    if not args.no_torch:
        rows["kb search (torch query backend)"] = [timed(search(QUESTIONS[0]), env | {"KB_QUERY_BACKEND": "torch"})]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, runs: {args.runs}")
    print(f"{'command':<34} {'wall median':>12} {'wall min':>9} {'CPU median':>11}")
    for name, got in rows.items():
        walls, cpus = [w for w, _ in got], [c for _, c in got]
        print(f"{name:<34} {statistics.median(walls):>11.2f}s {min(walls):>8.2f}s {statistics.median(cpus):>10.2f}s")
    base = statistics.median(w for w, _ in rows["import numpy, faiss"])
    fast = statistics.median(w for w, _ in rows["kb search (ONNX, no torch)"])
    print(f"kb search − baseline: {fast - base:.2f}s; target ≤ 2 s wall: {'met' if fast <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
