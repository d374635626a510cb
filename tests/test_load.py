"""kb.load: every supported format loads to plain text, every bad file fails with a specific reason."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.errors import LoadError
from kb.load import SUPPORTED, decode_text, find_files, iter_files, load

DATA = Path(__file__).parent / "data" / "load"


def reason(path: str | Path) -> str:
    with pytest.raises(LoadError) as info:
        load(path)
    assert info.value.path == str(path)
    return info.value.reason


# --- text files -----------------------------------------------------------------------------


def test_utf8_text():
    src = load(DATA / "utf8.txt")
    assert src.fmt == "txt"
    assert src.encoding == "utf-8"
    assert src.text.splitlines()[0] == "关于加强基层治理体系和治理能力现代化建设的意见"
    assert "“枫桥经验”" in src.text
    assert src.content_hash == hashlib.sha256((DATA / "utf8.txt").read_bytes()).hexdigest()
    assert src.path == str(DATA / "utf8.txt")


def test_utf8_bom_is_removed():
    src = load(DATA / "utf8_bom.txt")
    assert src.encoding == "utf-8-sig"
    assert src.text.startswith("村民委员会组织法\n")
    assert "\ufeff" not in src.text


def test_gbk_text_detected_and_crlf_normalised():
    src = load(DATA / "gbk.txt")
    assert src.encoding == "gb18030"
    assert "\r" not in src.text
    assert src.text.split("\n")[:2] == [
        "关于推进基层治理的通知",
        "第一条 健全党组织领导的自治、法治、德治相结合的城乡基层治理体系。",
    ]


@pytest.mark.parametrize(("name", "encoding"), [("utf16le.txt", "utf-16-le"), ("utf16be.txt", "utf-16-be")])
def test_utf16_with_bom(name, encoding):
    src = load(DATA / name)
    assert src.encoding == encoding
    assert src.text == "社区网格化管理办法\n第一条 网格员职责。\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_detected_by_nul_pattern(tmp_path, encoding):
    text = "社区治理 2024 年工作要点\n一、加强党建引领。\n"
    f = tmp_path / "nobom.txt"
    f.write_bytes(text.encode(encoding))
    src = load(f)
    assert (src.text, src.encoding) == (text, encoding)


def test_markdown_keeps_headings():
    src = load(DATA / "notes.md")
    assert src.fmt == "md"
    assert src.text.startswith("# 网格化管理工作笔记\n")
    assert "## 一、基本情况" in src.text.split("\n")


def test_encoding_comes_from_bytes_not_extension(tmp_path):
    f = tmp_path / "gbk.md"
    f.write_bytes("# 标题\n正文".encode("gbk"))
    assert load(f).text == "# 标题\n正文"


def test_line_endings_and_nul(tmp_path):
    f = tmp_path / "mixed.txt"
    f.write_bytes("甲\r\n乙\r丙\n丁\x00戊".encode())
    assert load(f).text == "甲\n乙\n丙\n丁戊"


def test_binary_junk_rejected():
    assert reason(DATA / "junk.txt") == "binary or unreadable content (not text)"


def test_nul_only_file_is_binary(tmp_path):
    f = tmp_path / "nul.txt"
    f.write_bytes(b"\x00" * 64)
    assert reason(f) == "binary or unreadable content (not text)"


def test_empty_file():
    assert reason(DATA / "empty.txt") == "empty file"


@pytest.mark.parametrize("data", [b" \r\n\t\n", b"\xef\xbb\xbf\n", b"\xff\xfe" + " \n".encode("utf-16-le")])
def test_whitespace_only_file_is_empty(tmp_path, data):
    f = tmp_path / "ws.txt"
    f.write_bytes(data)
    assert reason(f) == "empty file"


def test_five_megabyte_single_line_is_fast(tmp_path):
    line = "基层治理网格化管理ABC123，" * 140_000  # 36 bytes each: 5.04 MB, no line break
    f = tmp_path / "big.txt"
    f.write_text(line, encoding="utf-8")
    assert f.stat().st_size >= 5_000_000
    start = time.perf_counter()
    src = load(f)
    assert time.perf_counter() - start < 2.0
    assert src.text == line


def test_decode_text_strategies():
    assert decode_text(b"plain ascii") == ("plain ascii", "utf-8")
    assert decode_text("中文".encode("gb18030")) == ("中文", "gb18030")
    assert decode_text(b"\xef\xbb\xbf\xe4\xb8\xad") == ("中", "utf-8-sig")
    assert decode_text(b"\xff\xfe" + "中文".encode("utf-16-le")) == ("中文", "utf-16-le")
    # Undecodable bytes never raise: the caller's junk check decides.
    text, _ = decode_text(bytes(range(256)) * 4)
    assert isinstance(text, str)


# --- HTML ----------------------------------------------------------------------------------


def test_html_main_content_headings_table_and_meta():
    src = load(DATA / "page.html")
    lines = src.text.split("\n")
    assert src.fmt == "html"
    assert src.encoding == "utf-8"
    assert lines[0] == "# 枫桥经验的新时代实践"
    assert "## 一、网格化服务管理" in lines
    assert "年份\t调解纠纷数" in lines and "2022\t1,024" in lines
    assert "村民议事会" in lines and "乡贤参事会" in lines
    assert any(line.startswith("浙江省诸暨市枫桥镇") for line in lines)
    for junk in (
        "SECRET_SCRIPT_TEXT",
        "INLINE_SCRIPT",
        "广告脚本",
        "color: red",
        "财经",
        "正文",
        "分享到",
        "侧边栏",
        "网友评论",
        "版权所有",
        "请启用脚本",
    ):
        assert junk not in src.text, junk
    assert src.meta.title == "枫桥经验的新时代实践"  # " - 澎湃新闻" stripped
    assert src.meta.author == "张三"
    assert src.meta.date == "2023-05-06T10:30:00+08:00"
    assert src.meta.source == "澎湃新闻"


GOV_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>关于印发《城乡社区服务体系建设规划》的通知_政策文件_中国政府网</title>
<meta name="PubDate" content="2023-05-26 17:58"><script>var s = "不应出现";</script></head>
<body><div class="top-menu">首页 | 政策 | 新闻</div>
<table width="100%"><tr><td class="left-nav">导航栏</td><td>
<p>各省、自治区、直辖市人民政府，国务院各部委、各直属机构：</p>
<p>《城乡社区服务体系建设规划（2023—2025年）》已经国务院同意，现印发给你们，请认真贯彻执行。</p>
<p>国务院办公厅<br>2023年5月26日</p><p>来源： 国务院办公厅</p></td></tr></table>
<div class="share">分享到微信</div></body></html>"""


