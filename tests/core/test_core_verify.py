"""Threshold checks and root rotation as a device (aktualizr) applies them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest

from appliance.core.errors import VerificationError
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Envelope, RoleKeys, Root
from appliance.core.privatekeys import PrivateKey
from appliance.core.strictjson import canonical
from appliance.core.timefmt import format_expires, is_expired
from appliance.core.verify import (
    check_role,
    check_root_update,
    check_threshold,
    verify_root_chain,
    verify_root_update,
    verify_self_signed,
)
from tests.helpers_core import FIXED_NOW, FUTURE, PAST, ed_key, envelope, root_signed, rsa_test_key, sign_dict

A, B, C = ed_key(11), ed_key(12), ed_key(13)
T, ONLINE, STRANGER = ed_key(50), ed_key(60), ed_key(99)  # T and ONLINE are root_signed's defaults
RSA_KEY = rsa_test_key()

SigSpec = Callable[[bytes], SignatureEntry]


def good(key: PrivateKey) -> SigSpec:
    return lambda payload: key.sign(payload)


def bad(key: PrivateKey) -> SigSpec:
    """A signature under ``key``'s id that does not verify (made over other bytes)."""
    return lambda payload: key.sign(payload + b"tampered")


def under_id(key: PrivateKey, keyid: str) -> SigSpec:
    return lambda payload: key.sign(payload, keyid=keyid)


def with_method(key: PrivateKey, method: str) -> SigSpec:
    return lambda payload: replace(key.sign(payload), method=method)


def make_root(
    root_keys: Sequence[PrivateKey],
    sigs: Sequence[SigSpec],
    *,
    threshold: int = 1,
    version: int = 1,
    expires: str = FUTURE,
    also_keys: Sequence[PrivateKey] = (),
) -> Root:
    signed = root_signed(root_keys, root_threshold=threshold, version=version, expires=expires, also_keys=also_keys)
    payload = canonical(signed)
    return Root.from_dict(envelope(signed, [s(payload) for s in sigs]))


def ids(*keys: PrivateKey) -> tuple[str, ...]:
    return tuple(k.keyid for k in keys)


@dataclass(frozen=True)
class Rotation:
    name: str
    old: Sequence[PrivateKey]
    new: Sequence[PrivateKey]
    sigs: Sequence[SigSpec]
    old_threshold: int = 1
    new_threshold: int = 1
    version: int = 2
    ok: bool = True
    # expected (signed_by, bad, ignored) for the trusted keys and the new keys
    by_trusted: tuple[tuple[PrivateKey, ...], ...] = ((), (), ())
    by_itself: tuple[tuple[PrivateKey, ...], ...] = ((), (), ())
    problems: Sequence[str] = field(default_factory=list)

    def build(self) -> tuple[Root, Root]:
        trusted = make_root(self.old, [good(k) for k in self.old], threshold=self.old_threshold)
        dropped = [k for k in self.old if k not in self.new]
        new = make_root(self.new, self.sigs, threshold=self.new_threshold, version=self.version, also_keys=dropped)
        return trusted, new


