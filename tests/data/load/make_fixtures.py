"""Regenerate the binary / non-UTF-8 fixtures of tests/test_load.py.

Run from anywhere: ``python tests/data/load/make_fixtures.py`` (needs reportlab, pypdf,
python-docx). The UTF-8 fixtures (utf8.txt, notes.md, page.html) are written by hand.
Large inputs (the 5 MB line) are made by the tests in tmp_path, never committed.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHINESE = "关于推进基层治理的通知\r\n第一条 健全党组织领导的自治、法治、德治相结合的城乡基层治理体系。\r\n第二条 加强村（社区）综合服务设施建设。\r\n"


def text_fixtures() -> None:
    (HERE / "utf8_bom.txt").write_bytes(
        b"\xef\xbb\xbf" + "村民委员会组织法\n第一条 为了保障农村村民实行自治。\n".encode()
    )
    (HERE / "gbk.txt").write_bytes(CHINESE.encode("gbk"))
    (HERE / "utf16le.txt").write_bytes(b"\xff\xfe" + "社区网格化管理办法\n第一条 网格员职责。\n".encode("utf-16-le"))
    (HERE / "utf16be.txt").write_bytes(b"\xfe\xff" + "社区网格化管理办法\n第一条 网格员职责。\n".encode("utf-16-be"))
    (HERE / "empty.txt").write_bytes(b"")
    # Binary junk named .txt: a PNG-like header followed by seeded random bytes.
    junk = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(42).randbytes(2000)
    (HERE / "junk.txt").write_bytes(junk)


def pdf_fixtures() -> None:
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)  # invariant: no timestamps, so reruns give the same bytes
    c.setTitle("基层治理白皮书")
    c.setAuthor("民政部")
    c.setFont("STSong-Light", 14)
    c.drawString(72, 750, "基层治理白皮书")
    c.drawString(72, 720, "第一章 总则")
    c.showPage()
    c.setFont("STSong-Light", 14)
    c.drawString(72, 750, "第二章 村民自治")
    c.save()
    text_pdf = buf.getvalue()
    (HERE / "text.pdf").write_bytes(text_pdf)
    (HERE / "truncated.pdf").write_bytes(text_pdf[: len(text_pdf) // 2])

    for name, user_pw in (("encrypted.pdf", "secret"), ("encrypted_owner_only.pdf", "")):
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf)))
        writer.encrypt(
            user_password=user_pw, owner_password="owner", algorithm="RC4-128"
        )  # RC4: no 'cryptography' needed
        out = io.BytesIO()
        writer.write(out)
        (HERE / name).write_bytes(out.getvalue())

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.rect(72, 400, 300, 200, stroke=1, fill=1)  # a "scan": drawing only, no text
    c.showPage()
    c.save()
    (HERE / "image_only.pdf").write_bytes(buf.getvalue())


def docx_fixtures() -> None:
    import docx

    d = docx.Document()
    d.add_heading("社区治理工作方案", level=0)  # style "Title"
    d.add_paragraph("为提升社区治理水平，制定本方案。")
    d.add_heading("一、工作目标", level=1)
    d.add_paragraph("建成“一刻钟便民生活圈”。")
    table = d.add_table(rows=2, cols=3)
    for r, row in enumerate([("社区", "网格数", "网格员"), ("幸福社区", "12", "15")]):
        for col, value in enumerate(row):
            table.cell(r, col).text = value
    d.add_heading("二、保障措施", level=2)
    d.add_paragraph("加强组织领导。")
    props = d.core_properties
    props.title = "社区治理工作方案"
    props.author = "幸福街道办事处"
    props.created = dt.datetime(2024, 3, 1, 9, 0, 0)
    props.modified = dt.datetime(2024, 3, 1, 9, 0, 0)
    out = io.BytesIO()
    d.save(out)
    (HERE / "doc.docx").write_bytes(out.getvalue())

    (HERE / "not_zip.docx").write_bytes("这不是一个 Word 文档，只是改了扩展名的文本。\n".encode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/styles.xml", "<styles/>")
    (HERE / "no_document.docx").write_bytes(out.getvalue())


if __name__ == "__main__":
    text_fixtures()
    pdf_fixtures()
    docx_fixtures()
    print(f"fixtures written to {HERE}")
