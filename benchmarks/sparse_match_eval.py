"""Hybrid search with and without sparse_by_match (BM25 weights scaled by the share of the question their best hit holds).

python benchmarks/sparse_match_eval.py INDEX SET.jsonl...
"""

import sys
from pathlib import Path

from kb.api import KnowledgeBase
from kb.evaluate import evaluate, read_questions
from kb.settings import Settings

index = sys.argv[1]
sets = sys.argv[2:]
base = Settings.load(index_dir=index)
first = KnowledgeBase(settings=base)
emb = first.query_embedder
for flag in (False, True):
    kb = KnowledgeBase(settings=base.replace(sparse_by_match=flag), embedder=emb)
    for p in sets:
        qs = read_questions(Path(p))
        m = evaluate(qs, lambda q, kb=kb: kb.search(q, k=100, mode="hybrid"))
        print(
            f"sparse_by_match={flag!s:<5} {Path(p).name:<34} R@1 {m['R@1']:.3f} R@5 {m['R@5']:.3f} R@10 {m['R@10']:.3f} MRR@10 {m['MRR@10']:.3f} R@100 {m['R@100']:.3f}",
            flush=True,
        )