ROTATIONS = [
    Rotation("1of1 rotation signed by old and new", [A], [B], [good(A), good(B)],
             by_trusted=((A,), (), (B,)), by_itself=((B,), (), (A,))),
    Rotation("missing old signature", [A], [B], [good(B)], ok=False,
             by_trusted=((), (), (B,)), by_itself=((B,), (), ()),
             problems=["signed by 0 of 1 required old root key(s)"]),
    Rotation("missing new signature", [A], [B], [good(A)], ok=False,
             by_trusted=((A,), (), ()), by_itself=((), (), (A,)),
             problems=["signed by 0 of 1 required new root key(s)"]),
    Rotation("version skip", [A], [B], [good(A), good(B)], version=3, ok=False,
             by_trusted=((A,), (), (B,)), by_itself=((B,), (), (A,)),
             problems=["version 3 does not follow trusted version 1"]),
    Rotation("version reuse", [A], [B], [good(A), good(B)], version=1, ok=False,
             by_trusted=((A,), (), (B,)), by_itself=((B,), (), (A,)),
             problems=["version 1 does not follow trusted version 1"]),
    Rotation("2of3 met", [A, B, C], [A, B, C], [good(A), good(C)], old_threshold=2, new_threshold=2,
             by_trusted=((A, C), (), ()), by_itself=((A, C), (), ())),
    Rotation("2of3 unmet", [A, B, C], [A, B, C], [good(B)], old_threshold=2, new_threshold=2, ok=False,
             by_trusted=((B,), (), ()), by_itself=((B,), (), ()),
             problems=["signed by 1 of 2 required old root key(s)", "signed by 1 of 2 required new root key(s)"]),
    Rotation("extra signatures beyond the threshold are harmless", [A, B, C], [A, B, C],
             [good(A), good(B), good(C)], old_threshold=2, new_threshold=2,
             by_trusted=((A, B, C), (), ()), by_itself=((A, B, C), (), ())),
    Rotation("signatures by keys outside the role are ignored", [A], [A],
             [good(T), good(A), good(ONLINE), good(STRANGER)],
             by_trusted=((A,), (), (T, ONLINE, STRANGER)), by_itself=((A,), (), (T, ONLINE, STRANGER))),
    Rotation("outside signatures do not make up a threshold", [A, B], [A, B], [good(A), good(T), good(STRANGER)],
             old_threshold=2, new_threshold=2, ok=False,
             by_trusted=((A,), (), (T, STRANGER)), by_itself=((A,), (), (T, STRANGER)),
             problems=["signed by 1 of 2 required old root key(s)", "signed by 1 of 2 required new root key(s)"]),
    Rotation("invalid signature counted as bad", [A, B], [A, B], [good(A), bad(B)], old_threshold=2, new_threshold=2,
             ok=False, by_trusted=((A,), (B,), ()), by_itself=((A,), (B,), ()),
             problems=["signed by 1 of 2 required old root key(s)", "signed by 1 of 2 required new root key(s)"]),
    Rotation("bad signature does not spoil a met threshold", [A], [B], [good(A), good(B), bad(T)],
             by_trusted=((A,), (), (B, T)), by_itself=((B,), (), (A, T))),
    Rotation("signature under another key's id is bad", [A], [B], [good(A), under_id(C, B.keyid)], ok=False,
             by_trusted=((A,), (), (B,)), by_itself=((), (B,), (A,)),
             problems=["signed by 0 of 1 required new root key(s)"]),
    Rotation("rsassa-pss alias accepted for RSA", [RSA_KEY], [RSA_KEY, A], [with_method(RSA_KEY, "rsassa-pss")],
             by_trusted=((RSA_KEY,), (), ()), by_itself=((RSA_KEY,), (), ())),
    Rotation("RSA signature with an ed25519 method is bad", [RSA_KEY], [RSA_KEY], [with_method(RSA_KEY, "ed25519")],
             ok=False, by_trusted=((), (RSA_KEY,), ()), by_itself=((), (RSA_KEY,), ()),
             problems=["signed by 0 of 1 required old root key(s)", "signed by 0 of 1 required new root key(s)"]),
]  # fmt: skip


@pytest.mark.parametrize("case", ROTATIONS, ids=[c.name for c in ROTATIONS])
def test_root_rotation(case: Rotation) -> None:
    trusted, new = case.build()
    result = check_root_update(trusted, new, FIXED_NOW)
    for got, (signed_by, bad_, ignored) in ((result.by_trusted, case.by_trusted), (result.by_itself, case.by_itself)):
        assert got.signed_by == ids(*signed_by)
        assert got.bad == ids(*bad_)
        assert got.ignored == ids(*ignored)
    assert result.by_trusted.threshold == case.old_threshold
    assert result.by_itself.threshold == case.new_threshold
    assert result.ok is case.ok
    assert result.problems() == list(case.problems)
    if case.ok:
        assert verify_root_update(trusted, new, FIXED_NOW) == result
    else:
        with pytest.raises(VerificationError) as info:
            verify_root_update(trusted, new, FIXED_NOW)
        assert info.value.message.startswith(f"root v{case.version} is not a valid successor of v1: ")
        for problem in case.problems:
            assert problem in info.value.message


