"""Backup sheets: what a printed page holds (layout: appliance/shell/sheetlayout.py, drawing: sheetdraw.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..keys import ED25519
from ..privatekeys import PrivateKey
from .codec import DEFAULT_PART_BYTES, FORMAT, KEYID_PREFIX_LEN, KIND_KEY
from .qr import qr_payloads
from .typed import encode_lines, typed_block


@dataclass(frozen=True)
class Sheet:
    """What one printed backup sheet says; rendering lives in appliance.shell.sheetlayout and sheetdraw."""

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
