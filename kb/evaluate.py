"""Retrieval quality: Recall@k, MRR@10 and nDCG@10 over questions with known evidence.

Evidence is judged by text, not by kb's passage ids, so any segmentation can be scored:
a STARD item ``{"law", "article", "head"}`` is found when a hit comes from that law's
document and contains the article's opening words (whitespace removed); a free-text item
(a string or ``{"snippet": …}``) is found when a hit's headings or text contain the snippet.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.errors import QueryError
from kb.metadata import title_from_path
from kb.types import Hit

CUTOFFS = (1, 5, 10, 100)


@dataclass(frozen=True)
class Question:
    query: str
    evidence: tuple[object, ...]
    qid: str = ""


def read_questions(path: str | Path) -> list[Question]:
    """Questions from a JSONL file: one ``{"query": …, "evidence": [...]}`` per line."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Question(row["query"], tuple(row["evidence"]), str(row.get("id", n))))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QueryError(f"{path}:{n}: expected {{'query': …, 'evidence': [...]}} ({exc})") from exc
    return out


def squash(text: str) -> str:
    """Whitespace removed, width folded: the form evidence is compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def matches(hit: Hit, item: object) -> bool:
    """Does this hit contain this evidence item?"""
    text = squash("".join(hit.passage.heading_path[1:]) + hit.passage.text)
    if isinstance(item, str):
        return squash(item) in text
    if not isinstance(item, dict):
        return False
    if "snippet" in item:
        return squash(item["snippet"]) in text
    law = squash(item.get("law", ""))
    titles = {squash(hit.document.title), squash(title_from_path(hit.document.path))}
    if law and not any(law == t or law in t for t in titles):
        return False
    return squash(item.get("head", "")) in text


def relevance(hits: Sequence[Hit], evidence: Sequence[object]) -> list[set[int]]:
    """For each hit, the indexes of the evidence items it contains."""
    return [{j for j, item in enumerate(evidence) if matches(h, item)} for h in hits]


def score_one(rel: list[set[int]], n_evidence: int, cutoffs: Sequence[int] = CUTOFFS) -> dict[str, float]:
    """Recall@k (share of evidence items found in the top k), MRR@10, nDCG@10 (binary gains)."""
    out: dict[str, float] = {}
    for k in cutoffs:
        found = set().union(*rel[:k]) if rel[:k] else set()
        out[f"R@{k}"] = len(found) / n_evidence if n_evidence else 0.0
    first = next((i for i, r in enumerate(rel[:10]) if r), None)
    out["MRR@10"] = 0.0 if first is None else 1.0 / (first + 1)
    seen: set[int] = set()
    dcg = 0.0
    for i, r in enumerate(rel[:10]):
        new = r - seen
        if new:
            dcg += 1.0 / math.log2(i + 2)
            seen |= new
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_evidence, 10)))
    out["nDCG@10"] = dcg / ideal if ideal else 0.0
    return out


def evaluate(questions: Sequence[Question], search: Callable[[str], Sequence[Hit]]) -> dict[str, float]:
    """Mean of each metric over the questions, for one search function."""
    totals: dict[str, float] = {}
    for q in questions:
        hits = search(q.query)
        for key, value in score_one(relevance(hits, q.evidence), len(q.evidence)).items():
            totals[key] = totals.get(key, 0.0) + value
    n = max(len(questions), 1)
    return {key: value / n for key, value in totals.items()}


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Modes side by side, one metric per row."""
    modes = list(results)
    metrics = list(next(iter(results.values()))) if results else []
    lines = ["metric    " + "".join(f"{m:>10}" for m in modes)]
    for metric in metrics:
        lines.append(f"{metric:<10}" + "".join(f"{results[m][metric]:>10.3f}" for m in modes))
    return "\n".join(lines)
