"""Draw laid-out pages (sheetlayout.py) as PNG, vector PDF or SVG, and sheets for the terminal.

The only module that draws images (PIL); each renderer draws the same boxes and text, so
reading back the PNG vouches for the codes in the PDF and SVG too.
"""

from __future__ import annotations

import functools
import io
import textwrap
import zlib
from typing import Any

from ..core.paper import Sheet
from .sheetlayout import DPI, PAPERS, Box, Page, Text, qr_matrix

_FONT_CANDIDATES = {
    False: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
        "DejaVuSansMono.ttf",
        "LiberationMono-Regular.ttf",
        "cour.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
        "DejaVuSansMono-Bold.ttf",
        "LiberationMono-Bold.ttf",
        "courbd.ttf",
    ),
}


@functools.lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> Any:
    from PIL import ImageFont

    for candidate in _FONT_CANDIDATES[bold]:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has only the small bitmap font
        return ImageFont.load_default()


def render_png(page: Page) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (page.width, page.height), 255)
    draw = ImageDraw.Draw(image)
    for element in page.elements:
        if isinstance(element, Box):
            draw.rectangle((element.x, element.y, element.x + element.w - 1, element.y + element.h - 1), fill=0)
            continue
        font = _font(element.size, element.bold)
        try:
            draw.text((element.x, element.y), element.text, fill=0, font=font, anchor="ls")
        except ValueError:  # bitmap fonts have no anchors
            draw.text((element.x, element.y - element.size), element.text, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


def _pdf_text(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_pdf(pages: list[Page]) -> bytes:
    """A small vector PDF: Courier text and filled rectangles, A4 or Letter, deterministic bytes."""
    scale = 72 / DPI
    objects: list[bytes] = [
        b"",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
    ]
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>")
    page_ids = []
    for page in pages:
        width, height, page_h = page.width * scale, page.height * scale, page.height
        ops = ["0 g"]
        for element in page.elements:
            if isinstance(element, Box):
                y = (page_h - element.y - element.h) * scale
                ops.append(f"{element.x * scale:.3f} {y:.3f} {element.w * scale:.3f} {element.h * scale:.3f} re f")
        for element in page.elements:
            if isinstance(element, Text):
                font = "/F2" if element.bold else "/F1"
                ops.append(
                    f"BT {font} {element.size * scale:.2f} Tf {element.x * scale:.2f} "
                    f"{(page_h - element.y) * scale:.2f} Td ({_pdf_text(element.text)}) Tj ET"
                )
        stream = zlib.compress("\n".join(ops).encode("latin-1"), 9)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.2f} {height:.2f}] "
                f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode("ascii")
        )
        page_ids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode("ascii")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def render_svg(page: Page) -> bytes:
    size = ("8.5in", "11in") if (page.width, page.height) == PAPERS["letter"] else ("210mm", "297mm")
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size[0]}" height="{size[1]}" '
        f'viewBox="0 0 {page.width} {page.height}">',
        f'<rect width="{page.width}" height="{page.height}" fill="#fff"/>',
    ]
    boxes = [e for e in page.elements if isinstance(e, Box)]
    if boxes:
        path = "".join(f"M{b.x} {b.y}h{b.w}v{b.h}h-{b.w}z" for b in boxes)
        parts.append(f'<path fill="#000" shape-rendering="crispEdges" d="{path}"/>')
    for e in page.elements:
        if isinstance(e, Text):
            weight = ' font-weight="bold"' if e.bold else ""
            parts.append(
                f'<text x="{e.x}" y="{e.y}" font-size="{e.size}"{weight} xml:space="preserve" '
                f'font-family="DejaVu Sans Mono, Courier New, Courier, monospace">{_xml(e.text)}</text>'
            )
    parts.append("</svg>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def terminal_qr(payload: str, *, ascii_only: bool = False) -> str:
    """A QR code in half-block characters, light modules drawn (for dark terminals).

    ``ascii_only``: a terminal that cannot show block characters gets two ``#`` per light module."""
    matrix = qr_matrix(payload)
    if ascii_only:
        return "\n".join("".join("  " if dark else "##" for dark in row) for row in matrix)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    glyphs = {(True, True): "\u2588", (True, False): "\u2580", (False, True): "\u2584", (False, False): " "}
    rows = []
    for r in range(0, len(matrix), 2):
        rows.append(
            "".join(glyphs[(not top, not bottom)] for top, bottom in zip(matrix[r], matrix[r + 1], strict=True))
        )
    return "\n".join(rows)


def terminal_sheet(sheet: Sheet, columns: int = 80, *, ascii_only: bool = False) -> str:
    """The sheet as terminal text: fields, every QR part that fits ``columns``, the block and the
    instructions.  A QR code wider than the terminal would wrap into an unreadable mess: it is
    left out with a note pointing at the typed lines, which always fit.  ``ascii_only``: a
    terminal that cannot show block characters gets ``#`` (and codes twice as wide)."""
    out = [sheet.title, *textwrap.wrap(sheet.warning, columns), ""]
    for label, value in sheet.fields:
        out.extend(textwrap.wrap(f"{label}: {value}", columns, subsequent_indent="  "))
    for caption, payload in sheet.qr:
        code = terminal_qr(payload, ascii_only=ascii_only)
        width = len(code.split("\n", 1)[0])
        if width > columns:
            note = (
                f"{caption}: this QR code is {width} columns wide and the terminal has {columns}; it is not "
                "shown. Use the typed lines below, or print the sheet (--out FILE.pdf), or make smaller "
                "codes with --qr-part-bytes."
            )
            out.extend(["", *textwrap.wrap(note, columns)])
            continue
        out.extend(["", caption, code])
    out.extend(["", sheet.block_title, *sheet.block, ""])
    for paragraph in sheet.instructions:
        out.extend(textwrap.wrap(paragraph, columns, subsequent_indent="   "))
    return "\n".join(out) + "\n"


def check_pages_read_back(pages: list[Page], png: list[bytes] | None = None) -> None:
    """Rasterise every page holding QR codes and decode it: each code must read back exactly.

    ``png`` may hold the already rendered pages.  PDF and SVG output draw the same
    boxes, so this also vouches for their codes."""
    from ..core.errors import AirgapError
    from .qrscan import decode_qr_texts

    for number, page in enumerate(pages, 1):
        if not page.payloads:
            continue
        image = png[number - 1] if png is not None else render_png(page)
        found = set(decode_qr_texts(image, what=f"rendered page {number}"))
        missing = [i for i, payload in enumerate(page.payloads, 1) if payload not in found]
        if missing:
            raise AirgapError(
                f"QR code(s) {missing} on rendered page {number} do not read back; nothing was written",
                hint="Lower --qr-part-bytes so each code is smaller, and try again.",
            )
