"""Shamir backups of a private key with SLIP-39 (the ``shamir-mnemonic`` reference code).

The secret split is a small frame around ``PrivateKey.secret_bytes()`` so that the
recovered master secret says what it is and has the even length SLIP-39 needs:

    byte 0      frame version, 1
    byte 1      key type: 1 = ED25519, 2 = RSA
    bytes 2-3   secret length L, big-endian
    L bytes     the secret (ED25519 seed, RSA PKCS#1 DER)
    0 or 1      zero byte, padding to an even length

One group (group threshold 1), ``threshold`` of ``count`` member shares, empty
passphrase, iteration exponent 0 (the passphrase is empty, so key stretching
protects nothing), extendable flag set.  In a QR code a share travels as its
10-bit SLIP-39 word indices packed big-endian into bytes, zero-padded.

Randomness: the 15-bit set identifier comes from the caller's ``random_bytes``;
the polynomial coefficients come from ``shamir_mnemonic.shamir.RANDOM_BYTES``,
which ``split_secret`` points at the caller's ``random_bytes`` for the duration of
the split (under a lock; the library documents that attribute as the override).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from shamir_mnemonic import shamir as slip39
from shamir_mnemonic.share import Share
from shamir_mnemonic.utils import MnemonicError
from shamir_mnemonic.wordlist import WORD_INDEX_MAP, WORDLIST

from .errors import ShareError
from .keys import ED25519, RSA
from .paper import (
    DEFAULT_PART_BYTES,
    KEYID_PREFIX_LEN,
    KIND_SHARE,
    SECRET_WARNING,
    DecodedBackup,
    QrContent,
    Sheet,
    qr_payloads,
)
from .privatekeys import PrivateKey, RandomBytes

FRAME_VERSION = 1
KEYTYPE_CODES = {ED25519: 1, RSA: 2}
MAX_SHARES = 16  # SLIP-39 limit
MIN_THRESHOLD = 2
WORDS_PER_ROW = 8
ALL_SUBSETS_LIMIT = 256  # above this many t-subsets, check a covering family instead
_RANDOM_LOCK = threading.Lock()


def frame_secret(keytype: str, secret: bytes) -> bytes:
    if len(secret) > 0xFFFF or not secret:
        raise ShareError("secret length out of range")
    framed = bytes([FRAME_VERSION, KEYTYPE_CODES[keytype]]) + len(secret).to_bytes(2, "big") + secret
    return framed + b"\x00" * (len(framed) % 2)


def unframe_secret(framed: bytes) -> tuple[str, bytes]:
    if len(framed) < 4 or framed[0] != FRAME_VERSION:
        raise ShareError("the recovered secret is not a version 1 key frame")
    names = {code: name for name, code in KEYTYPE_CODES.items()}
    if framed[1] not in names:
        raise ShareError(f"the recovered secret names unknown key type code {framed[1]}")
    length = int.from_bytes(framed[2:4], "big")
    rest = framed[4:]
    if len(rest) not in (length, length + 1) or any(rest[length:]):
        raise ShareError("the recovered secret's length field does not match its size")
    return names[framed[1]], rest[:length]


def check_split_parameters(count: int, threshold: int) -> None:
    from .errors import UsageError

    if not 2 <= count <= MAX_SHARES:
        raise UsageError(f"--shares must be between 2 and {MAX_SHARES} (SLIP-39 limit), not {count}")
    if not MIN_THRESHOLD <= threshold <= count:
        raise UsageError(f"--threshold must be between {MIN_THRESHOLD} and the number of shares ({count})")


def split_secret(keytype: str, secret: bytes, *, count: int, threshold: int, random_bytes: RandomBytes) -> list[str]:
    """``count`` SLIP-39 mnemonics, any ``threshold`` of which recover the framed secret."""
    check_split_parameters(count, threshold)
    identifier = int.from_bytes(random_bytes(2), "big") & 0x7FFF
    ems = slip39.EncryptedMasterSecret.from_master_secret(frame_secret(keytype, secret), b"", identifier, True, 0)
    with _RANDOM_LOCK:
        saved = slip39.RANDOM_BYTES
        slip39.RANDOM_BYTES = random_bytes
        try:
            groups = slip39.split_ems(1, [(threshold, count)], ems)
        finally:
            slip39.RANDOM_BYTES = saved
    return [share.mnemonic() for share in groups[0]]


def set_id(identifier: int) -> str:
    return f"{identifier:04X}"


def pack_mnemonic(mnemonic: str) -> bytes:
    """A mnemonic's 10-bit word indices packed big-endian, zero-padded to whole bytes."""
    indices = [WORD_INDEX_MAP[w] for w in mnemonic.split()]
    bits = 10 * len(indices)
    value = 0
    for index in indices:
        value = (value << 10) | index
    nbytes = (bits + 7) // 8
    return (value << (8 * nbytes - bits)).to_bytes(nbytes, "big")


