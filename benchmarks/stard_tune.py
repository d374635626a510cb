"""Tune hybrid fusion on the STARD *tune* split (question ids not divisible by 5).

Retrieves the top ``--pool`` BM25 and dense candidates of every tune question once,
caches them in ``benchmarks/out/stard_tune_cache.npz``, then scores fusion variants
offline in numpy: each variant takes seconds, so a grid is cheap. The held-out split
(``stard_eval.py``) is never looked at here. Usage::

    python benchmarks/stard_tune.py [--index benchmarks/out/stard-index] [--pool 300]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb import retrieve  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.evaluate import squash  # noqa: E402
from kb.metadata import title_from_path  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.tokens import tokenize  # noqa: E402


def tune_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if int(r["id"]) % 5 != 0]


def relevant_sets(live: retrieve.LiveIndex, qs: list[dict]) -> list[list[set[int]]]:
    """For each question, for each evidence item, the passage vids containing it (judged by text)."""
    by_law: dict[str, list[tuple[int, str]]] = {}
    sql = "SELECT p.vid, p.text, p.heading_path, d.title, d.path FROM passages p JOIN documents d USING(doc_id)"
    for vid, text, heads, title, path in live.conn.execute(sql):
        body = squash("".join(json.loads(heads)[1:]) + text)
        for name in {squash(title), squash(title_from_path(path))}:
            by_law.setdefault(name, []).append((vid, body))
    out = []
    for q in qs:
        items = []
        for ev in q["evidence"]:
            law, head = squash(ev["law"]), squash(ev["head"])
            cands = [p for name, ps in by_law.items() if law == name or law in name for p in ps]
            items.append({vid for vid, body in cands if head in body})
        out.append(items)
    return out


def candidates(live, embedder, qs: list[dict], pool: int) -> tuple[np.ndarray, ...]:
    """(bm25 vids, bm25 scores, dense vids, dense scores), each (n_questions, pool), -1/nan padded."""
    n = len(qs)
    bv, bs = np.full((n, pool), -1, np.int64), np.full((n, pool), np.nan, np.float32)
    dv, ds = bv.copy(), bs.copy()
    qvecs = embedder.embed_queries([q["query"] for q in qs], progress_bar=True)
    for i, q in enumerate(qs):
        for vids, scores, lst in (
            (bv, bs, retrieve.bm25_ranked(live, q["query"], pool, None)),
            (dv, ds, retrieve.dense_ranked(live, qvecs[i], pool, None)),
        ):
            vids[i, : len(lst)] = [v for v, _ in lst]
            scores[i, : len(lst)] = [s for _, s in lst]
    return bv, bs, dv, ds


def metrics(ranked: list[list[int]], rel: list[list[set[int]]]) -> dict[str, float]:
    """R@10, R@100, MRR@10 the way kb.evaluate counts them (share of evidence items found)."""
    r10 = r100 = mrr = 0.0
    for order, items in zip(ranked, rel, strict=True):
        pos = {v: i for i, v in enumerate(order[:100])}
        firsts = [min((pos[v] for v in s if v in pos), default=None) for s in items]
        r10 += sum(1 for f in firsts if f is not None and f < 10) / len(items)
        r100 += sum(1 for f in firsts if f is not None) / len(items)
        best = min((f for f in firsts if f is not None), default=None)
        mrr += 0.0 if best is None or best >= 10 else 1.0 / (best + 1)
    n = len(ranked)
    return {"R@10": r10 / n, "R@100": r100 / n, "MRR@10": mrr / n}


Fusion = Callable[[list[list[tuple[int, float]]]], list[tuple[int, float]]]


def run(fuse: Fusion, cache: tuple[np.ndarray, ...], rel) -> dict[str, float]:
    bv, bs, dv, ds = cache
    ranked = []
    for i in range(len(bv)):
        lists = [
            [(int(v), float(s)) for v, s in zip(bv[i], bs[i], strict=True) if v >= 0],
            [(int(v), float(s)) for v, s in zip(dv[i], ds[i], strict=True) if v >= 0],
        ]
        ranked.append([v for v, _ in fuse(lists)])
    return metrics(ranked, rel)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "benchmarks/out/stard-index"))
    ap.add_argument("--queries", default=str(ROOT.parent / "shared/bench/stard/train.jsonl"))
    ap.add_argument("--pool", type=int, default=300)
    ap.add_argument("--cache", default=str(ROOT / "benchmarks/out/stard_tune_cache.npz"))
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.index)
    live = retrieve.open_index(settings)
    qs = tune_questions(Path(args.queries))
    rel = relevant_sets(live, qs)
    cache_path = Path(args.cache)
    if cache_path.exists():
        with np.load(cache_path) as z:
            cache = (z["bv"], z["bs"], z["dv"], z["ds"])
    else:
        embedder = load_embedder(settings, print)
        cache = candidates(live, embedder, qs, args.pool)
        np.savez(cache_path, bv=cache[0], bs=cache[1], dv=cache[2], ds=cache[3])
    print(f"STARD tune split: {len(qs)} questions, pool {args.pool}; tokens of q0: {tokenize(qs[0]['query'])}")
    variants: dict[str, Fusion] = {
        "bm25": lambda ls: ls[0],
        "dense": lambda ls: ls[1],
        "rrf60": lambda ls: retrieve.rrf(ls, (1, 1), 60),
    }
    for wb in (0.5, 0.7, 1.0):
        variants[f"z b{wb}"] = lambda ls, wb=wb: retrieve.zscore_fusion(ls, (wb, 1.0))
    for name, fuse in variants.items():
        m = run(fuse, cache, rel)
        print(f"{name:<24}" + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))


if __name__ == "__main__":
    main()
