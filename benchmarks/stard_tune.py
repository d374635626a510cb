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


LISTS = ("bm25", "bigram", "dense")


def candidates(live, embedder, qs: list[dict], pool: int) -> dict[str, np.ndarray]:
    """Per list: '<name>_v' vids and '<name>_s' scores, each (n_questions, pool), -1/nan padded."""
    n = len(qs)
    out = {}
    for name in LISTS:
        out[f"{name}_v"], out[f"{name}_s"] = np.full((n, pool), -1, np.int64), np.full((n, pool), np.nan, np.float32)
    qvecs = embedder.embed_queries([q["query"] for q in qs], progress_bar=True)
    for i, q in enumerate(qs):
        lists = {
            "bm25": retrieve.bm25_ranked(live, q["query"], pool, None),
            "bigram": retrieve.bigram_ranked(live, q["query"], pool, None),
            "dense": retrieve.dense_ranked(live, qvecs[i], pool, None),
        }
        for name, lst in lists.items():
            out[f"{name}_v"][i, : len(lst)] = [v for v, _ in lst]
            out[f"{name}_s"][i, : len(lst)] = [s for _, s in lst]
    return out


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


Fusion = Callable[[dict[str, list[tuple[int, float]]]], list[tuple[int, float]]]


def zfuse(weights: dict[str, float]) -> Fusion:
    return lambda ls: retrieve.zscore_fusion([ls[n] for n in weights], list(weights.values()))


def doc_boosted(fuse: Fusion, doc_of: dict[int, str], weight: float, top: int) -> Fusion:
    return lambda ls: retrieve.document_boost(fuse(ls), doc_of, weight, top)


def variants(doc_of: dict[int, str]) -> dict[str, Fusion]:
    out: dict[str, Fusion] = {name: (lambda ls, name=name: ls[name]) for name in LISTS}
    out["rrf60 bm25+dense"] = lambda ls: retrieve.rrf([ls["bm25"], ls["dense"]], (1, 1), 60)
    out["rrf60 all three"] = lambda ls: retrieve.rrf([ls[n] for n in LISTS], (1, 1, 1), 60)
    out["z bm25+dense"] = zfuse({"bm25": 1, "dense": 1})
    for wb, wg, wd in ((1, 1, 1), (0.5, 1, 1), (1, 0.5, 1), (1, 1, 1.5), (1, 1, 2), (0.5, 0.5, 1), (0.7, 0.7, 1)):
        out[f"z w{wb} g{wg} d{wd}"] = zfuse({"bm25": wb, "bigram": wg, "dense": wd})
    base = zfuse({"bm25": 1, "bigram": 1, "dense": 1})
    for weight in (0.2, 0.4, 0.7, 1.0):
        for top in (1, 2, 3):
            out[f"z111 doc{weight} top{top}"] = doc_boosted(base, doc_of, weight, top)
    return out


def lists_of(cache: dict[str, np.ndarray], i: int, pool: int) -> dict[str, list[tuple[int, float]]]:
    """Question i's candidate lists, cut to the first ``pool``."""
    out = {}
    for name in LISTS:
        vids, scores = cache[f"{name}_v"][i, :pool], cache[f"{name}_s"][i, :pool]
        out[name] = [(int(v), float(s)) for v, s in zip(vids, scores, strict=True) if v >= 0]
    return out


def run(fuse: Fusion, cache: dict[str, np.ndarray], rel, pool: int) -> dict[str, float]:
    ranked = []
    for i in range(len(rel)):
        ranked.append([v for v, _ in fuse(lists_of(cache, i, pool))])
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
            cache = dict(z)
    else:
        cache = candidates(live, load_embedder(settings, print), qs, args.pool)
        np.savez(cache_path, **cache)
    print(f"STARD tune split: {len(qs)} questions")
    doc_of = dict(live.conn.execute("SELECT vid, doc_id FROM passages").fetchall())
    for pool in sorted({100, args.pool}):
        for name, fuse in variants(doc_of).items():
            m = run(fuse, cache, rel, pool)
            print(f"pool {pool:<4} {name:<22}" + "  ".join(f"{k} {v:.3f}" for k, v in m.items()), flush=True)


if __name__ == "__main__":
    main()
