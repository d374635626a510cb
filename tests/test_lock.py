"""kb.lock: one writer at a time, tested with real concurrent processes (fake model).

A helper process runs `kb ingest` with an embedder that blocks until the test releases it,
so the second writer meets the first at a known point instead of by timing luck.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, fake_settings, write_corpus

from kb import lock
from kb.api import KnowledgeBase
from kb.embed import FakeEmbedder
from kb.errors import WriterBusyError

GATED_INGEST = """
import pathlib, sys, time
from kb.cli import main
from kb.embed import FakeEmbedder

gate = pathlib.Path(sys.argv[1])
real = FakeEmbedder.embed_passages

def gated(self, texts, progress_bar=False):
    (gate / "embedding").touch()
    while not (gate / "release").exists():
        time.sleep(0.05)
    return real(self, texts, progress_bar)

FakeEmbedder.embed_passages = gated
raise SystemExit(main(sys.argv[2:]))
"""
LIVENESS = 120  # seconds a helper process may take to reach the gate (a hang, not a speed test)


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return out | {"KB_MODEL": "fake", "PYTHONPATH": str(REPO_ROOT)}


def kb_process(*argv, gate: Path | None = None) -> subprocess.Popen:
    code = ["-c", GATED_INGEST, str(gate)] if gate else ["-m", "kb.cli"]
    return subprocess.Popen(
        [sys.executable, *code, *map(str, argv)], env=env(), cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + LIVENESS
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"helper ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("helper never reached the embedding step")
        time.sleep(0.05)


def corpus(root: Path, name: str, n: int) -> Path:
    texts = {f"{name}{i}.txt": f"{name}文件{i}\n第{i}份材料：{name}社区网格化治理经验，编号{i}。" for i in range(n)}
    return write_corpus(root / name, texts)


@pytest.fixture
def base(tmp_path):
    """An index holding corpus 'base', plus two more corpora to ingest concurrently."""
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)).ingest([corpus(tmp_path, "base", 2)])
    gate = tmp_path / "gate"
    gate.mkdir()
    return settings, corpus(tmp_path, "alpha", 7), corpus(tmp_path, "beta", 7), gate


def titles(settings) -> set[str]:
    with KnowledgeBase(settings=settings) as kb:
        return {d.title for d, _ in kb.documents()}


def test_a_second_writer_fails_at_once_naming_the_first_and_readers_see_the_old_index(base):
    settings, alpha, beta, gate = base
    first = kb_process("ingest", alpha, "--index", settings.index_dir, gate=gate)
    wait_for(gate / "embedding", first)

    second = kb_process("ingest", beta, "--index", settings.index_dir)
    out, err = second.communicate(timeout=LIVENESS)
    assert second.returncode == 1, (out, err)
    assert f"另一个入库进程正在运行（PID {first.pid}" in err and "Traceback" not in err
    with pytest.raises(WriterBusyError, match=f"PID {first.pid}"):
        KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)).ingest([beta])
    with pytest.raises(WriterBusyError):
        KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)).repair(force=True)

    # readers take no lock and keep reading the previous generation during the write
    assert titles(settings) == {"base文件0", "base文件1"}
    with KnowledgeBase(settings=settings, embedder=FakeEmbedder(64)) as kb:
        assert kb.search("网格化治理经验", k=5)

    (gate / "release").touch()
    assert first.wait(timeout=LIVENESS) == 0, first.communicate()
    assert len(titles(settings)) == 2 + 7
    assert KnowledgeBase(settings=settings).check().ok


def test_a_waiting_writer_queues_and_neither_loses_documents(base):
    settings, alpha, beta, gate = base
    first = kb_process("ingest", alpha, "--index", settings.index_dir, gate=gate)
    wait_for(gate / "embedding", first)
    second = kb_process("ingest", beta, "--index", settings.index_dir, "--wait")
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(iter(lambda: second.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + LIVENESS
    while "等待" not in "".join(said):
        assert second.poll() is None and time.monotonic() < deadline, "".join(said)
        time.sleep(0.05)
    assert f"另一个入库进程正在运行（PID {first.pid}" in "".join(said)
    (gate / "release").touch()
    assert first.wait(timeout=LIVENESS) == 0
    assert second.wait(timeout=LIVENESS) == 0, "".join(said)
    assert len(titles(settings)) == 2 + 7 + 7
    assert KnowledgeBase(settings=settings).check().ok


def test_a_lock_left_by_a_killed_writer_is_cleared(base):
    settings, alpha, beta, gate = base
    killed = kb_process("ingest", alpha, "--index", settings.index_dir, gate=gate)
    wait_for(gate / "embedding", killed)
    assert lock.holder(settings.index_dir)["pid"] == killed.pid
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=LIVENESS)

    said: list[str] = []
    report = KnowledgeBase(settings=settings, embedder=FakeEmbedder(64), progress=said.append).ingest([beta])
    assert report.count("added") == 7
    assert any("清除" in s and str(killed.pid) in s for s in said)
    assert titles(settings) == {"base文件0", "base文件1", *(f"beta文件{i}" for i in range(7))}
    assert lock.holder(settings.index_dir) is None  # released cleanly this time


def test_wait_setting_from_the_environment_parses_false(monkeypatch):
    from kb.settings import Settings

    monkeypatch.setenv("KB_INGEST_WAIT", "false")
    assert Settings.load().ingest_wait is False
    monkeypatch.setenv("KB_INGEST_WAIT", "1")
    assert Settings.load().ingest_wait is True