@pytest.mark.parametrize(
    ("sigs", "fragment"),
    [
        ([good(A), good(A)], f"key id {A.keyid[:16]} signs twice"),
        ([good(A), good(B), bad(A)], "signs twice"),
        ([good(A), good(B), under_id(T, A.keyid)], "signs twice"),
        (
            [good(A), good(B), with_method(STRANGER, "rsa-pkcs1-sha256")],
            "unsupported signature method 'rsa-pkcs1-sha256'",
        ),
        ([with_method(A, "ed448"), good(B)], "unsupported signature method 'ed448'"),
        ([with_method(A, ""), good(B)], "unsupported signature method ''"),
    ],
    ids=["repeat", "repeat-bad", "repeat-other-key", "unknown-method-outside-role", "unknown-method", "empty-method"],
)
def test_documents_a_device_rejects_outright(sigs: list[SigSpec], fragment: str) -> None:
    trusted = make_root([A], [good(A)])
    new = make_root([B], sigs, version=2, also_keys=[A])
    with pytest.raises(VerificationError) as info:
        check_root_update(trusted, new, FIXED_NOW)
    assert fragment in info.value.message


def test_one_public_key_under_two_ids_counts_once() -> None:
    payload = b"payload"
    keys = {"id-one": A.public_key, "id-two": A.public_key}
    role = RoleKeys(("id-one", "id-two"), 2)
    sigs = [A.sign(payload, keyid="id-one"), A.sign(payload, keyid="id-two")]
    result = check_threshold(payload, sigs, keys, role, "root")
    assert result.signed_by == ("id-one",)
    assert result.count == 1
    assert not result.met
    assert result.describe() == "root: 1 of 2 required signature(s)"
    distinct = check_threshold(
        payload,
        [A.sign(payload), B.sign(payload)],
        {A.keyid: A.public_key, B.keyid: B.public_key},
        RoleKeys((A.keyid, B.keyid), 2),
        "root",
    )
    assert distinct.met and distinct.signed_by == (A.keyid, B.keyid)


def test_role_key_missing_from_keys_is_ignored_not_counted() -> None:
    result = check_threshold(b"p", [A.sign(b"p")], {}, RoleKeys((A.keyid,), 1), "root")
    assert result.ignored == (A.keyid,) and not result.met


# --- expiry and chains --------------------------------------------------------------


def test_expiry_only_checked_with_now() -> None:
    trusted = make_root([A], [good(A)])
    new = make_root([A], [good(A)], version=2, expires=PAST)
    assert check_root_update(trusted, new, None).ok
    result = check_root_update(trusted, new, FIXED_NOW)
    assert result.expired and result.problems() == ["has expired"]


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        (FIXED_NOW - timedelta(seconds=1), False),
        (FIXED_NOW, False),  # aktualizr: expires < now, so the exact instant is still valid
        (FIXED_NOW + timedelta(microseconds=999_999), False),  # aktualizr compares whole seconds
        (FIXED_NOW + timedelta(seconds=1), True),
    ],
    ids=["second-before", "exact-instant", "same-second", "second-after"],
)
def test_expiry_boundary_is_aktualizrs(now: datetime, expired: bool) -> None:
    trusted = make_root([A], [good(A)], expires=format_expires(FIXED_NOW))
    at_now = make_root([A], [good(A)], version=2, expires=format_expires(FIXED_NOW))
    assert check_root_update(trusted, at_now, now).expired is expired
    assert is_expired(at_now.meta.expires_at, now) is expired
    if expired:
        with pytest.raises(VerificationError, match="has expired"):
            verify_root_chain(trusted, [], now)
    else:
        assert verify_root_chain(trusted, [], now) is trusted
        assert verify_root_chain(trusted, [at_now], now) is at_now


