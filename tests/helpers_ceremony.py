"""Builders for ceremony tests: a factory's roots and tarball, paired identities, requests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.core.bundle import Request, make_request, seal
from appliance.core.identity import Identity
from appliance.core.keys import PrivateKey, public_key_file, secret_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import RoleKeys, Root, RootMeta, sign_root
from appliance.core.rootpair import production_variant
from appliance.core.strictjson import dumps_pretty
from appliance.core.timefmt import format_expires

NOW = datetime.now(UTC).replace(microsecond=0)


def seeded(n: int) -> PrivateKey:
    return PrivateKey.from_ed25519_seed(bytes([n]) * 32)


@dataclass
class Factory:
    root_key: PrivateKey
    online: dict[str, PrivateKey]
    ci: list[Root]
    prod: list[Root]
    archive: KeysArchive


def make_factory(root_key: PrivateKey | None = None, *, offline_targets: PrivateKey | None = None) -> Factory:
    root_key = root_key or seeded(1)
    online = {"targets": seeded(2), "snapshot": seeded(3), "timestamp": seeded(4)}
    keys = {root_key.keyid: root_key.public_key} | {k.keyid: k.public_key for k in online.values()}
    roles = {"root": RoleKeys((root_key.keyid,), 1)} | {r: RoleKeys((k.keyid,), 1) for r, k in online.items()}
    meta = RootMeta("Root", 1, format_expires(NOW + timedelta(days=365)), keys, roles, False)
    ci = [sign_root(meta, [root_key])]
    prod = [sign_root(meta, [root_key])]
    files = {
        "tufrepo/keys/first-root.pub": public_key_file(root_key.public_key),
        "tufrepo/keys/first-root.sec": secret_key_file(root_key),
        "tufrepo/roles/root.json": dumps_pretty(ci[0].to_dict()),
    }
    archive = KeysArchive.from_files(files)
    if offline_targets is not None:
        from dataclasses import replace

        keys2 = dict(meta.keys) | {offline_targets.keyid: offline_targets.public_key}
        meta2 = replace(meta, version=2, keys=keys2).with_role(
            "targets", [online["targets"].keyid, offline_targets.keyid], 1
        )
        ci.append(sign_root(meta2, [root_key]))
        prod.append(sign_root(production_variant(meta2, 2), [root_key]))
        archive = archive.with_key("targets", offline_targets).with_file(
            "tufrepo/roles/root.json", dumps_pretty(ci[-1].to_dict())
        )
    return Factory(root_key, online, ci, prod, archive)


def rotate_request(
    factory: Factory,
    station: Identity,
    *,
    sequence: int = 1,
    name: str = "acme",
    key_type: str = "ED25519",
    operation: str = "rotate-root",
    parameters: dict | None = None,
) -> tuple[Request, bytes]:
    req = make_request(
        factory=name,
        operation=operation,
        parameters=parameters if parameters is not None else {"key_type": key_type, "changelog": "scheduled rotation"},
        payload={"ci_roots": [r.to_dict() for r in factory.ci], "prod_roots": [r.to_dict() for r in factory.prod]},
        sequence=sequence,
        now=NOW,
        random_bytes=os.urandom,
    )
    return req, seal(req.body(), station)


def run(tool: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", tool, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def init_home(tool: str, home: Path, *, readback: bool = False) -> None:
    """An initialised home; an appliance's backup read-back policy is off unless ``readback``
    (tests that are not about backups answer at once; the policy tests turn it on)."""
    out = run(tool, "init", "--home", str(home))
    assert out.returncode == 0, out.stderr
    if tool == "appliance" and not readback:
        (home / "policy.json").write_text('{"require_backup_readback": false}')


def pair(tool: str, home: Path, peer_pub: Path) -> None:
    out = run(tool, "pair", "--home", str(home), "--peer", str(peer_pub), "--yes")
    assert out.returncode == 0, out.stderr


def operation_args(operation: str, home: Path, keys: Path, request: Path, out: Path) -> list[str]:
    """``tuf-appliance <operation>`` arguments for one request (without ``--yes``)."""
    return [operation, "--home", str(home), "--keys", str(keys), "--request", str(request), "--out", str(out)]


def run_operation(
    operation: str, home: Path, keys: Path, request: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run("appliance", *operation_args(operation, home, keys, request, out), *extra, env=env)


@dataclass
class Bench:
    """An initialised appliance home, a station identity (pinned unless ``paired=False``) and a stick."""

    home: Path
    station: Identity
    station_pub: Path
    stick: Path

    @property
    def appliance_pub(self):  # type: ignore[no-untyped-def]
        from appliance.core.identity import PeerKey

        return PeerKey.from_bytes((self.home / "identity.pub").read_bytes())


def make_bench(tmp_path: Path, *, paired: bool = True) -> Bench:
    home = tmp_path / "appliance-home"
    init_home("appliance", home)
    station = Identity("station", "test-station", os.urandom(32))
    station_pub = tmp_path / "station.pub"
    station_pub.write_bytes(station.peer.to_bytes())
    if paired:
        pair("appliance", home, station_pub)
    stick = tmp_path / "usb"
    stick.mkdir()
    return Bench(home, station, station_pub, stick)


def write_keys(path: Path, archive: KeysArchive) -> Path:
    path.write_bytes(archive.to_bytes(mtime=0))
    path.chmod(0o600)
    return path
