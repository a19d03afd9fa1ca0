"""The backup sheet as printed: the PDF rasterised by poppler (pdftoppm), its QR codes decoded by
zxing-cpp, its typed lines taken from the PDF's text (pdftotext, no OCR) and read back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.shell import test_paper_cli
from tests.shell.test_paper_cli import Setup

ed, rsa = test_paper_cli.ed, test_paper_cli.rsa  # the same key setups as the CLI tests

POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")
if not POPPLER:
    if os.environ.get("CI") == "true":
        raise RuntimeError("pdftoppm/pdftotext missing: .ci/run installs poppler-utils")
    pytest.skip("poppler-utils (pdftoppm, pdftotext) not installed", allow_module_level=True)


def appliance(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *(str(a) for a in args)], capture_output=True, text=True, check=False
    )


def _pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _font_sizes(pdf: Path) -> set[float]:
    data = pdf.read_bytes()
    sizes: set[float] = set()
    for match in re.finditer(rb"stream\n(.*?)\nendstream", data, re.S):
        ops = zlib.decompress(match.group(1)).decode("latin-1")
        sizes.update(float(size) for size in re.findall(r"/F[12] ([0-9.]+) Tf", ops))
    return sizes


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("which", ["ed", "rsa"])
def test_printed_sheet_reads_back_from_its_pixels_and_its_text(
    which: str, paper: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    setup: Setup = request.getfixturevalue(which)
    pdf = tmp_path / "sheet.pdf"
    made = appliance(
        "backup",
        "print",
        "--keys",
        setup.keys,
        "--root",
        setup.root,
        "--out",
        pdf,
        "--paper",
        paper,
        "--supersedes",
        "root v1",
    )
    assert made.returncode == 0, made.stderr
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert pngs
    from PIL import Image

    width, height = Image.open(pngs[0]).size
    assert (width, height) == ((1654, 2339) if paper == "a4" else (1700, 2200))
    from appliance.shell.qrscan import decode_qr_texts

    codes = [t for png in pngs for t in decode_qr_texts(png.read_bytes(), what=png.name)]
    assert codes and all(code.startswith("TUFBK1:K:") for code in codes)
    scans = [arg for png in pngs for arg in ("--scan", png)]
    by_pixels = appliance("backup", "verify", "--keys", setup.keys, *scans)
    assert by_pixels.returncode == 0, by_pixels.stderr
    assert f"reproduces {setup.key.kind} key {setup.key.keyid}" in by_pixels.stdout

    pages = _pages_text(pdf)
    holding = [i for i, page in enumerate(pages) if "format: TUFBK1" in page]
    assert len(holding) == 1 and "check: " in pages[holding[0]], "the typed block is on one page"
    numbered = [line.strip() for line in pages[holding[0]].splitlines() if re.match(r"^\s*\d\d: ", line)]
    (tmp_path / "typed.txt").write_text("\n".join(numbered) + "\n")
    by_text = appliance("backup", "verify", "--keys", setup.keys, "--typed", tmp_path / "typed.txt")
    assert by_text.returncode == 0, by_text.stderr

    text = " ".join(" ".join(pages).split())
    for field in ("root version: v", "supersedes: root v1", "witness:", "stored in:", "read back on:"):
        assert field in text
    assert "the offline TARGETS key is not on this sheet" in text
    assert min(_font_sizes(pdf)) >= 9.0
