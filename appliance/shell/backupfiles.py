"""Backup files: the keys tarball and root.json a backup command reads, and the sheets it writes."""

from __future__ import annotations

from pathlib import Path

from ..common.durable import read_capped, write_durable
from ..core.errors import UsageError
from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive, root_in_archive
from ..core.metadata import MAX_METADATA_BYTES, Root
from ..core.paper import Sheet, parse_typed, sheet_text
from . import sheetdraw, sheetlayout

_OUTPUT_KINDS = (".pdf", ".png", ".svg", ".txt")


def load_archive(path: Path) -> KeysArchive:
    return KeysArchive.from_bytes(read_capped(path, MAX_COMPRESSED_BYTES, what="keys tarball"))


def load_root(path: Path | None, archive: KeysArchive | None) -> Root | None:
    """root.json from --root, else the tarball's tufrepo/roles/root.json, else None."""
    if path is not None:
        return Root.from_bytes(read_capped(path, MAX_METADATA_BYTES, what="root.json"), what=str(path))
    return None if archive is None else root_in_archive(archive)


def page_paths(out: Path, count: int) -> list[Path]:
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(1, count + 1)]


def write_sheets(out: Path, sheets: list[Sheet], *, paper: str = "a4") -> list[Path]:
    suffix = out.suffix.lower()
    if suffix not in _OUTPUT_KINDS:
        raise UsageError(f"--out must end in one of {', '.join(_OUTPUT_KINDS)}, not {out.name!r}")
    if suffix == ".txt":
        text = "#\n# ----\n".join(sheet_text(s) for s in sheets).encode("ascii")

        def check_text(data: bytes) -> None:
            if any(s.block and s.block[0].startswith("format:") for s in sheets):
                parse_typed(data.decode("ascii"), what=str(out))

        write_durable(out, text, replace=False, verify=check_text, label="backup-sheet")
        return [out]
    pages = sheetlayout.layout(sheets, paper)
    paths = [out] if suffix == ".pdf" else page_paths(out, len(pages))
    existing = [p for p in paths if p.exists()]
    if existing:
        raise UsageError(f"{existing[0]} already exists; refusing to overwrite it", hint="Choose a new output path.")
    # Pages without QR codes are rasterised only when PNG is the output format.
    png = [sheetdraw.render_png(p) if suffix == ".png" or p.payloads else b"" for p in pages]
    sheetdraw.check_pages_read_back(pages, png)
    if suffix == ".pdf":
        write_durable(out, sheetdraw.render_pdf(pages), replace=False, label="backup-sheet")
        return [out]
    blobs = png if suffix == ".png" else [sheetdraw.render_svg(page) for page in pages]
    for path, blob in zip(paths, blobs, strict=True):
        write_durable(path, blob, replace=False, label="backup-sheet")
    return paths
