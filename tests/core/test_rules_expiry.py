"""Expiry window arithmetic, re-sign planning and its refusals; time is always a parameter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from appliance.core.errors import BundleError, KeyMissingError, VerificationError
from appliance.core.expiry import (
    ExpiryItem,
    assess,
    check_new_expiry,
    check_window,
    crossing,
    days_gained,
    report_json,
    warning_lines,
)
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, RoleKeys, Root, RootMeta, sign_root
from appliance.core.operation import Operation
from appliance.core.operations import KINDS, OperationKind, request_body, result_body
from appliance.core.resign import (
    ResignParameters,
    check_targets_resign_only,
    plan_root_resign,
    plan_targets_resign,
    resign_differences,
)
from appliance.core.rootops import ResignRootRequest, RootResult
from appliance.core.rootpair import RootPair, production_variant
from appliance.core.strictjson import canonical
from appliance.core.targetsops import ResignedTargets, ResignTargetsRequest
from appliance.core.timefmt import format_expires
from appliance.core.verify import check_root_update, verify_root_chain
from tests.helpers_ceremony import seeded

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def at(**delta: float) -> str:
    return format_expires(NOW + timedelta(**delta))


# --- window arithmetic --------------------------------------------------------------------

WINDOW_CASES = [
    # expires relative to NOW, window days, days_left, expired, within
    ({"days": 61}, 60, 61, False, False),
    ({"days": 60}, 60, 60, False, True),  # the window's last day is inside it
    ({"days": 60, "seconds": 1}, 60, 60, False, False),
    ({"days": 10}, 60, 10, False, True),
    ({"hours": 23}, 60, 0, False, True),
    ({"seconds": 0}, 60, 0, False, True),  # aktualizr: expires == now is not yet expired
    ({"seconds": -1}, 60, -1, True, True),
    ({"days": -3}, 60, -3, True, True),
    ({"days": 5}, 0, 5, False, False),  # window 0: only what has expired
    ({"days": 400}, 3660, 400, False, True),
]


@pytest.mark.parametrize(("delta", "window", "days_left", "expired", "within"), WINDOW_CASES)
def test_window_arithmetic(delta: dict[str, float], window: int, days_left: int, expired: bool, within: bool) -> None:
    [status] = assess([ExpiryItem("ci-root", 3, at(**delta))], NOW)
    assert (status.days_left, status.expired, status.within(window)) == (days_left, expired, within)
    assert bool(warning_lines([status], window)) is within


def test_crossing_sorts_soonest_first_and_the_report_says_which() -> None:
    items = [
        ExpiryItem("ci-root", 4, at(days=30)),
        ExpiryItem("prod-root", 4, at(days=90)),
        ExpiryItem("prod-targets", 12, at(days=-2), tag="production"),
    ]
    statuses = assess(items, NOW)
    assert [s.item.kind for s in crossing(statuses, 60)] == ["prod-targets", "ci-root"]
    lines = warning_lines(statuses, 60)
    assert lines[0] == (
        "warning: production targets (production) v12 EXPIRED at 2025-05-30T12:00:00Z (1 day(s) ago); re-sign it"
    )
    assert lines[1] == "warning: CI root v4 expires 2025-07-01T12:00:00Z (in 30 day(s)); re-sign it"
    report = report_json(statuses, 60, NOW)
    assert report["within_window"] is True and report["now"] == "2025-06-01T12:00:00Z"
    assert [i["within_window"] for i in report["items"]] == [True, False, True]
    assert report["items"][2] == {
        "kind": "prod-targets",
        "tag": "production",
        "version": 12,
        "expires": "2025-05-30T12:00:00Z",
        "days_left": -2,
        "expired": True,
        "within_window": True,
    }
    assert report_json(statuses, 1, NOW)["within_window"] is True
    assert report_json(assess(items[:2], NOW), 29, NOW)["within_window"] is False


@pytest.mark.parametrize("days", [-1, 3661, True])
def test_window_bounds(days: int) -> None:
    with pytest.raises(VerificationError):
        check_window(days)


@pytest.mark.parametrize(
    ("old", "new", "gained"),
    [(at(days=10), at(days=375), 365), (at(days=-5), at(days=360), 365), (at(days=1), at(days=1, hours=23), 0)],
)
def test_days_gained(old: str, new: str, gained: int) -> None:
    assert days_gained(old, new) == gained


NEW_EXPIRY_CASES = [
    (at(days=10), at(days=365), None),
    (at(days=-30), at(days=365), None),  # already expired: re-signing is the repair
    (at(days=10), at(seconds=0), "not in the future"),
    (at(days=-30), at(days=-1), "not in the future"),
    (at(days=400), at(days=365), "not later than the current"),
    (at(days=365), at(days=365), "not later than the current"),
]


@pytest.mark.parametrize(("current", "new", "refusal"), NEW_EXPIRY_CASES)
def test_new_expiry_rule(current: str, new: str, refusal: str | None) -> None:
    if refusal is None:
        check_new_expiry("root", current, new, NOW)
    else:
        with pytest.raises(VerificationError, match=refusal):
            check_new_expiry("root", current, new, NOW)


# --- re-signing roots ---------------------------------------------------------------------

ROOT, TARGETS, SNAPSHOT, TIMESTAMP, OFFLINE = (seeded(n) for n in (1, 2, 3, 4, 5))


def factory(expires: str, *, extra: dict[str, object] | None = None) -> tuple[list[Root], list[Root], KeysArchive]:
    """CI and production v1 (all thresholds 1), v2 adds an offline targets key (production threshold 2)."""
    keys = {k.keyid: k.public_key for k in (ROOT, TARGETS, SNAPSHOT, TIMESTAMP)}
    roles = {
        "root": RoleKeys((ROOT.keyid,), 1),
        "targets": RoleKeys((TARGETS.keyid,), 1),
        "snapshot": RoleKeys((SNAPSHOT.keyid,), 1),
        "timestamp": RoleKeys((TIMESTAMP.keyid,), 1),
    }
    v1 = RootMeta("Root", 1, expires, keys, roles, False, dict(extra or {}))
    v2 = replace(v1, version=2, keys={**keys, OFFLINE.keyid: OFFLINE.public_key}).with_role(
        "targets", [TARGETS.keyid, OFFLINE.keyid], 1
    )
    ci = [sign_root(v1, [ROOT]), sign_root(v2, [ROOT])]
    prod = [sign_root(v1, [ROOT]), sign_root(production_variant(v2, 2), [ROOT])]
    archive = KeysArchive.from_files({}).with_key("root", ROOT).with_key("targets", OFFLINE)
    return ci, prod, archive


def test_resign_root_changes_only_version_expiry_and_changelog() -> None:
    ci, prod, archive = factory(at(days=10), extra={"x-key-owners": {ROOT.keyid: {"polis-id": "p"}}})
    plan = plan_root_resign(RootPair(ci[-1], prod[-1]), archive, ResignParameters("", None), NOW)
    new = plan.new
    assert (new.ci.version, new.prod.version) == (3, 3)
    assert new.ci.meta.expires == new.prod.meta.expires == "2026-06-01T12:00:00Z"  # one calendar year
    assert new.ci.meta.extra["x-changelog"]["message"] == "Refresh TUF root expiration by 1 year"
    assert new.ci.meta.extra["x-key-owners"] == ci[-1].meta.extra["x-key-owners"]
    assert new.prod.meta.roles["targets"].threshold == 2 and new.ci.meta.roles == ci[-1].meta.roles
    assert plan.days_gained == 355 and not plan.current_expired
    assert plan.signer_keyids == (ROOT.keyid,)
    assert resign_differences(ci[-1].meta, new.ci.meta) == []
    # Devices on every earlier version reach the new root.
    verify_root_chain(ci[0], [ci[1], new.ci], NOW)
    verify_root_chain(prod[0], [prod[1], new.prod], NOW)


def test_resign_validity_days_and_changelog() -> None:
    ci, prod, archive = factory(at(days=10))
    plan = plan_root_resign(RootPair(ci[-1], prod[-1]), archive, ResignParameters("yearly", 90), NOW)
    assert plan.new.ci.meta.expires == at(days=90)
    assert plan.new.ci.meta.extra["x-changelog"] == {"polis-id": "", "message": "yearly", "timestamp": at()}


@pytest.mark.parametrize(
    ("current", "validity", "refusal"),
    [
        (at(days=400), None, "not later than the current"),  # one year from now is shorter than what it has
        (at(days=10), 5, "not later than the current"),
        (at(days=-400), None, None),
    ],
)
def test_resign_root_expiry_refusals(current: str, validity: int | None, refusal: str | None) -> None:
    ci, prod, archive = factory(current)
    pair = RootPair(ci[-1], prod[-1])
    if refusal is None:
        assert plan_root_resign(pair, archive, ResignParameters("", validity), NOW).current_expired
    else:
        with pytest.raises(VerificationError, match=refusal):
            plan_root_resign(pair, archive, ResignParameters("", validity), NOW)


def test_resign_root_needs_the_root_key() -> None:
    ci, prod, _ = factory(at(days=10))
    targets_only = KeysArchive.from_files({}).with_key("targets", OFFLINE)
    with pytest.raises(KeyMissingError):
        plan_root_resign(RootPair(ci[-1], prod[-1]), targets_only, ResignParameters("", None), NOW)


def test_expired_device_root_still_walks_the_chain_as_aktualizr_does() -> None:
    """aktualizr checks expiry only on the final root after the loop: an expired v2 reaches a fresh v3."""
    ci, prod, archive = factory(at(days=-20))
    plan = plan_root_resign(RootPair(ci[-1], prod[-1]), archive, ResignParameters("", None), NOW)
    assert plan.current_expired
    for chain in (ci, prod):
        assert chain[-1].meta.expires_at < NOW
    verify_root_chain(ci[-1], [plan.new.ci], NOW)
    verify_root_chain(ci[0], [ci[1], plan.new.ci], NOW)
    verify_root_chain(prod[0], [prod[1], plan.new.prod], NOW)
    with pytest.raises(VerificationError, match="expired"):  # without the re-signed root the device is stuck
        verify_root_chain(ci[0], [ci[1]], NOW)


def _meta() -> RootMeta:
    ci, _, _ = factory(at(days=10), extra={"x-key-owners": {ROOT.keyid: {"polis-id": "p"}}, "x-note": "n"})
    return ci[-1].meta


def _with_unused_key(meta: RootMeta) -> RootMeta:
    key = seeded(9)
    owners = {**meta.extra["x-key-owners"], key.keyid: {"polis-id": "q"}}
    return replace(meta, keys={**meta.keys, key.keyid: key.public_key}, extra={**meta.extra, "x-key-owners": owners})


DIFF_CASES = [
    ("pure re-sign", lambda m: replace(m, version=m.version + 1, expires=at(days=365)), []),
    ("changelog", lambda m: replace(m, version=m.version + 1, extra={**m.extra, "x-changelog": {"message": "x"}}), []),
    ("version + 2", lambda m: replace(m, version=m.version + 2), ["version 2 -> 4 (a re-sign is exactly + 1)"]),
    ("same version", lambda m: m, ["version 2 -> 2 (a re-sign is exactly + 1)"]),
    (
        "key added",
        lambda m: replace(m, version=3, keys={**m.keys, seeded(9).keyid: seeded(9).public_key}),
        ["keys added"],
    ),
    ("threshold", lambda m: replace(m, version=3).with_role("targets", m.roles["targets"].keyids, 2), ["roles"]),
    ("role keys", lambda m: replace(m, version=3).with_role("root", [TARGETS.keyid], 1), ["roles"]),
    ("other field", lambda m: replace(m, version=3, extra={**m.extra, "x-note": "changed"}), ["x-note"]),
    ("consistent_snapshot", lambda m: replace(m, version=3, consistent_snapshot=True), ["consistent_snapshot"]),
    (
        "owners",
        lambda m: replace(m, version=3, extra={**m.extra, "x-key-owners": {ROOT.keyid: {"polis-id": "z"}}}),
        ["x-key-owners"],
    ),
]


@pytest.mark.parametrize(("name", "change", "problems"), DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_resign_differences(name: str, change: object, problems: list[str]) -> None:
    meta = _meta()
    assert resign_differences(meta, change(meta)) == problems  # type: ignore[operator]


def test_pruning_an_unused_key_and_its_owner_is_a_re_sign_as_fioctl_finalizes() -> None:
    old = _with_unused_key(_meta())
    assert resign_differences(old, replace(_meta(), version=3)) == []
    used_dropped = replace(_meta(), version=3, keys={k: v for k, v in _meta().keys.items() if k != TARGETS.keyid})
    assert resign_differences(_meta(), used_dropped) == ["keys removed that a role uses"]


# --- re-signing production targets ----------------------------------------------------------


def prod_targets(expires: str, signers: tuple[str, ...] = ("online", "offline")) -> Envelope:
    signed = {
        "_type": "Targets",
        "version": 12,
        "expires": expires,
        "targets": {"img-12": {"length": 3, "hashes": {"sha256": "ab" * 32}, "custom": {"version": "12"}}},
    }
    keys = {"online": TARGETS, "offline": OFFLINE}
    payload = canonical(signed)
    return Envelope(signed, tuple(keys[s].sign(payload) for s in signers))


def test_resign_targets_changes_only_expires_and_signs_offline() -> None:
    _, prod, archive = factory(at(days=10))
    [plan] = plan_targets_resign(
        prod[-1], {"production": prod_targets(at(days=10))}, archive, ResignParameters("", None), NOW
    )
    assert plan.new_signed == {**plan.old.signed, "expires": at(days=365)}
    assert [s.keyid for s in plan.signatures] == [OFFLINE.keyid]
    assert OFFLINE.public_key.verify(plan.signatures[0].method, plan.signatures[0].sig, canonical(plan.new_signed))
    assert plan.days_gained == 355
    check_targets_resign_only(plan.old.signed, plan.new_signed, "t")


@pytest.mark.parametrize(
    ("envelope", "params", "error", "match"),
    [
        (prod_targets(at(days=10), ("online",)), ResignParameters("", None), VerificationError, "1 of 2"),
        (prod_targets(at(days=400)), ResignParameters("", None), VerificationError, "not later than the current"),
        (prod_targets(at(days=10)), ResignParameters("", 5), VerificationError, "not later than the current"),
    ],
)
def test_resign_targets_refusals(
    envelope: Envelope, params: ResignParameters, error: type[Exception], match: str
) -> None:
    _, prod, archive = factory(at(days=10))
    with pytest.raises(error, match=match):
        plan_targets_resign(prod[-1], {"production": envelope}, archive, params, NOW)


def test_resign_targets_needs_the_offline_key_and_something_to_sign() -> None:
    _, prod, _ = factory(at(days=10))
    with pytest.raises(KeyMissingError):
        plan_targets_resign(
            prod[-1],
            {"p": prod_targets(at(days=10))},
            KeysArchive.from_files({}).with_key("root", ROOT),
            ResignParameters("", None),
            NOW,
        )
    with pytest.raises(BundleError):
        plan_targets_resign(prod[-1], {}, KeysArchive.from_files({}), ResignParameters("", None), NOW)


def test_targets_resign_only_refuses_other_changes() -> None:
    old = prod_targets(at(days=10)).signed
    with pytest.raises(VerificationError, match="targets, version"):
        check_targets_resign_only(old, {**old, "version": 13, "targets": {}, "expires": at(days=300)}, "t")


@pytest.mark.parametrize(
    "data",
    [{"validity_days": 0}, {"validity_days": True}, {"changelog": 3}, {"key_type": "RSA"}, {"changelog": "a\x00b"}],
)
def test_resign_parameters_refused(data: dict[str, object]) -> None:
    with pytest.raises(BundleError):
        ResignParameters.from_dict(data)


# --- one expiry rule: the window report, the verifier and the re-sign plan agree ------------------


@pytest.mark.parametrize(
    ("expires", "now", "expired"),
    [
        (at(), NOW, False),  # the exact instant is still valid (aktualizr: expires < now)
        (at(), NOW + timedelta(microseconds=500_000), False),  # compared in whole seconds
        (at(), NOW + timedelta(seconds=1), True),
        (at(seconds=-1), NOW, True),
    ],
    ids=["exact-instant", "same-second", "second-after", "second-before-now"],
)
def test_every_expiry_judgement_uses_the_same_boundary(expires: str, now: datetime, expired: bool) -> None:
    [status] = assess([ExpiryItem("ci-root", 2, expires)], now)
    assert status.expired is expired
    assert (status.days_left < 0) is expired  # the report never says "in -1 days" for a valid root
    ci, prod, archive = factory(expires)
    assert check_root_update(ci[0], ci[1], now).expired is expired
    plan = plan_root_resign(RootPair(ci[-1], prod[-1]), archive, ResignParameters("", None), now)
    assert plan.current_expired is expired


# --- the two operations on the wire ----------------------------------------------------------------


def test_resign_operations_are_registered_and_round_trip() -> None:
    assert KINDS[Operation.RESIGN_ROOT] == OperationKind(ResignRootRequest, RootResult)
    assert KINDS[Operation.RESIGN_TARGETS] == OperationKind(ResignTargetsRequest, ResignedTargets)
    root = ResignRootRequest(ResignParameters("refresh", 400))
    assert request_body(Operation.RESIGN_ROOT, root.parameters(), root.payload()) == root
    envelope = prod_targets(at(days=10))
    targets = ResignTargetsRequest(ResignParameters("", None), {"production": envelope})
    back = request_body(Operation.RESIGN_TARGETS, targets.parameters(), targets.payload())
    assert isinstance(back, ResignTargetsRequest)
    assert back.production_targets["production"].to_dict() == envelope.to_dict()
    result = ResignedTargets({"production": envelope})
    parsed = result_body(Operation.RESIGN_TARGETS, result.to_wire())
    assert isinstance(parsed, ResignedTargets) and parsed.tarball_sha256 is None
    assert parsed.to_wire() == result.to_wire()


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ({}, "no re-signed production targets"),
        ({"production_targets": {}}, "no re-signed production targets"),
        ({"production_targets": {"p": {"signed": {}}}}, "is not {signed, signatures}"),
        ({"production_targets": {"p": {"signed": {}, "signatures": [], "x": 1}}}, "is not {signed, signatures}"),
        ({"production_targets": {"p": {"signed": {}, "signatures": []}}}, "no signature for tag 'p'"),
    ],
)
def test_resigned_targets_result_refusals(result: dict[str, object], match: str) -> None:
    with pytest.raises(BundleError, match=match):
        ResignedTargets.from_wire(result)


def test_resign_targets_request_needs_its_production_targets() -> None:
    with pytest.raises(BundleError, match="production_targets"):
        ResignTargetsRequest.from_wire({}, {})
