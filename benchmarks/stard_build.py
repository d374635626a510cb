"""Build the STARD benchmark index (1,429 laws, ~65k articles) with kb's real pipeline.

Prints build time, throughput (passages/s) and peak memory (RSS). The index is reused by
``stard_eval.py`` and ``stard_tune.py``; ``build_overhead.py`` compares kb's ingest with
raw ``SentenceTransformer.encode`` on the same texts. Usage::

    python benchmarks/stard_build.py [--laws ../shared/bench/stard/laws] [--out benchmarks/out/stard-index]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import index  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--laws", default=str(ROOT.parent / "shared/bench/stard/laws"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks/out/stard-index"))
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.out)
    embedder = load_embedder(settings, print)
    t0 = time.perf_counter()
    report = index.ingest([args.laws], settings, embedder, progress=print)
    build_s = time.perf_counter() - t0
    result = {
        "files": len(report.files),
        "errors": report.count("error"),
        "documents": report.total_documents,
        "passages": report.total_passages,
        "embedded": report.embedded,
        "build_seconds": round(build_s, 1),
        "build_passages_per_s": round(report.embedded / build_s, 1) if report.embedded else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    (Path(args.out).parent / "stard_build.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
