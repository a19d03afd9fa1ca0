"""Render backup sheets as A4 or Letter pages (PNG, vector PDF, SVG) and for the terminal.

The only module that draws QR codes or images (qrcode, PIL).  Layout is done once
in 200-dpi pixel units with monospaced text (DejaVu Sans Mono on PNG, Courier in
the PDF, both 0.6 em wide), then each renderer draws the same boxes and text.
"""

from __future__ import annotations

import functools
import io
import textwrap
import zlib
from dataclasses import dataclass, field
from typing import Any

from ..core.paper import Sheet

DPI = 200
PAGE_W, PAGE_H = 1654, 2339  # A4 at 200 dpi
PAPERS = {"a4": (1654, 2339), "letter": (1700, 2200)}  # 210 x 297 mm, 8.5 x 11 in, at 200 dpi
TEXT_W = 1654 - 2 * 110  # text width, the same on both papers: one layout reads the same on either
MARGIN = 110
FOOTER_SPACE = 70
CHAR_W = 0.602  # advance width of a monospaced glyph, in em
QR_TARGET_PX = 480  # about 6 cm wide when printed
QR_MIN_MODULE, QR_MAX_MODULE = 4, 12
QR_BORDER = 4  # quiet zone in modules

# Pixel sizes at 200 dpi; 25 px = 9 pt, the smallest size on a sheet.
TITLE, WARNING, FIELD, BLOCK, BLOCK_TITLE, NOTE, FOOT = 44, 28, 27, 28, 28, 26, 26
BLOCK_LEADING = 1.2


@dataclass(frozen=True)
class Text:
    x: int
    y: int  # baseline
    size: int
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


@dataclass
class Page:
    elements: list[Text | Box] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list, repr=False)  # QR texts drawn on this page
    width: int = PAGE_W
    height: int = PAGE_H


