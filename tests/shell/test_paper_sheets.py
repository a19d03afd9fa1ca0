"""Rendering backup sheets (PNG, PDF, SVG, terminal) and reading QR codes back from images."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter

from appliance.core.errors import AirgapError, InputFormatError
from appliance.core.keys import PrivateKey
from appliance.core.paper import b32encode, key_sheet
from appliance.core.shares import share_sheet, split_secret
from appliance.shell import printsheet, qrscan
from appliance.shell.qrscan import decode_qr_texts
from appliance.shell.readback import read_backups
from tests.helpers_core import ed_key, rsa_test_key

KEY = ed_key(21)
RSA_KEY = rsa_test_key()


def sheet(key: PrivateKey, part_bytes: int = 600):
    return key_sheet(key, roles=["root"], factory="acme", date="2025-01-01", part_bytes=part_bytes)


def page_image(page: printsheet.Page) -> Image.Image:
    return Image.open(io.BytesIO(printsheet.render_png(page))).convert("L")


def save(image: Image.Image, path: Path, fmt: str = "PNG", **kw) -> Path:
    image.save(path, fmt, **kw)
    return path


@pytest.fixture(scope="module")
def rsa_pages() -> list[printsheet.Page]:
    return printsheet.layout([sheet(RSA_KEY, part_bytes=300)])


@pytest.fixture(scope="module")
def ed_pages() -> list[printsheet.Page]:
    return printsheet.layout([sheet(KEY)])


def test_png_pages_decode_to_every_payload(ed_pages, rsa_pages) -> None:
    for pages, key in ((ed_pages, KEY), (rsa_pages, RSA_KEY)):
        wanted = [p for page in pages for p in page.payloads]
        assert [payload for _, payload in sheet(key, 300 if key is RSA_KEY else 600).qr] == wanted
        found = [t for page in pages if page.payloads for t in decode_qr_texts(printsheet.render_png(page), what="p")]
        assert sorted(found) == sorted(wanted)
    assert len(rsa_pages[0].payloads) == 4  # RSA-2048 DER (~1.2 KB) in 300-byte parts: multi-part QR


def test_png_page_is_a4_at_200_dpi(ed_pages) -> None:
    image = Image.open(io.BytesIO(printsheet.render_png(ed_pages[0])))
    assert image.size == (1654, 2339)
    assert tuple(round(v) for v in image.info["dpi"]) == (200, 200)


def test_long_sheets_flow_onto_numbered_pages(rsa_pages) -> None:
    assert len(rsa_pages) >= 2
    texts = [[e.text for e in page.elements if isinstance(e, printsheet.Text)] for page in rsa_pages]
    for number, page_texts in enumerate(texts, 1):
        assert f"page {number} of {len(rsa_pages)}" in page_texts[-1]
    assert texts[1][0].startswith("(continued)")
    for page in rsa_pages:  # nothing drawn outside the page
        for e in page.elements:
            assert 0 <= e.x < 1654 and 0 <= e.y <= 2339


def test_text_lines_fit_the_page_width(rsa_pages) -> None:
    for page in rsa_pages:
        for e in page.elements:
            if isinstance(e, printsheet.Text):
                assert e.x + len(e.text) * e.size * printsheet.CHAR_W <= 1654 - printsheet.MARGIN + 1, e.text


def test_pdf_is_well_formed(rsa_pages) -> None:
    pdf = printsheet.render_pdf(rsa_pages)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert f"/Count {len(rsa_pages)}".encode() in pdf
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[xref:].startswith(b"xref")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, 1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    streams = [zlib.decompress(m) for m in re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)]
    assert any(b"(TUF ROOT KEY BACKUP) Tj" in s for s in streams)
    assert printsheet.render_pdf(rsa_pages) == pdf  # deterministic


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler) not installed")
def test_pdf_qr_codes_read_back_when_rasterised(tmp_path: Path, ed_pages) -> None:
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(printsheet.render_pdf(ed_pages))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "r")], check=True)
    [png] = list(tmp_path.glob("r*.png"))
    assert decode_qr_texts(png.read_bytes(), what="pdf page") == ed_pages[0].payloads


def test_svg_is_valid_xml_with_codes_and_text(ed_pages) -> None:
    svg = printsheet.render_svg(ed_pages[0])
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("viewBox") == "0 0 1654 2339"
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    assert "TUF ROOT KEY BACKUP" in texts
    assert any(t.startswith("01: ") for t in texts)
    assert len(list(root.iter(f"{ns}path"))) == 1


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert not installed")
def test_svg_qr_codes_read_back_when_rasterised(tmp_path: Path, ed_pages) -> None:
    svg = tmp_path / "s.svg"
    svg.write_bytes(printsheet.render_svg(ed_pages[0]))
    png = subprocess.run(["rsvg-convert", "-w", "1240", str(svg)], check=True, capture_output=True).stdout
    assert decode_qr_texts(png, what="svg page") == ed_pages[0].payloads


def test_font_fallback_still_renders_readable_codes(monkeypatch, ed_pages) -> None:
    monkeypatch.setattr(printsheet, "_FONT_CANDIDATES", {False: ("/nonexistent.ttf",), True: ("/nonexistent.ttf",)})
    printsheet._font.cache_clear()
    try:
        png = printsheet.render_png(ed_pages[0])
    finally:
        printsheet._font.cache_clear()
    assert decode_qr_texts(png, what="fallback") == ed_pages[0].payloads


def test_read_back_check_refuses_a_code_that_does_not_decode(ed_pages) -> None:
    page = printsheet.Page(list(ed_pages[0].elements), [*ed_pages[0].payloads, "TUFBK1:K:ED25519:NOT:DRAWN"])
    with pytest.raises(AirgapError, match=r"QR code\(s\) \[2\] on rendered page 1 do not read back"):
        printsheet.check_pages_read_back([page])
    printsheet.check_pages_read_back(ed_pages)


# --- terminal ---------------------------------------------------------------------------------


def terminal_to_image(text: str, scale: int = 6) -> Image.Image:
    """Turn half-block art back into pixels (lit = light module) to scan it like a screenshot."""
    rows = text.splitlines()
    image = Image.new("L", (len(rows[0]), 2 * len(rows)), 0)
    lit = {"\u2588": (True, True), "\u2580": (True, False), "\u2584": (False, True), " ": (False, False)}
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            top, bottom = lit[ch]
            image.putpixel((c, 2 * r), 255 if top else 0)
            image.putpixel((c, 2 * r + 1), 255 if bottom else 0)
    big = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    framed = Image.new("L", (big.width + 80, big.height + 80), 255)
    framed.paste(big, (40, 40))
    return framed


@pytest.mark.parametrize("key", [KEY, RSA_KEY], ids=["ed25519", "rsa2048"])
def test_terminal_qr_scans_back(key: PrivateKey) -> None:
    for _, payload in sheet(key).qr:
        out = io.BytesIO()
        terminal_to_image(printsheet.terminal_qr(payload)).save(out, "PNG")
        assert decode_qr_texts(out.getvalue(), what="screen") == [payload]


def test_terminal_sheet_holds_fields_codes_and_lines() -> None:
    s = sheet(KEY)
    text = printsheet.terminal_sheet(s)
    assert KEY.keyid[:16] in text and "part 1 of 1" in text
    assert all(line in text for line in s.block)


# --- damaged photos ---------------------------------------------------------------------------


def _noise(sigma: int) -> Callable[[Image.Image], Image.Image]:
    def apply(image: Image.Image) -> Image.Image:
        noise = Image.effect_noise(image.size, sigma)
        return ImageChops.add(image, noise, 1.0, -128)

    return apply


def _scale(factor: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.resize((int(im.width * factor), int(im.height * factor)), Image.BILINEAR)


def _upper(im: Image.Image) -> Image.Image:
    """The part of page 1 holding the QR codes (a photo of the codes, not the typed lines)."""
    return im.crop(im.info["codes"])


DAMAGE: dict[str, tuple[Callable[[Image.Image], Image.Image], str]] = {
    "crop-edges": (lambda im: _upper(im).crop((90, 90, _upper(im).width - 90, _upper(im).height - 90)), "ok"),
    "noise-30": (lambda im: _noise(30)(_upper(im)), "ok"),
    "noise-90": (lambda im: _noise(90)(_upper(im)), "either"),
    "rotate-3": (lambda im: _upper(im).rotate(3, expand=True, fillcolor=255), "ok"),
    "rotate-8": (lambda im: _upper(im).rotate(8, expand=True, fillcolor=255), "either"),
    "scale-50": (lambda im: _scale(0.5)(_upper(im)), "ok"),
    "scale-30": (lambda im: _scale(0.3)(_upper(im)), "either"),
    "scale-10": (lambda im: _scale(0.1)(_upper(im)), "either"),  # about one pixel per module
    "scale-5": (lambda im: _scale(0.05)(_upper(im)), "error"),
    "blur-2": (lambda im: _upper(im).filter(ImageFilter.GaussianBlur(2)), "either"),
    "jpeg-q25": (lambda im: Image.open(io.BytesIO(_jpeg(_upper(im)))), "either"),
    "cut-in-half": (lambda im: _left_half_of_codes(im), "error"),
    "blank": (lambda im: Image.new("L", (400, 400), 255), "error"),
}


_PAGE_IMAGES: dict[str, Image.Image] = {}


def _first_page_image(which: str, page: printsheet.Page) -> Image.Image:
    """Page 1 rendered once per key; info['codes'] is the box around its QR codes plus a quiet margin."""
    if which not in _PAGE_IMAGES:
        image = page_image(page)
        boxes = [e for e in page.elements if isinstance(e, printsheet.Box) and e.h >= printsheet.QR_MIN_MODULE]
        image.info["codes"] = (
            min(b.x for b in boxes) - 100,
            min(b.y for b in boxes) - 100,
            max(b.x + b.w for b in boxes) + 100,
            max(b.y + b.h for b in boxes) + 100,
        )
        _PAGE_IMAGES[which] = image
    return _PAGE_IMAGES[which]


def _left_half_of_codes(image: Image.Image) -> Image.Image:
    """The left half of the first code only (the rest of the page blanked)."""
    left, top, right, bottom = image.info["codes"]
    first = left + 100  # the first code starts at the box's left edge plus the margin
    half = image.crop((first, top + 100, first + (bottom - top - 200) // 2, bottom - 100))
    out = Image.new("L", (image.width, image.height), 255)
    out.paste(half, (first, top + 100))
    return out


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=25)
    return out.getvalue()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("which", ["ed25519", "rsa2048-4-parts"])
def test_damaged_photos_decode_or_fail_clearly(
    damage: str, which: str, tmp_path: Path, ed_pages, rsa_pages, capsys
) -> None:
    key, pages = (KEY, ed_pages) if which == "ed25519" else (RSA_KEY, rsa_pages)
    transform, expected = DAMAGE[damage]
    photo = save(transform(_first_page_image(which, pages[0]).copy()).convert("L"), tmp_path / "photo.png")
    try:
        [decoded] = read_backups([photo], [], []).backups
    except AirgapError as exc:
        assert expected != "ok", f"{damage}: {exc.message}"
        assert re.search(r"no QR code|missing|no tuf-airgap", exc.message), exc.message
        assert key.secret_bytes().hex() not in exc.message + exc.hint
        assert b32encode(key.secret_bytes())[:12] not in exc.message + exc.hint
        return
    assert expected != "error", f"{damage} unexpectedly decoded"
    assert decoded.rebuild().keyid == key.keyid  # never a wrong key
    assert decoded.secret == key.secret_bytes()


def test_each_part_may_come_from_its_own_photo(tmp_path: Path, rsa_pages) -> None:
    image = page_image(rsa_pages[0])
    photos = []
    for index, box in enumerate(_code_boxes(rsa_pages[0])):
        photos.append(save(image.crop(box), tmp_path / f"part{index}.png"))
    [decoded] = read_backups(photos, [], []).backups
    assert decoded.rebuild().keyid == RSA_KEY.keyid
    with pytest.raises(AirgapError, match=r"part\(s\) 3 of 4 missing"):
        read_backups([p for i, p in enumerate(photos) if i != 2], [], [])


def _code_boxes(page: printsheet.Page) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of the QR codes on a page, from their captions' positions."""
    captions = [e for e in page.elements if isinstance(e, printsheet.Text) and e.text.startswith("part ")]
    boxes = []
    for caption in captions:
        boxes.append((caption.x - 80, caption.y - 720, caption.x + 700, caption.y - 20))
    return boxes


