"""Typed-lines and QR payload codecs of paper backups (appliance/core/paper.py)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.core.errors import BackupFormatError, BackupMismatchError, KeyMissingError, UsageError
from appliance.core.keysarchive import KeysArchive
from appliance.core.paper import (
    ALPHABET,
    KIND_KEY,
    KIND_SHARE,
    LINE_LETTERS,
    DecodedBackup,
    assemble_qr,
    b32decode,
    b32encode,
    block_check,
    confirm_backup,
    crc16,
    encode_lines,
    key_sheet,
    line_check,
    parse_qr_payload,
    parse_typed,
    qr_payloads,
    sheet_text,
    typed_block,
)
from appliance.core.privatekeys import PrivateKey
from tests.helpers_core import ed_key, rsa_test_key

KEY = ed_key(7)
RSA_KEY = rsa_test_key()


def block_for(secret: bytes, keytype: str = "ED25519", keyid: str = "ab" * 32) -> list[str]:
    return typed_block(keytype, keyid, secret)


def parse_one(lines: list[str]) -> DecodedBackup:
    decoded = parse_typed("\n".join(lines) + "\n")
    assert len(decoded) == 1
    return decoded[0]


def data_line_index(lines: list[str], number: int) -> int:
    return next(i for i, line in enumerate(lines) if re.match(rf"^0*{number}: ", line))


# --- building blocks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"123456789", 0x29B1), (b"", 0xFFFF), (b"A", 0xB915)],  # CRC-16/CCITT-FALSE check values
)
def test_crc16_is_ccitt_false(data: bytes, expected: int) -> None:
    assert crc16(data) == expected


@given(st.binary(max_size=200))
def test_b32_round_trip_and_canonical(data: bytes) -> None:
    letters = b32encode(data)
    assert "=" not in letters
    assert b32decode(letters) == data


@pytest.mark.parametrize("letters", ["AB", "ABC=", "abcd", "A1", "AF", "A"])
def test_b32_refuses_non_canonical(letters: str) -> None:
    # "AB" has non-zero trailing bits (canonical is "AA"), "A" is an impossible length
    assert b32decode(letters) is None


def test_line_check_binds_number_and_letters() -> None:
    assert line_check(1, "ABCDE") != line_check(2, "ABCDE")
    assert line_check(1, "ABCDE") != line_check(1, "ABCDF")
    assert re.fullmatch(r"[0-9a-f]{4}", line_check(3, "XYZ"))


def test_encoded_line_shape() -> None:
    lines = encode_lines(KEY.secret_bytes())
    assert len(lines) == 2
    number, rest = lines[0].split(": ", 1)
    groups = rest.split()
    assert number == "01"
    assert [len(g) for g in groups[:-1]] == [5] * 8
    assert groups[-1] == line_check(1, "".join(groups[:-1]))


# --- typed lines round trips -----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=3000))
def test_typed_round_trip_random_secrets(secret: bytes) -> None:
    decoded = parse_one(block_for(secret))
    assert decoded.secret == secret
    assert decoded.keytype == "ED25519"
    assert decoded.keyid_prefix == "ab" * 8


@pytest.mark.parametrize("key", [KEY, RSA_KEY], ids=["ed25519", "rsa2048"])
def test_typed_round_trip_rebuilds_key(key: PrivateKey) -> None:
    decoded = parse_one(block_for(key.secret_bytes(), key.kind, key.keyid))
    rebuilt = decoded.rebuild()
    assert rebuilt.keyid == key.keyid
    assert rebuilt.secret_bytes() == key.secret_bytes()


def test_sheet_text_is_itself_a_typed_backup() -> None:
    sheet = key_sheet(KEY, roles=["root"], factory="acme", date="2025-01-01")
    [decoded] = parse_typed(sheet_text(sheet))
    assert decoded.rebuild().keyid == KEY.keyid
    assert decoded.factory == "acme"


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda t: t.lower(), id="lower-case"),
        pytest.param(lambda t: re.sub(r"(?m)^(\d+): ", r"\1. ", t), id="dot-after-number"),
        pytest.param(lambda t: re.sub(r"(?m)^0(\d): ", r"\1:   ", t), id="no-leading-zero"),
        pytest.param(lambda t: t.replace(" ", "  "), id="extra-spaces"),
        pytest.param(lambda t: "# note\n\n" + t.replace("\n", "\r\n"), id="comments-crlf"),
    ],
)
def test_typed_tolerates_harmless_variations(transform) -> None:
    text = "\n".join(block_for(KEY.secret_bytes(), KEY.kind, KEY.keyid)) + "\n"
    assert parse_typed(transform(text))[0].secret == KEY.secret_bytes()


def test_zero_and_one_are_read_as_o_and_i() -> None:
    secret = bytes(range(200))
    lines = block_for(secret)
    # Make a line containing O or I and type it with digits instead.
    index = next(i for i, line in enumerate(lines) if re.match(r"^\d+: ", line) and re.search("[OI]", line[4:-6]))
    head, rest = lines[index].split(": ", 1)
    letters, check = rest[:-6], rest[-6:]
    lines[index] = f"{head}: {letters.replace('O', '0').replace('I', '1')}{check}"
    assert parse_one(lines).secret == secret


def test_several_blocks_in_one_file() -> None:
    text = "\n".join(block_for(b"first secret") + ["# ----"] + block_for(b"second secret!"))
    assert [d.secret for d in parse_typed(text)] == [b"first secret", b"second secret!"]


# --- every single-character mistake is caught and located -----------------------------------

NOT_BASE32 = "0189!?-=Ü"


def _retyped(lines: list[str], index: int, pos: int, ch: str) -> list[str]:
    out = list(lines)
    out[index] = lines[index][:pos] + ch + lines[index][pos + 1 :]
    return out


def _assert_located(lines: list[str], number: int, letter: int | None) -> None:
    with pytest.raises(BackupFormatError) as info:
        parse_one(lines)
    message = info.value.message
    assert re.search(rf"\bline {number}\b", message), message
    hinted = re.search(r"probably letter (\d+)", message)
    if hinted is not None:
        assert letter is not None and int(hinted.group(1)) == letter, message


def _typable_positions(line: str) -> list[tuple[int, int | None]]:
    """(column, letter number or None for check digits) of every letter and check digit of a data line."""
    head = line.index(": ") + 2
    out: list[tuple[int, int | None]] = []
    letter = 0
    for col in range(head, len(line) - 4):
        if line[col] != " ":
            letter += 1
            out.append((col, letter))
    out.extend((col, None) for col in range(len(line) - 4, len(line)))
    return out


def test_every_substitution_on_a_full_line_is_located_exhaustively() -> None:
    lines = block_for(KEY.secret_bytes(), KEY.kind, KEY.keyid)
    index = data_line_index(lines, 1)
    for col, letter in _typable_positions(lines[index]):
        original = lines[index][col]
        pool = ALPHABET if letter is not None else "0123456789abcdef"
        for ch in pool + NOT_BASE32:
            if ch.upper() == original.upper() or (
                letter is not None and ch in "01" and {"0": "O", "1": "I"}[ch] == original
            ):
                continue
            _assert_located(_retyped(lines, index, col, ch), 1, letter)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=600), st.data())
def test_any_single_mistake_is_located_property(secret: bytes, data: st.DataObject) -> None:
    lines = block_for(secret)
    count = len(encode_lines(secret))
    number = data.draw(st.integers(1, count), label="line")
    index = data_line_index(lines, number)
    for col, letter in _typable_positions(lines[index]):  # every position of the line
        original = lines[index][col]
        pool = ALPHABET + NOT_BASE32 if letter is not None else "0123456789abcdefg "
        choices = [c for c in pool if c.upper() != original.upper() and not (c in "01" and letter is not None)]
        ch = data.draw(st.sampled_from(choices))
        _assert_located(_retyped(lines, index, col, ch), number, letter)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=25, max_size=400), st.data())
def test_adjacent_swaps_are_detected(secret: bytes, data: st.DataObject) -> None:
    lines = block_for(secret)
    number = data.draw(st.integers(1, len(encode_lines(secret))))
    index = data_line_index(lines, number)
    letters = [col for col, letter in _typable_positions(lines[index]) if letter is not None]
    pairs = [(a, b) for a, b in zip(letters, letters[1:], strict=False) if lines[index][a] != lines[index][b]]
    if not pairs:
        return
    a, b = data.draw(st.sampled_from(pairs))
    line = list(lines[index])
    line[a], line[b] = line[b], line[a]
    swapped = list(lines)
    swapped[index] = "".join(line)
    with pytest.raises(BackupFormatError, match=rf"line {number}\b"):
        parse_one(swapped)


def test_dropped_letter_is_reported_by_count() -> None:
    lines = block_for(KEY.secret_bytes())
    index = data_line_index(lines, 1)
    lines[index] = (
        lines[index].replace("AAAAA", "AAAA", 1) if "AAAAA" in lines[index] else lines[index][:5] + lines[index][6:]
    )
    with pytest.raises(BackupFormatError, match=r"line 1 has 39 letters, expected 40"):
        parse_one(lines)


def test_several_wrong_lines_are_all_listed_in_the_hint() -> None:
    secret = bytes(range(100))
    lines = block_for(secret)
    for number in (1, 3):
        i = data_line_index(lines, number)
        col = lines[i].index(": ") + 2
        lines[i] = _retyped(lines, i, col, "Z" if lines[i][col] != "Z" else "Y")[i]
    with pytest.raises(BackupFormatError) as info:
        parse_one(lines)
    assert "line 1" in info.value.message and "1 more" in info.value.message
    assert "line 3" in info.value.hint


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        pytest.param(lambda ls: [x for x in ls if not x.startswith("02:")], r"line\(s\) 2 of 3 missing", id="missing"),
        pytest.param(lambda ls: ls + [ls[5]], "line 2 appears twice", id="duplicate"),
        pytest.param(lambda ls: ls + ["04: AAAAA  1234"], "line 4 is beyond", id="extra"),
        pytest.param(lambda ls: [x for x in ls if not x.startswith("check:")], "no 'check:' line", id="no-check"),
        pytest.param(lambda ls: [x for x in ls if not x.startswith("bytes:")], "no 'bytes:' line", id="no-bytes"),
        pytest.param(lambda ls: [x for x in ls if not x.startswith("format:")], "must start with", id="no-format"),
        pytest.param(lambda ls: [x.replace("TUFBK1", "TUFBK2") for x in ls], "format 'TUFBK2'", id="format-2"),
        pytest.param(lambda ls: [x.replace("ED25519", "DSA") for x in ls], "keytype", id="keytype"),
        pytest.param(lambda ls: [x.replace("bytes: 60", "bytes: 61") for x in ls], r"missing|letters", id="bytes"),
        pytest.param(lambda ls: [x.replace("bytes: 60", "bytes: 0") for x in ls], "between 1", id="bytes-zero"),
        pytest.param(lambda ls: ls[:2] + ["colour: blue"] + ls[2:], "unknown header", id="unknown-header"),
        pytest.param(lambda ls: ls[:2] + ["keytype: RSA"] + ls[2:], "appears twice", id="twice-header"),
        pytest.param(lambda ls: ls + ["hello there"], "neither a header", id="garbage"),
        pytest.param(lambda ls: [x[:-6] if x.startswith("01:") else x for x in ls], "4 check digits", id="no-crc"),
        pytest.param(
            lambda ls: [x.replace("check: ", "check: 0")[:-1] if x.startswith("check:") else x for x in ls],
            "block check does not",
            id="block-check",
        ),
        pytest.param(lambda ls: ["share: 1 of 3"] + ls, "Shamir shares", id="share-file"),
        pytest.param(lambda ls: [], "no typed backup", id="empty"),
    ],
)
def test_typed_refusals(mutate, fragment: str) -> None:
    lines = block_for(bytes(range(60)))
    with pytest.raises(BackupFormatError, match=fragment):
        parse_one(mutate(lines))


def test_swapped_lines_fail_their_line_checks() -> None:
    lines = block_for(bytes(range(60)))
    i, j = data_line_index(lines, 1), data_line_index(lines, 2)
    a, b = lines[i].split(": ", 1)[1], lines[j].split(": ", 1)[1]
    lines[i], lines[j] = "01: " + b, "02: " + a
    with pytest.raises(BackupFormatError, match="line 1 does not match"):
        parse_one(lines)


def test_block_check_is_sha256_prefix() -> None:
    lines = block_for(b"abc")
    check = next(x for x in lines if x.startswith("check:"))
    assert check == "check: ba78 16bf 8f01 cfea"  # sha256("abc") = ba7816bf8f01cfea...
    assert block_check(b"abc") == "ba7816bf8f01cfea"


def test_rebuild_refuses_a_wrong_key_id_or_bad_secret() -> None:
    good = parse_one(block_for(KEY.secret_bytes(), KEY.kind, ed_key(8).keyid))
    with pytest.raises(BackupMismatchError, match="names key"):
        good.rebuild()
    bad = parse_one(block_for(b"not a der key", "RSA", RSA_KEY.keyid))
    with pytest.raises(BackupMismatchError, match="does not hold a valid RSA key"):
        bad.rebuild()


# --- QR payloads -----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.integers(16, 700), st.randoms(use_true_random=False))
def test_qr_parts_round_trip_in_any_order(content: bytes, part_bytes: int, rnd: random.Random) -> None:
    payloads = qr_payloads(KIND_KEY, "RSA", RSA_KEY.keyid, content, part_bytes=part_bytes)
    assert len(payloads) == -(-len(content) // part_bytes)
    assert all(re.fullmatch(r"[0-9A-Z $%*+\-./:]+", p) for p in payloads)  # QR alphanumeric mode only
    shuffled = [("photo", p) for p in payloads] + [("dup", payloads[0])]
    rnd.shuffle(shuffled)
    [joined] = assemble_qr(shuffled)
    assert (joined.content, joined.kind, joined.keytype) == (content, KIND_KEY, "RSA")
    assert joined.keyid_prefix == RSA_KEY.keyid[:16]


def test_qr_header_fields() -> None:
    [payload] = qr_payloads(KIND_SHARE, "ED25519", KEY.keyid, b"x" * 20)
    fields = payload.split(":")
    assert fields[:5] == ["TUFBK1", "S", "ED25519", KEY.keyid[:16].upper(), "1/1"]
    part = parse_qr_payload(payload)
    assert (part.index, part.count, part.data) == (1, 1, b"x" * 20)


def test_missing_qr_parts_are_named() -> None:
    payloads = qr_payloads(KIND_KEY, "RSA", RSA_KEY.keyid, bytes(1000), part_bytes=200)
    with pytest.raises(BackupFormatError, match=r"part\(s\) 2, 4 of 5 missing"):
        assemble_qr([("p", p) for i, p in enumerate(payloads, 1) if i not in (2, 4)])


def _flip(payload: str, field: int, value: str) -> str:
    parts = payload.split(":")
    parts[field] = value
    body = ":".join(parts[:-1])
    return f"{body}:{crc16(body.encode()):04X}"


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        pytest.param(lambda p: p[:-1] + ("0" if p[-1] != "0" else "1"), "fails its check digits", id="crc"),
        pytest.param(lambda p: p.replace(":1/1:", ":1/0:"), "check digits|impossible", id="count"),
        pytest.param(lambda p: _flip(p, 4, "2/1"), "impossible part number", id="index"),
        pytest.param(lambda p: _flip(p, 0, "TUFBK9"), "only TUFBK1", id="version"),
        pytest.param(lambda p: _flip(p, 1, "X"), "unknown kind", id="kind"),
        pytest.param(lambda p: _flip(p, 6, "AB"), "valid base32", id="data"),
        pytest.param(lambda p: _flip(p, 5, "00000000"), "recorded digest", id="digest"),
        pytest.param(lambda p: "hello", "not a TUFBK1", id="foreign"),
    ],
)
def test_qr_refusals(mutate, fragment: str) -> None:
    [payload] = qr_payloads(KIND_KEY, "ED25519", KEY.keyid, KEY.secret_bytes())
    with pytest.raises(BackupFormatError, match=fragment):
        assemble_qr([("photo.png", mutate(payload))])


def test_parts_from_two_sheets_of_one_key_do_not_mix() -> None:
    a = qr_payloads(KIND_KEY, "RSA", RSA_KEY.keyid, bytes(100), part_bytes=50)
    b = qr_payloads(KIND_KEY, "RSA", RSA_KEY.keyid, bytes(99) + b"\x01", part_bytes=50)
    with pytest.raises(BackupFormatError, match="missing"):
        assemble_qr([("x", a[0]), ("y", b[1])])


@pytest.mark.parametrize("bad", [(KIND_KEY, "DSA", 100), ("Q", "RSA", 100), (KIND_KEY, "RSA", 8)])
def test_qr_payloads_refuse_bad_arguments(bad: tuple[str, str, int]) -> None:
    kind, keytype, part = bad
    with pytest.raises(UsageError):
        qr_payloads(kind, keytype, KEY.keyid, b"x" * 40, part_bytes=part)


def test_too_many_parts_refused() -> None:
    with pytest.raises(UsageError, match="at most 99"):
        qr_payloads(KIND_KEY, "RSA", KEY.keyid, bytes(16 * 100), part_bytes=16)


def test_line_letters_constant_matches_bytes() -> None:
    assert LINE_LETTERS * 5 % 8 == 0


# --- confirm_backup --------------------------------------------------------------------------


def _archive(*keys: PrivateKey) -> KeysArchive:
    archive = KeysArchive.from_files({})
    for key in keys:
        archive = archive.with_key("root", key)
    return archive


def test_confirm_backup_accepts_the_exact_key() -> None:
    archive = _archive(KEY, RSA_KEY)
    confirm_backup(archive, KEY.keyid, KEY.secret_bytes())
    confirm_backup(archive, RSA_KEY.keyid, RSA_KEY.secret_bytes())


@pytest.mark.parametrize(
    ("keyid", "secret", "error", "fragment"),
    [
        pytest.param(ed_key(9).keyid, ed_key(9).secret_bytes(), KeyMissingError, "holds no private key", id="absent"),
        pytest.param(KEY.keyid, ed_key(9).secret_bytes(), BackupMismatchError, "is key", id="other-key"),
        pytest.param(KEY.keyid, b"short", BackupMismatchError, "does not decode", id="garbage"),
        pytest.param(RSA_KEY.keyid, KEY.secret_bytes(), BackupMismatchError, "does not decode", id="wrong-type"),
    ],
)
def test_confirm_backup_refusals(keyid: str, secret: bytes, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        confirm_backup(_archive(KEY, RSA_KEY), keyid, secret)


def test_confirm_backup_never_echoes_the_secret() -> None:
    other = ed_key(9).secret_bytes()
    with pytest.raises(BackupMismatchError) as info:
        confirm_backup(_archive(KEY), KEY.keyid, other)
    text = info.value.message + info.value.hint
    assert other.hex() not in text and b32encode(other)[:10] not in text


# --- the hand procedure of bundle-spec.md section 4, with nothing but the standard library ---


@pytest.mark.parametrize("key", [KEY, RSA_KEY], ids=["ed25519", "rsa2048"])
def test_restore_by_hand_as_the_spec_describes(key: PrivateKey) -> None:
    import base64
    import binascii
    import hashlib
    import json
    import textwrap

    from appliance.core.privatekeys import parse_secret_key_file

    lines = typed_block(key.kind, key.keyid, key.secret_bytes())
    header = dict(line.split(": ", 1) for line in lines if not line[0].isdigit())
    letters = ""
    for line in lines:
        if line[0].isdigit():
            number, rest = line.split(": ", 1)
            *groups, check = rest.split()
            text = f"{int(number)}:" + "".join(groups)
            assert f"{binascii.crc_hqx(text.encode(), 0xFFFF):04x}" == check
            letters += "".join(groups)
    secret = base64.b32decode(letters + "=" * (-len(letters) % 8))
    assert len(secret) == int(header["bytes"])
    assert hashlib.sha256(secret).hexdigest()[:16] == header["check"].replace(" ", "")
    if key.kind == "ED25519":
        private = secret.hex()
    else:  # what 'openssl rsa -inform DER -traditional' prints
        body = "\n".join(textwrap.wrap(base64.b64encode(secret).decode(), 64))
        private = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
    sec = json.dumps({"keytype": key.kind, "keyval": {"private": private}}, separators=(",", ":")).encode()
    assert parse_secret_key_file(sec).keyid == key.keyid


def test_qr_data_joined_by_hand_is_the_secret() -> None:
    import base64

    payloads = qr_payloads(KIND_KEY, "RSA", RSA_KEY.keyid, RSA_KEY.secret_bytes(), part_bytes=250)
    joined = b"".join(base64.b32decode(p.split(":")[6] + "=" * (-len(p.split(":")[6]) % 8)) for p in payloads)
    assert joined == RSA_KEY.secret_bytes()
