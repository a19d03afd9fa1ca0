"""Shamir (SLIP-39) backups of private keys (appliance/core/shares.py)."""

from __future__ import annotations

import itertools
import random
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shamir_mnemonic import shamir as slip39
from shamir_mnemonic.wordlist import WORDLIST

from appliance.core.errors import ShareError, UsageError
from appliance.core.paper import assemble_qr, parse_typed, sheet_text
from appliance.core.privatekeys import PrivateKey
from appliance.core.shares import (
    frame_secret,
    mnemonic_from_qr,
    pack_mnemonic,
    parse_share_text,
    recover_shares,
    share_payloads,
    share_sheet,
    split_secret,
    unframe_secret,
    unpack_mnemonic,
)
from tests.helpers_core import ed_key, rsa_test_key

KEY = ed_key(11)
RSA_KEY = rsa_test_key()


def rng(seed: int):
    return random.Random(seed).randbytes


def split(key: PrivateKey, count: int, threshold: int, seed: int = 1) -> list[str]:
    return split_secret(key.kind, key.secret_bytes(), count=count, threshold=threshold, random_bytes=rng(seed))


def labelled(mnemonics: list[str]) -> list[tuple[str, str]]:
    return [(f"share{i}.txt", m) for i, m in enumerate(mnemonics, 1)]


@pytest.mark.parametrize(
    ("key", "count", "threshold"),
    [(KEY, 5, 3), (KEY, 2, 2), (KEY, 6, 2), (RSA_KEY, 3, 2)],
    ids=["ed-3of5", "ed-2of2", "ed-2of6", "rsa-2of3"],
)
def test_every_threshold_subset_recovers_the_key(key: PrivateKey, count: int, threshold: int) -> None:
    mnemonics = split(key, count, threshold)
    assert len(mnemonics) == count
    for subset in itertools.combinations(mnemonics, threshold):
        recovered = recover_shares(labelled(list(subset)))
        assert (recovered.keytype, recovered.secret) == (key.kind, key.secret_bytes())
    full = recover_shares(labelled(mnemonics))
    assert full.shares == count and full.threshold == threshold
    assert full.decoded().rebuild().keyid == key.keyid


def test_checking_all_shares_covers_every_combination() -> None:
    recovered = recover_shares(labelled(split(KEY, 5, 3)))
    assert recovered.subsets_checked == 10  # C(5, 3): every 3-subset was recovered and compared


def test_large_sets_are_checked_with_every_share_in_several_subsets() -> None:
    recovered = recover_shares(labelled(split(KEY, 16, 8)))  # C(16, 8) = 12870 would be slow
    assert recovered.subsets_checked == 16


def test_split_uses_only_the_given_randomness() -> None:
    assert split(KEY, 5, 3, seed=4) == split(KEY, 5, 3, seed=4)
    assert split(KEY, 5, 3, seed=4) != split(KEY, 5, 3, seed=5)
    assert slip39.RANDOM_BYTES is secrets.token_bytes  # the library default is put back after a split


def test_fewer_than_threshold_shares_reveal_nothing_and_are_refused() -> None:
    mnemonics = split(KEY, 5, 3)
    with pytest.raises(ShareError, match="2 share\\(s\\) of set .* any 3 are needed"):
        recover_shares(labelled(mnemonics[:2]))


def test_share_from_another_set_is_refused() -> None:
    ours = split(KEY, 3, 2, seed=1)
    theirs = split(KEY, 3, 2, seed=2)
    with pytest.raises(ShareError, match=r"share3.txt belongs to share set [0-9A-F]{4}, share1.txt to set"):
        recover_shares(labelled([ours[0], ours[1], theirs[2]]))


def _same_identifier(seed: int):
    """Randomness whose first draw (the set identifier) is fixed: a forged share of 'our' set."""
    inner = rng(seed)
    first = [True]

    def draw(n: int) -> bytes:
        if first[0]:
            first[0] = False
            return b"\x12\x34"
        return inner(n)

    return draw


def test_wrong_combination_is_detected_and_the_odd_share_named() -> None:
    ours = split_secret(KEY.kind, KEY.secret_bytes(), count=3, threshold=2, random_bytes=_same_identifier(1))
    forged = split_secret(KEY.kind, ed_key(12).secret_bytes(), count=3, threshold=2, random_bytes=_same_identifier(2))
    with pytest.raises(ShareError, match=r"do not all combine.*suspect: share3.txt$"):
        recover_shares(labelled([ours[0], ours[1], forged[2]]))


def test_two_shares_that_do_not_combine() -> None:
    ours = split_secret(KEY.kind, KEY.secret_bytes(), count=2, threshold=2, random_bytes=_same_identifier(1))
    forged = split_secret(KEY.kind, KEY.secret_bytes(), count=2, threshold=2, random_bytes=_same_identifier(3))
    with pytest.raises(ShareError, match="do not all combine"):
        recover_shares(labelled([ours[0], forged[1]]))


