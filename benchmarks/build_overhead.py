"""Build throughput of kb's whole ingest against raw ``SentenceTransformer.encode``, same texts, same run.

Takes every ``--every``-th STARD law (a spread of lengths), ingests them into a fresh
temporary index with the default model (load, clean, segment, metadata, regions, embed,
jieba + bigram BM25, SQLite, FAISS), then encodes exactly the passage texts kb embedded
with the bare model, same prefix and batch size. Overhead = kb time / raw time - 1 (passages/s both per
indexed passage).
Run it on a quiet machine: both timings share the cores. Usage::

    python benchmarks/build_overhead.py [--every 12]
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

from kb import index, store  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--laws", default=str(ROOT.parent / "shared/bench/stard/laws"))
    ap.add_argument("--every", type=int, default=12)
    args = ap.parse_args()
    files = sorted(p for p in Path(args.laws).rglob("*.md"))[:: args.every]
    work = Path(tempfile.mkdtemp(prefix="kb-overhead-"))
    try:
        for i, f in enumerate(files):
            shutil.copy(f, work / f"{i:04d}_{f.name}")
        settings = Settings.load(index_dir=str(work / "index"))
        embedder = load_embedder(settings)
        embedder.embed_passages(["预热"])  # first-call setup is not throughput
        t0 = time.perf_counter()
        report = index.ingest([work], settings, embedder)
        kb_s = time.perf_counter() - t0
        conn = store.connect(work / "index")
        vids, parts = store.all_texts(conn)
        # kb embeds each distinct text once (repeated articles reuse the vector): same texts here
        texts = list(dict.fromkeys(settings.passage_prefix + index.context_text(*p) for p in parts))
        conn.close()
        t1 = time.perf_counter()
        embedder.model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True)
        raw_s = time.perf_counter() - t1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "files": len(files),
        "passages": report.total_passages,
        "distinct_texts_embedded": report.embedded,
        "kb_ingest_seconds": round(kb_s, 1),
        "kb_ingest_passages_per_s": round(report.total_passages / kb_s, 1),
        "raw_encode_seconds": round(raw_s, 1),
        "raw_encode_texts": len(texts),
        "raw_encode_passages_per_s": round(report.total_passages / raw_s, 1),
        "overhead_percent": round(100 * (kb_s / raw_s - 1), 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