def unpack_mnemonic(data: bytes) -> str:
    words = len(data) * 8 // 10
    pad = len(data) * 8 - 10 * words
    value = int.from_bytes(data, "big")
    if pad >= 8 or value & ((1 << pad) - 1):
        raise ShareError("a share QR code does not hold a whole number of SLIP-39 words")
    value >>= pad
    indices = [(value >> (10 * (words - 1 - i))) & 0x3FF for i in range(words)]
    return " ".join(WORDLIST[i] for i in indices)


_ROW_NUMBER = re.compile(r"^(\d{1,4})[:.]?\s+")


def parse_share_text(text: str, *, what: str) -> list[str]:
    """The mnemonics in a share file: one per 'share:' block, or the whole file as one share.
    Lines may start with a row number; '#' lines are comments."""
    if len(text) > 256 * 1024:
        raise ShareError(f"{what} is too large to be a share")
    blocks: list[list[str]] = [[]]
    for file_line, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split(":", 1)[0].strip().lower()
        if head == "share":
            if blocks[-1]:
                blocks.append([])
            continue
        if head in ("format", "keytype", "bytes", "check"):
            raise ShareError(f"{what} holds a typed key backup, not a share", hint="Pass it with --typed instead.")
        row = _ROW_NUMBER.match(line)
        label = f"row {row.group(1)}" if row else f"line {file_line}"
        words = (line[row.end() :] if row else line).lower().split()
        for position, word in enumerate(words, 1):
            if word not in WORD_INDEX_MAP:
                raise ShareError(
                    f"{what}, {label}, word {position} is not a SLIP-39 word",
                    hint="Compare that word with the share sheet; every word comes from the SLIP-39 word list.",
                )
        blocks[-1].extend(words)
    mnemonics = [" ".join(words) for words in blocks if words]
    if not mnemonics:
        raise ShareError(f"{what} holds no share words")
    return mnemonics


@dataclass(frozen=True)
class RecoveredShares:
    keytype: str
    secret: bytes = field(repr=False)
    set_id: str
    threshold: int
    shares: int
    subsets_checked: int

    def decoded(self) -> DecodedBackup:
        return DecodedBackup(self.keytype, "", self.secret, f"Shamir set {self.set_id}")


def _parse_share(label: str, mnemonic: str) -> Share:
    try:
        return Share.from_mnemonic(mnemonic)
    except MnemonicError:
        # The library's message quotes the first words; give our own instead.
        # Not chained: the cause may quote secret key bytes.
        raise ShareError(f"{label} is not a valid SLIP-39 share (a word is wrong, missing or extra)") from None


def _subsets(n: int, t: int) -> list[tuple[int, ...]]:
    if math.comb(n, t) <= ALL_SUBSETS_LIMIT:
        return list(itertools.combinations(range(n), t))
    # Each share in t cyclic windows: every share is checked against several others.
    return sorted({tuple(sorted((start + k) % n for k in range(t))) for start in range(n)})


def recover_shares(labelled: Sequence[tuple[str, str]]) -> RecoveredShares:
    """Check EVERY share (parse, same set, each t-subset recovers the same secret) and recover.

    ``labelled`` holds (where the share came from, mnemonic) pairs.
    """
    if not labelled:
        raise ShareError("no shares were given")
    parsed = [(label, _parse_share(label, mnemonic)) for label, mnemonic in labelled]
    first_label, first = parsed[0]
    for label, share in parsed[1:]:
        if share.identifier != first.identifier:
            raise ShareError(
                f"{label} belongs to share set {set_id(share.identifier)}, "
                f"{first_label} to set {set_id(first.identifier)}"
            )
        if share.group_parameters() != first.group_parameters():
            raise ShareError(f"{label} and {first_label} claim the same set but different thresholds or groups")
    if first.group_count != 1 or first.group_threshold != 1:
        raise ShareError("multi-group SLIP-39 shares are not supported; this tool writes one group")
    by_index: dict[int, str] = {}
    for label, share in parsed:
        if share.index in by_index:
            raise ShareError(f"{label} and {by_index[share.index]} are the same share (number {share.index + 1})")
        by_index[share.index] = label
    threshold = first.member_threshold
    if len(parsed) < threshold:
        raise ShareError(
            f"{len(parsed)} share(s) of set {set_id(first.identifier)} given; any {threshold} are needed",
            hint="Bring more shares of the same set.",
        )
    results: dict[tuple[int, ...], bytes | None] = {}
    for subset in _subsets(len(parsed), threshold):
        group = slip39.ShareGroup()
        for i in subset:
            group.add(parsed[i][1])
        try:
            results[subset] = slip39.recover_ems({0: group}).ciphertext
        except MnemonicError:
            results[subset] = None
    good = {value for value in results.values() if value is not None}
    if None in results.values() or len(good) != 1:
        suspects = [
            parsed[i][0]
            for i in range(len(parsed))
            if all(results[s] is None for s in results if i in s)
            or (len(good) > 1 and len({results[s] for s in results if i in s}) > 1)
        ]
        named = ", ".join(suspects) if suspects else "one or more shares"
        raise ShareError(
            f"the shares of set {set_id(first.identifier)} do not all combine to one secret; suspect: {named}",
            hint="A share is damaged or altered: re-check its words against its sheet, or leave it out.",
        )
    ciphertext = good.pop()
    ems = slip39.EncryptedMasterSecret(first.identifier, first.extendable, first.iteration_exponent, ciphertext)
    keytype, secret = unframe_secret(ems.decrypt(b""))
    return RecoveredShares(keytype, secret, set_id(first.identifier), threshold, len(parsed), len(results))


