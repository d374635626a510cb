"""Read a file into a :class:`~kb.types.Source`: plain text plus the metadata its format states.

Every format is folded into one shape (``\\n`` lines, markdown ``#`` headings, tab-separated
table rows) so the later stages never look at file formats. Anything that cannot become
useful text raises :class:`~kb.errors.LoadError` with a reason the user can act on, instead
of letting junk (binary bytes, a scanned PDF, site navigation) into the index.

pypdf, python-docx and bs4 are imported inside their loaders so ``import kb`` stays fast.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from kb.errors import LoadError
from kb.types import Source, SourceMeta

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")

_FMT = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def load(path: str | Path, data: bytes | None = None) -> Source:
    """Load one file; raise LoadError(path, reason) when it cannot yield readable text.

    The format comes from the extension (the encoding never does: it is detected from the
    bytes). The hash is of the raw bytes, so re-ingesting an unchanged file can be skipped.
    ``data`` is the file's content when the caller has already read it (ingest hashes first).
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in _FMT:
        raise LoadError(
            str(path), f"unsupported file type {ext or '(no extension)'}; supported: {', '.join(SUPPORTED)}"
        )
    data = read_bytes(p) if data is None else data
    if not data:
        raise LoadError(str(path), "empty file")
    fmt = _FMT[ext]
    loader = {"txt": _load_text, "md": _load_text, "html": _load_html, "pdf": _load_pdf, "docx": _load_docx}[fmt]
    text, encoding, meta = loader(str(path), data)
    return Source(
        path=str(path),
        text=text,
        fmt=fmt,
        content_hash=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        meta=meta,
    )


def iter_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders (recursively) to their supported files; sorted and de-duplicated.

    Hidden files/folders, Office lock files (``~$x.docx``) and folder notes
    (README.md, SOURCES.md…) inside folders are skipped: they are never documents. A file named explicitly is always returned, even if
    unsupported or missing, so ingest can report why it was not loaded rather than
    silently ignoring what the user asked for. Symbolic links are followed; see
    ``find_files`` for the ingest rule.
    """
    return find_files(paths, follow_links=True)[0]


def find_files(paths: Sequence[str | Path], follow_links: bool = False) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``iter_files``, plus which symbolic links were not followed and why.

    A link inside a folder that points outside that folder is skipped unless
    ``follow_links``: ingesting a folder should read that folder, not whatever a link in it
    reaches (another user's files, a whole disk). Links that stay inside the folder are
    harmless and kept (a linked folder is read once, through its real path).
    """
    found: dict[str, Path] = {}
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            found.setdefault(_key(p), p)
            continue
        root = p.resolve()
        seen_dirs = {str(root)}
        for base, dirs, files in os.walk(p, followlinks=follow_links):
            kept = []
            for d in dirs:
                if d.startswith("."):
                    continue
                link = Path(base) / d
                if link.is_symlink() and not follow_links and _outside(link, root):
                    skipped.append((link, _link_reason(link, root)))
                elif (real := _key(link)) not in seen_dirs:  # a cycle or a second way in: read once
                    seen_dirs.add(real)
                    kept.append(d)
            dirs[:] = kept
            for name in files:
                if name.startswith((".", "~$")) or Path(name).suffix.lower() not in SUPPORTED or _is_notes(name):
                    continue
                f = Path(base) / name
                if f.is_symlink() and not follow_links and _outside(f, root):
                    skipped.append((f, _link_reason(f, root)))
                    continue
                found.setdefault(_key(f), f)
    return sorted(found.values(), key=lambda f: str(f)), sorted(skipped)


def _outside(link: Path, root: Path) -> bool:
    target = Path(_key(link))
    return target != root and root not in target.parents


def _link_reason(link: Path, root: Path) -> str:
    return (
        f"symbolic link to {_key(link)}, outside {root}: not followed "
        "(set KB_INGEST_FOLLOW_LINKS=true to ingest what links point to)"
    )


