"""Decode QR codes from a photo or scan (zxing-cpp).  PIL is used only to decode the image file.

Image files are hostile input: the file size and the pixel count are capped before
any pixel data is decoded, and only the first frame is read.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from ..common.durable import read_capped
from ..core.errors import InputFormatError

MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 80_000_000  # a 10000 x 8000 scan


def decode_qr_texts(data: bytes, *, what: str) -> list[str]:
    """The text of every QR code zxing-cpp finds in the image bytes (possibly none)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InputFormatError(
                    f"{what} is {width}x{height}: more than {MAX_PIXELS} pixels; refusing to decode it"
                )
            image.load()
            gray = image.convert("L")
    except InputFormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputFormatError(f"{what} has more than {MAX_PIXELS} pixels; refusing to decode it") from None
    except UnidentifiedImageError:
        raise InputFormatError(f"{what} is not an image that can be read (PNG, JPEG, ...)") from None
    except (OSError, ValueError, SyntaxError):
        raise InputFormatError(f"{what} is a damaged image") from None
    # A plain BarcodeFormat is accepted at run time by every zxing-cpp >= 2.2; newer stubs want BarcodeFormats.
    results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
    return [r.text for r in results if r.valid and r.text]


def read_qr_file(path: Path) -> list[str]:
    return decode_qr_texts(read_capped(path, MAX_IMAGE_BYTES, what="scan"), what=f"scan {path}")
