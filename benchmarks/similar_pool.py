"""Pool the candidates of the comparable-practice cases for judging by hand (TREC-style pooling).

The rule gold of make_similar_cases.py is a proxy: a keyword in an article's first sentence
misses provisions on the same matter worded otherwise (筹备组 articles for 首次业主大会), and a
query whose first sentence names the keyword in passing is not about it. So the top 10 of
every method the benchmark compares (the baseline, `similar` on vectors alone, `similar` fused)
and up to 12 rule-gold passages are pooled per case, without saying which method found them,
and each is judged: does it treat the same specific matter as the query passage (the
provision another region made on it, or the same kind of measure in a report)? Judgements
go to benchmarks/data/similar_judgments.jsonl ({"id", "judged": [{"path", "head", "rel"}]});
practices_bench.py scores against them, counting unjudged passages as not relevant.

    python benchmarks/similar_pool.py --index INDEX --out pool.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import practices_bench as pb  # noqa: E402

from kb.api import KnowledgeBase  # noqa: E402
from kb.practices.similar import group_region  # noqa: E402
from kb.settings import Settings  # noqa: E402

RULE_GOLD = 12  # rule-gold passages added to a case's pool at most


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--cases", default=str(ROOT / "benchmarks" / "data" / "similar_cases.jsonl"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    kb = KnowledgeBase(settings=Settings.load(index_dir=args.index))
    conn = kb._open().conn
    rows = conn.execute("SELECT p.text, d.path, d.title FROM passages p JOIN documents d ON d.doc_id = p.doc_id")
    by_head = {(path, pb.head(text)): (text, title) for text, path, title in rows}
    with open(args.out, "w", encoding="utf-8") as f:
        for line in Path(args.cases).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            pid = pb.find_pid(conn, case["query"]["path"], case["query"]["head"])
            passage, document = kb.passage(pid)
            own = [r.code for r in [group_region(passage)] if r]
            found = [(p, hd) for p, hd, code in pb.baseline(kb, passage, own) if code]
            for fusion in (False, True):
                found += [(s.hit.document.path, pb.head(s.hit.passage.text)) for s in kb.similar(pid, fusion=fusion)]
            found += [(g["path"], g["head"]) for g in case["gold"][:RULE_GOLD]]
            pool = [key for key in dict.fromkeys(found) if key in by_head]
            candidates = [
                {"n": n, "path": p, "head": hd, "title": by_head[p, hd][1], "text": by_head[p, hd][0][:350]}
                for n, (p, hd) in enumerate(pool)
            ]
            row = {"id": case["id"], "query_title": document.title, "query_text": passage.text[:700]}
            f.write(json.dumps(row | {"candidates": candidates}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