def _is_notes(name: str) -> bool:
    """README/SOURCES/LICENSE/CHANGELOG files describe a folder; they are not documents."""
    return Path(name).stem.upper() in {"README", "SOURCES", "LICENSE", "CHANGELOG", "NOTICE"}


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown encoding; return (text, encoding name). Never raises.

    Order matters: a BOM is certain; valid UTF-8 is almost never accidental; UTF-16
    without BOM shows as NULs in every other byte; GB18030 (superset of GBK/GB2312) is
    the common legacy Chinese encoding; charset-normalizer handles whatever is left. If
    nothing fits, the text is decoded lossily so the caller's junk check can reject it.
    """
    return _decode(data)


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _key(p: Path) -> str:
    try:
        return str(p.resolve())
    except OSError:
        return str(p.absolute())


def read_bytes(p: Path) -> bytes:
    """The raw bytes of a file, or LoadError with the reason it cannot be read."""
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise LoadError(str(p), "file not found") from None
    except IsADirectoryError:
        raise LoadError(str(p), "is a directory, not a file") from None
    except PermissionError:
        raise LoadError(str(p), "permission denied (cannot read file)") from None
    except OSError as e:
        raise LoadError(str(p), f"cannot read file: {e.strerror or e}") from None


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# Labels web pages declare for what is really GB18030-compatible text.
_GB_ALIASES = {"gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "csgb2312", "gb18030"}


def _decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    for bom, enc in _BOMS:
        if data.startswith(bom):
            codec = enc.removesuffix("-sig")
            return data[len(bom) :].decode(codec, errors="replace"), enc
    utf8 = _strict(data, "utf-8")
    # Valid UTF-8 containing NULs is really BOM-less UTF-16 of mostly-ASCII text (or binary).
    if utf8 is not None and "\x00" not in utf8:
        return utf8, "utf-8"
    guess = _utf16_guess(data)
    if guess and (text := _strict(data, guess)) is not None:
        return text, guess
    if utf8 is not None:
        return utf8, "utf-8"
    for enc in (declared, "gb18030"):  # a page's declared charset, else the Chinese default
        if enc and (text := _strict(data, enc)) is not None:
            return text, enc
    if data[:65536].count(0) > 8:  # NULs outside UTF-16 mean binary: skip the slow detector
        return data.decode("utf-8", errors="replace"), "utf-8"
    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    return data.decode("utf-8", errors="replace"), "utf-8"


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf16_guess(data: bytes) -> str | None:
    """BOM-less UTF-16: ASCII chars (spaces, newlines, digits) put NULs on one byte parity."""
    sample = data[:65536]
    n = len(sample) // 2
    if n < 2 or len(data) % 2:
        return None
    even = sample[0 : 2 * n : 2].count(0)
    odd = sample[1 : 2 * n : 2].count(0)
    # Allow some NULs on the other parity: CJK chars like 一 (U+4E00) have a zero low byte.
    if odd >= max(2, n // 50) and even * 4 <= odd:
        return "utf-16-le"
    if even >= max(2, n // 50) and odd * 4 <= even:
        return "utf-16-be"
    return None


# "Readable" characters: whitespace, ASCII printable, Latin/Greek/Cyrillic, general
# punctuation & symbols, CJK (incl. punctuation, kana, Hangul, full-width, Ext-B+).
_GOOD_RUN = re.compile(
    "[\t\n\r\f\v\x20-\x7e\u00a0-\u024f\u0370-\u04ff\u2000-\u2bff\u2e80-\u9fff"
    "\ua000-\ua4cf\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]+"
)
# Clearly not text: C0/C1 control characters (bar whitespace), DEL, NUL, U+FFFD.
_BAD_RUN = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]+")


def _is_junk(text: str) -> bool:
    """True when decoded text is really binary data; judged on a sample so big files stay fast."""
    if len(text) > 300_000:
        mid = len(text) // 2
        text = text[:100_000] + text[mid - 50_000 : mid + 50_000] + text[-100_000:]
    n = len(text)
    if n == 0:
        return False
    bad = n - len(_BAD_RUN.sub("", text))
    good = n - len(_GOOD_RUN.sub("", text))
    return bad > max(2, n * 0.02) or good < n * 0.85


def _normalise(text: str) -> str:
    """Make ``\\n`` the only line break, so ``split("\\n")`` and ``splitlines()`` agree."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    for ch in ("\f", "\v", "\x85", "\u2028", "\u2029"):
        if ch in text:
            text = text.replace(ch, "\n")
    return text


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg if len(msg) <= 100 else msg[:97] + "..."