def qr_matrix(payload: str) -> list[list[bool]]:
    """Module matrix (True = dark) with the quiet zone, error correction level M."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QR_BORDER, box_size=1)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(m) for m in row] for row in code.get_matrix()]


def _qr_boxes(matrix: list[list[bool]], x: int, y: int, module: int) -> list[Box]:
    boxes = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            boxes.append(Box(x + start * module, y + r * module, (c - start) * module, module))
    return boxes


class _Flow:
    """Places blocks top to bottom, starting a new page when one does not fit."""

    def __init__(self, running_head: str, paper: str = "a4") -> None:
        self.pages: list[Page] = []
        self.running_head = running_head
        self.width, self.height = PAPERS[paper]
        self.y = 0
        self.new_page(first=True)

    @property
    def bottom(self) -> int:
        return self.height - MARGIN - FOOTER_SPACE

    def new_page(self, *, first: bool = False) -> None:
        self.pages.append(Page(width=self.width, height=self.height))
        self.y = MARGIN
        if not first:
            self.text(f"(continued) {self.running_head}", NOTE, bold=True)
            self.space(10)

    def ensure(self, height: int) -> None:
        if self.y + height > self.bottom:
            self.new_page()

    def space(self, height: int) -> None:
        self.y += height

    def add(self, element: Text | Box) -> None:
        self.pages[-1].elements.append(element)

    def text(self, text: str, size: int, *, bold: bool = False, indent: int = 0, leading: float = 1.4) -> None:
        height = int(size * leading)
        self.ensure(height)
        self.add(Text(MARGIN + indent, self.y + size, size, text, bold))
        self.y += height

    def wrapped(self, text: str, size: int, *, bold: bool = False, hang: int = 0) -> None:
        width = int(TEXT_W / (size * CHAR_W))
        lines = textwrap.wrap(text, width, subsequent_indent=" " * hang, break_on_hyphens=False) or [""]
        for line in lines:
            self.text(line, size, bold=bold)

    def rule(self) -> None:
        self.ensure(20)
        self.add(Box(MARGIN, self.y + 6, TEXT_W, 3))
        self.y += 20


def layout(sheets: list[Sheet], paper: str = "a4") -> list[Page]:
    """All pages of all sheets; each sheet starts on a new page."""
    pages: list[Page] = []
    for sheet in sheets:
        flow = _Flow(f"{sheet.title} - {sheet.footer}", paper)
        flow.wrapped(sheet.title, TITLE, bold=True)
        flow.wrapped(sheet.warning, WARNING, bold=True)
        flow.rule()
        label_width = max(len(label) for label, _ in sheet.fields) + 2
        for label, value in sheet.fields:
            flow.wrapped(f"{label + ':':<{label_width}}{value}", FIELD, hang=label_width)
        flow.space(20)
        _place_qr(flow, sheet)
        flow.space(10)
        _place_block(flow, sheet)
        flow.space(24)
        for paragraph in sheet.instructions:
            flow.wrapped(paragraph, NOTE, hang=3)
            flow.space(8)
        total = len(flow.pages)
        for number, page in enumerate(flow.pages, 1):
            page.elements.append(
                Text(MARGIN, page.height - MARGIN + 10, FOOT, f"SECRET | {sheet.footer} | page {number} of {total}")
            )
        pages.extend(flow.pages)
    return pages


SCRIPT_TEXT = 28  # 10 pt: a 78-column script line fits the narrower page (Letter) with its margins


def _place_block(flow: _Flow, sheet: Sheet) -> None:
    """The typed block with its title, on one page: it starts a new page rather than split.
    Only a block longer than a whole page (RSA 4096) continues, between two numbered lines."""
    line_height = int(BLOCK * BLOCK_LEADING)
    title_lines = len(textwrap.wrap(sheet.block_title, int(TEXT_W / (BLOCK_TITLE * CHAR_W)))) or 1
    needed = title_lines * int(BLOCK_TITLE * 1.4) + 6 + len(sheet.block) * line_height
    flow.ensure(min(needed, flow.bottom - MARGIN - 60))
    flow.wrapped(sheet.block_title, BLOCK_TITLE, bold=True)
    flow.space(6)
    for line in sheet.block:
        flow.text(line, BLOCK, leading=BLOCK_LEADING)


def document_pages(lines: list[str], running_head: str, paper: str = "a4") -> list[Page]:
    """Plain monospaced text (a ceremony script) as pages, numbered in the footer."""
    flow = _Flow(running_head, paper)
    for line in lines:
        flow.text(line, SCRIPT_TEXT, bold=line.isupper() and bool(line.strip()), leading=1.35)
    total = len(flow.pages)
    for number, page in enumerate(flow.pages, 1):
        foot = f"{running_head} | page {number} of {total}"
        page.elements.append(Text(MARGIN, page.height - MARGIN + 10, FOOT, foot))
    return flow.pages


def _place_qr(flow: _Flow, sheet: Sheet) -> None:
    codes = []
    for caption, payload in sheet.qr:
        matrix = qr_matrix(payload)
        module = max(QR_MIN_MODULE, min(QR_MAX_MODULE, QR_TARGET_PX // len(matrix)))
        codes.append((caption, payload, matrix, module, len(matrix) * module))
    row: list[tuple[str, str, list[list[bool]], int, int]] = []
    usable = TEXT_W

    def emit(items: list[tuple[str, str, list[list[bool]], int, int]]) -> None:
        height = max(size for *_, size in items) + 50
        flow.ensure(height)
        x = MARGIN
        for caption, payload, matrix, module, size in items:
            flow.pages[-1].payloads.append(payload)
            for box in _qr_boxes(matrix, x, flow.y, module):
                flow.add(box)
            flow.add(Text(x + QR_BORDER * module, flow.y + size + 16, NOTE, caption, True))
            x += size + 40
        flow.y += height

    for code in codes:
        if row and sum(c[4] + 40 for c in row) + code[4] > usable:
            emit(row)
            row = []
        row.append(code)
    if row:
        emit(row)


# --- renderers -------------------------------------------------------------------------------

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
