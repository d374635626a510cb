"""One writer at a time: an advisory lock file in the index folder.

Ingest, repair and rebuild hold ``writer.lock`` (``fcntl.flock``) for their whole write;
readers never take it and keep reading the live generation, which a writer replaces only
by its final SQLite commit. The kernel drops the lock when its holder dies, so a lock left
by a killed process is stale by construction: the next writer takes it, says whose it
was, and overwrites the holder record (PID, host, start time) with its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import WriterBusyError

LOCK_NAME = "writer.lock"
POLL_SECONDS = 0.2


def holder(index_dir: str | Path) -> dict | None:
    """The record of the last process that took the lock (it may have ended since)."""
    try:
        return json.loads((Path(index_dir) / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _describe(record: dict | None) -> str:
    if not record:
        return "PID 未知"
    return f"PID {record.get('pid')}，主机 {record.get('host')}，始于 {record.get('started')}"


@contextmanager
def writer_lock(index_dir: str | Path, wait: bool = False, say: Callable[[str], None] | None = None) -> Iterator[dict]:
    """Hold the index folder's writer lock; raise WriterBusyError at once if another process has it.

    With ``wait`` the call blocks (saying so once) until the other writer finishes.
    """
    folder = Path(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, folder, wait, say)
        previous = holder(folder)  # a clean exit empties the record: one left here is from a killed writer
        if previous and say:
            say(f"清除了已中断的入库进程留下的锁（{_describe(previous)}）")
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield record
        finally:
            os.ftruncate(fd, 0)  # released: no holder to report
    finally:
        os.close(fd)  # closing drops the flock


def _acquire(fd: int, folder: Path, wait: bool, say: Callable[[str], None] | None) -> None:
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            busy = f"另一个入库进程正在运行（{_describe(holder(folder))}）"
            if not wait:
                raise WriterBusyError(
                    f"{busy}，它正在写入 {folder}/。请等它结束后再试，或加 --wait 排队等待；"
                    "检索不受影响（读的是上一代索引）。"
                ) from None
            if say and not told:
                say(f"{busy}；等待它结束…")
                told = True
            time.sleep(POLL_SECONDS)
