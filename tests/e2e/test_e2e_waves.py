"""Waves end to end over real HTTP on 127.0.0.1: waves init → appliance init-wave → import (post) →
rollout → complete, and each refusal on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.core.errors import RemoteError, VerificationError
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, Root
from appliance.core.targets import check_production_targets
from appliance.core.waves import WaveParameters
from online.config import make_client
from online.exporting import export_request
from online.scenarios import SCENARIOS
from online.targets_api import complete_wave, get_production_targets, get_wave, list_waves, rollout_wave
from online.wavestation import init_wave_request
from tests.e2e.test_e2e_ceremony import World, _world
from tests.helpers_ceremony import run, run_operation
from tests.helpers_waves import ci_build, expires_in, post_offline_wave

ROLLOUT = {"group": "lab", "dry-run": False, "return-uuids": False, "return-names": False}


@pytest.fixture()
def w(tmp_path: Path):
    yield from _world(tmp_path, offline_targets=True)


def _client(w: World):
    return make_client(w.server.url, None, w.token_file, w.factory)


def _export(w: World, version: str, name: str = "w1", **kw) -> Path:
    params = WaveParameters(name, version, "production", expires_in(30), **kw)
    return export_request(
        lambda c: init_wave_request(c, params), out=w.stick, connection=w.connection, home=w.station_home
    )


def _sign(w: World, request: Path, keys: Path | None = None):
    return run_operation("init-wave", w.appliance_home, keys or w.keys, request, w.stick, "--yes")


def _response(request: Path) -> Path:
    return request.parent / request.name.replace("request-", "response-")


def test_wave_across_the_air_gap(w: World) -> None:
    ci_build(w.server.state.directory, w.factory, "2")
    request = _export(w, "2")
    result = _sign(w, request)
    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())
    for text in ("raspberrypi4-64-lmp-2", "added: raspberrypi4-64-lmp-2", "2 of 2 required", "expires: 20"):
        assert text in shown, text
    assert "production root that will check these signatures: v2" in shown
    # the summary above the prompt: what is signed, its digest whole on a line, the root that checks it
    assert "production root v2: 2 of 2 signatures after this" in result.stdout
    assert re.search(r"\n {11}[0-9a-f]{64}\n", result.stdout), result.stdout
    w.import_(_response(request))
    client = _client(w)
    wave = get_wave(client, "w1")
    assert wave["status"] == "active" and len(wave["targets"]["signatures"]) == 2
    w.import_(_response(request))  # re-import: the wave is there already, nothing posted twice
    rollout_wave(client, "w1", ROLLOUT)
    complete_wave(client, "w1")
    prod = Root.from_bytes(client.get_root(production=True))
    published = Envelope.from_dict(get_production_targets(client, "production")["production"])
    assert check_production_targets(published, prod).count == 2
    assert list_waves(client, limit=20, page=1, status="complete")["total"] == 1


def test_second_wave_shows_the_difference_and_prunes(w: World) -> None:
    archive = KeysArchive.from_bytes(w.keys.read_bytes())
    ci_build(w.server.state.directory, w.factory, "2")
    post_offline_wave(_client(w), archive, "w0", 2)
    complete_wave(_client(w), "w0")
    ci_build(w.server.state.directory, w.factory, "3")
    request = _export(w, "3", prune=("2",))
    result = _sign(w, request)
    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())
    assert "added: raspberrypi4-64-lmp-3" in shown and "removed: raspberrypi4-64-lmp-2" in shown
    w.import_(_response(request))
    assert list(get_wave(_client(w), "w1")["targets"]["signed"]["targets"]) == ["raspberrypi4-64-lmp-3"]


def test_wave_for_an_unknown_version_is_refused_at_export(w: World) -> None:
    with pytest.raises(VerificationError, match="No targets found for version 9"):
        _export(w, "9")
    assert list(w.stick.iterdir()) == []


def test_targets_changed_after_signing_are_refused(w: World) -> None:
    """Another wave completed between signing and posting: the signed wave would undo it."""
    archive = KeysArchive.from_bytes(w.keys.read_bytes())
    ci_build(w.server.state.directory, w.factory, "2")
    ci_build(w.server.state.directory, w.factory, "3")
    request = _export(w, "3")
    assert _sign(w, request).returncode == 0
    post_offline_wave(_client(w), archive, "other", 2)
    complete_wave(_client(w), "other")
    with pytest.raises(RemoteError, match="changed since this wave was signed"):
        w.import_(_response(request))
    with pytest.raises(RemoteError) as missing:
        get_wave(_client(w), "w1")
    assert missing.value.status == 404


def test_altered_request_targets_are_refused_by_the_appliance(w: World, tmp_path: Path) -> None:
    """The appliance rebuilds the wave from the request's inputs; a different proposal is not signed."""
    import copy
    from dataclasses import replace

    from appliance.core.operations import Wave

    ci_build(w.server.state.directory, w.factory, "2")
    params = WaveParameters("w1", "2", "production", expires_in(30))

    def tampered(client):
        body = init_wave_request(client, params)
        signed = copy.deepcopy(body.wave.targets.signed)
        signed["targets"]["evil"] = {"length": 1, "hashes": {"sha256": "0" * 64}}
        return replace(body, wave=Wave(body.wave.name, Envelope(signed, ()), body.wave.extra))

    request = export_request(tampered, out=w.stick, connection=w.connection, home=w.station_home)
    result = _sign(w, request)
    assert result.returncode == 4, result.stderr
    assert "not what fioctl's rules build" in " ".join(result.stderr.split())
    assert not _response(request).exists()


def test_targets_only_tarball_without_the_needed_key_is_refused(w: World, tmp_path: Path) -> None:
    root_only = tmp_path / "root-only.tgz"
    full = KeysArchive.from_bytes(w.keys.read_bytes())
    keep = [n for n in full.files if "first-root" in n or n.endswith("root.json")]
    root_only.write_bytes(full.subset(keep).to_bytes(mtime=0))
    ci_build(w.server.state.directory, w.factory, "2")
    request = _export(w, "2")
    result = _sign(w, request, root_only)
    assert result.returncode != 0
    shown = " ".join(result.stderr.split())
    assert "no private key of the targets role" in shown or "holds no offline targets key" in shown
    assert not _response(request).exists()


def test_targets_only_tarball_signs(w: World, tmp_path: Path) -> None:
    targets_only = tmp_path / "targets-only.tgz"
    assert run("appliance", "copy-targets", str(w.keys), str(targets_only)).returncode == 0
    ci_build(w.server.state.directory, w.factory, "2")
    request = _export(w, "2")
    assert _sign(w, request, targets_only).returncode == 0
    w.import_(_response(request))
    complete_wave(_client(w), "w1")


def test_rehearse_waves_scenario(tmp_path: Path) -> None:
    ci, prod = SCENARIOS["waves"](tmp_path, "ED25519")
    assert ci.version == prod.version == 2  # no root rotation in this scenario
    from online.sandbox.wavestore import WaveStore

    store = WaveStore(tmp_path / "sandbox-state" / "factories" / "acme-rehearsal")
    published = store.production_targets("production")
    assert published is not None and check_production_targets(published, prod).count == 2
    assert store.wave("wave-1")["status"] == "complete"
