"""Rules for roots and tarballs made by every fioctl era, from documented facts with small inputs.

Key ids are recomputed here with hashlib and json (not our canonical writer), from the fioctl
rules named in bundle-spec.md §1.1: DER (genTufKeyId), canonical JSON (AtsKey.KeyID, 9bfd1e0),
PEM text (0f83e92) and the .sec file bytes (8656ae9).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from appliance.core import keyids
from appliance.core.errors import MetadataError, VerificationError
from appliance.core.keys import PublicKey, SignatureEntry, public_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import RoleKeys, Root, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey, secret_key_file
from appliance.core.rootdiff import diff_roots
from appliance.core.rootpair import RootPair, production_variant, unsignable_production_targets
from appliance.core.rotation import RotationParameters, plan_root_rotation, plan_targets_rotation
from appliance.core.verify import check_threshold
from tests.helpers_core import ed_key, rsa_test_key, tgz

NOW = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
RSA = rsa_test_key()


def der_id(key: PublicKey) -> str:
    return hashlib.sha256(key.spki_der).hexdigest()


def json_id(key: PublicKey) -> str:
    text = json.dumps({"keytype": key.keytype, "keyval": {"public": key.public}}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def pem_id(key: PublicKey) -> str:
    return hashlib.sha256(key.public.encode()).hexdigest()


ERAS = {"der": der_id, "json": json_id, "pem": pem_id}


def _root_with_ids(root_key: PrivateKey, targets_key: PrivateKey, rule: str, *, prod: bool = False) -> Root:
    """A Foundries-shaped root whose ids all follow ``rule``, signed by ``root_key`` under its listed id."""
    make = ERAS[rule]
    online = ed_key(60).public_key
    keys = {make(k): k.to_dict() for k in (root_key.public_key, targets_key.public_key, online)}
    rid, tid, oid = make(root_key.public_key), make(targets_key.public_key), make(online)
    signed: dict[str, Any] = {
        "_type": "Root",
        "consistent_snapshot": False,
        "expires": "2027-01-01T00:00:00Z",
        "keys": keys,
        "roles": {
            "root": {"keyids": [rid], "threshold": 1},
            "targets": {"keyids": [tid], "threshold": 2 if prod else 1},
            "snapshot": {"keyids": [oid], "threshold": 1},
            "timestamp": {"keyids": [oid], "threshold": 1},
        },
        "version": 1,
    }
    return sign_root(RootMeta.from_dict(signed), [root_key], keyids=[rid])


@pytest.mark.parametrize(
    ("rule", "key"),
    [("der", ed_key(1)), ("json", ed_key(1)), ("der", RSA), ("json", RSA), ("pem", RSA)],
    ids=["der-ed25519", "json-ed25519", "der-rsa", "json-rsa", "pem-rsa"],
)
def test_every_era_of_key_id_is_read_and_named(rule: str, key: PrivateKey) -> None:
    root = _root_with_ids(key, ed_key(50), rule)
    listed = ERAS[rule](key.public_key)
    assert listed in root.meta.keys
    assert keyids.keyid_rule(listed, key.public_key) == rule
    result = check_threshold(root.signed_bytes(), root.signatures, root.meta.keys, root.meta.roles["root"], "root")
    assert result.met and result.signed_by == (listed,)


def test_sec_file_rule_is_proved_only_with_the_sec_file() -> None:
    sec = secret_key_file(RSA)
    listed = hashlib.sha256(sec).hexdigest()
    assert keyids.keyid_rule(listed, RSA.public_key) == keyids.UNKNOWN
    assert keyids.keyid_rule(listed, RSA.public_key, sec) == keyids.SEC_FILE


def test_one_key_under_two_era_ids_is_refused_so_it_never_counts_twice() -> None:
    root = _root_with_ids(ed_key(1), ed_key(50), "der").to_dict()
    pub = ed_key(1).public_key
    root["signed"]["keys"][json_id(pub)] = pub.to_dict()
    with pytest.raises(MetadataError, match="the same public key is listed under key ids"):
        Root.from_dict(root)


def test_two_signatures_by_one_key_under_different_ids_count_once() -> None:
    key = ed_key(1)
    pub = key.public_key
    role = RoleKeys((der_id(pub), "ab" * 32), 2)
    keys = {der_id(pub): pub, "ab" * 32: ed_key(2).public_key}
    payload = b"payload"
    sig = key.sign(payload)
    result = check_threshold(
        payload, [sig, replace(sig, keyid="ab" * 32)], keys, role, "root"
    )  # second: wrong key for that id
    assert result.count == 1 and not result.met


def test_rotate_root_on_a_json_era_root_signs_with_the_listed_id_and_drops_the_old_key() -> None:
    old = RSA
    ci = _root_with_ids(old, ed_key(50), "json")
    prod = _root_with_ids(old, ed_key(50), "json", prod=True)
    archive = KeysArchive.from_bytes(
        tgz(
            [
                ("tufrepo/keys/offline-root-2021-01-27T23:10:29.123456.pub", public_key_file(old.public_key)),
                ("tufrepo/keys/offline-root-2021-01-27T23:10:29.123456.sec", secret_key_file(old)),
                ("tufrepo/credentials.zip", b"PK\x03\x04 not really"),
            ]
        )
    )
    new_key = ed_key(9)
    params = RotationParameters("ED25519", "", None, "polis-123")
    plan = plan_root_rotation(RootPair(ci, prod), archive, new_key, params, NOW)
    old_id = json_id(old.public_key)
    assert [s.keyid for s in plan.new.ci.signatures] == [old_id, der_id(new_key.public_key)]
    assert old_id not in plan.new.ci.meta.keys and plan.removed_keyids == (old_id,)
    assert plan.new.prod.meta.roles["targets"].threshold == 2  # kept with one targets key
    assert plan.new.ci.meta.extra["x-changelog"] == {
        "polis-id": "polis-123",
        "message": "",
        "timestamp": "2026-01-05T12:00:00Z",
    }
    new_id = der_id(new_key.public_key)
    owner = {"polis-id": "polis-123", "created-at": "2026-01-05T12:00:00Z"}  # fioctl d0e3d2a addOfflineTufKey
    assert plan.new.ci.meta.extra["x-key-owners"] == plan.new.prod.meta.extra["x-key-owners"] == {new_id: owner}
    lines = diff_roots(ci.meta, plan.new.ci.meta)
    assert f"old root key removed: {old_id[:16]} (RSA): no longer used by any role" in lines
    assert any(
        line.startswith(f"key added: {der_id(new_key.public_key)[:16]} (ED25519 256, id rule: DER)") for line in lines
    )


def test_rotations_record_the_new_keys_owner_and_drop_the_old_keys_owner() -> None:
    old, targets = ed_key(1), ed_key(50)
    ci, prod = _root_with_ids(old, targets, "der"), _root_with_ids(old, targets, "der", prod=True)
    old_id = der_id(old.public_key)
    owned = {old_id: {"polis-id": "first", "created-at": "2025-01-01T00:00:00Z"}}
    ci, prod = (
        sign_root(replace(r.meta, extra={**r.meta.extra, "x-key-owners": owned}), [old], keyids=[old_id])
        for r in (ci, prod)
    )
    archive = KeysArchive.from_files({}).with_key("root", old)
    anonymous = plan_root_rotation(RootPair(ci, prod), archive, ed_key(9), RotationParameters("ED25519", "", None), NOW)
    assert anonymous.new.ci.meta.extra["x-key-owners"] == {}  # the old key's entry leaves with the key
    plan = plan_root_rotation(RootPair(ci, prod), archive, ed_key(9), RotationParameters("ED25519", "", None, "p"), NOW)
    assert set(plan.new.ci.meta.extra["x-key-owners"]) == {der_id(ed_key(9).public_key)}
    online = targets.public_key  # the role's only key stands for the online CI targets key
    tplan = plan_targets_rotation(
        plan.new,
        archive.with_key("root", ed_key(9)),
        ed_key(10),
        RotationParameters("ED25519", "", None, "t"),
        NOW,
        online,
        {},
    )
    owners = tplan.new.ci.meta.extra["x-key-owners"]
    assert owners[der_id(ed_key(10).public_key)] == {"polis-id": "t", "created-at": "2026-01-05T12:00:00Z"}


def test_production_threshold_two_with_one_targets_key_is_accepted_and_explained() -> None:
    prod = _root_with_ids(ed_key(1), ed_key(50), "der", prod=True)
    assert prod.meta.roles["targets"].threshold == 2 and len(prod.meta.roles["targets"].keyids) == 1
    assert production_variant(prod.meta, 2) == prod.meta
    note = unsignable_production_targets(prod.meta)
    assert note is not None and "no production targets (waves) can be signed" in note
    assert "online CI targets key plus the offline key make 2" in note
    two = prod.meta.with_role("targets", [*prod.meta.roles["targets"].keyids, *prod.meta.roles["root"].keyids], 2)
    assert unsignable_production_targets(two) is None


@pytest.mark.parametrize(("threshold", "ok"), [(0, False), (1, True), (2, True), (1000, True), (1001, False)])
def test_threshold_bounds_follow_aktualizr_not_the_key_count(threshold: int, ok: bool) -> None:
    if ok:
        assert RoleKeys.from_dict("targets", {"keyids": ["ab" * 32], "threshold": threshold}).threshold == threshold
    else:
        with pytest.raises(MetadataError, match="outside 1..1000"):
            RoleKeys.from_dict("targets", {"keyids": ["ab" * 32], "threshold": threshold})


@pytest.mark.parametrize(
    ("sigs", "fragment"),
    [
        ([("k", "ed25519"), ("k", "ed25519")], "signs twice"),
        ([("k", "rsassa-pss-sha512")], "unsupported signature method"),
    ],
    ids=["duplicate-keyid", "unknown-method"],
)
def test_documents_devices_reject_outright(sigs: list[tuple[str, str]], fragment: str) -> None:
    entries = [SignatureEntry(k, m, b"x") for k, m in sigs]
    with pytest.raises(VerificationError, match=fragment):
        check_threshold(b"p", entries, {}, RoleKeys(("k",), 1), "root")


def test_keytype_is_compared_case_insensitively() -> None:
    key = PublicKey.from_parts("ed25519", ed_key(1).public_key.public)
    assert key.kind == "ED25519" and key.keytype == "ed25519"


def test_ed25519_private_keys_read_in_both_lengths_and_written_as_64_bytes() -> None:
    key = ed_key(3)
    seed = bytes([3]) * 32
    for value in (seed.hex(), (seed + bytes(key.public_key.raw_ed25519())).hex()):
        assert PrivateKey.from_parts("ED25519", value).keyid == key.keyid
    written = json.loads(secret_key_file(key))["keyval"]["private"]
    assert bytes.fromhex(written) == seed + key.public_key.raw_ed25519()


def test_rsa_key_files_are_pkcs1_private_and_pkix_public() -> None:
    assert json.loads(secret_key_file(RSA))["keyval"]["private"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert json.loads(public_key_file(RSA.public_key))["keyval"]["public"].startswith("-----BEGIN PUBLIC KEY-----\n")


def test_signer_is_found_by_public_key_whatever_the_file_name() -> None:
    key = ed_key(5)
    meta = _root_with_ids(key, ed_key(50), "json").meta
    archive = KeysArchive.from_bytes(
        tgz(
            [
                ("odd/place/anything.pub", public_key_file(key.public_key)),
                ("odd/place/anything.sec", secret_key_file(key)),
            ]
        )
    )
    [(keyid, found, base)] = archive.require_signers(meta, "root")
    assert keyid == json_id(key.public_key) and found.keyid == key.keyid and base == "odd/place/anything"
