"""The library folder the app manages: uploads checked for type and size, saved under safe
names, and refused when the same content is already indexed.

Nothing here touches the index; ``KnowledgeBase.add_file`` saves through this module and
then ingests the saved file.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from kb.errors import UploadError
from kb.load import SUPPORTED
from kb.settings import Settings

MAX_NAME = 100  # characters of the stem kept


def upload_folder(settings: Settings) -> Path:
    """Where uploads go: ``upload_dir``, or ``<corpus_dir>/uploads`` so that `kb` re-indexes them too."""
    return Path(settings.upload_dir or Path(settings.corpus_dir) / "uploads")


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder or confuse a shell: the base name only,
    NFKC-normalised (（）→ ()), letters (Chinese included), digits, ``.-_()`` kept, anything else turned into ``_``."""
    base = unicodedata.normalize("NFKC", re.split(r"[\\/]", name or "")[-1]).strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w\-()（）]+", "_", stem).strip("._ ")[:MAX_NAME] or "upload"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()
    return f"{stem}.{ext}" if ext else stem


def check_upload(name: str, data: bytes, settings: Settings, known: dict[str, str]) -> str:
    """The safe name for an upload, or UploadError saying (in Chinese) what to do instead.

    ``known`` maps content hashes already in the index to their paths.
    """
    clean = safe_name(name)
    suffix = Path(clean).suffix.lower()
    if suffix not in SUPPORTED:
        kinds = "、".join(s.lstrip(".") for s in SUPPORTED)
        raise UploadError(f"“{name}”的类型不受支持。请上传 {kinds} 文件（扫描版 PDF 请先做文字识别）。")
    if not data:
        raise UploadError(f"“{name}”是空文件。请检查文件后重新上传。")
    limit = settings.upload_max_mb * 1024 * 1024
    if len(data) > limit:
        raise UploadError(
            f"“{name}”有 {len(data) / 1048576:.1f} MB，超过上限 {settings.upload_max_mb} MB。"
            "请拆分文件，或调大设置 KB_UPLOAD_MAX_MB。"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest in known:
        raise UploadError(f"“{name}”与文库中已有的 {known[digest]} 内容完全相同，无需重复上传。")
    return clean


def save_upload(name: str, data: bytes, settings: Settings, known: dict[str, str]) -> Path:
    """Check and write an upload into the upload folder under a fresh, safe name."""
    clean = check_upload(name, data, settings, known)
    folder = upload_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = Path(clean).stem, Path(clean).suffix
    target, n = folder / clean, 1
    while target.exists():
        target, n = folder / f"{stem}-{n}{suffix}", n + 1
    tmp = folder / f".{target.name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` lies inside ``folder`` (after resolving both)."""
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False
