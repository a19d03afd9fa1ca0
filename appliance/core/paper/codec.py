"""Paper backup basics: the alphabet, checksums, and a decoded backup proving itself."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

from ..errors import (
    BackupMismatchError,
    KeyFormatError,
    KeyMissingError,
)
from ..keysarchive import KeysArchive
from ..privatekeys import PrivateKey

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
            # Not chained: the cause may quote secret key bytes.
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
        # Not chained: the cause may quote secret key bytes.
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
