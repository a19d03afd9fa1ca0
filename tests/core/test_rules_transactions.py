"""Staging rules (fioctl finalize/genProd/add/rotate/delete/set-threshold) and device threshold counting."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.core.errors import KeyMissingError, VerificationError
from appliance.core.keys import SignatureEntry
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root, build_root
from appliance.core.rootpair import RootPair, pair_differences
from appliance.core.txroots import Staged, add_key, delete_key, owners, rotate_key, set_threshold
from appliance.core.txsign import count_signatures, require_root_signers, sign_staged
from appliance.core.verify import check_threshold
from tests.helpers_ceremony import NOW, make_factory, seeded

A, B, C = seeded(11), seeded(12), seeded(13)


def staged_from(ci: Root, prod: Root, *, next_ci: Root | None = None) -> Staged:
    """A transaction as the sandbox starts it: version + 1, unsigned."""
    base = next_ci or ci
    meta = replace(base.meta, version=ci.version + 1)
    staged_ci = build_root(meta, ())
    prod_meta = meta.with_role("targets", meta.roles["targets"].keyids, prod.meta.roles["targets"].threshold)
    online = {"targets": ci.meta.roles["targets"].keyids[0]}
    return Staged(RootPair(ci, prod), staged_ci, build_root(prod_meta, ()), online)


def holding(*keys) -> KeysArchive:  # type: ignore[no-untyped-def]
    archive = KeysArchive.from_files({})
    for key in keys:
        archive = archive.with_key("root", key)
    return archive


@pytest.fixture()
def one_key() -> Staged:
    factory = make_factory(A)
    return staged_from(factory.ci[-1], factory.prod[-1])


def three_keys(threshold: int) -> Staged:
    s = staged_from(make_factory(A).ci[-1], make_factory(A).prod[-1])
    s = Staged(s.current, add_key(s, "root", holding(), B, "b", NOW).ci, None, s.online_keys)
    s = Staged(s.current, add_key(s, "root", holding(), C, "c", NOW).ci, None, s.online_keys)
    return Staged(s.current, set_threshold(s, "root", threshold).ci, None, s.online_keys)


def test_add_key_appends_with_owner_and_production_differs_only_in_targets_threshold(one_key: Staged) -> None:
    change = add_key(one_key, "root", holding(), B, "officer-b", NOW)
    assert change.ci.meta.roles["root"].keyids == (A.keyid, B.keyid)
    assert owners(change.ci.meta) == {B.keyid: "officer-b"}
    assert change.ci.signatures == () and pair_differences(change.ci.meta, change.prod.meta) == []


def test_add_key_refused_when_tarball_already_holds_an_active_key(one_key: Staged) -> None:
    with pytest.raises(KeyMissingError, match="already holds the active root key"):
        add_key(one_key, "root", holding(A), B, "a", NOW)


def test_delete_key_drops_key_and_owner(one_key: Staged) -> None:
    s = Staged(one_key.current, add_key(one_key, "root", holding(), B, "b", NOW).ci, None, one_key.online_keys)
    change = delete_key(s, "root", B.keyid)
    assert B.keyid not in change.ci.meta.keys and owners(change.ci.meta) == {}


@pytest.mark.parametrize(
    ("role", "threshold", "error"),
    [
        ("root", 0, "at least 1"),
        ("root", 4, "could never be met"),
        ("targets", 1, "at least 2"),
        ("snapshot", 1, "not an offline role"),
    ],
)
def test_set_threshold_refusals(role: str, threshold: int, error: str) -> None:
    with pytest.raises(VerificationError, match=error):
        set_threshold(three_keys(2), role, threshold)


@pytest.mark.parametrize(
    ("staged_prod_threshold", "set_to", "expected"),
    [
        (None, None, 2),  # genProdTufRoot: 2, even over the single (online) targets key
        (1, None, 1),  # a staged production root's threshold is kept (fioctl 5e30fc6)
        (3, None, 3),  # ... a custom one too, over one targets key
        (None, 2, 2),  # set-threshold --role targets 2 with one targets key, as fioctl allows
        (2, 5, 5),
    ],
)
def test_production_targets_threshold_follows_gen_prod_tuf_root(
    one_key: Staged, staged_prod_threshold: int | None, set_to: int | None, expected: int
) -> None:
    prod = None
    if staged_prod_threshold is not None:
        meta = one_key.ci.meta
        prod = build_root(meta.with_role("targets", meta.roles["targets"].keyids, staged_prod_threshold), ())
    s = Staged(one_key.current, one_key.ci, prod, one_key.online_keys)
    change = set_threshold(s, "targets", set_to) if set_to is not None else add_key(s, "root", holding(), B, "b", NOW)
    assert len(change.ci.meta.roles["targets"].keyids) == 1
    assert change.prod.meta.roles["targets"].threshold == expected
    assert change.ci.meta.roles["targets"].threshold == 1  # CI targets threshold untouched


def test_delete_below_threshold_is_refused() -> None:
    s = three_keys(3)
    with pytest.raises(VerificationError, match="could never be met"):
        delete_key(s, "root", C.keyid)


def test_delete_online_targets_key_is_refused(one_key: Staged) -> None:
    with pytest.raises(VerificationError, match="online targets key"):
        delete_key(one_key, "targets", one_key.online_targets)


def test_rotate_root_needs_exactly_one_held_key_and_resets_expiry(one_key: Staged) -> None:
    with pytest.raises(KeyMissingError, match="holds 0"):
        rotate_key(one_key, "root", holding(), B, "a", NOW)
    change = rotate_key(one_key, "root", holding(A), B, "a", NOW)
    assert change.ci.meta.roles["root"].keyids == (B.keyid,) and A.keyid not in change.ci.meta.keys
    assert change.ci.meta.expires.startswith(str(NOW.year + 1))


@pytest.mark.parametrize(
    ("signers", "old_met", "new_met"),
    [
        ((A,), True, False),  # 1 of 1 old, 1 of 2 new
        ((B, C), False, True),  # new keys only: the old root's threshold is not met
        ((A, B), True, True),
    ],
)
def test_old_and_new_thresholds_are_counted_apart(signers, old_met: bool, new_met: bool) -> None:  # type: ignore[no-untyped-def]
    s = three_keys(2)
    ci, prod = sign_staged(s, require_root_signers(s, holding(*signers)))
    count = count_signatures(Staged(s.current, ci, prod, s.online_keys), NOW)
    assert (count.ci.old.met, count.ci.new.met) == (old_met, new_met)
    assert count.met == (old_met and new_met)


def test_one_key_under_two_ids_counts_once() -> None:
    s = three_keys(2)
    keys = {**s.ci.meta.keys, "alias": s.ci.meta.keys[A.keyid]}
    role = s.ci.meta.roles["root"].__class__((A.keyid, "alias"), 2)
    payload = s.ci.signed_bytes()
    sig = A.sign(payload)
    twice = [sig, SignatureEntry("alias", sig.method, sig.sig)]
    assert check_threshold(payload, twice, keys, role, "root").count == 1


def test_signing_keeps_other_officers_signatures() -> None:
    s = three_keys(2)
    ci, prod = sign_staged(s, require_root_signers(s, holding(B)))
    s2 = Staged(s.current, ci, prod, s.online_keys)
    ci2, _ = sign_staged(s2, require_root_signers(s2, holding(C)))
    assert {sig.keyid for sig in ci2.signatures} == {B.keyid, C.keyid}


# --- typed requests and results ----------------------------------------------------------


def test_every_updates_operation_is_registered_with_its_own_request_class() -> None:
    from appliance.core.operation import Operation
    from appliance.core.operations import KINDS
    from appliance.core.txplan import UPDATE_OPERATIONS
    from appliance.core.updatesops import StagedChangeRequest, StagedResult

    updates = [op for op in Operation if op.value.startswith("updates-")]
    assert [op.value for op in updates] == list(UPDATE_OPERATIONS)
    classes = {KINDS[op].request for op in updates}
    assert len(classes) == len(updates)
    for op in updates:
        assert issubclass(KINDS[op].request, StagedChangeRequest) and KINDS[op].request.OPERATION is op
        assert KINDS[op].result is StagedResult


@pytest.mark.parametrize(
    ("operation", "parameters"),
    [
        ("updates-rotate-key", {"role": "targets", "key_type": "RSA", "sign": True}),
        ("updates-add-key", {"role": "root", "key_type": "ED25519"}),
        ("updates-delete-key", {"role": "root", "keyid": "ab" * 32}),
        ("updates-set-threshold", {"role": "root", "threshold": 2, "sign": False}),
        ("updates-sign", {}),
        ("updates-sign-prod-targets", {"tags": ["production"], "waves": ["w1"]}),
    ],
)
def test_staged_change_requests_round_trip_through_the_wire(operation: str, parameters: dict[str, object]) -> None:
    from appliance.core.operation import Operation
    from appliance.core.operations import KINDS, request_body

    factory = make_factory(A)
    staged = staged_from(factory.ci[-1], factory.prod[-1])
    payload = {
        "staged": {"ci_root": staged.ci.to_dict(), "prod_root": None, "online_keys": dict(staged.online_keys)},
        "owner": {"polis-id": "officer-a", "name": "Officer A"},
    }
    body = request_body(Operation(operation), parameters, payload)
    assert isinstance(body, KINDS[Operation(operation)].request)
    assert body.parameters() == parameters
    again = request_body(Operation(operation), body.parameters(), body.payload())
    assert again == body


@pytest.mark.parametrize(
    ("operation", "parameters", "message"),
    [
        ("updates-sign", {"role": "root"}, "unknown"),
        ("updates-delete-key", {"role": "root"}, "needs a keyid"),
        ("updates-set-threshold", {"role": "root", "threshold": 0}, "needs a threshold"),
        ("updates-set-threshold", {"role": "snapshot", "threshold": 2}, "role must be root or targets"),
        ("updates-rotate-key", {"key_type": "DSA"}, "unsupported key_type"),
        ("updates-sign-prod-targets", {"tags": "production"}, "list of names"),
    ],
)
def test_bad_parameters_are_refused_by_name(operation: str, parameters: dict[str, object], message: str) -> None:
    from appliance.core.errors import BundleError
    from appliance.core.txplan import UpdateParameters

    with pytest.raises(BundleError, match=message):
        UpdateParameters.from_dict(operation, parameters)