def test_non_images_and_oversized_images_are_refused(tmp_path: Path, monkeypatch) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(InputFormatError, match="not an image|damaged image"):
        read_backups([junk], [], [])
    huge = save(Image.new("1", (300, 200), 1), tmp_path / "huge.png")
    with monkeypatch.context() as m:  # over our own cap
        m.setattr(qrscan, "MAX_PIXELS", 50_000)
        with pytest.raises(InputFormatError, match="300x200: more than 50000 pixels"):
            read_backups([huge], [], [])
    with monkeypatch.context() as m:  # over PIL's decompression bomb limit
        m.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
        with pytest.raises(InputFormatError, match="more than 80000000 pixels"):
            read_backups([huge], [], [])


def test_foreign_qr_codes_are_ignored_but_alone_are_an_error(tmp_path: Path, ed_pages) -> None:
    import qrcode

    foreign = qrcode.make("https://example.com/").get_image().convert("L")
    lone = save(foreign, tmp_path / "foreign.png")
    with pytest.raises(InputFormatError, match="no tuf-airgap backup QR code"):
        read_backups([lone], [], [])
    page = page_image(ed_pages[0])
    page.paste(foreign, (1000, 1100))
    both = save(page, tmp_path / "both.png")
    [decoded] = read_backups([both], [], []).backups
    assert decoded.rebuild().keyid == KEY.keyid


