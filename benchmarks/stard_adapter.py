"""Would a learned query adapter lift STARD? An experiment, kept to show why kb does not ship one.

A linear map ``W`` (384×384, started at the identity) is applied to e5 question vectors and
trained on STARD questions with a softmax over *all* 64,825 article vectors (the passage
vectors stay as indexed, nothing is re-embedded). It is scored three ways:

1. the held-out split (question ids divisible by 5), trained on the tune split — the
   same random split as ``stard_eval.py``;
2. split by *law*: trained on questions about one set of laws, scored on questions about
   the others (``--folds`` hash folds of the law names, tune split only) — a corpus whose
   laws were never asked about, which is what a new user's documents are;
3. on the held-out split, evidence articles that some training question also cited
   ("seen") apart from the rest ("unseen").

Usage::

    python benchmarks/stard_adapter.py [--index benchmarks/out/stard-index] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from stard_tune import metrics, relevant_sets  # noqa: E402

from kb import retrieve  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.settings import Settings  # noqa: E402

WEIGHTS = (0.5, 0.5, 1.0)  # kb's default z-score weights: word BM25, bigram BM25, dense


def train(qvecs: np.ndarray, positives: list[list[int]], matrix: np.ndarray, epochs: int, seed: int = 0):
    """W minimising the softmax loss of each question's evidence rows against every article."""
    import torch

    torch.manual_seed(seed)
    w = torch.nn.Parameter(torch.eye(matrix.shape[1]))
    opt = torch.optim.Adam([w], lr=1e-3)
    q_all, p_all = torch.from_numpy(qvecs), torch.from_numpy(matrix)
    rows = [i for i, p in enumerate(positives) if p]
    for epoch in range(epochs):
        order = np.random.RandomState(seed + epoch).permutation(rows)
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            s = torch.nn.functional.normalize(q_all[batch] @ w, dim=-1) @ p_all.T / 0.02
            pos = torch.stack([torch.logsumexp(s[k, positives[i]], 0) for k, i in enumerate(batch)])
            loss = (torch.logsumexp(s, 1) - pos).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w.detach().numpy()


def adapt(qvecs: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    if w is None:
        return qvecs
    out = qvecs @ w
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def score(live, qs, rel, qvecs, rows, w) -> tuple[dict, dict]:
    """Dense-only and default-hybrid metrics of questions ``rows`` with adapter ``w`` (None: none)."""
    vecs = adapt(qvecs[rows], w)
    dense, hybrid = [], []
    for k, i in enumerate(rows):
        d = retrieve.dense_ranked(live, vecs[k], 100, None)
        b = retrieve.bm25_ranked(live, qs[i]["query"], 100, None)
        g = retrieve.bigram_ranked(live, qs[i]["query"], 100, None)
        dense.append([v for v, _ in d])
        hybrid.append([v for v, _ in retrieve.zscore_fusion([b, g, d], WEIGHTS)])
    sub = [rel[i] for i in rows]
    return metrics(dense, sub), metrics(hybrid, sub)


def line(label: str, dense: dict, hybrid: dict) -> str:
    cells = " | ".join(f"{m[k]:.3f}" for m in (dense, hybrid) for k in ("R@10", "MRR@10", "R@100"))
    return f"| {label} | {cells} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "benchmarks/out/stard-index"))
    ap.add_argument("--queries", default=str(ROOT.parent / "shared/bench/stard/train.jsonl"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--folds", type=int, default=4)
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.index)
    live = retrieve.open_index(settings)
    qs = [json.loads(x) for x in Path(args.queries).read_text(encoding="utf-8").splitlines() if x.strip()]
    rel = relevant_sets(live, qs)
    row_of = {int(v): r for r, v in enumerate(live.row_vids)}
    positives = [sorted({row_of[v] for s in items for v in s}) for items in rel]
    qvecs = load_embedder(settings, print).embed_queries([q["query"] for q in qs])
    ids = np.array([int(q["id"]) for q in qs])
    tune, held = np.flatnonzero(ids % 5 != 0), np.flatnonzero(ids % 5 == 0)
    only = lambda rows: [positives[i] if i in set(rows) else [] for i in range(len(qs))]  # noqa: E731

    print("| questions scored (trained on) | dense R@10 | MRR@10 | R@100 | hybrid R@10 | MRR@10 | R@100 |")
    print("|---|---|---|---|---|---|---|")
    w = train(qvecs, only(tune), live.matrix, args.epochs)
    print(line(f"held-out {len(held)}, no adapter", *score(live, qs, rel, qvecs, held, None)), flush=True)
    print(line(f"held-out {len(held)}, adapter (tune {len(tune)})", *score(live, qs, rel, qvecs, held, w)), flush=True)

    seen_rows = {r for i in tune for r in positives[i]}
    for kind in ("seen", "unseen"):
        sub = [[s for s in rel[i] if bool({row_of[v] for v in s} & seen_rows) == (kind == "seen")] for i in held]
        keep = [i for i, items in zip(held, sub, strict=True) if items]
        kept_rel = {i: items for i, items in zip(held, sub, strict=True) if items}
        rel_k = [kept_rel.get(i, rel[i]) for i in range(len(qs))]
        for label, ww in (("no adapter", None), ("adapter", w)):
            print(line(f"held-out, {kind} articles ({len(keep)}), {label}", *score(live, qs, rel_k, qvecs, keep, ww)))

    fold_of = lambda law: zlib.crc32(law.encode()) % args.folds  # noqa: E731
    for f in range(args.folds):
        laws = [{fold_of(e["law"]) for e in qs[i]["evidence"]} for i in range(len(qs))]
        test = np.array([i for i in tune if laws[i] == {f}])
        fit = np.array([i for i in tune if f not in laws[i]])
        wf = train(qvecs, only(fit), live.matrix, args.epochs)
        print(line(f"law fold {f}: {len(test)}, no adapter", *score(live, qs, rel, qvecs, test, None)))
        print(
            line(f"law fold {f}: {len(test)}, adapter ({len(fit)})", *score(live, qs, rel, qvecs, test, wf)), flush=True
        )


if __name__ == "__main__":
    main()
