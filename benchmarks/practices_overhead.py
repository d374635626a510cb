"""What the practices step adds to an ingest: one real-model ingest, the card step timed inside it.

Ingests corpus/ plus a set of regulations (default: all of ../shared/corpus/regulations) into a
fresh temporary index with the default model, timing the whole ingest and, in the same run,
the card/theme step (``kb.practices.build.refresh``). Overhead = card step / (ingest - card step).
Usage: python benchmarks/practices_overhead.py [--glob 'local/*/*村民委员会*.md']
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import index  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.practices import build  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regulations", default=str(ROOT.parent / "shared/corpus/regulations"))
    ap.add_argument("--glob", default="**/*.md")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-practices-overhead-"))
    try:
        shutil.copytree(ROOT / "corpus", work / "corpus" / "seeds")
        regs = Path(args.regulations)
        for f in sorted(regs.glob(args.glob)):
            target = work / "corpus" / "regulations" / f.relative_to(regs)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, target)
        settings = Settings.load(index_dir=str(work / "index"))
        embedder = load_embedder(settings)
        embedder.embed_passages(["预热"])
        spent = []
        original = build.refresh

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                spent.append(time.perf_counter() - t)

        index.practices.refresh = timed
        t0 = time.perf_counter()
        report = index.ingest([work / "corpus"], settings, embedder)
        total = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    card = sum(spent)
    print(json.dumps({
        "files": len(report.files), "passages": report.total_passages, "ingest_s": round(total, 1),
        "card_step_s": round(card, 2), "overhead": round(card / (total - card), 4),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
