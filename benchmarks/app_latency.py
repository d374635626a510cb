"""App latency in a real browser: `streamlit run` → usable page, first answer, later answers.

    python benchmarks/app_latency.py --index /path/to/seeds+regulations/index [--screenshots docs]

Starts the real app (headless Chromium from Debian, as in tests/test_app_browser.py) on an
existing index and measures, from the user's side:
  • start: seconds from launching `streamlit run app.py` until the question box is shown and the
    app is idle (model loaded, index opened, warm-up search done);
  • first answer: Enter → the answer on screen, for the first question;
  • later answers: the same for the other questions (p50 / p95 / max).
Baseline in the same run: the same questions through the Python API in this process
(`KnowledgeBase.ask` + `search` for the cards, model already loaded), so the difference is
what the app adds (Streamlit rerun, rendering, websocket). With ``--screenshots`` it saves one
desktop-width screenshot per page into that folder (for the README).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import ask, chrome, idle, nav, page_text, question_box, running_app, screenshot, wait_for  # noqa: E402

QUESTIONS = [
    "网格员待遇低、队伍不稳定怎么办？",
    "人民调解委员会由哪些人组成？",
    "各地在网格化管理上有哪些做法？",
    "信访事项应当在多长时间内办理完毕？",
    "村民代表会议怎么召开？",
    "物业服务企业不履行物业服务合同怎么办？",
    "社区矫正对象可以外出吗？",
    "三明市梅列区的三长制是怎么做的？",
    "广饶县怎么化解矛盾纠纷？",
    "志愿服务组织有哪些义务？",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def api_baseline(index: str, questions: list[str]) -> dict:
    """The same work through the API in-process, model loaded and warmed up first."""
    from kb.api import KnowledgeBase

    kb = KnowledgeBase(index)
    started = time.perf_counter()
    kb.search("基层治理", k=1)
    load = time.perf_counter() - started
    times = []
    for q in questions:
        t = time.perf_counter()
        kb.search(q, k=10)  # the app fetches 10 result cards (kb.app.ask.CARDS)
        kb.ask(q)
        times.append(time.perf_counter() - t)
    return {"load_s": round(load, 2), "first_s": round(times[0], 3), "later": summary(times[1:])}


def summary(values: list[float]) -> dict:
    return {
        "p50_s": round(statistics.median(values), 3),
        "p95_s": round(pct(values, 0.95), 3),
        "max_s": round(max(values), 3),
        "n": len(values),
    }


def browser_run(index: str, questions: list[str], shots: Path | None) -> dict:
    env = {"KB_INDEX_DIR": index, "KB_LLM_BASE_URL": ""}
    launched = time.perf_counter()
    with running_app(env, log=Path("/tmp/kb-app-latency.log")) as (url, server_s), chrome() as driver:
        driver.get(url)
        wait_for(driver, lambda d: question_box(d) and idle(d), 300, "a usable page")
        usable = time.perf_counter() - launched
        seen, server = [], []
        for q in questions:
            seen.append(ask(driver, q, 120))
            server.append(float(re.search(r"（(\d+\.\d+) 秒）", page_text(driver)).group(1)))
        first, later = seen[0], seen[1:]
        if shots:
            take_screenshots(driver, url, shots)
    return {
        "server_up_s": round(server_s, 2),
        "usable_page_s": round(usable, 2),
        "first_answer_s": round(first, 3),
        "later": summary(later),
        "server_compute_later": summary(server[1:]),  # search + ask inside the app (shown in the page)
        "ui_overhead_later": summary([a - b for a, b in zip(later, server[1:], strict=True)]),
    }


def take_screenshots(driver, url: str, shots: Path) -> None:
    """One screenshot per page at desktop width; a few items go into the basket on the way."""
    from selenium.webdriver.common.by import By

    def click(label: str, nth: int = 0) -> None:
        def go(d) -> bool:  # retried by wait_for while Streamlit re-renders (stale elements)
            buttons = [b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip().endswith(label)]
            buttons[nth].click()
            return True

        wait_for(driver, go, 30, f"button {label}")
        time.sleep(0.5)
        wait_for(driver, idle, 60, f"after clicking {label}")

    ask(driver, "各地在网格化管理上有哪些做法？", 120)
    click("回答加入素材")
    click("加入素材", 1)
    driver.execute_script("document.querySelector('[data-testid=\"stExpander\"] summary').click()")
    time.sleep(0.5)
    screenshot(driver, shots / "app-ask.png", 2400)
    nav(driver, "各地做法", "其他地方怎么做", 120)
    click("其他地方怎么做", 6)
    wait_for(driver, lambda d: "来自" in page_text(d) and idle(d), 60, "comparable practices")
    click("加入素材", 0)
    screenshot(driver, shots / "app-practices.png", 2400)
    click("关闭")
    driver.find_element(By.XPATH, "//*[@role='tab' and contains(., '主题')]").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "canvas, svg.marks") and idle(d), 60, "the heatmap")
    time.sleep(1.5)
    screenshot(driver, shots / "app-heatmap.png", 2400)
    nav(driver, "文库管理", "上传文件", 120)
    time.sleep(1.0)
    screenshot(driver, shots / "app-library.png", 2400)
    nav(driver, "素材导出", "导出 DOCX", 120)
    screenshot(driver, shots / "app-material.png", 2400)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", default=os.environ.get("KB_INDEX_DIR", "index"))
    parser.add_argument("--screenshots", type=Path, help="folder for one screenshot per page (e.g. docs)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    index = str(Path(args.index).resolve())
    manifest = json.loads((Path(index) / "manifest.json").read_text(encoding="utf-8"))
    result = {
        "index": {"documents": manifest["documents"], "passages": manifest["passages"], "model": manifest["model"]},
        "cores": os.cpu_count(),
        "app": browser_run(index, QUESTIONS, args.screenshots),
        "api_baseline": api_baseline(index, QUESTIONS),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