def test_html_gbk_meta_charset_layout_table_and_title_suffix(tmp_path):
    f = tmp_path / "gov.htm"
    f.write_bytes(GOV_PAGE.encode("gbk"))
    src = load(f)
    assert src.encoding == "gb18030"
    assert src.meta.title == "关于印发《城乡社区服务体系建设规划》的通知"
    assert src.meta.date == "2023-05-26 17:58"
    assert src.meta.source == "国务院办公厅"
    lines = src.text.split("\n")
    assert lines[:2] == [
        "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：",
        "《城乡社区服务体系建设规划（2023—2025年）》已经国务院同意，现印发给你们，请认真贯彻执行。",
    ]
    assert "国务院办公厅" in lines and "2023年5月26日" in lines  # <br> splits lines
    for junk in ("不应出现", "导航栏", "首页", "分享到"):
        assert junk not in src.text


def test_html_article_keeps_its_header_and_drops_related(tmp_path):
    f = tmp_path / "a.html"
    f.write_text(
        "<html><body><div class='page-with-sidebar'><article><header><h1>社区议事会制度</h1></header>"
        "<p>第一段正文。</p><div class='related-posts'>相关阅读</div></article><aside>侧栏</aside></div>"
        "<time datetime='2024-01-02'>1月2日</time></body></html>",
        encoding="utf-8",
    )
    src = load(f)
    assert src.text == "# 社区议事会制度\n第一段正文。"
    assert src.meta.title == "社区议事会制度"  # no <title>: first h1
    assert src.meta.date == "2024-01-02"


def test_html_without_text(tmp_path):
    f = tmp_path / "s.html"
    f.write_text("<html><head><script>alert('x')</script></head><body><nav>菜单</nav></body></html>")
    assert reason(f).startswith("no text content in HTML")


# --- PDF -----------------------------------------------------------------------------------


def test_pdf_with_chinese_text():
    src = load(DATA / "text.pdf")
    assert src.fmt == "pdf"
    assert src.encoding is None
    lines = [line for line in src.text.split("\n") if line]
    assert lines == ["基层治理白皮书", "第一章 总则", "第二章 村民自治"]
    assert src.meta.title == "基层治理白皮书"
    assert src.meta.author == "民政部"


def test_encrypted_pdf():
    assert reason(DATA / "encrypted.pdf") == "encrypted PDF (password protected); decrypt it first"


def test_pdf_encrypted_with_empty_user_password_loads():
    assert "第二章 村民自治" in load(DATA / "encrypted_owner_only.pdf").text


