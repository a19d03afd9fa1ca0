"""rotate-root end to end over real HTTP on 127.0.0.1 against the sandbox factory server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.common.home import Home
from appliance.core.errors import BundleError, RemoteError
from appliance.core.identity import Identity, PeerKey
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.operations import RotateRootRequest
from appliance.core.rotation import RotationParameters
from online.config import ConnectionOptions, make_client
from online.exporting import export_request
from online.importing import import_bundle
from online.rehearsal import Rehearsal
from online.sandbox.provision import provision_factory
from online.sandbox.server import SandboxServer
from tests.helpers_ceremony import run, run_operation


def test_rehearsal_runs_every_workflow(tmp_path: Path) -> None:
    ci, prod = Rehearsal(tmp_path).run()
    assert ci.version == prod.version == 3  # rotate-root, then rotate-targets
    archive = KeysArchive.from_bytes((tmp_path / "offline-creds.tgz").read_bytes())
    new_root = ci.meta.roles["root"].keyids[0]
    offline_targets = ci.meta.roles["targets"].keyids[1]
    assert f"tufrepo/keys/fioctl-root-{new_root}.sec" in archive.files
    assert f"tufrepo/keys/fioctl-targets-{offline_targets}.sec" in archive.files
    assert (ci.meta.roles["targets"].threshold, prod.meta.roles["targets"].threshold) == (1, 2)
    targets_only = KeysArchive.from_bytes((tmp_path / "targets-only.tgz").read_bytes())
    assert targets_only.signers_for(ci.meta, "root") == []
    # The wave signed offline was published: production targets meet threshold 2 under the production root.
    from appliance.core.metadata import Envelope
    from appliance.core.targets import check_production_targets
    from online.sandbox.wavestore import WaveStore

    published = WaveStore(tmp_path / "sandbox-state" / "factories" / "acme-rehearsal").production_targets("production")
    assert published is not None
    assert check_production_targets(Envelope.from_dict(published.to_dict()), prod).count == 2


def test_rehearsal_rotate_root_only(tmp_path: Path) -> None:
    ci, prod = Rehearsal(tmp_path, with_targets=False).run()
    assert ci.version == prod.version == 2
    assert prod.meta.roles == ci.meta.roles


@dataclass
class World:
    server: SandboxServer
    keys: Path
    stick: Path
    station_home: Path
    appliance_home: Path
    token_file: Path
    factory: str = "acme"

    def export(self) -> Path:
        params = RotationParameters.from_dict({"key_type": "ED25519", "changelog": "test"})
        return export_request(
            lambda client: RotateRootRequest(params), out=self.stick, connection=self.connection, home=self.station_home
        )

    @property
    def connection(self) -> ConnectionOptions:
        return ConnectionOptions(server=self.server.url, factory=self.factory, token_file=self.token_file)

    def appliance(self, request: Path) -> Path:
        result = run_operation("rotate-root", self.appliance_home, self.keys, request, self.stick, "--yes")
        assert result.returncode == 0, result.stderr
        return self.stick / request.name.replace("request-", "response-")

    def import_(self, response: Path, *, direct: bool = False) -> None:
        import_bundle(response, connection=self.connection, home=self.station_home, direct=direct)

    def roots(self) -> tuple[Root, Root]:
        client = make_client(self.server.url, None, self.token_file, self.factory)
        return Root.from_bytes(client.get_root()), Root.from_bytes(client.get_root(production=True))


@pytest.fixture()
def world(tmp_path: Path):
    yield from _world(tmp_path, offline_targets=False)


@pytest.fixture()
def world_targets(tmp_path: Path):
    yield from _world(tmp_path, offline_targets=True)


def _world(tmp_path: Path, *, offline_targets: bool):
    made = provision_factory(
        tmp_path / "state", "acme", tmp_path / "offline-creds.tgz", offline_targets=offline_targets
    )
    token_file = tmp_path / "token"
    token_file.write_text(made.token)
    station_home, appliance_home = tmp_path / "station", tmp_path / "appliance"
    Home(station_home, "station").create(Identity("station", "st", os.urandom(32)))
    assert run("appliance", "init", "--home", str(appliance_home)).returncode == 0
    assert run("appliance", "policy", "--home", str(appliance_home), "--no-require-backup-readback").returncode == 0
    assert (
        run(
            "appliance", "pair", "--home", str(appliance_home), "--peer", str(station_home / "identity.pub"), "--yes"
        ).returncode
        == 0
    )
    Home(station_home, "station").pin(PeerKey.from_bytes((appliance_home / "identity.pub").read_bytes()))
    stick = tmp_path / "stick"
    stick.mkdir()
    with SandboxServer(tmp_path / "state") as server:
        yield World(server, made.keys_path, stick, station_home, appliance_home, token_file)


def test_import_resumes_after_failure_between_uploads(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    response = world.appliance(world.export())
    world.server.inject_faults(fail_prod_uploads=1)
    with pytest.raises(RemoteError) as failed:
        world.import_(response, direct=True)
    assert failed.value.hint == (
        "Re-run 'tuf-online import' with this response now: CI and production roots differ "
        "(CI is at v2, production still at v1) until it completes."
    )
    shown = capsys.readouterr().out
    from appliance.core.bundle import open_response
    from appliance.core.identity import hex_words

    appliance = PeerKey.from_bytes((world.appliance_home / "identity.pub").read_bytes())
    answered = open_response(response.read_bytes(), appliance)
    assert "compare with the appliance's screen:" in shown
    assert answered.digest() in shown and " ".join(hex_words(answered.digest())) in shown
    [new_key] = answered.result["new_keys"]
    assert " ".join(hex_words(new_key["keyid"])) in shown
    ci, prod = world.roots()
    assert (ci.version, prod.version) == (2, 1)  # CI went up, production did not
    world.import_(response, direct=True)  # re-run finishes the job
    ci, prod = world.roots()
    assert (ci.version, prod.version) == (2, 2)
    world.import_(response, direct=True)  # and a finished import is a no-op
    assert world.roots()[0].version == 2


def test_response_for_another_request_is_refused(world: World, tmp_path: Path) -> None:
    first = world.export()
    second = world.export()
    response = world.appliance(second)
    forged = tmp_path / "forged.json"
    forged.write_bytes(
        response.read_bytes().replace(second.stem.split("-")[1].encode(), first.stem.split("-")[1].encode())
    )
    with pytest.raises(BundleError):
        world.import_(forged)
    assert world.roots()[0].version == 1


def test_response_from_another_station_pairing_is_refused(world: World, tmp_path: Path) -> None:
    response = world.appliance(world.export())
    other = tmp_path / "other-station"
    Home(other, "station").create(Identity("station", "other", os.urandom(32)))
    Home(other, "station").pin(Identity("appliance", "impostor", os.urandom(32)).peer)
    with pytest.raises(BundleError, match="not by the pinned appliance"):
        import_bundle(response, connection=world.connection, home=other)


def test_server_moved_on_since_export_stops_import(world: World) -> None:
    request_a = world.export()
    request_b = world.export()
    world.import_(world.appliance(request_a))
    response_b = world.appliance(request_b)  # appliance accepts it (its history is still valid at v1)...
    with pytest.raises(RemoteError, match="already has a different CI root v2"):
        world.import_(response_b)  # ...but the server has moved on to v2
    assert world.roots()[0].version == 2


def test_rotate_targets_resigns_published_production_targets(world_targets: World) -> None:
    from appliance.core.metadata import Envelope
    from appliance.core.targets import check_production_targets
    from online.exporting import rotate_targets_request
    from online.targets_api import complete_wave, get_production_targets
    from tests.helpers_waves import ci_build, post_offline_wave

    w = world_targets
    client = make_client(w.server.url, None, w.token_file, w.factory)
    ci_build(w.server.state.directory, w.factory, "5")
    prod = Root.from_bytes(client.get_root(production=True))
    post_offline_wave(client, KeysArchive.from_bytes(w.keys.read_bytes()), "w1", 5)
    complete_wave(client, "w1")
    old_offline = prod.meta.roles["targets"].keyids[1]

    params = RotationParameters.from_dict({"key_type": "ED25519", "changelog": ""})
    request = export_request(
        lambda c: rotate_targets_request(c, params, []), out=w.stick, connection=w.connection, home=w.station_home
    )
    result = run_operation("rotate-targets", w.appliance_home, w.keys, request, w.stick, "--yes")
    assert result.returncode == 0, result.stderr
    assert "production targets re-signed with the new key: tag production" in result.stdout
    w.import_(w.stick / request.name.replace("request-", "response-"))
    ci, new_prod = w.roots()
    assert ci.version == new_prod.version == 3
    assert old_offline not in new_prod.meta.roles["targets"].keyids
    published = Envelope.from_dict(get_production_targets(client, "production")["production"])
    assert check_production_targets(published, new_prod).count == 2


def test_import_uses_a_root_updates_transaction_by_default(world: World) -> None:
    from tests.helpers_sandbox import call, repo

    response = world.appliance(world.export())
    world.server.inject_faults(fail_prod_uploads=1)  # direct uploads would fail; the transaction path does not use them
    world.import_(response)
    ci, prod = world.roots()
    assert (ci.version, prod.version) == (2, 2)
    token = world.token_file.read_text().strip()
    assert call(world.server.url, "GET", repo("acme", "root/updates"), token=token).json()["status"] == "NONE"
    world.import_(response)  # a finished import is a no-op


def test_import_by_transaction_refuses_while_another_transaction_is_active(world: World) -> None:
    from online.config import make_client
    from online.updates_api import init_updates

    response = world.appliance(world.export())
    init_updates(make_client(world.server.url, None, world.token_file, "acme"), "other", first_time=False)
    with pytest.raises(RemoteError, match="already STARTED"):
        world.import_(response)
    assert world.roots()[0].version == 1