def _chain(expires: Sequence[str]) -> tuple[Root, list[Root]]:
    """v1 (key A) then one root per entry, each rotating to a new key: v2 key B, v3 key C..."""
    keys = [A, B, C, ed_key(14)]
    trusted = make_root([keys[0]], [good(keys[0])])
    chain = []
    for index, exp in enumerate(expires, start=1):
        prev, cur = keys[index - 1], keys[index]
        chain.append(make_root([cur], [good(prev), good(cur)], version=index + 1, expires=exp, also_keys=[prev]))
    return trusted, chain


@pytest.mark.parametrize(
    ("expires", "error"),
    [
        ([FUTURE], None),
        ([FUTURE, FUTURE, FUTURE], None),
        ([PAST, FUTURE], None),
        ([PAST, PAST, FUTURE], None),
        ([FUTURE, PAST], "root v3 is not a valid successor of v2: has expired"),
        ([PAST], "root v2 is not a valid successor of v1: has expired"),
    ],
    ids=["one", "three", "expired-intermediate", "two-expired-intermediates", "expired-final", "expired-only"],
)
def test_verify_root_chain(expires: list[str], error: str | None) -> None:
    trusted, chain = _chain(expires)
    if error is None:
        assert verify_root_chain(trusted, chain, FIXED_NOW) is chain[-1]
    else:
        with pytest.raises(VerificationError, match=error):
            verify_root_chain(trusted, chain, FIXED_NOW)


def test_verify_root_chain_refuses_gaps_and_broken_links() -> None:
    trusted, chain = _chain([FUTURE, FUTURE, FUTURE])
    with pytest.raises(VerificationError, match="version 3 does not follow trusted version 1"):
        verify_root_chain(trusted, chain[1:], FIXED_NOW)
    forged = make_root([C], [good(C)], version=3, also_keys=[B])  # v3 not signed by v2's key B
    with pytest.raises(VerificationError, match="signed by 0 of 1 required old root key"):
        verify_root_chain(trusted, [chain[0], forged], FIXED_NOW)


def test_verify_root_chain_empty() -> None:
    trusted = make_root([A], [good(A)])
    assert verify_root_chain(trusted, [], FIXED_NOW) is trusted
    stale = make_root([A], [good(A)], expires=PAST)
    with pytest.raises(VerificationError, match="root v1 has expired"):
        verify_root_chain(stale, [], FIXED_NOW)


# --- self-signed roots and other roles -----------------------------------------------------


def test_verify_self_signed() -> None:
    root = make_root([A, B], [good(A), good(T), good(B)], threshold=2)
    result = verify_self_signed(root)
    assert result.signed_by == ids(A, B) and result.ignored == ids(T) and result.met


@pytest.mark.parametrize(
    ("sigs", "fragment"),
    [
        ([], "root: 0 of 1 required signature(s)"),
        ([good(T)], "root: 0 of 1 required signature(s)"),
        ([bad(A)], "root: 0 of 1 required signature(s)"),
    ],
    ids=["unsigned", "signed-by-targets-key", "bad-signature"],
)
def test_verify_self_signed_refusals(sigs: list[SigSpec], fragment: str) -> None:
    root = make_root([A], sigs)
    with pytest.raises(VerificationError) as info:
        verify_self_signed(root)
    assert info.value.message == f"root v1 is not signed by its own root keys: {fragment}"


def test_check_role_for_targets_metadata() -> None:
    root = make_root([A], [good(A)])
    targets = {"_type": "Targets", "version": 5, "expires": FUTURE, "targets": {}}
    ok = check_role(Envelope.from_dict(sign_dict(targets, [T])), root, "targets")
    assert ok.met and ok.signed_by == ids(T)
    by_root_key = check_role(Envelope.from_dict(sign_dict(targets, [A])), root, "targets")
    assert not by_root_key.met and by_root_key.ignored == ids(A)
    with pytest.raises(VerificationError, match="root has no role 'delegated'"):
        check_role(Envelope.from_dict(sign_dict(targets, [T])), root, "delegated")
