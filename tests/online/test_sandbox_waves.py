"""Sandbox waves over real HTTP, as the real server takes them: offline-built, offline-signed targets.

The server builds nothing; it checks the posted targets and signatures against the
production root and adds only its online signature.  Threshold 2 (online + offline)
is needed for rollout and complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.core.errors import RemoteError
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, Root
from appliance.core.targets import check_production_targets
from online.client import HttpFactoryClient
from online.sandbox.provision import provision_factory
from online.sandbox.server import SandboxServer
from online.targets_api import (
    cancel_wave,
    complete_wave,
    create_wave,
    get_ci_targets,
    get_production_targets,
    get_wave,
    list_waves,
    rollout_wave,
    sign_wave,
)
from tests.helpers_ceremony import seeded
from tests.helpers_sandbox import call
from tests.helpers_waves import canonical_bytes, ci_build, expires_in, hand_wave, offline_key, post_offline_wave

ROLLOUT = {"group": "lab", "dry-run": False, "return-uuids": False, "return-names": False}


@pytest.fixture()
def served(tmp_path: Path):
    made = provision_factory(tmp_path / "state", "acme", tmp_path / "creds.tgz", offline_targets=True)
    for version in ("7", "8"):
        ci_build(tmp_path / "state", "acme", version)
    with SandboxServer(tmp_path / "state") as server:
        client = HttpFactoryClient(server.url, made.token, "acme")
        archive = KeysArchive.from_bytes((tmp_path / "creds.tgz").read_bytes())
        yield client, archive


def _signed_wave(client: HttpFactoryClient, archive: KeysArchive, version: int) -> dict:
    prod = Root.from_bytes(client.get_root(production=True))
    signed = hand_wave(get_ci_targets(client, str(version)), None, version, "production", expires_in(30))
    keyid, key = offline_key(archive, prod)
    return {"signed": signed, "signatures": [key.sign(canonical_bytes(signed), keyid=keyid).to_dict()]}


def _refused(action, status: int, text: str = "") -> None:
    with pytest.raises(RemoteError) as refused:
        action()
    assert refused.value.status == status, str(refused.value)
    assert text in str(refused.value)


def test_ci_targets_by_version(served) -> None:
    client, _ = served
    assert list(get_ci_targets(client, "7")) == ["raspberrypi4-64-lmp-7"]
    assert get_ci_targets(client, "9") == {}


def test_server_adds_only_its_online_signature_and_threshold_2_is_met(served) -> None:
    client, archive = served
    posted = post_offline_wave(client, archive, "w1", 7)
    wave = get_wave(client, "w1")
    assert wave["status"] == "active"
    stored = Envelope.from_dict(wave["targets"])
    assert stored.signed == posted["signed"]  # the server did not rebuild anything
    prod = Root.from_bytes(client.get_root(production=True))
    online_id, offline_id = prod.meta.roles["targets"].keyids
    assert {s.keyid for s in stored.signatures} == {online_id, offline_id}
    assert check_production_targets(stored, prod).count == 2
    rollout_wave(client, "w1", ROLLOUT)
    complete_wave(client, "w1")
    published = Envelope.from_dict(get_production_targets(client, "production")["production"])
    assert published.signed == posted["signed"]
    assert get_wave(client, "w1")["status"] == "complete"


def test_show_without_targets_and_list(served) -> None:
    client, archive = served
    post_offline_wave(client, archive, "w1", 7)
    assert "targets" not in get_wave(client, "w1", show_targets=False)
    listed = list_waves(client, limit=20, page=1)
    assert listed["total"] == 1 and listed["waves"][0]["name"] == "w1" and listed["next"] is None
    assert list_waves(client, limit=20, page=1, status="complete")["total"] == 0


@pytest.mark.parametrize(
    ("mutate", "status", "text"),
    [
        (lambda t: t.update(signatures=[]), 400, "no signature"),
        (lambda t: t["signed"]["targets"]["raspberrypi4-64-lmp-7"].update(length=1), 422, "not a valid signature"),
        (lambda t: t["signed"].update(version=6), 400, "not the wave version"),
        (lambda t: t["signed"].update(expires="2020-01-01T00:00:00Z"), 422, "expired"),
        (lambda t: t["signed"].update(_type="Root"), 400, "expected Targets"),
    ],
    ids=["unsigned", "changed-after-signing", "version-mismatch", "expired", "wrong-type"],
)
def test_wave_creation_refusals(served, mutate, status: int, text: str) -> None:
    client, archive = served
    targets = _signed_wave(client, archive, 7)
    mutate(targets)
    _refused(lambda: create_wave(client, "w1", "7", "production", targets), status, text)
    _refused(lambda: get_wave(client, "w1"), 404)


def test_signature_by_a_foreign_key_is_refused(served) -> None:
    client, archive = served
    targets = _signed_wave(client, archive, 7)
    targets["signatures"] = [seeded(99).sign(canonical_bytes(targets["signed"])).to_dict()]
    _refused(lambda: create_wave(client, "w1", "7", "production", targets), 422)


def test_wave_for_an_unknown_version_is_refused(served) -> None:
    client, archive = served
    targets = _signed_wave(client, archive, 7)
    targets["signed"]["version"] = 9
    keyid, key = offline_key(archive, Root.from_bytes(client.get_root(production=True)))
    targets["signatures"] = [key.sign(canonical_bytes(targets["signed"]), keyid=keyid).to_dict()]
    _refused(lambda: create_wave(client, "w1", "9", "production", targets), 422, "no CI targets of version 9")


def test_wave_version_must_rise_and_names_are_unique(served) -> None:
    client, archive = served
    post_offline_wave(client, archive, "w1", 8)
    complete_wave(client, "w1")
    _refused(lambda: create_wave(client, "w2", "7", "production", _signed_wave(client, archive, 7)), 409)
    _refused(lambda: post_offline_wave(client, archive, "w1", 8), 409)
    body = json.dumps(get_production_targets(client))
    assert "raspberrypi4-64-lmp-8" in body and "raspberrypi4-64-lmp-7" not in body


def test_sign_endpoint_checks_each_signature(served) -> None:
    client, archive = served
    post_offline_wave(client, archive, "w1", 7)
    envelope = Envelope.from_dict(get_wave(client, "w1")["targets"])
    _refused(lambda: sign_wave(client, "w1", [seeded(99).sign(envelope.signed_bytes()).to_dict()]), 422)
    keyid, key = offline_key(archive, Root.from_bytes(client.get_root(production=True)))
    sign_wave(client, "w1", [key.sign(envelope.signed_bytes(), keyid=keyid).to_dict()])  # same key: replaced
    assert len(get_wave(client, "w1")["targets"]["signatures"]) == 2


def test_canceled_wave_cannot_be_rolled_out_or_completed(served) -> None:
    client, archive = served
    post_offline_wave(client, archive, "w1", 7)
    cancel_wave(client, "w1")
    assert get_wave(client, "w1")["status"] == "canceled"
    _refused(lambda: rollout_wave(client, "w1", ROLLOUT), 409)
    _refused(lambda: complete_wave(client, "w1"), 409)
    assert get_production_targets(client) == {}


def test_rollout_needs_a_selector_and_records_history(served) -> None:
    client, archive = served
    post_offline_wave(client, archive, "w1", 7)
    _refused(lambda: rollout_wave(client, "w1", {"dry-run": False}), 400, "One of the following")
    result = rollout_wave(client, "w1", ROLLOUT)
    assert result["device-num"] == 0 and result["name"] == "w1"
    history = get_wave(client, "w1")["rollout-history"]
    assert [h["group-name"] for h in history] == ["lab"]


def test_complete_and_cancel_are_posted_without_a_body(served) -> None:
    client, archive = served
    post_offline_wave(client, archive, "w1", 7)
    token = client._token  # noqa: SLF001 - the raw call below bypasses the client on purpose
    answer = call(client.server_url, "POST", "/ota/factories/acme/waves/w1/complete/", token=token)
    assert answer.status == 200, answer.body
