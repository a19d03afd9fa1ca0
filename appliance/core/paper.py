"""Paper backups of private keys: typed lines and multi-part QR payloads (pure).

Two encodings of the same secret (``PrivateKey.secret_bytes()``: the ED25519 seed or
the RSA PKCS#1 DER), both specified in bundle-spec.md section 4:

- typed lines: RFC 4648 base32 without padding, 40 letters (25 bytes) per numbered
  line in groups of five, each line followed by a CRC-16/CCITT-FALSE over
  ``"<number>:<letters>"``.  A CRC of degree 16 catches every error burst of up to
  16 bits, so any single wrong character (8 bits of ASCII) and any swap of two
  neighbours (16 bits) is caught and located by line.  A block check (SHA-256
  prefix of the whole secret) and the key id catch everything else.
- QR payloads: ``TUFBK1:<kind>:<keytype>:<keyid16>:<i>/<n>:<digest8>:<base32>:<crc16>``,
  only characters of the QR alphanumeric mode, split into parts so that large RSA
  keys stay within codes a phone or webcam reads reliably.

A decoded backup proves itself: the key is rebuilt from the secret and its key id
recomputed (``confirm_backup`` compares it with the key in the offline tarball).
Error messages name lines, parts and key id prefixes, never secret characters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import (
    BackupFormatError,
    BackupMismatchError,
    KeyFormatError,
    KeyMissingError,
)
from .keys import ED25519, KEYTYPES, PrivateKey
from .keysarchive import KeysArchive

FORMAT = "TUFBK1"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
GROUP_LETTERS = 5
GROUPS_PER_LINE = 8
LINE_LETTERS = GROUP_LETTERS * GROUPS_PER_LINE  # 40 letters = 25 bytes
LINE_BYTES = LINE_LETTERS * 5 // 8
KEYID_PREFIX_LEN = 16
MAX_SECRET_BYTES = 16 * 1024  # RSA-4096 PKCS#1 DER is about 2.4 KB
MAX_TYPED_CHARS = 1024 * 1024
DEFAULT_PART_BYTES = 600  # RSA-2048 -> 2 parts, RSA-4096 -> 4 parts, QR version about 20 at level M
MIN_PART_BYTES = 16
MAX_PARTS = 99
KIND_KEY = "K"
KIND_SHARE = "S"
KINDS = (KIND_KEY, KIND_SHARE)

# Printed letters people confuse with base32 letters; the checksums still decide.
_TYPO_MAP = str.maketrans({"0": "O", "1": "I"})
_ALPHABET_BYTES = ALPHABET.encode("ascii")
_INFO_HEADERS = frozenset({"factory", "date", "role", "sheet"})


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final xor."""
    return binascii.crc_hqx(data, 0xFFFF)


def line_check(number: int, letters: str) -> str:
    """The 4 lower-case hex digits printed after typed line ``number``."""
    return f"{crc16(f'{number}:{letters}'.encode('ascii')):04x}"


def block_check(secret: bytes) -> str:
    """First 16 hex digits of the SHA-256 of the whole secret."""
    return hashlib.sha256(secret).hexdigest()[:16]


def content_digest(content: bytes) -> str:
    """First 8 upper-case hex digits of the SHA-256 of a QR payload's whole content."""
    return hashlib.sha256(content).hexdigest()[:8].upper()


def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32decode(letters: str) -> bytes | None:
    """Decode unpadded base32; None unless ``letters`` is exactly the canonical encoding."""
    if not set(letters) <= set(ALPHABET) or len(letters) % 8 in (1, 3, 6):
        return None
    try:
        data = base64.b32decode(letters + "=" * (-len(letters) % 8))
    except (binascii.Error, ValueError):
        return None
    return data if b32encode(data) == letters else None


def b32_length(nbytes: int) -> int:
    return (nbytes * 8 + 4) // 5


@dataclass(frozen=True)
class DecodedBackup:
    """A secret read back from paper: typed lines, QR parts or combined shares."""

    keytype: str
    keyid_prefix: str  # lower-case hex; may be shorter than a key id, or empty when unknown
    secret: bytes = field(repr=False)
    source: str
    factory: str = ""  # from a typed block's 'factory:' line, when it has one

    def rebuild(self) -> PrivateKey:
        """The private key; refuses when it is not the key the backup names."""
        try:
            key = PrivateKey.from_secret_bytes(self.keytype, self.secret)
        except KeyFormatError as exc:
            raise BackupMismatchError(
                f"{self.source} does not hold a valid {self.keytype} key: {exc.message}"
            ) from None
        if not key.keyid.startswith(self.keyid_prefix):
            raise BackupMismatchError(
                f"{self.source} names key {self.keyid_prefix} but rebuilds key {key.keyid[:KEYID_PREFIX_LEN]}"
            )
        return key


