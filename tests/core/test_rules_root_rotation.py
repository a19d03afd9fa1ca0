"""Root rotation rules: the TUF conformance root-rotation cases in the Foundries format.

One table, ``CASES``, drives our verifier here and python-tuf in test_oracle_tuf_updater.py.
Each case builds a chain (version 1 is the trust anchor) and states whether a device
walking from version 1 to the newest root accepts it and, if not, a fragment of the
reason.  ``tuf_accepts`` records a deliberate disagreement with python-tuf
(bundle-spec.md section 5); ``tuf_error`` names the python-tuf exception expected
when it refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import pytest

from appliance.core.keys import SignatureEntry
from appliance.core.metadata import RoleKeys, sign_root
from appliance.core.privatekeys import PrivateKey
from appliance.core.verify import check_threshold
from tests.helpers_rotation import (
    EXPIRED,
    Version,
    anchor,
    duplicate_key,
    ed,
    our_verdict,
    root_meta,
    rotate,
    rsa2048,
    signed,
    tampered,
)

A, B, C, D, E = (ed(i) for i in range(1, 6))
FIVE = [A, B, C, D, E]
OLD_SHORT = "of 1 required old root key"
NEW_SHORT = "of 1 required new root key"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], list[Version]]
    accepted: bool
    problem: str = ""  # fragment of our verifier's message when refused
    tuf_error: str = ""  # python-tuf exception class name when it refuses
    tuf_accepts: bool | None = None  # python-tuf's verdict where it deliberately differs from ours


def _three_of_five(signers: tuple[PrivateKey, ...]) -> Callable[[], list[Version]]:
    return lambda: [anchor(FIVE, 3), rotate(2, FIVE, 3, signers)]


def _label(keys: tuple[PrivateKey, ...]) -> str:
    return "".join("ABCDE"[FIVE.index(k)] for k in keys)


def _duplicate_signature() -> list[Version]:
    meta = root_meta(2, [B], 1)
    return [anchor([A], 1), signed(meta, A, B, B)]


CASES: list[Case] = [
    Case("1-of-1 rotation", lambda: [anchor([A], 1), rotate(2, [B], 1, [A, B])], True),
    Case(
        "1-of-1 rotation signed by the new key only",
        lambda: [anchor([A], 1), rotate(2, [B], 1, [B])],
        False,
        "0 " + OLD_SHORT,
        "UnsignedMetadataError",
    ),
    Case(
        "1-of-1 rotation signed by the old key only",
        lambda: [anchor([A], 1), rotate(2, [B], 1, [A])],
        False,
        "0 " + NEW_SHORT,
        "UnsignedMetadataError",
    ),
    Case("unused extra signatures", lambda: [anchor([A], 1), rotate(2, [A], 1, [C, A, D])], True),
    *(Case(f"3-of-5 signed by {_label(s)}", _three_of_five(s), True) for s in combinations(FIVE, 3)),
    Case("3-of-5 signed by all five", _three_of_five(tuple(FIVE)), True),
    *(
        Case(
            f"3-of-5 signed by {_label(s)}",
            _three_of_five(s),
            False,
            "signed by 2 of 3 required old root key",
            "UnsignedMetadataError",
        )
        for s in combinations(FIVE, 2)
    ),
    Case("one key of several rotated", lambda: [anchor([A, B, C], 2), rotate(2, [A, B, D], 2, [A, B])], True),
    Case(
        "one key of several rotated, signed by one old and the new key",
        lambda: [anchor([A, B, C], 2), rotate(2, [A, B, D], 2, [A, D])],
        False,
        "signed by 1 of 2 required old root key",
        "UnsignedMetadataError",
    ),
    Case(
        "all keys rotated through an intermediate root",
        lambda: [anchor([A, B], 2), rotate(2, [A, B, C, D], 2, [A, B, C, D]), rotate(3, [C, D], 2, [C, D])],
        True,
    ),
    Case(
        "all keys rotated without the intermediate root",
        lambda: [anchor([A, B], 2), rotate(2, [C, D], 2, [C, D])],
        False,
        "signed by 0 of 2 required old root key",
        "UnsignedMetadataError",
    ),
    Case("threshold increase", lambda: [anchor([A, B, C], 1), rotate(2, [A, B, C], 2, [A, B])], True),
    Case(
        "threshold increase not met by the new keys",
        lambda: [anchor([A, B, C], 1), rotate(2, [A, B, C], 2, [A])],
        False,
        "signed by 1 of 2 required new root key",
        "UnsignedMetadataError",
    ),
    Case("threshold decrease", lambda: [anchor([A, B, C], 2), rotate(2, [A, B, C], 1, [A, B])], True),
    Case(
        "threshold decrease not met by the old keys",
        lambda: [anchor([A, B, C], 2), rotate(2, [A, B, C], 1, [A])],
        False,
        "signed by 1 of 2 required old root key",
        "UnsignedMetadataError",
    ),
    Case(
        "version skipped",
        lambda: [anchor([A], 1), rotate(3, [A], 1, [A])],
        False,
        "version 3 does not follow trusted version 1",
        "BadVersionNumberError",
    ),
    Case(
        "version reused",
        lambda: [anchor([A], 1), rotate(1, [A, B], 1, [A, B])],
        False,
        "version 1 does not follow trusted version 1",
        "BadVersionNumberError",
    ),
    Case(
        "expired intermediate root",
        lambda: [anchor([A], 1), rotate(2, [B], 1, [A, B], expires=EXPIRED), rotate(3, [C], 1, [B, C])],
        True,
    ),
    Case("expired trust anchor", lambda: [anchor([A], 1, expires=EXPIRED), rotate(2, [A], 1, [A])], True),
    Case(
        "expired final root",
        lambda: [anchor([A], 1), rotate(2, [B], 1, [A, B]), rotate(3, [C], 1, [B, C], expires=EXPIRED)],
        False,
        "has expired",
        "ExpiredMetadataError",
    ),
    Case(
        "signed part changed after signing",
        lambda: [anchor([A], 1), tampered(rotate(2, [A], 1, [A]))],
        False,
        "signed by 0 of 1 required old root key",
        "UnsignedMetadataError",
    ),
    Case(
        "one key id signs twice",
        _duplicate_signature,
        False,
        "signs twice",
        "DeserializationError",
    ),
    # python-tuf counts distinct key ids; we refuse a public key listed twice (and would
    # count it once).  See bundle-spec.md section 5.
    Case(
        "same public key under two key ids",
        lambda: [anchor([A], 1), duplicate_key(2, A)],
        False,
        "the same public key is listed under key ids",
        tuf_accepts=True,
    ),
    Case(
        "RSA-2048 1-of-1 rotation from ED25519",
        lambda: [anchor([A], 1), rotate(2, [rsa2048()], 1, [A, rsa2048()])],
        True,
    ),
    Case(
        "RSA-2048 and ED25519 2-of-2, then RSA alone",
        lambda: [
            anchor([rsa2048(), B], 2),
            rotate(2, [rsa2048(), B], 2, [rsa2048(), B]),
            rotate(3, [rsa2048()], 1, [rsa2048(), B]),
        ],
        True,
    ),
    Case(
        "RSA-2048 and ED25519 2-of-2 signed by RSA only",
        lambda: [anchor([rsa2048(), B], 2), rotate(2, [rsa2048(), B], 2, [rsa2048()])],
        False,
        "signed by 1 of 2 required old root key",
        "UnsignedMetadataError",
    ),
]


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_rotation_rule(case: Case) -> None:
    problem = our_verdict(case.build())
    if case.accepted:
        assert problem is None
    else:
        assert problem is not None, "accepted a chain that must be refused"
        assert case.problem in problem


def test_same_key_under_two_ids_counts_once() -> None:
    """check_threshold counts public keys: one key signing under two ids is one signature."""
    meta = root_meta(1, [A], 1)
    payload = sign_root(meta, [A]).signed_bytes()
    alias = "f" * 64
    keys = {A.keyid: A.public_key, alias: A.public_key}
    sigs: list[SignatureEntry] = [A.sign(payload), A.sign(payload, keyid=alias)]
    result = check_threshold(payload, sigs, keys, RoleKeys((A.keyid, alias), 2), "root")
    assert result.count == 1
    assert not result.met
    both = check_threshold(
        payload,
        [*sigs, B.sign(payload)],
        {**keys, B.keyid: B.public_key},
        RoleKeys((A.keyid, alias, B.keyid), 2),
        "root",
    )
    assert both.met
