"""Factory creation: the pure builder and the ``tuf-online sandbox create-factory`` command."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from appliance.core.errors import UsageError
from appliance.core.keys import RSA
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.privatekeys import PrivateKey
from appliance.core.rootpair import pair_differences
from appliance.core.verify import verify_root_update, verify_self_signed
from online.commands import sandbox as sandbox_cmd
from online.sandbox.factory import build_factory
from online.sandbox.provision import provision_factory
from online.sandbox.state import SandboxState
from tests.conftest import seeded_random

NOW = datetime(2026, 2, 28, 12, 30, 45, 123456, tzinfo=UTC)


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _group() -> None:
        """test group"""

    sandbox_cmd.register(app)
    return app


def run(*args: str):
    return CliRunner().invoke(cli_app(), list(args))


# --- pure builder ------------------------------------------------------------------------


def test_initial_root_shape() -> None:
    data = build_factory("acme", now=NOW, random_bytes=seeded_random(3))
    (ci,) = data.ci_roots
    (prod,) = data.prod_roots
    signed = ci.envelope.signed
    assert signed["_type"] == "Root"
    assert signed["version"] == 1
    assert signed["expires"] == "2027-02-28T12:30:45Z"
    assert signed["consistent_snapshot"] is False
    assert list(signed["roles"]) == ["root", "targets", "snapshot", "timestamp"]
    assert all(role["threshold"] == 1 and len(role["keyids"]) == 1 for role in signed["roles"].values())
    assert signed["roles"]["root"]["keyids"] == [data.root_keyid]
    for role in ("targets", "snapshot", "timestamp"):
        assert signed["roles"][role]["keyids"] == [data.online_keys[role].keyid]
    assert len({data.root_keyid, *(k.keyid for k in data.online_keys.values())}) == 4
    assert [s.keyid for s in ci.signatures] == [data.root_keyid]
    assert verify_self_signed(ci).met
    assert prod.to_dict() == ci.to_dict()
    assert data.offline_targets_key is None
    assert len(data.token) == 40 and int(data.token, 16) >= 0
    assert data.created == "2026-02-28T12:30:45Z"


def test_leap_day_expiry_follows_go_add_date() -> None:
    data = build_factory("acme", now=datetime(2028, 2, 29, tzinfo=UTC), random_bytes=seeded_random(3))
    assert data.ci_roots[0].meta.expires == "2029-03-01T00:00:00Z"


def test_builder_is_deterministic_given_its_inputs() -> None:
    first = build_factory("acme", now=NOW, random_bytes=seeded_random(9), offline_targets=True)
    second = build_factory("acme", now=NOW, random_bytes=seeded_random(9), offline_targets=True)
    assert [r.to_bytes() for r in first.ci_roots] == [r.to_bytes() for r in second.ci_roots]
    assert first.archive.to_bytes(mtime=0) == second.archive.to_bytes(mtime=0)
    assert first.token == second.token
    other = build_factory("acme", now=NOW, random_bytes=seeded_random(10))
    assert other.root_keyid != first.root_keyid


def test_key_factory_is_used_for_every_key() -> None:
    made: list[str] = []

    def new_key(keytype: str) -> PrivateKey:
        made.append(keytype)
        return PrivateKey.from_ed25519_seed(bytes([len(made)]) * 32)

    data = build_factory("acme", now=NOW, random_bytes=seeded_random(1), new_key=new_key, offline_targets=True)
    assert made == ["ED25519"] * 5
    assert data.root_keyid == PrivateKey.from_ed25519_seed(bytes([1]) * 32).keyid
    assert data.offline_targets_key is not None
    assert data.offline_targets_key.keyid == PrivateKey.from_ed25519_seed(bytes([5]) * 32).keyid


def test_offline_targets_variant_is_rotate_targets() -> None:
    data = build_factory("acme", now=NOW, random_bytes=seeded_random(4), offline_targets=True)
    assert [r.version for r in data.ci_roots] == [1, 2]
    assert [r.version for r in data.prod_roots] == [1, 2]
    ci, prod = data.ci_roots[1], data.prod_roots[1]
    assert data.offline_targets_key is not None
    expected_ids = (data.online_keys["targets"].keyid, data.offline_targets_key.keyid)
    assert ci.meta.roles["targets"].keyids == expected_ids
    assert prod.meta.roles["targets"].keyids == expected_ids
    assert ci.meta.roles["targets"].threshold == 1
    assert prod.meta.roles["targets"].threshold == 2
    assert pair_differences(ci.meta, prod.meta) == []
    for chain in (data.ci_roots, data.prod_roots):
        verify_root_update(chain[0], chain[1], NOW)
        assert [s.keyid for s in chain[1].signatures] == [data.root_keyid]
    names = set(data.archive.files)
    assert f"tufrepo/keys/fioctl-targets-{data.offline_targets_key.keyid}.sec" in names
    assert Root.from_bytes(data.archive.files["tufrepo/roles/root.json"]).version == 2


@pytest.mark.parametrize("name", ["", "Acme", "a/b", "..", "-acme", "a" * 64, "acme_1", "acme\n"])
def test_bad_factory_names_refused(name) -> None:
    with pytest.raises(UsageError, match="factory name"):
        build_factory(name, now=NOW, random_bytes=seeded_random(1))


# --- create-factory command --------------------------------------------------------------


def test_create_factory_outputs(tmp_path: Path) -> None:
    keys = tmp_path / "offline-creds.tgz"
    result = run(
        "sandbox", "create-factory", "--state-dir", str(tmp_path / "st"), "--factory", "acme",
        "--keys-out", str(keys), "--token", "secret-token-1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    archive = KeysArchive.from_bytes(keys.read_bytes())
    assert list(archive.files) == [
        "tufrepo/keys/first-root.pub",
        "tufrepo/keys/first-root.sec",
        "tufrepo/roles/root.json",
    ]
    (entry,) = archive.entries
    assert entry.base == "tufrepo/keys/first-root"
    assert entry.private is not None
    state = SandboxState(tmp_path / "st")
    ci = state.root("acme", False)
    assert ci is not None
    assert ci.meta.roles["root"].keyids == (entry.keyid,)
    assert [k for k, _, _ in archive.signers_for(ci.meta, "root")] == [entry.keyid]
    copy = archive.files["tufrepo/roles/root.json"]
    assert copy.endswith(b"\n") and b'\n  "signed"' in copy  # pretty JSON
    assert Root.from_bytes(copy).to_dict() == ci.to_dict()
    assert state.info("acme").token == "secret-token-1"
    assert "factory:       acme" in result.output
    assert "server token:  secret-token-1" in result.output
    assert f"root key id:   {entry.keyid} (ED25519)" in result.output
    private_value = json.loads(archive.files["tufrepo/keys/first-root.sec"])["keyval"]["private"]
    assert private_value not in result.output
    online = json.loads((tmp_path / "st/factories/acme/online-keys.json").read_text())
    assert all(v["keyval"]["private"] not in result.output for v in online.values())


def test_state_files_are_private(sandbox_state) -> None:
    folder = sandbox_state.state_dir / "factories" / "acme"
    for path in folder.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert not list(folder.parent.glob(".new-*"))


def test_create_factory_refuses_to_overwrite_keys(tmp_path: Path) -> None:
    keys = tmp_path / "offline-creds.tgz"
    keys.write_bytes(b"precious")
    result = run(
        "sandbox", "create-factory", "--state-dir", str(tmp_path / "st"), "--factory", "acme", "--keys-out", str(keys)
    )
    assert isinstance(result.exception, UsageError)
    assert "refusing to overwrite" in result.exception.message
    assert keys.read_bytes() == b"precious"
    assert SandboxState(tmp_path / "st").factory_names() == []


def test_create_factory_refuses_existing_factory(sandbox_state, tmp_path: Path) -> None:
    keys = tmp_path / "second.tgz"
    with pytest.raises(UsageError, match="already exists"):
        provision_factory(sandbox_state.state_dir, "acme", keys)
    assert not keys.exists()
    assert SandboxState(sandbox_state.state_dir).info("acme").token == sandbox_state.token


def test_failed_tarball_write_removes_the_factory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        provision_factory(tmp_path / "st", "acme", tmp_path / "missing-dir" / "k.tgz")
    assert SandboxState(tmp_path / "st").factory_names() == []


def test_create_factory_offline_targets(tmp_path: Path) -> None:
    keys = tmp_path / "k.tgz"
    result = run(
        "sandbox", "create-factory", "--state-dir", str(tmp_path / "st"), "--factory", "acme",
        "--keys-out", str(keys), "--offline-targets",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    state = SandboxState(tmp_path / "st")
    assert state.root_versions("acme", False) == [1, 2]
    prod = state.root("acme", True)
    ci = state.root("acme", False)
    assert prod is not None and ci is not None
    assert prod.meta.roles["targets"].threshold == 2
    assert ci.meta.roles["targets"].threshold == 1
    archive = KeysArchive.from_bytes(keys.read_bytes())
    targets_entries = [e for e in archive.entries if e.base.startswith("tufrepo/keys/fioctl-targets-")]
    assert len(targets_entries) == 1
    assert targets_entries[0].base == f"tufrepo/keys/fioctl-targets-{targets_entries[0].keyid}"
    assert targets_entries[0].keyid in prod.meta.roles["targets"].keyids
    assert len(archive.signers_for(prod.meta, "targets")) == 1  # the online key stays on the server
    assert "targets key:" in result.output and "CI v2, production v2" in result.output


def test_create_factory_rsa(tmp_path: Path) -> None:
    keys = tmp_path / "k.tgz"
    result = run(
        "sandbox", "create-factory", "--state-dir", str(tmp_path / "st"), "--factory", "acme",
        "--keys-out", str(keys), "--key-type", "rsa", "--rsa-bits", "2048",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ci = SandboxState(tmp_path / "st").root("acme", False)
    assert ci is not None
    (root_key,) = ci.meta.role_keys("root").values()
    assert root_key.kind == RSA and root_key.bits == 2048
    assert [s.method for s in ci.signatures] == ["rsassa-pss-sha256"]
    assert verify_self_signed(ci).met


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--key-type", "ECDSA"], "--key-type"),
        (["--key-type", "RSA", "--rsa-bits", "1024"], "--rsa-bits"),
        (["--token", "has space"], "printable ASCII"),
    ],
)
def test_create_factory_bad_options(tmp_path: Path, extra, fragment) -> None:
    result = run(
        "sandbox", "create-factory", "--state-dir", str(tmp_path / "st"), "--factory", "acme",
        "--keys-out", str(tmp_path / "k.tgz"), *extra,
    )  # fmt: skip
    assert isinstance(result.exception, UsageError)
    assert fragment in result.exception.message
    assert not (tmp_path / "k.tgz").exists()


def test_faults_command(sandbox_state) -> None:
    result = run("sandbox", "faults", "--state-dir", str(sandbox_state.state_dir), "--fail-prod-uploads", "3")
    assert result.exit_code == 0
    assert result.output == "fail_prod_uploads: 3\n"
    assert SandboxState(sandbox_state.state_dir).faults() == {"fail_prod_uploads": 3}
    result = run("sandbox", "faults", "--state-dir", str(sandbox_state.state_dir))
    assert result.output == "fail_prod_uploads: 3\n"