def test_truncated_pdf():
    assert reason(DATA / "truncated.pdf").startswith("corrupt or truncated PDF: ")


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + b"garbage" * 50 + b"\n%%EOF\n",  # pypdf itself fails
        (DATA / "text.pdf").read_bytes()[:1500] + b"\n%%EOF\n",  # cut short, EOF marker faked
        b"not a pdf at all",
    ],
)
def test_corrupt_pdf(tmp_path, data):
    f = tmp_path / "bad.pdf"
    f.write_bytes(data)
    assert reason(f).startswith("corrupt or truncated PDF: ")


def test_image_only_pdf():
    assert reason(DATA / "image_only.pdf") == "no extractable text (scanned/image-only PDF); run OCR first"


# --- DOCX ----------------------------------------------------------------------------------


def test_docx_headings_and_table_in_body_order():
    src = load(DATA / "doc.docx")
    assert src.fmt == "docx"
    assert src.text.split("\n") == [
        "# 社区治理工作方案",
        "为提升社区治理水平，制定本方案。",
        "# 一、工作目标",
        "建成“一刻钟便民生活圈”。",
        "社区\t网格数\t网格员",
        "幸福社区\t12\t15",
        "## 二、保障措施",
        "加强组织领导。",
    ]
    assert src.meta.title == "社区治理工作方案"
    assert src.meta.author == "幸福街道办事处"
    assert src.meta.date is not None and src.meta.date.startswith("2024-03-01")


def test_docx_not_a_zip():
    assert reason(DATA / "not_zip.docx") == "not a valid .docx (not a zip archive)"


def test_docx_zip_without_document_xml():
    assert reason(DATA / "no_document.docx") == "not a valid .docx (missing word/document.xml)"


# --- other failures ------------------------------------------------------------------------


def test_unsupported_type(tmp_path):
    f = tmp_path / "table.xlsx"
    f.write_bytes(b"PK\x03\x04")
    assert reason(f).startswith("unsupported file type .xlsx")


def test_missing_file(tmp_path):
    assert reason(tmp_path / "nope.txt") == "file not found"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path):
    f = tmp_path / "locked.txt"
    f.write_text("内容")
    f.chmod(0)
    try:
        assert "permission denied" in reason(f)
    finally:
        f.chmod(0o644)


def test_read_error_becomes_load_error(tmp_path, monkeypatch):
    f = tmp_path / "a.txt"
    f.write_text("内容")

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    assert reason(f) == "permission denied (cannot read file)"


# --- iter_files ----------------------------------------------------------------------------


def test_iter_files(tmp_path):
    for rel in [
        "b.txt",
        "a.md",
        "sub/c.pdf",
        "sub/deep/d.docx",
        "sub/e.xyz",
        ".hidden.txt",
        ".git/f.txt",
        "sub/~$g.docx",
        "h.HTML",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    explicit = tmp_path / "sub" / "e.xyz"
    got = iter_files([tmp_path, explicit, tmp_path / "b.txt"])
    rel = [p.relative_to(tmp_path).as_posix() for p in got]
    assert rel == sorted(rel)
    assert set(rel) == {"a.md", "b.txt", "h.HTML", "sub/c.pdf", "sub/deep/d.docx", "sub/e.xyz"}
    assert len(rel) == len(set(rel))  # b.txt named twice, listed once


def test_iter_files_returns_missing_explicit_path(tmp_path):
    assert iter_files([tmp_path / "missing.pdf"]) == [tmp_path / "missing.pdf"]


def test_links_out_of_an_ingested_folder_are_skipped_and_listed(tmp_path):
    folder, outside = tmp_path / "corpus", tmp_path / "private"
    for rel in ("corpus/a.txt", "corpus/sub/b.txt", "private/secret.txt", "private/dir/c.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x", encoding="utf-8")
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "dir").symlink_to(outside / "dir", target_is_directory=True)
    (folder / "alias.txt").symlink_to(folder / "sub" / "b.txt")  # stays inside: harmless, read once

    files, skipped = find_files([folder])
    assert [p.relative_to(folder).as_posix() for p in files] == ["a.txt", "alias.txt"]
    assert [p.name for p, _ in skipped] == ["dir", "secret.txt"]
    assert all("not followed" in why and "KB_INGEST_FOLLOW_LINKS" in why for _, why in skipped)

    followed, none = find_files([folder], follow_links=True)
    assert none == [] and {p.name for p in followed} == {"a.txt", "alias.txt", "secret.txt", "c.txt"}


def test_supported_extensions():
    assert SUPPORTED == (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


def test_import_is_light():
    code = "import sys, kb.load; print(sorted(m for m in ('pypdf', 'docx', 'bs4') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert out.stdout.strip() == "[]"
