"""Lay out backup sheets and ceremony scripts as A4 or Letter pages of boxes and text.

Layout is done once in 200-dpi pixel units with monospaced text (DejaVu Sans Mono on
PNG, Courier in the PDF, both 0.6 em wide); sheetdraw.py then draws the same boxes
and text as PNG, PDF or SVG.  QR codes become boxes here (qrcode is imported on use).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

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