def test_share_sheet_codes_scan_back_as_shares(tmp_path: Path) -> None:
    mnemonics = split_secret(KEY.kind, KEY.secret_bytes(), count=3, threshold=2, random_bytes=os.urandom)
    photos = []
    for number in (1, 3):
        s = share_sheet(
            KEY, mnemonics[number - 1], number=number, count=3, roles=["root"], factory="", date="2025-01-01"
        )
        photos.append(save(page_image(printsheet.layout([s])[0]), tmp_path / f"share{number}.png"))
    readback = read_backups(photos, [], [])
    [decoded] = readback.backups
    assert decoded.rebuild().keyid == KEY.keyid
    assert "all 2 shares parse" in readback.notes[0]


@pytest.mark.slow
def test_rsa_4096_round_trips_through_multi_part_qr_typed_lines_and_shares() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from appliance.core.paper import assemble_qr, decoded_from_qr, parse_typed, sheet_text
    from appliance.core.shares import recover_shares

    key = PrivateKey.from_rsa(rsa.generate_private_key(public_exponent=65537, key_size=4096))
    s = sheet(key)  # default part size
    assert len(s.qr) == 4  # ~2.35 KB of PKCS#1 DER in 600-byte parts
    pages = printsheet.layout([s])
    found = [
        ("page", t) for page in pages if page.payloads for t in decode_qr_texts(printsheet.render_png(page), what="p")
    ]
    [content] = assemble_qr(found)
    assert decoded_from_qr(content).rebuild().keyid == key.keyid
    [typed] = parse_typed(sheet_text(s))
    assert typed.rebuild().keyid == key.keyid
    mnemonics = split_secret(key.kind, key.secret_bytes(), count=3, threshold=2, random_bytes=os.urandom)
    recovered = recover_shares([(str(i), m) for i, m in enumerate(mnemonics)])
    assert recovered.decoded().rebuild().keyid == key.keyid
