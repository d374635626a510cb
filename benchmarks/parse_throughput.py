"""Parse + segment throughput on the STARD laws (target ≥ 2,000 passages/s on 2 cores).

Baseline in the same run: reading the same files and splitting them at 第X条 lines with
one regex — the floor any segmenter costs. Usage::

    python benchmarks/parse_throughput.py [--laws ../shared/bench/stard/laws]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.load import iter_files, load  # noqa: E402
from kb.pipeline import parse_source  # noqa: E402
from kb.settings import Settings  # noqa: E402

ARTICLE = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]+条", re.M)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--laws", default=str(ROOT.parent / "shared/bench/stard/laws"))
    args = ap.parse_args()
    files = iter_files([args.laws])
    settings = Settings.load()
    t0 = time.perf_counter()
    base = sum(len(ARTICLE.split(f.read_text(encoding="utf-8"))) for f in files)
    base_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    passages = errors = 0
    for f in files:
        try:
            passages += len(parse_source(load(f), settings, path=str(f)).passages)
        except Exception:  # noqa: BLE001 - count, report, go on
            errors += 1
    kb_s = time.perf_counter() - t1
    print(f"files: {len(files)}  errors: {errors}")
    print(f"baseline regex split : {base:>7} pieces    {base_s:6.1f} s  {base / base_s:>9.0f} pieces/s")
    print(f"kb load+parse+segment: {passages:>7} passages  {kb_s:6.1f} s  {passages / kb_s:>9.0f} passages/s")
    print(f"target ≥ 2000 passages/s: {'met' if passages / kb_s >= 2000 else 'NOT met'}")


if __name__ == "__main__":
    main()
