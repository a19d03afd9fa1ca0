"""Typed lines: numbered base32 lines with per-line CRCs and a block check."""

from __future__ import annotations

import binascii
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import (
    BackupFormatError,
    KeyFormatError,
    UsageError,
)
from ..keys import KEYTYPES
from .codec import (
    _ALPHABET_BYTES,
    _INFO_HEADERS,
    _TYPO_MAP,
    ALPHABET,
    FORMAT,
    GROUP_LETTERS,
    KEYID_PREFIX_LEN,
    LINE_LETTERS,
    MAX_SECRET_BYTES,
    MAX_TYPED_CHARS,
    DecodedBackup,
    b32_length,
    b32decode,
    b32encode,
    block_check,
    line_check,
)


def encode_lines(secret: bytes) -> list[str]:
    """The numbered data lines: ``NN: ABCDE FGHIJ ... ABCDE  1a2b``."""
    letters = b32encode(secret)
    chunks = [letters[i : i + LINE_LETTERS] for i in range(0, len(letters), LINE_LETTERS)] or [""]
    width = max(2, len(str(len(chunks))))
    out = []
    for number, chunk in enumerate(chunks, 1):
        groups = " ".join(chunk[i : i + GROUP_LETTERS] for i in range(0, len(chunk), GROUP_LETTERS))
        out.append(f"{number:0{width}d}: {groups}  {line_check(number, chunk)}")
    return out


def typed_block(keytype: str, keyid: str, secret: bytes, *, info: Mapping[str, str] | None = None) -> list[str]:
    """The whole typed block: header lines, data lines and the block check."""
    if keytype not in KEYTYPES:
        raise KeyFormatError(f"unsupported keytype {keytype!r}")
    lines = [f"format: {FORMAT}", f"keytype: {keytype}", f"keyid: {keyid[:KEYID_PREFIX_LEN]}", f"bytes: {len(secret)}"]
    for name, value in (info or {}).items():
        if name not in _INFO_HEADERS:
            raise UsageError(f"unknown typed header {name!r}")
        lines.append(f"{name}: {value}")
    lines.extend(encode_lines(secret))
    check = block_check(secret)
    lines.append("check: " + " ".join(check[i : i + 4] for i in range(0, len(check), 4)))
    return lines


_HEADER = re.compile(r"^([A-Za-z]+)\s*:\s*(.*?)\s*$")
_DATA = re.compile(r"^(\d{1,3})\s*[:.]?\s+(.*?)\s+([0-9A-Fa-f]{4})$")


@dataclass
class _Block:
    start: int
    headers: dict[str, str] = field(default_factory=dict)
    headless: bool = False  # only numbered lines: type and length follow from the lines themselves
    lines: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # number -> (letters, check, file line)


def _split_blocks(text: str, what: str) -> list[_Block]:
    blocks: list[_Block] = []
    for file_line, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header is not None:
            name, value = header.group(1).lower(), header.group(2)
            if name == "share":
                raise BackupFormatError(
                    f"{what} holds Shamir shares, not typed lines", hint="Pass share files after --shares."
                )
            if name == "format":
                blocks.append(_Block(file_line))
            elif not blocks:
                raise BackupFormatError(f"{what} line {file_line}: a block must start with 'format: {FORMAT}'")
            if name not in ("format", "keytype", "keyid", "bytes", "check") and name not in _INFO_HEADERS:
                raise BackupFormatError(f"{what} line {file_line}: unknown header {header.group(1)!r}")
            if name in blocks[-1].headers:
                raise BackupFormatError(f"{what} line {file_line}: header {name!r} appears twice in one block")
            blocks[-1].headers[name] = value
            continue
        data = _DATA.match(line)
        if data is None and line[0].isdigit():
            raise BackupFormatError(
                f"{what}: line {_leading_number(line)} does not end with 4 check digits (file line {file_line})",
                hint="Each data line is its line number, a colon, the letters in groups of five, and 4 check digits.",
            )
        if data is None:
            raise BackupFormatError(
                f"{what} line {file_line} is neither a header nor a data line 'NN: letters  check'",
                hint="Each data line is its line number, a colon, the letters in groups of five, and 4 check digits.",
            )
        if not blocks:
            blocks.append(_Block(file_line, headless=True))  # numbered lines alone, as typed from a sheet
        number = int(data.group(1))
        if number in blocks[-1].lines:
            raise BackupFormatError(f"{what}: line {number} appears twice (file line {file_line})")
        letters = "".join(data.group(2).split()).upper().translate(_TYPO_MAP)
        blocks[-1].lines[number] = (letters, data.group(3).lower(), file_line)
    if not blocks:
        raise BackupFormatError(f"{what} holds no typed backup (no 'format: {FORMAT}' line)")
    return blocks


def _leading_number(line: str) -> str:
    match = re.match(r"\d+", line)
    return str(int(match.group())) if match else "?"


def _locate_single_error(number: int, letters: str, check: str) -> int | None:
    """1-based position of the one letter whose change makes the line check match, if unique."""
    target = int(check, 16)
    head = f"{number}:".encode("ascii")
    data = letters.encode("ascii")
    found = None
    for pos in range(len(data)):
        prefix = binascii.crc_hqx(head + data[:pos], 0xFFFF)  # CRC chaining: only the tail is recomputed
        tail = data[pos + 1 :]
        for ch in _ALPHABET_BYTES:
            if ch != data[pos] and binascii.crc_hqx(bytes((ch,)) + tail, prefix) == target:
                if found is not None:
                    return None
                found = pos + 1
                break
    return found