def confirm_backup(archive: KeysArchive, keyid: str, decoded_secret: bytes) -> None:
    """Raise unless ``decoded_secret`` rebuilds exactly the private key ``keyid`` held in ``archive``.

    Meant for any command that must not finish before a backup was read back (for
    example a root rotation run with ``--require-backup-readback``).
    """
    entry = next((e for e in archive.entries if e.keyid == keyid and e.private is not None), None)
    if entry is None or entry.private is None:
        raise KeyMissingError(f"the keys tarball holds no private key {keyid[:KEYID_PREFIX_LEN]}")
    try:
        rebuilt = PrivateKey.from_secret_bytes(entry.public.kind, decoded_secret)
    except KeyFormatError:
        raise BackupMismatchError(
            f"the backup read back does not decode to a {entry.public.kind} key (expected {keyid[:KEYID_PREFIX_LEN]})"
        ) from None
    if rebuilt.keyid != keyid:
        raise BackupMismatchError(
            f"the backup read back is key {rebuilt.keyid[:KEYID_PREFIX_LEN]}, not {keyid[:KEYID_PREFIX_LEN]}"
        )
    if not hmac.compare_digest(decoded_secret, entry.private.secret_bytes()):
        raise BackupMismatchError(
            f"the backup of key {keyid[:KEYID_PREFIX_LEN]} differs from the tarball's private key bytes"
        )


# --- typed lines -----------------------------------------------------------------------------


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
            raise ValueError(f"unknown typed header {name!r}")
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
            raise BackupFormatError(f"{what} line {file_line}: a block must start with 'format: {FORMAT}'")
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


def _decode_block(block: _Block, what: str) -> DecodedBackup:
    h = block.headers
    fmt = h.get("format", "")
    if fmt.upper() != FORMAT:
        raise BackupFormatError(f"{what}: format {fmt!r} is not supported (expected {FORMAT})")
    for required in ("keytype", "bytes", "check"):
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
    given = "".join(h["check"].split()).lower()
    if not hmac.compare_digest(given, block_check(secret)):
        raise BackupFormatError(
            f"{what}: every line matches but the block check does not; check the 'check:' line and the line order"
        )
    source = f"typed backup of key {keyid_prefix or '(no key id)'}"
    return DecodedBackup(keytype, keyid_prefix, secret, source, h.get("factory", ""))


def _line_hint(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:8])
    return f"Problems: {shown}. Compare these lines with the sheet, correct them and run the command again."


def parse_typed(text: str, *, what: str = "typed backup") -> list[DecodedBackup]:
    """Every typed block in ``text``; raise BackupFormatError naming the wrong line."""
    if len(text) > MAX_TYPED_CHARS:
        raise BackupFormatError(f"{what} is longer than {MAX_TYPED_CHARS} characters")
    return [_decode_block(block, what) for block in _split_blocks(text, what)]


# --- QR payloads -----------------------------------------------------------------------------

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
        raise ValueError("unknown QR kind or keytype")
    if part_bytes < MIN_PART_BYTES:
        raise ValueError(f"QR parts need at least {MIN_PART_BYTES} bytes")
    if not content:
        raise ValueError("nothing to encode")
    slices = [content[i : i + part_bytes] for i in range(0, len(content), part_bytes)]
    if len(slices) > MAX_PARTS:
        raise ValueError(f"{len(slices)} QR parts needed; at most {MAX_PARTS} are allowed (raise the part size)")
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
        raise ValueError("not a key QR set")
    return DecodedBackup(
        content.keytype, content.keyid_prefix, content.content, f"QR backup of key {content.keyid_prefix}"
    )


# --- sheets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """What one printed backup sheet says; rendering lives in appliance.shell.printsheet."""

    title: str
    warning: str
    fields: tuple[tuple[str, str], ...]
    qr: tuple[tuple[str, str], ...] = field(repr=False)  # (caption, payload)
    block_title: str
    block: tuple[str, ...] = field(repr=False)
    instructions: tuple[str, ...]
    footer: str


