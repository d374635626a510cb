"""Fit the answer sentence score's weights on question sets the answer benchmark does not use.

    python benchmarks/sentence_weights.py [--index DIR]

The extractive answer scores each sentence of the evidence as
W_DENSE·z(e5 cosine) + W_WORDS·z(question-word share) + W_PAIRS·z(character-pair share)
+ W_PASSAGE·(passage rank prior), see kb/answer/extractive.py. Here those four features are
computed for every sentence of the top passages of the 140 paraphrased questions in
tests/data/ (seed, regulation, blind seed, blind regulation; none is in
benchmarks/data/answer_questions.jsonl). The label says whether the sentence holds the question's evidence
snippet. A logistic regression is fitted on them; five-fold cross-validation reports how often
the best-scored sentence is the evidence (top-1) and the mean reciprocal rank, for the weights
in kb/answer/extractive.py and for the fitted ones. Prints the fitted weights scaled to W_DENSE = 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.answer import extractive as ex  # noqa: E402
from kb.answer.sentences import normalise, split  # noqa: E402
from kb.api import KnowledgeBase  # noqa: E402
from kb.settings import Settings  # noqa: E402

SETS = ("seed_questions", "regulation_questions", "blind_seed_questions", "blind_regulation_questions")


def z(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    return (v - v.mean()) / sd if sd > 1e-9 else np.zeros_like(v)


def question_rows(kb: KnowledgeBase) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) per question whose evidence is in a sentence of its top passages."""
    out = []
    for name in SETS:
        for line in (ROOT / "tests" / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            ev = kb.evidence(q["query"], kb.settings.answer_passages)
            if not hasattr(ev, "hits"):
                continue
            spans = [(i, s) for i, h in enumerate(ev.hits) for s in split(h.passage.text)]
            spans = [(i, s) for i, s in spans if ex.is_answer_material(s.text)]
            texts = [s.text for _, s in spans]
            labels = np.array([any(normalise(e) in normalise(t) for e in q["evidence"]) for t in texts])
            if not labels.any():
                continue
            dense = kb._sentence_vectors([t[: ex.EMBED_CHARS] for t in texts]) @ np.asarray(ev.question_vec)
            words = np.array([ex._coverage(t, ev.terms) for t in texts])
            pairs = np.array([ex._coverage(t, ev.pairs) for t in texts])
            prior = ex._passage_prior(ev.hits)[[i for i, _ in spans]]
            out.append((np.stack([z(dense), z(words), z(pairs), prior], 1), labels))
    return out


def ranks(weights: np.ndarray, rows) -> tuple[float, float]:
    top1 = mrr = 0.0
    for x, y in rows:
        first = int(np.where(y[np.argsort(-(x @ weights), kind="stable")])[0][0])
        top1 += first == 0
        mrr += 1 / (first + 1)
    return round(top1 / len(rows), 3), round(mrr / len(rows), 3)


def fit(rows) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([r[0] for r in rows])
    y = np.concatenate([r[1] for r in rows])
    return LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(x, y).coef_[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default=str(ROOT / "benchmarks" / "out" / "answer-index"))
    args = ap.parse_args()
    kb = KnowledgeBase(settings=Settings.load(index_dir=args.index))
    rows = question_rows(kb)
    shipped = np.array([ex.W_DENSE, ex.W_WORDS, ex.W_PAIRS, ex.W_PASSAGE])
    folds = np.array_split(np.random.default_rng(0).permutation(len(rows)), 5)
    cv = []
    for k in range(5):
        train = [rows[i] for j in range(5) if j != k for i in folds[j]]
        cv.append(ranks(fit(train), [rows[i] for i in folds[k]]))
    fitted = fit(rows)
    print(f"{len(rows)} questions with their evidence among {sum(len(y) for _, y in rows)} sentences")
    print(f"weights in kb/answer/extractive.py {shipped.round(2).tolist()}: top-1 / MRR {ranks(shipped, rows)}")
    print(f"fitted, five-fold cross-validated: top-1 / MRR {tuple(float(v) for v in np.mean(cv, axis=0).round(3))}")
    print(f"fitted on all, scaled to W_DENSE = 1: {(fitted / fitted[0]).round(2).tolist()}")


if __name__ == "__main__":
    main()