def share_payloads(key: PrivateKey, mnemonic: str, *, part_bytes: int = DEFAULT_PART_BYTES) -> list[str]:
    return qr_payloads(KIND_SHARE, key.kind, key.keyid, pack_mnemonic(mnemonic), part_bytes=part_bytes)


def mnemonic_from_qr(content: QrContent) -> str:
    if content.kind != KIND_SHARE:
        raise ShareError("not a share QR set")
    return unpack_mnemonic(content.content)


def share_sheet(
    key: PrivateKey,
    mnemonic: str,
    *,
    number: int,
    count: int,
    roles: Sequence[str],
    factory: str,
    date: str,
    part_bytes: int = DEFAULT_PART_BYTES,
) -> Sheet:
    """The sheet of share ``number`` (1-based) of ``count``."""
    share = Share.from_mnemonic(mnemonic)
    threshold = share.member_threshold
    sid = set_id(share.identifier)
    words = mnemonic.split()
    rows = [
        f"{r + 1:02d}: " + " ".join(words[i : i + WORDS_PER_ROW])
        for r, i in enumerate(range(0, len(words), WORDS_PER_ROW))
    ]
    header = f"share: {number} of {count} (any {threshold} restore), set {sid}"
    payloads = share_payloads(key, mnemonic, part_bytes=part_bytes)
    role = roles[0] if roles else "root"
    steps = (
        f"This is share {number} of {count} of Shamir set {sid} (SLIP-39). Any {threshold} shares of set {sid} "
        f"restore the key; fewer than {threshold} reveal nothing about it. Keep shares in different places.",
        "RESTORE WITH THE TOOL: type each share's words into its own file, then "
        "tuf-appliance backup restore --shares s1.txt s2.txt ... --root root.json --out offline-creds.tgz "
        "(or --scan a photo of each share's QR codes).",
        "RESTORE BY HAND: any SLIP-39 implementation (for example 'shamir recover' of python-shamir-mnemonic, "
        f"empty passphrase) combines {threshold} shares into a master secret: byte 0 = 1 (format), byte 1 = key "
        "type (1 ED25519, 2 RSA), bytes 2-3 = length L (big-endian), then L bytes: the key secret exactly as "
        "a typed key backup decodes (ED25519 seed, or RSA PKCS#1 DER), then padding. Build the .sec file from "
        "them as bundle-spec.md section 4 describes.",
        "QR codes hold 'TUFBK1:S:<type>:<key id prefix>:<part>/<parts>:<digest>:<base32>:<crc>'; the joined "
        "data are the share's 10-bit word indices, big-endian.",
    )
    fields = (
        ("factory", factory or "________________________"),
        ("role", ", ".join(roles) or "(not in root.json)"),
        ("key id", " ".join(key.keyid[i : i + 16] for i in range(0, 64, 16))),
        ("key type", f"{key.kind} ({key.public_key.bits} bits)"),
        ("date", date),
        ("share", f"{number} of {count} (any {threshold} restore)"),
        ("share set", sid),
    )
    return Sheet(
        title=f"TUF {role.upper()} KEY - SHAMIR SHARE {number} OF {count}",
        warning=SECRET_WARNING.replace("this sheet", f"{threshold} of these sheets"),
        fields=fields,
        qr=tuple((f"share {number}, part {i} of {len(payloads)}", p) for i, p in enumerate(payloads, 1)),
        block_title=f"SLIP-39 share: {len(words)} words",
        block=(header, *rows),
        instructions=steps,
        footer=f"{role} key {key.keyid[:KEYID_PREFIX_LEN]}, share {number} of {count}, set {sid}",
    )
