"""Build the STARD benchmark index (1,429 laws, ~65k articles) with kb's real pipeline.

Prints build throughput (passages/s) next to raw ``SentenceTransformer.encode`` on a
sample of the same texts in the same run, and peak memory. The index is reused by
``stard_eval.py``. Usage::

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

from kb import index, store  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--laws", default=str(ROOT.parent / "shared/bench/stard/laws"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks/out/stard-index"))
    ap.add_argument("--sample", type=int, default=1000, help="texts for the raw-encode baseline")
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.out)
    embedder = load_embedder(settings, print)
    t0 = time.perf_counter()
    report = index.ingest([args.laws], settings, embedder, progress=print)
    build_s = time.perf_counter() - t0
    conn = store.connect(args.out)
    rows = conn.execute("SELECT p.vid FROM passages p ORDER BY p.vid LIMIT ?", (args.sample,)).fetchall()
    hits = store.by_vids(conn, [r[0] for r in rows])
    texts = [index.embed_text(p, d) for p, d, _ in hits.values()]
    t1 = time.perf_counter()
    embedder.model.encode(
        [settings.passage_prefix + t for t in texts], batch_size=settings.batch_size, normalize_embeddings=True
    )
    raw_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    embedder.embed_passages(texts)
    ours_s = time.perf_counter() - t2
    result = {
        "files": len(report.files),
        "errors": report.count("error"),
        "documents": report.total_documents,
        "passages": report.total_passages,
        "embedded": report.embedded,
        "build_seconds": round(build_s, 1),
        "build_passages_per_s": round(report.embedded / build_s, 1) if report.embedded else None,
        "raw_encode_passages_per_s": round(len(texts) / raw_s, 1),
        "kb_embed_passages_per_s": round(len(texts) / ours_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    (Path(args.out).parent / "stard_build.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
