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

from .codec import (
    ALPHABET,
    DEFAULT_PART_BYTES,
    FORMAT,
    GROUP_LETTERS,
    GROUPS_PER_LINE,
    KEYID_PREFIX_LEN,
    KIND_KEY,
    KIND_SHARE,
    KINDS,
    LINE_BYTES,
    LINE_LETTERS,
    MAX_PARTS,
    MAX_SECRET_BYTES,
    MAX_TYPED_CHARS,
    MIN_PART_BYTES,
    DecodedBackup,
    b32_length,
    b32decode,
    b32encode,
    block_check,
    confirm_backup,
    content_digest,
    crc16,
    line_check,
)
from .qr import QrContent, QrPart, assemble_qr, decoded_from_qr, is_backup_payload, parse_qr_payload, qr_payloads
from .sheets import SECRET_WARNING, Sheet, key_sheet, sheet_text
from .typed import encode_lines, parse_typed, typed_block

__all__ = [
    "ALPHABET",
    "DEFAULT_PART_BYTES",
    "DecodedBackup",
    "FORMAT",
    "GROUPS_PER_LINE",
    "GROUP_LETTERS",
    "KEYID_PREFIX_LEN",
    "KINDS",
    "KIND_KEY",
    "KIND_SHARE",
    "LINE_BYTES",
    "LINE_LETTERS",
    "MAX_PARTS",
    "MAX_SECRET_BYTES",
    "MAX_TYPED_CHARS",
    "MIN_PART_BYTES",
    "QrContent",
    "QrPart",
    "SECRET_WARNING",
    "Sheet",
    "assemble_qr",
    "b32_length",
    "b32decode",
    "b32encode",
    "block_check",
    "confirm_backup",
    "content_digest",
    "crc16",
    "decoded_from_qr",
    "encode_lines",
    "is_backup_payload",
    "key_sheet",
    "line_check",
    "parse_qr_payload",
    "parse_typed",
    "qr_payloads",
    "sheet_text",
    "typed_block",
]
