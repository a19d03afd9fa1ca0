"""Sandbox production targets and waves over real HTTP: threshold 2 is enforced by the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.core.errors import RemoteError
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, Root
from appliance.core.targets import offline_targets_signers, sign_targets
from online.client import HttpFactoryClient
from online.sandbox.provision import provision_factory
from online.sandbox.server import SandboxServer
from online.targets_api import complete_wave, create_wave, get_production_targets, get_wave, sign_wave
from tests.helpers_ceremony import seeded


@pytest.fixture()
def served(tmp_path: Path):
    made = provision_factory(tmp_path / "state", "acme", tmp_path / "creds.tgz", offline_targets=True)
    with SandboxServer(tmp_path / "state") as server:
        client = HttpFactoryClient(server.url, made.token, "acme")
        archive = KeysArchive.from_bytes((tmp_path / "creds.tgz").read_bytes())
        yield client, archive


def _offline_signatures(client: HttpFactoryClient, archive: KeysArchive, wave: str) -> list[dict]:
    prod = Root.from_bytes(client.get_root(production=True))
    envelope = Envelope.from_dict(get_wave(client, wave)["targets"])
    return [s.to_dict() for s in sign_targets(envelope, offline_targets_signers(prod, archive))]


def test_wave_needs_the_offline_signature_before_completion(served) -> None:
    client, archive = served
    create_wave(client, "w1", 7, "production")
    wave = get_wave(client, "w1")
    assert len(wave["targets"]["signatures"]) == 1  # online key only
    with pytest.raises(RemoteError) as refused:
        complete_wave(client, "w1")
    assert refused.value.status == 422 and "1 of 2" in str(refused.value)
    assert get_production_targets(client) == {}
    sign_wave(client, "w1", _offline_signatures(client, archive, "w1"))
    complete_wave(client, "w1")
    published = get_production_targets(client, "production")["production"]
    assert len(published["signatures"]) == 2


def test_signature_by_a_foreign_key_is_refused(served) -> None:
    client, _ = served
    create_wave(client, "w1", 7, "production")
    envelope = Envelope.from_dict(get_wave(client, "w1")["targets"])
    forged = seeded(99).sign(envelope.signed_bytes())
    with pytest.raises(RemoteError) as refused:
        sign_wave(client, "w1", [forged.to_dict()])
    assert refused.value.status == 422
    assert len(get_wave(client, "w1")["targets"]["signatures"]) == 1


def test_signature_over_other_bytes_is_refused(served) -> None:
    client, archive = served
    create_wave(client, "w1", 7, "production")
    create_wave(client, "w2", 8, "production")
    with pytest.raises(RemoteError) as refused:
        sign_wave(client, "w2", _offline_signatures(client, archive, "w1"))
    assert refused.value.status == 422


def test_wave_version_must_rise(served) -> None:
    client, archive = served
    create_wave(client, "w1", 7, "production")
    sign_wave(client, "w1", _offline_signatures(client, archive, "w1"))
    complete_wave(client, "w1")
    with pytest.raises(RemoteError) as refused:
        create_wave(client, "w2", 7, "production")
    assert refused.value.status == 409
    body = json.dumps(get_production_targets(client))
    assert "raspberrypi4-64-lmp-7" in body