def test_same_share_twice_is_refused() -> None:
    mnemonics = split(KEY, 3, 2)
    with pytest.raises(ShareError, match="same share \\(number 1\\)"):
        recover_shares(labelled([mnemonics[0], mnemonics[0]]))


def test_damaged_share_fails_its_checksum_without_echoing_words() -> None:
    mnemonics = split(KEY, 3, 2)
    words = mnemonics[1].split()
    words[10] = WORDLIST[(WORDLIST.index(words[10]) + 1) % 1024]
    with pytest.raises(ShareError) as info:
        recover_shares(labelled([mnemonics[0], " ".join(words)]))
    assert "share2.txt is not a valid SLIP-39 share" in info.value.message
    assert not any(word in info.value.message.split() for word in words)


@pytest.mark.parametrize(("count", "threshold"), [(1, 1), (17, 3), (5, 1), (3, 4)])
def test_split_parameters_are_checked(count: int, threshold: int) -> None:
    with pytest.raises(UsageError):
        split(KEY, count, threshold)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["ED25519", "RSA"]), st.binary(min_size=1, max_size=3000))
def test_frame_round_trip(keytype: str, secret: bytes) -> None:
    framed = frame_secret(keytype, secret)
    assert len(framed) % 2 == 0  # SLIP-39 needs an even length
    assert unframe_secret(framed) == (keytype, secret)


@pytest.mark.parametrize(
    "framed",
    [b"\x02\x01\x00\x01ab", b"\x01\x07\x00\x01ab", b"\x01\x01\x00\x05ab", b"\x01\x01\x00\x01a\x01", b"\x01"],
    ids=["version", "keytype", "length", "padding", "short"],
)
def test_unframe_refuses(framed: bytes) -> None:
    with pytest.raises(ShareError):
        unframe_secret(framed)


@settings(max_examples=100)
@given(st.lists(st.integers(0, 1023), min_size=1, max_size=400))
def test_pack_round_trip(indices: list[int]) -> None:
    mnemonic = " ".join(WORDLIST[i] for i in indices)
    assert unpack_mnemonic(pack_mnemonic(mnemonic)) == mnemonic


def test_unpack_refuses_nonzero_padding() -> None:
    with pytest.raises(ShareError):
        unpack_mnemonic(b"\x00\x01")  # 16 bits: one word and 6 padding bits, which are not zero


@pytest.mark.parametrize("key", [KEY, RSA_KEY], ids=["ed25519", "rsa2048"])
def test_share_qr_round_trip(key: PrivateKey) -> None:
    mnemonic = split(key, 3, 2)[0]
    payloads = share_payloads(key, mnemonic, part_bytes=300)
    [content] = assemble_qr([("photo", p) for p in payloads])
    assert mnemonic_from_qr(content) == mnemonic


def test_share_sheet_says_which_share_and_round_trips_as_text() -> None:
    mnemonics = split(KEY, 5, 3)
    sheet = share_sheet(KEY, mnemonics[1], number=2, count=5, roles=["root"], factory="acme", date="2025-01-01")
    assert ("share", "2 of 5 (any 3 restore)") in sheet.fields
    assert "SHAMIR SHARE 2 OF 5" in sheet.title
    text = sheet_text(sheet)
    assert "share: 2 of 5 (any 3 restore)" in text
    assert parse_share_text(text, what="s2.txt") == [mnemonics[1]]
    with pytest.raises(Exception, match="Shamir shares"):
        parse_typed(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "holds no share words"),
        ("# only a comment\n", "holds no share words"),
        ("01: academic acid zzzz\n", "row 01, word 3 is not a SLIP-39 word"),
        ("academic acid\nacne zzzz\n", "line 2, word 2 is not a SLIP-39 word"),
        ("format: TUFBK1\n", "typed key backup"),
    ],
)
def test_share_text_refusals(text: str, fragment: str) -> None:
    with pytest.raises(ShareError, match=fragment):
        parse_share_text(text, what="s.txt")


def test_share_text_tolerates_numbers_case_and_several_blocks() -> None:
    a, b = split(KEY, 2, 2)
    text = f"share: 1\n01: {a.upper()}\n\nshare: 2\n{b}\n"
    assert parse_share_text(text, what="s") == [a, b]


def test_a_standard_slip39_tool_recovers_the_documented_frame() -> None:
    from shamir_mnemonic import combine_mnemonics

    mnemonics = split(KEY, 3, 2)
    master = combine_mnemonics(mnemonics[1:], b"")  # what 'shamir recover' prints, in hex
    assert master[:4] == bytes([1, 1, 0, 32])
    assert master[4:36] == KEY.secret_bytes() and master[36:] == b""


def test_the_words_read_aloud_are_the_slip39_list() -> None:
    from shamir_mnemonic.wordlist import WORDLIST as PACKAGE_WORDLIST

    from appliance.core.slip39words import WORDLIST

    assert list(WORDLIST) == list(PACKAGE_WORDLIST) and len(WORDLIST) == 1024
