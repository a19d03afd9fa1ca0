"""Root updates transactions end to end: stations and sandbox over HTTP on 127.0.0.1, appliances in process.

Each officer has a station home, a paired appliance home and a tarball of their own
(online.rehearsal_officers).  Requests and responses cross a directory standing in for the stick.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appliance.common.cliframe import make_app
from appliance.core.errors import AirgapError, KeyMissingError, RemoteError, VerificationError
from appliance.core.keysarchive import KeysArchive
from appliance.core.txroots import owners
from online.commands import updates as cli
from online.rehearsal_officers import Officer, OfficersRehearsal, owned_by
from online.sandbox.server import SandboxServer
from online.station import Station
from online.txstation import TxidStore
from tests.helpers_sandbox import call, repo


def inprocess_appliance() -> tuple[object, list[str]]:
    from appliance.commands import register_all

    app = make_app("tuf-appliance", "test")
    register_all(app)
    outputs: list[str] = []

    def run(args: Sequence[str]) -> None:
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
        outputs.append(result.output)
        if result.exit_code != 0:
            if isinstance(result.exception, AirgapError):
                raise result.exception
            raise AssertionError(f"appliance {args[:2]} failed: {result.output}")

    return run, outputs


class World:
    def __init__(self, rehearsal: OfficersRehearsal, officers: list[Officer], outputs: list[str]) -> None:
        self.r = rehearsal
        self.a, self.b, self.c = officers
        self.outputs = outputs

    def token(self, officer: Officer) -> str:
        return officer.token_file.read_text().strip()

    def txid(self, officer: Officer) -> str:
        return TxidStore(Station(officer.station_home)).get(self.r.factory)

    def two_of_three(self) -> None:
        """Root keys A, B, C with threshold 2, applied (root v2)."""
        r = self.r
        r.start(self.a, "more holders", [self.b, self.c])
        r.change(self.b, "add-key", cli.export_add_key, role="root", key_type="ED25519")
        r.change(self.c, "add-key", cli.export_add_key, role="root", key_type="ED25519")
        r.change(self.a, "set-threshold", cli.export_set_threshold, threshold=2, role="root", sign=False)
        r.change(self.a, "sign", cli.export_sign)
        r.change(self.b, "sign", cli.export_sign)
        r.apply(self.a)


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    runner, outputs = inprocess_appliance()
    rehearsal = OfficersRehearsal(tmp_path / "work", appliance=runner)  # type: ignore[arg-type]
    officers = rehearsal.prepare()
    with SandboxServer(rehearsal.state_dir) as server:
        rehearsal.url = server.url
        yield World(rehearsal, officers, outputs)


def test_three_officers_reach_two_of_three_then_rotate_one_out(world: World) -> None:
    world.two_of_three()
    ci, prod = world.r.roots(world.a)
    assert ci.version == prod.version == 2
    assert ci.meta.roles["root"].threshold == 2 and len(ci.meta.roles["root"].keyids) == 3
    assert sorted(owners(ci.meta).values()) == ["officer-b", "officer-c"]
    assert prod.meta.roles["root"] == ci.meta.roles["root"]
    # each new officer's tarball holds exactly their own key
    for officer in (world.b, world.c):
        archive = KeysArchive.from_bytes(officer.keys.read_bytes())
        assert [e.keyid for e in archive.entries if e.private] == [owned_by(ci, officer.name)]

    c_key = owned_by(ci, world.c.name)
    world.r.start(world.a, "C leaves", [world.b])
    world.r.change(world.a, "delete-key", cli.export_delete_key, key_id=c_key, role="root")
    world.r.change(world.a, "sign", cli.export_sign)
    world.r.change(world.b, "sign", cli.export_sign)
    world.r.apply(world.a)
    ci, prod = world.r.roots(world.a)
    assert ci.version == prod.version == 3
    assert c_key not in ci.meta.roles["root"].keyids and c_key not in ci.meta.keys
    assert c_key not in owners(ci.meta)
    assert ci.meta.roles["root"].threshold == 2 and len(ci.meta.roles["root"].keyids) == 2


def test_review_shows_owners_and_counts_before_and_after(world: World) -> None:
    world.r.start(world.a, "more holders", [world.b])
    world.r.change(world.b, "add-key", cli.export_add_key, role="root", key_type="ED25519")
    world.r.change(world.a, "sign", cli.export_sign)
    world.r.change(world.b, "sign", cli.export_sign)
    text = world.outputs[-1]
    assert "signed so far: " in text and "(owner unknown)" in text  # A's first-root key has no owner entry
    assert "signatures before this appliance:" in text and "signatures after this appliance:" in text
    assert "old root keys 1 of 1 (still needed: 0), new root keys 1 of 1 (still needed: 0)" in text
    assert "owner of key" in world.outputs[-3] and "officer-b" in world.outputs[-3]


def test_rotate_root_key_with_sign(world: World) -> None:
    world.r.start(world.a, "rotate A's key", [])
    before = KeysArchive.from_bytes(world.a.keys.read_bytes())
    world.r.change(world.a, "rotate-key", cli.export_rotate_key, role="root", key_type="ED25519", sign=True)
    world.r.apply(world.a)
    ci, _ = world.r.roots(world.a)
    after = KeysArchive.from_bytes(world.a.keys.read_bytes())
    (new_id,) = ci.meta.roles["root"].keyids
    assert new_id not in [e.keyid for e in before.entries]
    assert any(e.keyid == new_id and e.private for e in after.entries)  # nothing removed, key added
    assert len(after.entries) == len(before.entries) + 1
    assert owners(ci.meta)[new_id] == "officer-a"


def test_targets_key_rotation_add_delete_threshold_and_prod_signing(world: World) -> None:
    r, a = world.r, world.a
    r.start(a, "offline targets", [])
    r.change(a, "rotate-key", cli.export_rotate_key, role="targets", key_type="ED25519", sign=False)
    r.change(a, "set-threshold", cli.export_set_threshold, threshold=2, role="targets", sign=True)
    r.apply(a)
    ci, prod = r.roots(a)
    assert ci.meta.roles["targets"].threshold == 1 and prod.meta.roles["targets"].threshold == 2
    assert len(ci.meta.roles["targets"].keyids) == 2

    # a second offline targets key in B's tarball, then deleted again
    r.start(a, "second targets key", [world.b])
    r.change(world.b, "add-key", cli.export_add_key, role="targets", key_type="ED25519")
    r.change(a, "sign", cli.export_sign)
    r.apply(a)
    ci, prod = r.roots(a)
    b_targets = owned_by(ci, world.b.name)
    assert b_targets in ci.meta.roles["targets"].keyids and len(ci.meta.roles["targets"].keyids) == 3

    r.start(a, "drop B's targets key", [])
    r.change(a, "delete-key", cli.export_delete_key, key_id=b_targets, role="targets")
    r.change(a, "sign", cli.export_sign)
    r.apply(a)
    ci, prod = r.roots(a)
    assert b_targets not in ci.meta.keys and prod.meta.roles["targets"].threshold == 2


def test_second_transaction_is_refused_with_409(world: World) -> None:
    world.r.start(world.a, "first", [])
    with pytest.raises(RemoteError, match="409") as caught:
        world.r.start(world.b, "second", [])
    assert "Only one TUF root updates transaction" in str(caught.value) + caught.value.hint


def test_wrong_txid_is_refused_for_put_and_apply(world: World) -> None:
    world.r.start(world.a, "first", [])
    TxidStore(Station(world.b.station_home)).save(world.r.factory, "not-the-txid")
    with pytest.raises(RemoteError, match="403"):
        world.r.change(world.b, "add-key", cli.export_add_key, role="root", key_type="ED25519")
    answer = call(
        world.r.url,
        "POST",
        repo(world.r.factory, "root/updates/apply"),
        token=world.token(world.b),
        body=b'{"txid": "not-the-txid"}',
    )
    assert answer.status == 403 and answer.json()["error"] == "txid-mismatch"
    # an empty txid is only accepted from the user who started the transaction
    empty = call(
        world.r.url,
        "POST",
        repo(world.r.factory, "root/updates/apply"),
        token=world.token(world.b),
        body=b'{"txid": ""}',
    )
    assert empty.status == 403


def test_apply_without_enough_signatures_is_refused_by_station_and_server(world: World) -> None:
    r = world.r
    r.start(world.a, "more holders", [world.b])
    r.change(world.b, "add-key", cli.export_add_key, role="root", key_type="ED25519")
    r.change(world.a, "set-threshold", cli.export_set_threshold, threshold=2, role="root", sign=True)
    with pytest.raises(VerificationError, match="new root keys|1 of 2"):
        r.apply(world.a)
    answer = call(
        r.url,
        "POST",
        repo(r.factory, "root/updates/apply"),
        token=world.token(world.a),
        body=f'{{"txid": "{world.txid(world.a)}"}}'.encode(),
    )
    assert answer.status == 422 and answer.json()["error"] == "verification-failed"
    assert r.roots(world.a)[0].version == 1


def test_tarball_without_root_keys_says_so_and_signs_nothing(world: World) -> None:
    r = world.r
    r.start(world.a, "c tries", [world.c])
    world.c.keys.write_bytes(KeysArchive.from_files({}).to_bytes(mtime=0))
    with pytest.raises(KeyMissingError, match="holds none of the root keys"):
        r.change(world.c, "sign", cli.export_sign)
    assert not list(r.stick.glob("response-*.json"))


def test_staged_change_made_meanwhile_stops_a_stale_import(world: World) -> None:
    from online.config import ConnectionOptions
    from online.importing import import_bundle

    r = world.r
    r.start(world.a, "race", [world.b, world.c])
    stick = r.stick
    cli.export_add_key(out=stick, role="root", key_type="ED25519", **r._conn(world.b))
    (request,) = stick.glob("request-*.json")
    r.change(world.c, "add-key", cli.export_add_key, role="root", key_type="ED25519")
    args = ["updates", "add-key", "--home", str(world.b.appliance_home), "--keys", str(world.b.keys)]
    r.appliance([*args, "--request", str(request), "--out", str(stick), "--yes"])
    connection = ConnectionOptions(server=r.url, token_file=world.b.token_file)
    with pytest.raises(RemoteError, match="changed on the server since this request was exported"):
        import_bundle(
            stick / request.name.replace("request-", "response-"), connection=connection, home=world.b.station_home
        )


def test_cancel_ends_the_transaction(world: World) -> None:
    world.r.start(world.a, "oops", [])
    cli.cancel(**world.r._conn(world.a))
    answer = call(world.r.url, "GET", repo(world.r.factory, "root/updates"), token=world.token(world.a))
    assert answer.json()["status"] == "NONE"
    with pytest.raises(AirgapError):
        world.txid(world.a)


def test_sign_prod_targets_signs_a_wave_with_the_staged_targets_key(world: World) -> None:
    from online.config import make_client
    from online.targets_api import complete_wave
    from tests.helpers_waves import ci_build, post_offline_wave

    r, a = world.r, world.a
    r.start(a, "offline targets", [])
    r.change(a, "rotate-key", cli.export_rotate_key, role="targets", key_type="ED25519", sign=False)
    r.change(a, "set-threshold", cli.export_set_threshold, threshold=2, role="targets", sign=True)
    r.apply(a)
    client = make_client(r.url, None, a.token_file, r.factory)
    ci_build(r.state_dir, r.factory, "2")
    post_offline_wave(client, KeysArchive.from_bytes(a.keys.read_bytes()), "w1", 2)  # signed by the key rotated out
    r.start(a, "rotate targets again", [])
    r.change(a, "rotate-key", cli.export_rotate_key, role="targets", key_type="ED25519", sign=True)
    r.change(a, "sign-prod-targets", cli.export_sign_prod_targets, tags="", waves="w1")
    r.apply(a)
    complete_wave(client, "w1")  # threshold 2 of the new production root: online + new offline key


def test_first_time_init_writes_the_first_root_key_and_it_signs_a_rotation(world: World, tmp_path: Path) -> None:
    from appliance.core.errors import UsageError

    r, a = world.r, world.a
    first = tmp_path / "first-root.tgz"
    with pytest.raises(UsageError, match="go together"):
        cli.init(changelog="first", first_time=True, keys_out=None, **r._conn(a))
    taken = tmp_path / "taken.tgz"
    taken.write_bytes(b"")
    with pytest.raises(UsageError, match="already exists"):
        cli.init(changelog="first", first_time=True, keys_out=taken, **r._conn(a))
    cli.init(changelog="first", first_time=True, keys_out=first, **r._conn(a))
    archive = KeysArchive.from_bytes(first.read_bytes())
    assert sorted(archive.files) == ["tufrepo/keys/first-root.pub", "tufrepo/keys/first-root.sec"]
    assert first.stat().st_mode & 0o777 == 0o600
    ci, _ = r.roots(a)
    (entry,) = [e for e in archive.entries if e.private]
    assert [entry.keyid] == list(ci.meta.roles["root"].keyids)  # the factory's current (first) root key

    a.keys = first  # the downloaded tarball is all the appliance needs to rotate the first key away
    r.change(a, "rotate-key", cli.export_rotate_key, role="root", key_type="ED25519", sign=True)
    r.apply(a)
    ci, prod = r.roots(a)
    assert ci.version == prod.version == 2 and entry.keyid not in ci.meta.roles["root"].keyids
    assert entry.keyid in {s.keyid for s in ci.signatures}
    # the first root key is no longer a root key: the server refuses --first-time now
    with pytest.raises(RemoteError, match="400"):
        cli.init(changelog="again", first_time=True, keys_out=tmp_path / "again.tgz", **r._conn(a))
    assert not (tmp_path / "again.tgz").exists()


def test_rotate_online_key_stages_new_online_keys_then_sign_and_apply(world: World) -> None:
    from appliance.core.errors import UsageError
    from appliance.core.metadata import Envelope
    from online.config import make_client
    from online.updates_api import get_updates

    r, a = world.r, world.a
    before, _ = r.roots(a)
    r.start(a, "new online keys", [])
    with pytest.raises(UsageError, match="--role"):
        cli.rotate_online_key(roles="root", key_type="ED25519", **r._conn(a))
    cli.rotate_online_key(roles="targets,snapshot,timestamp", key_type="ED25519", **r._conn(a))
    client = make_client(r.url, None, a.token_file, r.factory)
    view = get_updates(client)
    new_online = dict(view.updated.online_keys)
    assert set(new_online) >= {"targets", "snapshot", "timestamp"}
    for role in ("targets", "snapshot", "timestamp"):
        assert new_online[role] != view.current.online_keys[role]
        assert new_online[role] not in before.meta.keys
    with pytest.raises(VerificationError):  # the staged roots carry no signature yet
        r.apply(a)
    r.change(a, "sign", cli.export_sign)
    r.apply(a)
    ci, prod = r.roots(a)
    assert ci.version == prod.version == 2
    for role in ("snapshot", "timestamp"):
        assert list(ci.meta.roles[role].keyids) == [new_online[role]]
    assert new_online["targets"] in ci.meta.roles["targets"].keyids
    assert view.current.online_keys["targets"] not in ci.meta.roles["targets"].keyids
    targets = Envelope.from_bytes(client.get_targets(), what="CI targets")
    assert [s.keyid for s in targets.signatures] == [new_online["targets"]]  # re-signed by the new online key


def test_sign_prod_targets_by_tag_signs_only_the_tags_named(world: World) -> None:
    from appliance.core.metadata import Envelope
    from online.config import make_client
    from online.targets_api import complete_wave, get_production_targets
    from tests.helpers_waves import ci_build, post_offline_wave

    r, a, b = world.r, world.a, world.b
    r.start(a, "offline targets", [])
    r.change(a, "rotate-key", cli.export_rotate_key, role="targets", key_type="ED25519", sign=False)
    r.change(a, "set-threshold", cli.export_set_threshold, threshold=2, role="targets", sign=True)
    r.apply(a)
    client = make_client(r.url, None, a.token_file, r.factory)
    archive = KeysArchive.from_bytes(a.keys.read_bytes())
    for version in ("2", "3"):
        ci_build(r.state_dir, r.factory, version)
    post_offline_wave(client, archive, "w1", 2)
    post_offline_wave(client, archive, "w2", 3, tag="beta")
    r.start(a, "sign the waves", [])
    r.change(a, "sign-prod-targets", cli.export_sign_prod_targets, tags="", waves="w1,w2")
    r.change(a, "sign", cli.export_sign)
    r.apply(a)
    complete_wave(client, "w1")
    complete_wave(client, "w2")

    r.start(a, "B holds a second offline targets key", [b])
    r.change(b, "add-key", cli.export_add_key, role="targets", key_type="ED25519")
    r.change(b, "sign-prod-targets", cli.export_sign_prod_targets, tags="production", waves="")
    r.change(a, "sign", cli.export_sign)
    r.apply(a)
    ci, prod = r.roots(a)
    b_key = owned_by(ci, b.name)
    assert b_key in prod.meta.roles["targets"].keyids
    published = get_production_targets(client)
    signed = {tag: {s.keyid for s in Envelope.from_dict(env).signatures} for tag, env in published.items()}
    assert b_key in signed["production"]
    assert b_key not in signed["beta"]  # only the tag named was signed
