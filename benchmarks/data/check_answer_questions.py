#!/usr/bin/env python3
"""Check the kb answer sets against the corpus (stdlib only).

Checks
  * schema: fields, kinds, answerable flag, unique ids, no query shared by the two files
  * counts per kind (evaluation set minimums; calibration 15 answerable + 15 none)
  * every fact is 8-40 characters and occurs verbatim in at least one corpus file
    (seed documents + national/local regulations), after removing all whitespace
    on both sides
  * cross questions: 2-4 regions, one fact per region
  * kind "none": every city named in the query (from CITY_NAMES) and every key
    term listed in NONE_TERMS for that id is absent from the corpus
Prints every failure and exits 1 if there is any.
Run: python3 benchmarks/data/check_answer_questions.py [--verbose]
"""

import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_DIRS = [os.path.join(_ROOT, "..", "shared", "seeds"), os.path.join(_ROOT, "corpus")]
REG_DIR = os.path.join(_ROOT, "..", "shared", "corpus", "regulations")
FILES = {
    "answer_questions.jsonl": "eval",
    "calibration_questions.jsonl": "calibration",
}
KINDS = {"single", "cross", "regulation", "none"}
EVAL_MIN = {"single": 12, "cross": 10, "regulation": 12, "none": 10}
EVAL_TOTAL_MIN = 44

# Cities/provinces that may appear in "none" queries; any of them found in a
# none query must be absent from the corpus (unless allowed for that id).
CITY_NAMES = [
    "成都",
    "西安",
    "哈尔滨",
    "长沙",
    "武汉",
    "南京",
    "昆明",
    "贵阳",
    "兰州",
    "南宁",
    "天津",
    "苏州",
    "合肥",
    "长春",
    "沈阳",
    "大连",
    "太原",
    "石家庄",
    "乌鲁木齐",
    "拉萨",
    "海口",
    "南昌",
    "福州",
    "珠海",
    "东莞",
    "佛山",
    "无锡",
    "徐州",
    "洛阳",
    "桂林",
    "银川",
    "西宁",
    "呼和浩特",
    "济南",
    "烟台",
    "厦门",
    "温州",
    "三亚",
    "义乌",
    "大理",
    "北京",
    "上海",
    "重庆",
    "深圳",
    "广州",
    "杭州",
    "宁波",
    "青岛",
    "淄博",
    "舟山",
    "郑州",
]
# Regions that are in the corpus but named in a none query whose missing part
# is the topic (checked through NONE_TERMS instead).
NONE_ALLOWED_CITIES = {
    "n07": ["北京"],
    "m13": ["上海"],
}
# Key terms of each none question that must not occur in the corpus.
NONE_TERMS = {
    "n01": ["成都", "社区发展治理委员会"],
    "n02": ["西安"],
    "n03": ["哈尔滨"],
    "n04": ["武汉", "下沉干部"],
    "n05": ["南京"],
    "n06": ["长沙", "一门式"],
    "n07": ["接诉即办"],
    "n08": ["时间银行"],
    "n09": ["彩礼", "红白理事会"],
    "n10": ["外卖", "骑手", "快递员", "新就业"],
    "n11": ["共享单车"],
    "n12": ["积分制", "积分超市"],
    "n13": ["昆明", "双报到"],
    "m01": ["贵阳"],
    "m02": ["天津"],
    "m03": ["苏州", "邻里中心"],
    "m04": ["合肥", "红黑榜"],
    "m05": ["沈阳"],
    "m06": ["兰州"],
    "m07": ["福州", "马上就办"],
    "m08": ["石家庄", "三岗十八级"],
    "m09": ["太原"],
    "m10": ["托育", "婴幼儿照护"],
    "m11": ["校园欺凌"],
    "m12": ["第一书记"],
    "m13": ["一网统管"],
    "m14": ["社区团购", "团长"],
    "m15": ["无人机"],
}

WS = re.compile(r"\s+")


def norm(s):
    return WS.sub("", s)


def load_corpus():
    paths = []
    for d in SEED_DIRS:
        found = sorted(glob.glob(os.path.join(d, "*.txt")))
        if found:
            paths = found
            break
    paths += sorted(glob.glob(os.path.join(REG_DIR, "national", "*.md")))
    paths += sorted(glob.glob(os.path.join(REG_DIR, "local", "*", "*.md")))
    docs = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            docs[p] = norm(f.read())
    return docs


