"""Calibrating the check of generated sentences (`kb.answer.generate.supported`) without a chat model.

No chat model runs offline here, so the sentences an LLM would write are simulated from the
passages a question retrieves (top ``llm_passages``), and each is checked against the passage
it cites:

  supported   verbatim   a sentence of the cited passage as it stands
              shortened  the same sentence without its last clause
              reworded   formal terms swapped for colloquial ones (the thesaurus read backwards),
                         clause order of the first two clauses swapped, a reporting lead added
  unsupported other      a sentence of another retrieved passage (same question, same topic)
                         that the cited passage does not contain: the wrong-citation case
              unrelated  a sentence retrieved for a different question
              figures    the verbatim sentence with every number changed (a fabricated figure)

Prints the share of each kind the check accepts at the current thresholds, then a sweep of
(min_overlap, min_cosine, min_overlap_with_cosine) ranked by accepted supported minus accepted
unsupported (other + unrelated). "figures" is reported, not optimised: character pairs cannot
see a changed digit, and no threshold here can.

    python benchmarks/support_check.py [--index benchmarks/out/answer-index]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.answer import generate  # noqa: E402
from kb.answer.sentences import split  # noqa: E402
from kb.api import KnowledgeBase  # noqa: E402
from kb.settings import Settings  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
SUPPORTED, UNSUPPORTED = ("verbatim", "shortened", "reworded"), ("other", "unrelated")
LEADS = ("文中提到，", "据介绍，", "材料显示，", "")


def colloquial() -> list[tuple[str, str]]:
    """(formal, colloquial) pairs: kb's thesaurus read from right to left."""
    pairs = []
    for line in (ROOT / "kb" / "data" / "synonyms.txt").read_text(encoding="utf-8").splitlines():
        if "=>" not in line or line.startswith("#"):
            continue
        left, right = (side.split() for side in line.split("=>"))
        pairs += [(formal, left[0]) for formal in right if len(formal) >= 2 and formal != left[0]]
    return sorted(pairs, key=lambda p: -len(p[0]))


def reword(text: str, swaps: list[tuple[str, str]], rng: random.Random) -> str:
    for formal, plain in swaps:
        if formal in text:
            text = text.replace(formal, plain)
    clauses = re.split(r"(?<=[，,])", text)
    if len(clauses) > 2:
        clauses[0], clauses[1] = clauses[1].rstrip("，,") + "，", clauses[0].rstrip("，,") + "，"
    return rng.choice(LEADS) + "".join(clauses)


def shorten(text: str) -> str:
    clauses = re.split(r"[，,；;]", text.rstrip("。"))
    return "，".join(clauses[:-1]) + "。" if len(clauses) > 1 else text


def refigure(text: str) -> str | None:
    changed = re.sub(r"\d+", lambda m: str(int(m.group()) * 3 + 7), text)
    return changed if changed != text else None


def claims(passage: str) -> list[str]:
    """Up to two sentences of a passage worth stating (long enough to carry a fact)."""
    return [s.text for s in split(passage) if 20 <= len(s.text) <= 200][:2]


def cases(kb: KnowledgeBase, questions: list[dict], k: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, sentence, cited passage text)."""
    swaps = colloquial()
    pools = [[h.passage.text for h in kb.search(q["query"], k=k)] for q in questions]
    out = []
    for i, passages in enumerate(pools):
        for j, passage in enumerate(passages[:3]):
            for claim in claims(passage):
                out += [("verbatim", claim, passage), ("shortened", shorten(claim), passage)]
                out.append(("reworded", reword(claim, swaps, rng), passage))
                if (fig := refigure(claim)) is not None:
                    out.append(("figures", fig, passage))
                others = [p for n, p in enumerate(passages) if n != j and generate.pair_overlap(claim, p) < 0.9]
                if others:
                    out.append(("other", claim, rng.choice(others)))
                far = pools[(i + 1 + rng.randrange(len(pools) - 1)) % len(pools)]
                far_claims = [c for p in far[:3] for c in claims(p)]
                if far_claims:
                    out.append(("unrelated", rng.choice(far_claims), passage))
    return out


def accepted(rows, embed, check: generate.Check) -> dict[str, float]:
    by_kind: dict[str, list[bool]] = {}
    for kind, sentence, passage in rows:
        by_kind.setdefault(kind, []).append(generate.supported(sentence, [passage], embed, check))
    return {kind: sum(v) / len(v) for kind, v in by_kind.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=ROOT / "benchmarks" / "out" / "answer-index")
    args = ap.parse_args()
    settings = Settings.load(index_dir=str(args.index))
    kb = KnowledgeBase(settings=settings)
    questions = [
        json.loads(line)
        for name in ("answer_questions.jsonl", "calibration_questions.jsonl")
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line).get("answerable", True)
    ]
    rows = cases(kb, questions, settings.llm_passages, random.Random(7))
    embed = kb._sentence_vectors  # the same cached question-time embedder ask uses
    counts = {kind: sum(r[0] == kind for r in rows) for kind in (*SUPPORTED, *UNSUPPORTED, "figures")}
    print(f"{len(questions)} answerable questions, {len(rows)} simulated sentences: {counts}")
    current = generate.Check(settings.llm_min_overlap, settings.llm_min_cosine, settings.llm_min_overlap_with_cosine)
    print("accepted at the current thresholds", current, accepted(rows, embed, current))
    sweep = []
    for o, c, w in itertools.product((0.5, 0.6, 0.7, 0.8), (0.86, 0.88, 0.90, 0.92), (0.2, 0.3, 0.4)):
        rate = accepted(rows, embed, generate.Check(o, c, w))
        good = sum(rate[k] for k in SUPPORTED) / len(SUPPORTED)
        bad = sum(rate[k] for k in UNSUPPORTED) / len(UNSUPPORTED)
        sweep.append((round(good - bad, 3), round(good, 3), round(bad, 3), (o, c, w), rate))
    sweep.sort(key=lambda r: -r[0])
    print("best (supported − unsupported accepted, supported, unsupported, (overlap, cosine, overlap_with_cosine)):")
    for row in sweep[:8]:
        print("  ", row[:4], {k: round(v, 3) for k, v in row[4].items()})


if __name__ == "__main__":
    main()