SECRET_WARNING = "SECRET - whoever holds this sheet can sign as this key. Keep it in a safe."  # noqa: S105


def _ed25519_steps() -> tuple[str, ...]:
    return (
        "3. ED25519: the bytes are the 32-byte seed. The .sec file is one line: "
        '{"keytype":"ED25519","keyval":{"private":"<the 32 bytes as 64 lower-case hex digits>"}}',
    )


def _rsa_steps() -> tuple[str, ...]:
    return (
        "3. RSA: the bytes are a PKCS#1 DER private key. 'openssl rsa -inform DER -in key.der -traditional "
        "-out key.pem' gives the PEM. The .sec file is one line: "
        '{"keytype":"RSA","keyval":{"private":"<the PEM text, each line break written as \\n>"}}',
    )


def key_sheet(
    key: PrivateKey,
    *,
    roles: Sequence[str],
    factory: str,
    date: str,
    part_bytes: int = DEFAULT_PART_BYTES,
) -> Sheet:
    """The backup sheet of one private key: QR parts, typed lines and how to restore by hand."""
    secret = key.secret_bytes()
    payloads = qr_payloads(KIND_KEY, key.kind, key.keyid, secret, part_bytes=part_bytes)
    role_text = ", ".join(roles) or "(not in root.json)"
    bits = key.public_key.bits
    info = {"factory": factory} if factory else {}
    block = typed_block(key.kind, key.keyid, secret, info=info)
    role_for_name = roles[0] if roles else "root"
    steps = (
        "RESTORE WITH THE TOOL: tuf-appliance backup restore --typed FILE (or --scan PHOTO for each photo of "
        "the QR codes) --root root.json --out offline-creds.tgz",
        "RESTORE BY HAND: 1. Each numbered line is 'NN: <letters in groups of five>  <check>'. The check is "
        "CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) in hex of the ASCII text '<NN without leading zeros>:"
        "<that line's letters without spaces>'.",
        f"2. Join the letters of all lines in order and decode them as RFC 4648 base32 (add '=' padding) into "
        f"{len(secret)} bytes; the first 16 hex digits of their SHA-256 are the 'check:' line.",
        *(_ed25519_steps() if key.kind == ED25519 else _rsa_steps()),
        f"4. Save it as tufrepo/keys/fioctl-{role_for_name}-<key id>.sec; the .pub beside it is "
        '{"keytype":..,"keyval":{"public":..}} copied from keys[<key id>] in root.json. '
        "The key id is the SHA-256 of the DER public key (openssl pkey -pubout -outform DER | sha256sum).",
        f"QR codes hold '{FORMAT}:K:<type>:<key id prefix>:<part>/<parts>:<digest>:<base32>:<crc>'; "
        "the base32 data of all parts joined in order is the same secret.",
    )
    fields = (
        ("factory", factory or "________________________"),
        ("role", role_text),
        ("key id", _spaced_keyid(key.keyid)),
        ("key type", f"{key.kind} ({bits} bits)"),
        ("date", date),
        ("QR parts", str(len(payloads))),
    )
    captions = [f"part {i} of {len(payloads)}" for i in range(1, len(payloads) + 1)]
    return Sheet(
        title=f"TUF {role_for_name.upper()} KEY BACKUP",
        warning=SECRET_WARNING,
        fields=fields,
        qr=tuple(zip(captions, payloads, strict=True)),
        block_title=f"Typed backup: {len(encode_lines(secret))} numbered lines (base32, line check, block check)",
        block=tuple(block),
        instructions=steps,
        footer=f"{role_for_name} key {key.keyid[:KEYID_PREFIX_LEN]}",
    )


def _spaced_keyid(keyid: str) -> str:
    return " ".join(keyid[i : i + 16] for i in range(0, len(keyid), 16))


def sheet_text(sheet: Sheet) -> str:
    """Plain-text form of a sheet: everything but the block is a '#' comment, so the file
    itself can be read back with ``--typed`` (keys) or ``--shares`` (shares)."""
    out = [f"# {sheet.title}", f"# {sheet.warning}"]
    out.extend(f"# {label}: {value}" for label, value in sheet.fields)
    out.append("#")
    out.append(f"# {sheet.block_title}")
    out.extend(sheet.block)
    out.append("#")
    out.extend(f"# {paragraph}" for paragraph in sheet.instructions)
    return "\n".join(out) + "\n"
