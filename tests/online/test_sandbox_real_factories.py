"""The sandbox behaves like the real server for real factories: seeded from download-roots
tarballs, first-time factories, users/self, and the station's sealed first root key (real HTTP)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.core.errors import VerificationError
from appliance.core.keys import public_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root, RootMeta, sign_root
from appliance.core.privatekeys import secret_key_file
from appliance.core.rootpair import RootPair, production_variant
from appliance.core.rotation import RotationParameters, plan_root_rotation
from online.client import HttpFactoryClient as FactoryClient
from online.sandbox.provision import provision_first_time, provision_seeded
from online.sandbox.seeding import read_roots_tarball, roots_tarball
from online.sandbox.server import SandboxServer
from tests.core.test_rules_real_factories import json_id
from tests.helpers_core import ed_key, rsa_test_key, tgz

NOW = datetime.now(UTC).replace(microsecond=0)


def _json_era_chain() -> tuple[list[Root], list[Root], dict[str, Any]]:
    """A 2021-era factory: RSA root key, JSON-rule ids, production targets threshold 2 over one key."""
    root_key, online = rsa_test_key(), ed_key(61)
    keys = {json_id(k.public_key): k.public_key for k in (root_key, online)}
    rid, oid = json_id(root_key.public_key), json_id(online.public_key)
    signed: dict[str, Any] = {
        "_type": "Root",
        "consistent_snapshot": False,
        "expires": "2030-01-01T00:00:00Z",
        "keys": {k: v.to_dict() for k, v in keys.items()},
        "roles": {
            r: {"keyids": [rid if r == "root" else oid], "threshold": 1}
            for r in ("root", "targets", "snapshot", "timestamp")
        },
        "version": 1,
    }
    meta = RootMeta.from_dict(signed)
    ci = [sign_root(meta, [root_key], keyids=[rid])]
    prod = [sign_root(meta, [root_key], keyids=[rid])]
    # v2 as fioctl 2021 wrote it: CI unchanged but for the version, production threshold 2 (syncProdRoot).
    from dataclasses import replace

    v2 = replace(meta, version=2)
    ci.append(sign_root(v2, [root_key], keyids=[rid]))
    prod.append(sign_root(production_variant(v2, 2), [root_key], keyids=[rid]))
    online_keys = {r: json.loads(secret_key_file(online)) for r in ("targets", "snapshot", "timestamp")}
    return ci, prod, online_keys


def test_download_roots_layout_round_trips() -> None:
    ci, _, _ = _json_era_chain()
    data = roots_tarball(ci)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = archive.getmembers()
    assert [(m.name, m.mode, m.isreg()) for m in members] == [
        ("1.root.json", 0o644, True),
        ("2.root.json", 0o644, True),
    ]
    assert [r.to_dict() for r in read_roots_tarball(data, "t")] == [r.to_dict() for r in ci]


@pytest.mark.parametrize(
    ("members", "fragment"),
    [
        ([("root.json", b"{}")], "expected N.root.json"),
        ([("2.root.json", b"")], "not valid JSON"),
    ],
)
def test_roots_tarball_refusals(members: list[tuple[str, bytes]], fragment: str) -> None:
    from appliance.core.errors import AirgapError

    with pytest.raises(AirgapError, match=fragment):
        read_roots_tarball(tgz(members), "t")


def test_roots_tarball_with_a_gap_is_refused() -> None:
    ci, _, _ = _json_era_chain()
    with pytest.raises(VerificationError, match="do not run 1..1"):
        read_roots_tarball(roots_tarball(ci[1:]), "t")


def test_seeded_json_era_factory_accepts_our_rotation_over_http(tmp_path: Path) -> None:
    ci, prod, online = _json_era_chain()
    online_file = json.dumps(online).encode()
    data = provision_seeded(
        tmp_path, "era2021", ci_roots=roots_tarball(ci), prod_roots=roots_tarball(prod), online_keys=online_file
    )
    archive = KeysArchive.from_bytes(
        tgz(
            [
                (
                    "tufrepo/keys/offline-root-2021-01-27T23:10:29.123456.pub",
                    public_key_file(rsa_test_key().public_key),
                ),
                ("tufrepo/keys/offline-root-2021-01-27T23:10:29.123456.sec", secret_key_file(rsa_test_key())),
            ]
        )
    )
    with SandboxServer(tmp_path) as server:
        client = FactoryClient(server.url, data.token, "era2021")
        current = RootPair(Root.from_bytes(client.get_root()), Root.from_bytes(client.get_root(production=True)))
        assert current.prod.meta.roles["targets"].threshold == 2
        params = RotationParameters("ED25519", "", None, client.get_current_user()[0])
        plan = plan_root_rotation(current, archive, ed_key(70), params, datetime.now(UTC).replace(microsecond=0))
        client.post_root(plan.new.ci.to_bytes())
        client.post_root(plan.new.prod.to_bytes(), production=True)
        assert Root.from_bytes(client.get_root()).version == 3
        assert plan.new.ci.meta.extra["x-changelog"]["polis-id"] == "sandbox-owner-era2021"


def test_first_time_factory_serves_its_first_root_key_and_the_station_seals_it(tmp_path: Path) -> None:
    from appliance.common.home import Home
    from appliance.core.identity import Identity
    from online.exporting import export_request

    data = provision_first_time(tmp_path / "state", "fresh", now=NOW)
    station_home, stick = tmp_path / "station", tmp_path / "stick"
    stick.mkdir()
    station = Home(station_home, "station")
    station.create(Identity("station", "st", bytes(32 * [5])))
    appliance = Identity("appliance", "ap", bytes(32 * [6]))
    station.pin(appliance.peer)
    token_file = tmp_path / "token"
    token_file.write_text(data.token)
    with SandboxServer(tmp_path / "state") as server:
        client = FactoryClient(server.url, data.token, "fresh")
        secret = client.get_first_root_key()
        assert data.root_key is not None and json.loads(secret)["keyval"]["private"]
        from appliance.core.rootops import RotateRootRequest
        from appliance.core.rotation import RotationParameters
        from online.config import ConnectionOptions
        from online.exporting import FIRST_TIME

        params = RotationParameters.from_dict({"key_type": "ED25519", "changelog": ""})
        connection = ConnectionOptions(server=server.url, factory="fresh", token_file=token_file)
        path = export_request(
            lambda client: RotateRootRequest(params, FIRST_TIME), out=stick, connection=connection, home=station_home
        )
    raw = path.read_bytes()
    private = json.loads(secret)["keyval"]["private"]
    assert private.encode() not in raw and private[:32].encode() not in raw  # never in clear on the stick
    body = json.loads(raw)["bundle"]
    import base64

    opened = appliance.open_sealed(base64.b64decode(body["payload"]["first_root_sealed"]), what="t")
    assert opened == secret
    assert body["parameters"]["polis_id"] == "sandbox-owner-fresh"


def test_download_roots_command_writes_fioctl_layout(sandbox_server: Any, tmp_path: Path) -> None:
    out = tmp_path / "ci.tgz"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "online",
            "download-roots",
            str(out),
            "--server",
            sandbox_server.url,
            "--factory",
            sandbox_server.factory,
            "--token-file",
            str(sandbox_server.token_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    roots = read_roots_tarball(out.read_bytes(), "ci.tgz")
    assert roots[-1].signed_bytes() == sandbox_server.ci_root.signed_bytes()
    assert gzip.decompress(out.read_bytes())


def test_one_first_root_key_file_serves_first_root_sec_and_init_first_time_until_rotated_out(
    tmp_path: Path,
) -> None:
    """The sandbox keeps the first root key in one file; GET first_root.sec and updates init --first-time
    both hand it out while it is still a root key, and neither does once it was rotated out."""
    from online.sandbox.state import SandboxState, User
    from tests.helpers_sandbox import call, repo

    data = provision_first_time(tmp_path / "state", "fresh", now=NOW)
    state = SandboxState(tmp_path / "state")
    assert data.first_root_sec is not None and state.first_root_sec("fresh") == data.first_root_sec
    state.add_user("fresh", User("officer-b", "Officer B", "b" * 40))
    first_time = b'{"message":"m","first-time":true}'
    with SandboxServer(tmp_path / "state") as server:
        client = FactoryClient(server.url, data.token, "fresh")
        assert client.get_first_root_key() == data.first_root_sec
        assert client.get_current_user() == ("sandbox-owner-fresh", "Factory owner")
        assert FactoryClient(server.url, "b" * 40, "fresh").get_current_user() == ("officer-b", "Officer B")
        init = call(server.url, "POST", repo("fresh", "root/updates"), token=data.token, body=first_time)
        assert init.status == 201 and init.json()["first_root.sec"] == json.loads(data.first_root_sec)
        assert call(server.url, "POST", repo("fresh", "root/updates/cancel"), token=data.token).status == 200
        # The owner takes over: root v2 no longer lists the first root key.
        assert data.root_key is not None
        ci = Root.from_bytes(client.get_root())
        new = ed_key(71)
        meta = ci.meta
        keys = {k: v for k, v in meta.keys.items() if k != data.root_keyid} | {new.keyid: new.public_key}
        from dataclasses import replace

        v2 = replace(meta, version=2, keys=keys).with_role("root", [new.keyid], 1)
        client.post_root(sign_root(v2, [data.root_key, new]).to_bytes())
        client.post_root(sign_root(production_variant(v2, 2), [data.root_key, new]).to_bytes(), production=True)
        gone = call(server.url, "GET", "/ota/factories/fresh/first_root.sec", token=data.token)
        assert gone.status == 404 and gone.json()["error"] == "no-first-root"
        again = call(server.url, "POST", repo("fresh", "root/updates"), token=data.token, body=first_time)
        assert again.status == 400 and again.json()["error"] == "not-first-time"