def main():
    verbose = "--verbose" in sys.argv
    docs = load_corpus()
    n_seed = sum(1 for p in docs if p.endswith(".txt"))
    n_reg = len(docs) - n_seed
    print(f"corpus: {n_seed} seed files, {n_reg} regulation files")
    if n_seed != 5 or n_reg < 80:
        print("FAIL corpus incomplete")
        return 1
    big = "\n".join(docs.values())

    errors = []
    seen_ids = set()
    queries = {}
    for fname, role in FILES.items():
        path = os.path.join(HERE, fname)
        counts = {k: 0 for k in KINDS}
        n_answerable = 0
        with open(path, encoding="utf-8") as f:
            lines = [row for row in f if row.strip()]
        for ln, line in enumerate(lines, 1):
            where = f"{fname}:{ln}"
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where} bad JSON: {e}")
                continue
            keys = {"id", "kind", "query", "facts", "regions", "answerable"}
            if set(q) != keys:
                errors.append(f"{where} fields {sorted(q)} != {sorted(keys)}")
                continue
            qid, kind = q["id"], q["kind"]
            where = f"{fname}:{ln} [{qid}]"
            if qid in seen_ids:
                errors.append(f"{where} duplicate id")
            seen_ids.add(qid)
            nq = norm(q["query"])
            if nq in queries:
                errors.append(f"{where} same query as {queries[nq]}")
            queries[nq] = qid
            if kind not in KINDS:
                errors.append(f"{where} unknown kind {kind!r}")
                continue
            counts[kind] += 1
            if not isinstance(q["facts"], list) or not isinstance(q["regions"], list):
                errors.append(f"{where} facts/regions must be lists")
                continue
            if kind == "none":
                if q["answerable"] is not False or q["facts"] or q["regions"]:
                    errors.append(f"{where} none question must have answerable=false, facts=[], regions=[]")
                terms = list(NONE_TERMS.get(qid, []))
                allowed = NONE_ALLOWED_CITIES.get(qid, [])
                for c in CITY_NAMES:
                    if c in q["query"] and c not in allowed and c not in terms:
                        terms.append(c)
                if not terms:
                    errors.append(f"{where} none question has no city/term to check")
                for t in terms:
                    if t not in q["query"]:
                        errors.append(f"{where} checked term {t!r} not in the query")
                    if t in big:
                        hits = [os.path.basename(p) for p, d in docs.items() if t in d]
                        errors.append(f"{where} term {t!r} occurs in corpus: {hits[:5]}")
                continue
            n_answerable += 1
            if q["answerable"] is not True:
                errors.append(f"{where} answerable must be true")
            facts = q["facts"]
            lo, hi = {"single": (1, 3), "regulation": (1, 2), "cross": (2, 4)}[kind]
            if not lo <= len(facts) <= hi:
                errors.append(f"{where} {len(facts)} facts, expected {lo}-{hi}")
            if kind == "cross":
                if not 2 <= len(q["regions"]) <= 4:
                    errors.append(f"{where} cross needs 2-4 regions")
                if len(q["regions"]) != len(facts):
                    errors.append(f"{where} cross needs one fact per region")
                if len(set(q["regions"])) != len(q["regions"]):
                    errors.append(f"{where} duplicate regions")
            if kind == "single" and len(q["regions"]) != 1:
                errors.append(f"{where} single needs exactly one region")
            for fact in facts:
                nf = norm(fact)
                if not 8 <= len(nf) <= 40:
                    errors.append(f"{where} fact length {len(nf)} outside 8-40: {fact}")
                hits = [p for p, d in docs.items() if nf in d]
                if not hits:
                    errors.append(f"{where} fact NOT FOUND verbatim: {fact}")
                elif verbose:
                    names = [os.path.relpath(p, _ROOT) for p in hits]
                    print(f"  {qid} {fact[:20]}… -> {names[:3]}{f' +{len(names) - 3}' if len(names) > 3 else ''}")
                if nf and nf in nq:
                    errors.append(f"{where} fact copied verbatim into the query: {fact}")
        total = sum(counts.values())
        print(f"{fname}: {total} questions, " + ", ".join(f"{k}={counts[k]}" for k in sorted(KINDS)))
        if role == "eval":
            for k, m in EVAL_MIN.items():
                if counts[k] < m:
                    errors.append(f"{fname}: {k}={counts[k]} < {m}")
            if total < EVAL_TOTAL_MIN:
                errors.append(f"{fname}: {total} < {EVAL_TOTAL_MIN} questions")
        else:
            if total != 30 or n_answerable != 15 or counts["none"] != 15:
                errors.append(
                    f"{fname}: need 30 questions, 15 answerable + 15 none "
                    f"(got {total}, {n_answerable}, {counts['none']})"
                )
    for e in errors:
        print("FAIL", e)
    print("OK" if not errors else f"{len(errors)} failure(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
