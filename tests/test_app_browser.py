"""End to end: the real app (`streamlit run app.py`) in headless Chromium from Debian's packages.

Type a question, wait for the answer, see a citation and a source title; upload a file in
文库管理 and find it through a question. Runs on a fake-model copy of the session index so it
is quick. Chromium is installed by the test when missing (as root, with apt-get); where that
is impossible the test fails, it never skips. Screenshots of every page go to tmp_path, or to
$KB_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser import ask, chrome, ensure_chromium, open_page, page_text, running_app, screenshot, wait_for

UPLOAD = (
    "百花社区议事协商工作总结\n\n"
    "一、基本做法\n\n"
    "百花社区每月召开一次居民议事会，由楼栋长、物业和业委会代表共同商量停车难、加装电梯等问题，"
    "议定事项在公示栏公开，三十天内办结。\n"
)


@pytest.fixture
def app_env(tmp_path, built_index) -> dict[str, str]:
    shutil.copytree(built_index.index_dir, tmp_path / "index")
    (tmp_path / "corpus").mkdir()
    return {
        "KB_INDEX_DIR": str(tmp_path / "index"),
        "KB_CORPUS_DIR": str(tmp_path / "corpus"),
        "KB_MODEL": "fake",
        "KB_ANSWER_MIN_COSINE": "-1",  # the fake model's similarities are not e5's
        "KB_ANSWER_SURE_COSINE": "-1",
        "KB_ANSWER_MIN_WORDS": "0",
        "KB_LLM_BASE_URL": "",
    }


def test_ask_and_upload_in_a_real_browser(app_env, tmp_path):
    from selenium.webdriver.common.by import By

    ensure_chromium()  # raises with the install command where it cannot install: a failure, not a skip
    shots = Path(os.environ.get("KB_SCREENSHOT_DIR") or tmp_path / "shots")
    with running_app(app_env, log=tmp_path / "streamlit.log") as (url, _), chrome() as driver:
        open_page(driver, url, "", "问答")
        ask(driver, "网格员队伍建设怎么加强")
        text = page_text(driver)
        assert "[1]" in text, text[:2000]
        assert "广饶县基层社会治理调查" in text
        assert "提取式回答" in text
        screenshot(driver, shots / "ask.png")

        doc = tmp_path / "百花社区议事.txt"
        doc.write_text(UPLOAD, encoding="utf-8")
        open_page(driver, url, "library", "上传文件")
        file_input = wait_for(  # the uploader renders after its label
            driver,
            lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, 'input[type="file"]')), None),
            what="file input",
        )
        file_input.send_keys(str(doc))
        button = wait_for(
            driver,
            lambda d: next(
                (b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip().endswith("上传并索引")), None
            ),
            what="the upload button",
        )
        button.click()
        wait_for(driver, lambda d: "已加入文库" in page_text(d), 120, "the upload to be indexed")
        assert (Path(app_env["KB_CORPUS_DIR"]) / "uploads" / "百花社区议事.txt").exists()
        screenshot(driver, shots / "library.png")

        open_page(driver, url, "", "问答")
        ask(driver, "百花社区居民议事会怎么开")
        assert "百花社区议事协商工作总结" in page_text(driver)

        open_page(driver, url, "practices", "其他地方怎么做")  # on every card
        screenshot(driver, shots / "practices.png")
        open_page(driver, url, "material", "素材")
        screenshot(driver, shots / "material.png")
    assert all((shots / f"{p}.png").stat().st_size > 10_000 for p in ("ask", "library", "practices", "material"))