def _clean_value(value: Any) -> str | None:
    if value is None:
        return None
    s = re.sub(r"\s+", " ", str(value)).strip()
    return s or None


# Author fields tools fill in by default: not the document's author.
_PLACEHOLDER_AUTHORS = {"python-docx", "administrator", "admin", "user", "微软用户", "microsoft", "unknown", "作者"}


def _clean_author(value: Any) -> str | None:
    s = _clean_value(value)
    return None if s is None or s.lower() in _PLACEHOLDER_AUTHORS else s


# ---------------------------------------------------------------------------------------------
# .txt / .md
# ---------------------------------------------------------------------------------------------


def _load_text(path: str, data: bytes) -> tuple[str, str | None, SourceMeta]:
    text, encoding = _decode(data)
    if _is_junk(text):
        raise LoadError(path, "binary or unreadable content (not text)")
    text = _normalise(text)
    if not text.strip():
        raise LoadError(path, "empty file")
    return text, encoding, SourceMeta()


# ---------------------------------------------------------------------------------------------
# .html / .htm
# ---------------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([a-z0-9_:.\-]{2,40})""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([a-z0-9_:.\-]{2,40})""", re.I)
_DROP_TAGS = [
    "script", "style", "noscript", "nav", "aside", "form", "iframe", "template", "svg", "canvas",
    "button", "select", "textarea", "object", "embed", "link", "meta",
]  # fmt: skip
_JUNK_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar"}
# Class/id fragments that mark page furniture wherever they appear in a name ...
_JUNK_SUBSTR = re.compile(
    r"share|comment|breadcrumb|crumb|recommend|related|advert|sidebar|navbar|navigation|footer|"
    r"menu|pagination|social|cookie|toolbar|copyright|friendlink|qrcode|gotop|backtop|subscribe"
)
# ... and short words that only count as a whole token (``ad`` must not match ``head``).
_JUNK_TOKENS = {
    "nav", "ad", "ads", "banner", "side", "hot", "tag", "tags", "pager", "login", "topbar", "tools", "header", "foot",
}  # fmt: skip
_HEADERISH = {"header"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hr", "html", "li", "main", "ol",
    "p", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WS = re.compile(r"[ \t\n\r\f]+")
_SOURCE_TEXT = re.compile(r"来源\s*[:：]\s*([^\s|｜/,，;；:：<>()（）【】\[\]]{2,40})")
_TITLE_SEP = re.compile(r"\s+[-–—|｜]\s+|\s*[_|｜]\s*")
_SITE_HINT = re.compile(
    r"(网|网站|官网|门户|政府|新闻|日报|晚报|早报|报社|时报|在线|频道|客户端|平台|资讯|之声|电视台|广播|"
    r"部|局|厅|委|委员会|办公室|办公厅|研究院|\.com|\.cn|\.net|\.org|\.gov)$|^www\.",
    re.I,
)


def _load_html(path: str, data: bytes) -> tuple[str, str | None, SourceMeta]:
    from bs4 import BeautifulSoup

    text, encoding = _decode(data, _declared_charset(data))
    if _is_junk(text):
        raise LoadError(path, "binary or unreadable content (not text)")
    try:
        soup = BeautifulSoup(text, "lxml")
    except Exception:  # lxml missing or choked: the stdlib parser is slower but always there
        soup = BeautifulSoup(text, "html.parser")
    metas = _meta_tags(soup)
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    main = _main_content(soup)  # chosen before junk removal could touch an <article>
    whole = soup.body or soup
    meta = _html_meta(soup, metas, whole, main)
    _drop_furniture(soup)
    root = main if main is not None and not main.decomposed else _main_by_density(whole)
    out = _normalise("\n".join(_render(root)))
    if not out.strip():
        raise LoadError(path, "no text content in HTML (page is empty or all navigation/script)")
    return out, encoding, meta


def _declared_charset(data: bytes) -> str | None:
    head = data[:4096]
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not m:
        return None
    name = m.group(1).decode("ascii").lower()
    if name in _GB_ALIASES:
        return "gb18030"
    try:
        import codecs

        return codecs.lookup(name).name
    except LookupError:
        return None


def _meta_tags(soup: Any) -> dict[str, str]:
    metas: dict[str, str] = {}
    for m in soup.find_all("meta"):
        key = m.get("property") or m.get("name") or m.get("itemprop")
        content = _clean_value(m.get("content"))
        if key and content:
            metas.setdefault(str(key).strip().lower(), content)
    return metas


def _first(metas: dict[str, str], *keys: str) -> str | None:
    return next((metas[k] for k in keys if k in metas), None)


def _html_meta(soup: Any, metas: dict[str, str], whole: Any, main: Any) -> SourceMeta:
    site = _first(metas, "og:site_name")
    title = _first(metas, "og:title")
    if title is None and soup.title is not None:
        title = _clean_value(soup.title.get_text())
    if title is not None:
        title = _strip_site_suffix(title, site)
    if not title:
        h1 = (main.find("h1") if main is not None else None) or soup.find("h1")
        title = _clean_value(h1.get_text(" ")) if h1 is not None else None
    author = _first(metas, "author", "article:author", "dc.creator")
    if author and author.lower().startswith(("http://", "https://")):
        author = None
    date = _first(
        metas,
        "article:published_time",
        "pubdate",
        "publishdate",
        "publish_date",
        "firstpublishedtime",
        "date",
        "dc.date",
        "dc.date.issued",
    )
    if date is None:
        t = soup.find("time", attrs={"datetime": True})
        date = _clean_value(t["datetime"]) if t is not None else None
    source = site or _first(metas, "source", "contentsource")
    if source is None:
        m = _SOURCE_TEXT.search(whole.get_text(" "))
        source = m.group(1).rstrip("。.、") if m else None
    return SourceMeta(title=title or None, author=_clean_author(author), date=date, source=source or None)


def _strip_site_suffix(title: str, site: str | None) -> str:
    """Drop " - 中国政府网" style suffixes (and a column name before them), keep the headline."""
    seps = list(_TITLE_SEP.finditer(title))
    cut, dropped = len(title), False
    for sep in reversed(seps):
        segment = title[sep.end() : cut].strip()
        head = title[: sep.start()].strip()
        if len(head) < 2:
            break
        is_site = len(segment) <= 25 and (
            (site is not None and segment == site)
            or bool(_SITE_HINT.search(segment))
            or _latin_name_after_cjk(segment, head)
        )
        if is_site or (dropped and len(segment) <= 6):
            cut, dropped = sep.start(), True
        else:
            break
    return title[:cut].strip()


def _latin_name_after_cjk(segment: str, head: str) -> bool:
    return bool(_CJK_RUN.search(head)) and bool(re.fullmatch(r"[A-Za-z0-9 .&'\-]{2,30}", segment))


def _main_content(soup: Any) -> Any:
    """The element that declares itself the content: the largest <article>, else <main>."""
    articles = soup.find_all("article")
    if articles:
        best = max(articles, key=lambda a: len(a.get_text()))
        if best.get_text().strip():
            return best
    return soup.find(attrs={"role": "main"}) or soup.find("main")


def _main_by_density(whole: Any) -> Any:
    """Without an explicit main element, take the container richest in Chinese <p> text.

    Each <p> scores its Chinese characters for its parent and half for its grandparent, so
    an article split over several sibling blocks is still chosen as a whole.
    """
    scores: dict[int, float] = {}
    nodes: dict[int, Any] = {}
    for p in whole.find_all("p"):
        n = _cjk_count(p.get_text())
        if not n:
            continue
        for weight, anc in ((1.0, p.parent), (0.5, p.parent.parent if p.parent is not None else None)):
            if anc is not None:
                scores[id(anc)] = scores.get(id(anc), 0.0) + weight * n
                nodes[id(anc)] = anc
    if not scores:
        return whole
    best = max(scores, key=lambda k: scores[k])
    return nodes[best] if scores[best] >= 20 else whole


def _cjk_count(text: str) -> int:
    return len(text) - len(_CJK_RUN.sub("", text))


def _drop_furniture(soup: Any) -> None:
    """Remove page furniture: header/footer outside the article, and junk-named blocks."""
    total = len((soup.body or soup).get_text())
    for el in soup.find_all(True):
        if el.decomposed or el.name in ("html", "body", "article", "main"):
            continue
        if el.name in ("header", "footer"):
            if el.name == "footer" or el.find_parent(["article", "main"]) is None:
                el.decompose()
            continue
        if el.get("role") in _JUNK_ROLES:
            el.decompose()
            continue
        words = _junk_words(el)
        if not words or el.get("role") == "main" or el.find(["article", "main"]) or el.find(attrs={"role": "main"}):
            continue
        if words <= _HEADERISH and el.find("h1") is not None:
            continue  # an "article-header" block holding the headline
        if total > 200 and len(el.get_text()) > total * 0.5:
            continue  # a page-wide wrapper such as "layout-with-sidebar"
        el.decompose()


def _junk_words(el: Any) -> set[str]:
    classes = el.get("class") or []
    names = " ".join([*(classes if isinstance(classes, list) else [classes]), str(el.get("id") or "")])
    if not names.strip():
        return set()
    names = re.sub(r"([a-z])([A-Z])", r"\1 \2", names).lower()
    words = {t for t in re.split(r"[\s_\-:.]+", names) if t in _JUNK_TOKENS}
    words.update(m.group(0) for m in _JUNK_SUBSTR.finditer(names))
    return words


def _render(root: Any) -> list[str]:
    """Walk the tree without recursion (deep pages stay safe) and emit one line per block."""
    from bs4 import NavigableString

    lines: list[str] = []
    buf: list[str] = []
    flush_mark = object()

    def flush() -> None:
        line = "".join(buf).strip(" \t\n\r\f")
        buf.clear()
        if line:
            lines.append(line)

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is flush_mark:
            flush()
        elif isinstance(node, NavigableString):
            if type(node) is NavigableString:  # skip comments, doctype, CDATA …
                buf.append(_WS.sub(" ", str(node)))
        elif node.name == "br":
            flush()
        elif node.name in _HEADINGS:
            flush()
            heading = _WS.sub(" ", node.get_text(" ")).strip()
            if heading:
                lines.append("#" * _HEADINGS[node.name] + " " + heading)
        elif node.name == "pre":
            flush()
            lines.extend(line.rstrip() for line in node.get_text().split("\n") if line.strip())
        elif node.name == "table" and _is_data_table(node):
            flush()
            lines.extend(_table_rows(node))
        else:
            if node.name in _BLOCKS:
                flush()
                stack.append(flush_mark)
            stack.extend(reversed(node.contents))
    flush()
    return lines


def _is_data_table(table: Any) -> bool:
    """Old sites lay out whole pages in tables; only real data tables become tab rows."""
    if table.find("table") is not None:
        return False
    for cell in table.find_all(["td", "th"]):
        if len(cell.get_text()) > 300 or len(cell.find_all(["p", "div", "br"])) >= 3:
            return False
    return True


def _table_rows(table: Any) -> list[str]:
    rows = []
    for tr in table.find_all("tr"):
        cells = [_WS.sub(" ", c.get_text(" ")).strip() for c in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append("\t".join(cells))
    return rows


# ---------------------------------------------------------------------------------------------
# .pdf
# ---------------------------------------------------------------------------------------------

_PDF_TITLE_JUNK = {"untitled", "无标题", "title", "powerpoint 演示文稿", "powerpoint presentation"}


def _load_pdf(path: str, data: bytes) -> tuple[str, str | None, SourceMeta]:
    import pypdf
    from pypdf.errors import DependencyError

    if b"%PDF-" not in data[:1024]:
        raise LoadError(path, "corrupt or truncated PDF: no %PDF header (not a PDF file)")
    if b"%%EOF" not in data.rstrip(b"\x00\r\n\t ")[-2048:]:
        raise LoadError(path, "corrupt or truncated PDF: no %%EOF marker at the end (file cut short?)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _pdf_decrypt(reader):
            raise LoadError(path, "encrypted PDF (password protected); decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except DependencyError:
        raise LoadError(path, "encrypted PDF (AES); install the 'cryptography' package, or decrypt it first") from None
    except Exception as e:  # pypdf raises many types for damaged files
        raise LoadError(path, f"corrupt or truncated PDF: {_short(e)}") from None
    text = _normalise("\n".join(pages))
    if not text.strip():
        raise LoadError(path, "no extractable text (scanned/image-only PDF); run OCR first")
    return text, None, _pdf_meta(reader)


def _pdf_decrypt(reader: Any) -> bool:
    """Many PDFs are encrypted only to restrict printing/copying: the empty password opens them."""
    from pypdf import PasswordType

    return reader.decrypt("") != PasswordType.NOT_DECRYPTED


def _pdf_meta(reader: Any) -> SourceMeta:
    try:
        info = reader.metadata
        title, author = (info.title, info.author) if info is not None else (None, None)
    except Exception:  # broken info dictionaries are common and never worth failing the file
        return SourceMeta()
    title = _clean_value(title)
    if title:
        title = re.sub(r"^Microsoft (Word|PowerPoint|Excel) - ", "", title)
        title = re.sub(r"\.(docx?|wps|pdf|pptx?|xlsx?)$", "", title, flags=re.I).strip()
        if title.lower() in _PDF_TITLE_JUNK:
            title = ""
    return SourceMeta(title=title or None, author=_clean_author(author))


# ---------------------------------------------------------------------------------------------
# .docx
# ---------------------------------------------------------------------------------------------

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_TITLE_STYLES = {"title", "标题"}


def _load_docx(path: str, data: bytes) -> tuple[str, str | None, SourceMeta]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            raise LoadError(
                path, "not a valid .docx (OLE file: a legacy .doc or a password-protected document; save it as .docx)"
            )
        raise LoadError(path, "not a valid .docx (not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            has_body = "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise LoadError(path, f"not a valid .docx ({_short(e)})") from None
    if not has_body:
        raise LoadError(path, "not a valid .docx (missing word/document.xml)")

    import docx

    try:
        doc = docx.Document(io.BytesIO(data))
        lines = _docx_lines(doc)
        meta = _docx_meta(doc)
    except Exception as e:  # python-docx / lxml errors on damaged parts
        raise LoadError(path, f"not a valid .docx ({_short(e)})") from None
    text = _normalise("\n".join(lines))
    if not text.strip():
        raise LoadError(path, "no text content (empty document)")
    return text, None, meta


def _docx_lines(doc: Any) -> list[str]:
    """Body children in document order, so tables stay where the author put them."""
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    p_tag, tbl_tag, sdt_tag, content_tag = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
    lines: list[str] = []
    stack = list(reversed(list(doc.element.body)))
    while stack:
        el = stack.pop()
        if el.tag == p_tag:
            para = Paragraph(el, doc)
            text = para.text.strip()
            if text:
                level = _heading_level(para)
                lines.append("#" * level + " " + " ".join(text.split()) if level else text)
        elif el.tag == tbl_tag:
            lines.extend(_docx_table_rows(el, doc))
        elif el.tag == sdt_tag:  # content controls wrap ordinary paragraphs/tables
            content = el.find(content_tag)
            if content is not None:
                stack.extend(reversed(list(content)))
    return lines


def _heading_level(para: Any) -> int:
    """Heading level from the style name ("Heading 2", "标题 2", "Title"), else outline level."""
    from docx.oxml.ns import qn

    style = para.style
    name = (style.name or "").strip() if style is not None else ""
    m = _HEADING_STYLE.match(name)
    if m:
        return min(int(m.group(1)), 6)
    if name.lower() in _TITLE_STYLES:
        return 1
    for el in (para._p, style.element if style is not None else None):
        ppr = el.find(qn("w:pPr")) if el is not None else None
        lvl = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        if lvl is not None and (val := lvl.get(qn("w:val"), "")).isdigit() and int(val) < 6:
            return int(val) + 1
    return 0


def _docx_table_rows(tbl: Any, doc: Any) -> list[str]:
    """One line per row, cells tab-joined; a nested table's text stays inside its cell."""
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    rows = []
    for tr in tbl.findall(qn("w:tr")):
        cells = []
        for tc in tr.findall(qn("w:tc")):
            parts = (Paragraph(p, doc).text for p in tc.iter(qn("w:p")))
            cells.append(" ".join(" ".join(parts).split()))
        if any(cells):
            rows.append("\t".join(cells))
    return rows


def _docx_meta(doc: Any) -> SourceMeta:
    props = doc.core_properties
    created = props.created
    return SourceMeta(
        title=_clean_value(props.title),
        author=_clean_author(props.author),
        date=created.isoformat() if created is not None else None,
    )