def _headless_headers(block: _Block, what: str) -> dict[str, str]:
    """The headers numbered lines alone imply: the length from the letters (every line but the last
    is full), ED25519 for a 32-byte secret, else RSA.  Each line's check still guards every letter;
    there is no block check, so the key must then match the tarball or root.json it is checked against."""
    count = max(block.lines)
    missing = [n for n in range(1, count + 1) if n not in block.lines]
    if missing:
        listed = ", ".join(str(n) for n in missing[:10])
        raise BackupFormatError(f"{what}: line(s) {listed} of {count} missing")
    letters = LINE_LETTERS * (count - 1) + len(block.lines[count][0])
    nbytes = letters * 5 // 8
    if b32_length(nbytes) != letters:
        raise BackupFormatError(f"{what}: {letters} letters are not a whole number of bytes; check the last line")
    return {"format": FORMAT, "keytype": "ED25519" if nbytes == 32 else "RSA", "bytes": str(nbytes)}


def _decode_block(block: _Block, what: str) -> DecodedBackup:
    if block.headless:
        block.headers.update(_headless_headers(block, what))
    h = block.headers
    fmt = h.get("format", "")
    if fmt.upper() != FORMAT:
        raise BackupFormatError(f"{what}: format {fmt!r} is not supported (expected {FORMAT})")
    for required in ("keytype", "bytes") if block.headless else ("keytype", "bytes", "check"):
        if required not in h:
            raise BackupFormatError(f"{what}: the block starting at line {block.start} has no '{required}:' line")
    keytype = h["keytype"].upper()
    if keytype not in KEYTYPES:
        raise BackupFormatError(f"{what}: keytype {h['keytype']!r} is not ED25519 or RSA")
    keyid_prefix = h.get("keyid", "").lower()
    if not re.fullmatch(r"[0-9a-f]{0,64}", keyid_prefix):
        raise BackupFormatError(f"{what}: keyid {keyid_prefix!r} is not hex")
    if not re.fullmatch(r"\d{1,6}", h["bytes"]) or not 1 <= int(h["bytes"]) <= MAX_SECRET_BYTES:
        raise BackupFormatError(f"{what}: 'bytes: {h['bytes']}' is not a length between 1 and {MAX_SECRET_BYTES}")
    nbytes = int(h["bytes"])
    total = b32_length(nbytes)
    count = (total + LINE_LETTERS - 1) // LINE_LETTERS
    extra = sorted(n for n in block.lines if not 1 <= n <= count)
    if extra:
        raise BackupFormatError(f"{what}: line {extra[0]} is beyond the {count} lines a {nbytes}-byte secret needs")
    missing = [n for n in range(1, count + 1) if n not in block.lines]
    if missing:
        listed = ", ".join(str(n) for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise BackupFormatError(f"{what}: line(s) {listed} of {count} missing")
    problems: list[str] = []
    joined = []
    for number in range(1, count + 1):
        letters, check, _file_line = block.lines[number]
        expected = LINE_LETTERS if number < count else total - LINE_LETTERS * (count - 1)
        bad = next((i for i, ch in enumerate(letters) if ch not in ALPHABET), None)
        if bad is not None:
            problems.append(f"line {number}, letter {bad + 1} is not a base32 letter (A-Z, 2-7)")
        elif len(letters) != expected:
            problems.append(f"line {number} has {len(letters)} letters, expected {expected}")
        elif line_check(number, letters) != check:
            pos = _locate_single_error(number, letters, check)
            where = f" (probably letter {pos})" if pos is not None else ""
            problems.append(f"line {number} does not match its check digits{where}")
        joined.append(letters)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BackupFormatError(f"{what}: {problems[0]}{more}", hint=_line_hint(problems))
    secret = b32decode("".join(joined))
    if secret is None or len(secret) != nbytes:
        raise BackupFormatError(f"{what}: the last line's letters do not decode to exactly {nbytes} bytes")
    given = "".join(h.get("check", "").split()).lower()
    if not block.headless and not hmac.compare_digest(given, block_check(secret)):
        raise BackupFormatError(
            f"{what}: every line matches but the block check does not; check the 'check:' line and the line order"
        )
    source = f"typed backup of key {keyid_prefix or '(no key id)'}"
    if block.headless:
        source = f"typed lines 1-{len(block.lines)} (no header) in {what}"
    return DecodedBackup(keytype, keyid_prefix, secret, source, h.get("factory", ""))


def _line_hint(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:8])
    return f"Problems: {shown}. Compare these lines with the sheet, correct them and run the command again."


def parse_typed(text: str, *, what: str = "typed backup") -> list[DecodedBackup]:
    """Every typed block in ``text``; raise BackupFormatError naming the wrong line."""
    if len(text) > MAX_TYPED_CHARS:
        raise BackupFormatError(f"{what} is longer than {MAX_TYPED_CHARS} characters")
    return [_decode_block(block, what) for block in _split_blocks(text, what)]
