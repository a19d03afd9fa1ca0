"""Multi-part QR payloads in the QR alphanumeric alphabet."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import (
    BackupFormatError,
    UsageError,
)
from ..keys import KEYTYPES
from .codec import (
    DEFAULT_PART_BYTES,
    FORMAT,
    KEYID_PREFIX_LEN,
    KIND_KEY,
    KIND_SHARE,
    KINDS,
    MAX_PARTS,
    MIN_PART_BYTES,
    DecodedBackup,
    b32decode,
    b32encode,
    content_digest,
    crc16,
)

_QR = re.compile(
    r"^(TUFBK\d+):([A-Z]):([A-Z0-9]+):([0-9A-F]{16}):(\d{1,2})/(\d{1,2}):([0-9A-F]{8}):([A-Z2-7]*):([0-9A-F]{4})$"
)


@dataclass(frozen=True)
class QrPart:
    kind: str
    keytype: str
    keyid_prefix: str  # lower-case hex, 16 digits
    index: int
    count: int
    digest: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class QrContent:
    """The joined content of all parts of one QR set."""

    kind: str
    keytype: str
    keyid_prefix: str
    content: bytes = field(repr=False)


def qr_payloads(
    kind: str, keytype: str, keyid: str, content: bytes, *, part_bytes: int = DEFAULT_PART_BYTES
) -> list[str]:
    """The text of each QR code for ``content``, split into parts of at most ``part_bytes`` bytes."""
    if kind not in KINDS or keytype not in KEYTYPES:
        raise UsageError("unknown QR kind or keytype")
    if part_bytes < MIN_PART_BYTES:
        raise UsageError(f"QR parts need at least {MIN_PART_BYTES} bytes")
    if not content:
        raise UsageError("nothing to encode")
    slices = [content[i : i + part_bytes] for i in range(0, len(content), part_bytes)]
    if len(slices) > MAX_PARTS:
        raise UsageError(f"{len(slices)} QR parts needed; at most {MAX_PARTS} are allowed (raise the part size)")
    digest = content_digest(content)
    prefix = keyid[:KEYID_PREFIX_LEN].upper()
    out = []
    for index, piece in enumerate(slices, 1):
        body = f"{FORMAT}:{kind}:{keytype}:{prefix}:{index}/{len(slices)}:{digest}:{b32encode(piece)}"
        out.append(f"{body}:{crc16(body.encode('ascii')):04X}")
    return out


def is_backup_payload(text: str) -> bool:
    return text.startswith("TUFBK")


def parse_qr_payload(text: str, *, what: str = "QR code") -> QrPart:
    match = _QR.match(text.strip())
    if match is None:
        raise BackupFormatError(f"{what} is not a {FORMAT} backup code")
    fmt, kind, keytype, prefix, index, count, digest, letters, crc = match.groups()
    name = f"{what} (key {prefix.lower()}, part {index}/{count})"
    if fmt != FORMAT:
        raise BackupFormatError(f"{name} uses format {fmt}; only {FORMAT} is supported")
    body = text.strip()[: -len(crc) - 1]
    if f"{crc16(body.encode('ascii')):04X}" != crc:
        raise BackupFormatError(f"{name} fails its check digits", hint="Scan that code again, from a clean copy.")
    if kind not in KINDS or keytype not in KEYTYPES:
        raise BackupFormatError(f"{name} has unknown kind {kind!r} or keytype {keytype!r}")
    i, n = int(index), int(count)
    if not 1 <= i <= n <= MAX_PARTS:
        raise BackupFormatError(f"{name} has an impossible part number")
    data = b32decode(letters)
    if data is None or not data:
        raise BackupFormatError(f"{name} does not carry valid base32 data")
    return QrPart(kind, keytype, prefix.lower(), i, n, digest, data)


def assemble_qr(texts: Iterable[tuple[str, str]]) -> list[QrContent]:
    """Join parts into contents.  ``texts`` are (where it was found, payload) pairs; every
    set of parts must be complete and consistent."""
    sets: dict[tuple[str, str, str, int, str], dict[int, QrPart]] = {}
    for where, text in texts:
        part = parse_qr_payload(text, what=f"QR code in {where}")
        parts = sets.setdefault((part.kind, part.keytype, part.keyid_prefix, part.count, part.digest), {})
        seen = parts.get(part.index)
        if seen is not None and seen.data != part.data:
            raise BackupFormatError(f"two different QR codes claim part {part.index} of key {part.keyid_prefix}")
        parts[part.index] = part
    out = []
    for (kind, keytype, prefix, count, digest), parts in sets.items():
        missing = [i for i in range(1, count + 1) if i not in parts]
        if missing:
            what = "share" if kind == KIND_SHARE else "key"
            raise BackupFormatError(
                f"{what} {prefix}: QR part(s) {', '.join(map(str, missing))} of {count} missing",
                hint="Scan every part of the sheet (pass --scan once per photo; one photo may hold several parts).",
            )
        content = b"".join(parts[i].data for i in range(1, count + 1))
        if content_digest(content) != digest:
            raise BackupFormatError(f"the {count} QR parts of key {prefix} do not join to their recorded digest")
        out.append(QrContent(kind, keytype, prefix, content))
    return out


def decoded_from_qr(content: QrContent) -> DecodedBackup:
    if content.kind != KIND_KEY:
        raise UsageError("not a key QR set")
    return DecodedBackup(
        content.keytype, content.keyid_prefix, content.content, f"QR backup of key {content.keyid_prefix}"
    )
