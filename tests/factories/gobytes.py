"""Bytes as Go (fioctl), docker/go canonical JSON, GNU tar and gzip write them.

Independent of the project's own writers on purpose: the zoo must catch the day our writers and the
real tools disagree. Each rule names where it comes from; facts.json carries the full provenance list.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

# --- JSON -----------------------------------------------------------------------------------------


def go_json(value: Any) -> bytes:
    """encoding/json Marshal: compact, dict order kept (Go struct field order; callers sort maps),
    <, >, & and U+2028/U+2029 escaped, control chars as \\n \\r \\t or \\u00XX (Go < 1.22)."""
    return _encode(value, _go_string).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    """docker/go canonical/json MarshalCanonical (fioctl signs and download-roots writes with it):
    keys sorted by byte order, compact, and only '\\\\' and '"' escaped; every other byte, newlines
    included, is written raw (encode.go, encodeState.string with canonical=true)."""
    return _encode(value, _canonical_string, sort_keys=True).encode("utf-8")


def _encode(value: Any, string: Any, sort_keys: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ",".join(_encode(v, string, sort_keys) for v in value) + "]"
    if isinstance(value, dict):
        items = list(value.items())
        if sort_keys:
            items.sort(key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(string(k) + ":" + _encode(v, string, sort_keys) for k, v in items) + "}"
    raise TypeError(f"no Go encoding for {type(value).__name__}")


def _go_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&":
            out.append(f"\\u00{o:02x}")
        elif ch in "\u2028\u2029":
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _canonical_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def circe_spaces2(value: Any, indent: int = 0) -> str:
    """circe Printer.spaces2 (garage-sign writes key files with it, CliKeyStorage.scala):
    two-space indent, ' : ' between name and value, no trailing newline."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{\n" + pad + "}"
        inner = ",\n".join(
            pad + "  " + _json_std_string(k) + " : " + circe_spaces2(v, indent + 1) for k, v in value.items()
        )
        return "{\n" + inner + "\n" + pad + "}"
    if isinstance(value, str):
        return _json_std_string(value)
    return _encode(value, _json_std_string)


def _json_std_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def b64(data: bytes) -> str:
    """Go encodes []byte (notary Signature.Signature) as standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


# --- tar ------------------------------------------------------------------------------------------

BLOCK = 512


def _octal(width: int, value: int) -> bytes:
    # Go archive/tar formatOctal and GNU tar: zero padded, room left for one NUL.
    digits = format(value, "o").rjust(width - 1, "0")
    if len(digits) > width - 1:
        raise ValueError("value does not fit the tar field")
    return digits.encode("ascii") + b"\0"


def _field(width: int, text: bytes) -> bytes:
    if len(text) > width:
        raise ValueError("name too long for this writer")
    return text + b"\0" * (width - len(text))


def _header(
    name: str,
    size: int,
    mode: int,
    mtime: int,
    typeflag: bytes,
    magic: bytes,
    version: bytes,
    uname: bytes,
    gname: bytes,
    dev_fields: bool,
) -> bytes:
    dev = _octal(8, 0) if dev_fields else b"\0" * 8
    blk = b"".join(
        [
            _field(100, name.encode("utf-8")),
            _octal(8, mode),
            _octal(8, 0),
            _octal(8, 0),
            _octal(12, size),
            _octal(12, mtime),
            b" " * 8,  # checksum placeholder: spaces while summing
            typeflag,
            b"\0" * 100,  # linkname
            magic,
            version,
            _field(32, uname),
            _field(32, gname),
            dev,
            dev,
            b"\0" * 155,  # prefix: every zoo name fits in 100 bytes, so Go never splits it
            b"\0" * 12,
        ]
    )
    assert len(blk) == BLOCK
    chk = sum(blk)
    return blk[:148] + _octal(7, chk) + b" " + blk[156:]


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def go_tar(members: list[tuple[str, bytes]], mode: int = 0) -> bytes:
    """archive/tar Writer with Header{Name, Size[, Mode]} (fioctl saveTufCreds: Name and Size only;
    download-roots: Mode 0644). Typeflag '\\0' promoted to '0', ModTime zero written as 0, USTAR
    magic "ustar\\0" + "00", empty uname/gname, devmajor/devminor as octal zero, end = two zero blocks,
    no padding to a record size."""
    out = bytearray()
    for name, data in members:
        out += _header(name, len(data), mode, 0, b"0", b"ustar\0", b"00", b"", b"", True)
        out += _pad(data)
    out += b"\0" * (2 * BLOCK)
    return bytes(out)


def gnu_tar(members: list[tuple[str, bytes | None, int]], mtime: int) -> bytes:
    """GNU tar 'tar czf X tufrepo' (the garage-sign era rotation script in fioctl 999cbe5 ran it as
    root in a container): GNU magic "ustar  \\0", directory entries ending in '/', real modes,
    uname/gname root, end = two zero blocks padded to a 10240-byte record."""
    out = bytearray()
    for name, data, mode in members:
        if data is None:
            out += _header(name, 0, mode, mtime, b"5", b"ustar ", b" \0", b"root", b"root", False)
        else:
            out += _header(name, len(data), mode, mtime, b"0", b"ustar ", b" \0", b"root", b"root", False)
            out += _pad(data)
    out += b"\0" * (2 * BLOCK)
    out += b"\0" * (-len(out) % 10240)
    return bytes(out)


# --- gzip -----------------------------------------------------------------------------------------


def gzip_bytes(payload: bytes, *, mtime: int = 0, xfl: int = 0, os_byte: int = 255) -> bytes:
    """RFC 1952 member. Go compress/gzip NewWriter with an empty Header: no name, mtime 0, XFL 0 at the
    default level, OS 255. The deflate stream itself is zlib's, not Go's compress/flate: readers only
    see the inflated bytes, which are exact."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = comp.compress(payload) + comp.flush()
    head = b"\x1f\x8b\x08\x00" + struct.pack("<I", mtime) + bytes([xfl, os_byte])
    return head + body + struct.pack("<II", zlib.crc32(payload) & 0xFFFFFFFF, len(payload) & 0xFFFFFFFF)
