"""Where the facts of cross-region questions are lost, and what a longer answer would recover.

    python benchmarks/cross_diagnosis.py              # each fact's fate, counted per question set
    python benchmarks/cross_diagnosis.py --ceiling    # fact recall against answer length, wider budgets
    python benchmarks/cross_diagnosis.py --verbose    # also the sentences that won in the fact's region

An answer about several places (kb/answer/extractive.py) takes the 30 spread + 15 plain hits,
shortlists 3 sentences per region by their cheap score (passage rank, words, figures), embeds
those, and shows one or two sentences for each of up to 7 regions. Each fact of the
cross-region questions (benchmarks/data/answer_questions.jsonl, cross_dev_a, cross_dev_b) is
put in the first stage that loses it:

- answered: verbatim in the answer;
- not retrieved: in none of the hits the answer is made from;
- region not shown: its passage's region has no paragraph in the answer;
- not shortlisted: the region is shown, but the fact's sentence was not among its embedded ones;
- other sentence: shortlisted and scored, but another sentence of its region was shown.

``--ceiling`` answers "would more room help?": the same questions with larger character
budgets, more sentences per region, a deeper shortlist and no score cut. It patches module
constants of kb.answer.extractive for the run; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from answer_eval import DATA, open_kb, read, run_ask, summary  # noqa: E402

from kb.answer import extractive  # noqa: E402
from kb.answer.sentences import normalise  # noqa: E402

SETS = ("answer_questions", "cross_dev_a", "cross_dev_b")
FATES = ("answered", "not retrieved", "region not shown", "not shortlisted", "other sentence")


def questions() -> list[tuple[str, dict]]:
    return [(name, q) for name in SETS for q in read(DATA / f"{name}.jsonl") if q["kind"] == "cross"]


def fates(kb, q: dict, verbose: bool = False) -> list[str]:
    """The fate of each of the question's facts (one of FATES)."""
    s = kb.settings
    ev = kb.evidence(q["query"], s.answer_region_passages, diverse=True)
    answer = kb.ask(q["query"], generate=False)
    body = normalise("".join(x.text for x in answer.sentences))
    shown = {x.group for x in answer.sentences}
    cands = extractive.candidates(
        ev.question_vec, ev.hits, ev.terms, ev.pairs, kb._sentence_vectors, True, question=ev.question
    )
    out = []
    for fact in q["facts"]:
        f = normalise(fact)
        holding = [i for i, h in enumerate(ev.hits) if f in normalise(h.passage.text)]
        if f in body:
            fate = "answered"
        elif not holding:
            fate = "not retrieved"
        else:
            group = extractive.region_group(ev.hits[holding[0]])
            if not any(_paragraph_holds(g, group) for g in shown if g):
                fate = "region not shown"
            elif not any(f in normalise(c.sentence.text) for c in cands):
                fate = "not shortlisted"
            else:
                fate = "other sentence"
            if verbose and fate == "other sentence":
                rivals = [c for c in cands if extractive.region_group(ev.hits[c.hit]) == group][:3]
                for c in rivals:
                    mark = "*" if f in normalise(c.sentence.text) else " "
                    print(f"      {mark} {c.score:5.2f}  {c.sentence.text[:60]}")
        if verbose:
            print(f"   {fate:<17} {fact[:50]}")
        out.append(fate)
    return out


def _paragraph_holds(paragraph: str, group: str) -> bool:
    """Whether a region's paragraph takes ``group``'s sentences: its own, or its county's when it is a city.

    The rule of ``extractive._merge_nested``: a province keeps its own paragraph, so 山东省's does
    not show 滨州市.
    """
    return paragraph == group or (group.startswith(paragraph) and extractive._level(paragraph) >= 2)


def diagnose(kb, verbose: bool) -> None:
    per_set: dict[str, Counter] = {name: Counter() for name in SETS}
    for name, q in questions():
        if verbose:
            print(f"\n{q['id']} {q['query']}")
        per_set[name].update(fates(kb, q, verbose))
    total = sum(per_set.values(), Counter())
    print(f"{'set':<18}" + "".join(f"{f:>18}" for f in FATES) + f"{'facts':>8}")
    for name, counts in [*per_set.items(), ("all", total)]:
        print(f"{name:<18}" + "".join(f"{counts[f]:>18}" for f in FATES) + f"{sum(counts.values()):>8}")


CEILINGS = (  # (answer_region_max_chars, answer_per_region, answer_max_regions, shortlist per region, cut)
    (600, 2, 7, 3, extractive.DROP),  # shipped
    (1200, 3, 7, 3, extractive.DROP),
    (1200, 3, 7, 6, 9.0),
    (2000, 5, 7, 8, 9.0),
    (2000, 5, 12, 30, 9.0),
)


def ceiling(index_dir: Path) -> None:
    qs = questions()
    kb = open_kb(index_dir)
    base = kb.settings
    print(f"{'budget':>7}{'per region':>11}{'regions':>8}{'shortlist':>10}{'cut':>5}   recall  coverage  length")
    for chars, per, regions, shortlist, cut in CEILINGS:
        kb.settings = base.replace(answer_region_max_chars=chars, answer_per_region=per, answer_max_regions=regions)
        extractive.PER_GROUP_SHORTLIST, extractive.DROP = shortlist, cut
        extractive.MAX_GROUPS = max(regions + 1, 8)
        s = summary([run_ask(kb, q)[0] for _, q in qs])
        print(
            f"{chars:>7}{per:>11}{regions:>8}{shortlist:>10}{cut:>5.1f}   {s['fact_recall']:.3f}"
            f"  {s['region_coverage']:>8.3f}  {s['mean_length']:>6.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "benchmarks" / "out" / "answer-index")
    parser.add_argument("--ceiling", action="store_true", help="recall against answer length, wider budgets")
    parser.add_argument("--verbose", action="store_true", help="each fact, and the sentences that won")
    args = parser.parse_args()
    if args.ceiling:
        ceiling(args.index)
    else:
        diagnose(open_kb(args.index), args.verbose)


if __name__ == "__main__":
    main()
