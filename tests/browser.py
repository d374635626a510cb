"""Drive the real app in headless Chromium (Debian's chromium + chromium-driver, no browser download).

Shared by tests/test_app_browser.py and benchmarks/app_latency.py. ``ensure_chromium`` installs
the Debian packages when they are missing and the process may (root with apt-get); otherwise it
raises with the command to run, so a test fails loudly instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chromium", "chromium-driver", "fonts-noto-cjk")
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1440, 1000  # a desktop window


class BrowserMissing(RuntimeError):
    """Chromium, its driver or the CJK fonts are missing and cannot be installed here."""


def _have() -> bool:
    fonts = Path("/usr/share/fonts/opentype/noto").glob("NotoSansCJK*")
    return any(Path(p).exists() for p in CHROMIUM) and Path(DRIVER).exists() and any(fonts)


def ensure_chromium() -> tuple[str, str]:
    """(chromium binary, chromedriver), installing Debian's packages first if needed and possible."""
    if not _have():
        command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise BrowserMissing(f"install the browser first: sudo apt-get update && sudo {' '.join(command)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-q"], command):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
            if done.returncode != 0:
                raise BrowserMissing(f"`{' '.join(cmd)}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        if not _have():
            raise BrowserMissing(f"installed {' '.join(PACKAGES)} but chromium/chromedriver/fonts are still missing")
    binary = next(p for p in CHROMIUM if Path(p).exists())
    return binary, DRIVER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str], port: int | None = None, log: Path | None = None):
    """`streamlit run app.py` on a free loopback port; yields (url, seconds until the server answered)."""
    port = port or free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}" + (f"; see {log}" if log else ""))
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("streamlit did not answer within 120 s")
            time.sleep(0.2)
        yield url, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()


@contextmanager
def chrome():
    """A headless Chromium at desktop size through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        f"--window-size={WIDTH},{HEIGHT}", "--lang=zh-CN", "--force-device-scale-factor=1",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_window_size(WIDTH, HEIGHT)
    try:
        yield driver
    finally:
        driver.quit()


# ---------------------------------------------------------------- page helpers


def wait_for(driver, predicate, timeout: float = 60.0, what: str = "condition"):
    """Poll ``predicate(driver)`` until it returns something truthy; raise with the page text if not."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            got = predicate(driver)
        except Exception:  # noqa: BLE001 - elements come and go while Streamlit re-renders
            got = None
        if got:
            return got
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; page says: {page_text(driver)[:1500]}")


def page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except Exception:  # noqa: BLE001
        return ""


def idle(driver) -> bool:
    """Streamlit has finished running the script (no 'Running…' status widget)."""
    from selenium.webdriver.common.by import By

    return not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')


def question_box(driver):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, 'input[aria-label="问题"]')


def ask(driver, question: str, timeout: float = 60.0) -> float:
    """Type a question, press Enter, wait for the answer; returns the seconds it took."""
    from selenium.webdriver.common.keys import Keys

    box = wait_for(driver, question_box, timeout, "the question box")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(question)
    started = time.perf_counter()
    box.send_keys(Keys.ENTER)
    # the cheap status check first: reading the whole page's text every 0.1 s costs the browser
    # CPU that the app's answer is competing for on a small machine
    wait_for(driver, lambda d: idle(d) and f"问题：{question}" in page_text(d), timeout, "the answer")
    return time.perf_counter() - started


def open_page(driver, url: str, path: str, marker: str, timeout: float = 60.0) -> None:
    driver.get(f"{url}/{path}")
    wait_for(driver, lambda d: marker in page_text(d) and idle(d), timeout, f"page {path or '/'}")


def screenshot(driver, path: Path, max_height: int = 4000) -> Path:
    """A screenshot of the page at desktop width, as tall as its content (up to ``max_height``)."""
    height = driver.execute_script(
        "const m = document.querySelector('[data-testid=\"stMain\"]') || document.body;"
        "return Math.max(m.scrollHeight, document.body.scrollHeight);"
    )
    driver.set_window_size(WIDTH, min(max(int(height) + 40, HEIGHT), max_height))
    driver.execute_script(
        "document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; }); window.scrollTo(0, 0);"
    )
    time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)
    return path


def nav(driver, title: str, marker: str, timeout: float = 60.0) -> None:
    """Switch page through the sidebar (same session, so the basket and the answer stay)."""
    from selenium.webdriver.common.by import By

    def go(d) -> bool:
        d.find_element(By.XPATH, f"//a[@data-testid='stSidebarNavLink' and contains(., '{title}')]").click()
        return True

    wait_for(driver, go, timeout, f"the {title} link")
    time.sleep(0.3)
    wait_for(driver, lambda d: marker in page_text(d) and idle(d), timeout, f"page {title}")
