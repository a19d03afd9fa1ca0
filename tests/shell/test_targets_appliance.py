"""rotate-targets, sign-targets and copy-targets on the appliance, with hand-built requests."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pytest

from appliance.core.bundle import make_request, open_response, seal
from appliance.core.errors import KeyMissingError, VerificationError
from appliance.core.identity import Identity
from appliance.core.keys import SignatureEntry
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, Root
from appliance.core.rootpair import RootPair
from appliance.core.rotation import RotationParameters, plan_targets_rotation, verify_new_pair
from appliance.core.targets import add_signatures, check_production_targets, offline_targets_signers
from appliance.core.timefmt import format_expires
from tests.helpers_ceremony import NOW, Factory, make_bench, make_factory, run, run_operation, seeded, write_keys


def wave_targets(factory: Factory, *, version: int = 5, signer_seed: int | None = None) -> Envelope:
    signed = {
        "_type": "Targets",
        "version": version,
        "expires": format_expires(NOW + timedelta(days=30)),
        "targets": {
            f"raspberrypi4-64-lmp-{version}": {
                "hashes": {"sha256": "ab" * 32},
                "length": 0,
                "custom": {
                    "name": "raspberrypi4-64-lmp",
                    "version": str(version),
                    "hardwareIds": ["raspberrypi4-64"],
                    "tags": ["production"],
                },
            }
        },
    }
    envelope = Envelope(signed, ())
    online = factory.online["targets"] if signer_seed is None else seeded(signer_seed)
    return add_signatures(envelope, [online.sign(envelope.signed_bytes())])


@pytest.fixture()
def ceremony(tmp_path: Path):
    bench = make_bench(tmp_path)
    return bench.home, bench.station, bench.stick, bench.appliance_pub


def _request(factory: Factory, station: Identity, operation: str, parameters: dict, extra: dict, sequence: int = 1):
    payload = {"ci_roots": [r.to_dict() for r in factory.ci], "prod_roots": [r.to_dict() for r in factory.prod]}
    req = make_request(
        factory="acme",
        operation=operation,
        parameters=parameters,
        payload=payload | extra,
        sequence=sequence,
        now=NOW,
        random_bytes=os.urandom,
    )
    return req, seal(req.body(), station)


def _sign(home: Path, station: Identity, stick: Path, factory: Factory, envelope: Envelope, keys: Path):
    """Run the appliance's sign-targets on a request for wave w1 carrying ``envelope``."""
    _, data = _request(
        factory,
        station,
        "sign-targets",
        {"wave": "w1"},
        {
            "online_targets_key": factory.online["targets"].public_key.to_dict(),
            "wave": {"name": "w1", "targets": envelope.to_dict()},
        },
    )
    (stick / "req.json").write_bytes(data)
    return run_operation("sign-targets", home, keys, stick / "req.json", stick, "--yes")


def _write_keys(tmp_path: Path, archive: KeysArchive) -> Path:
    return write_keys(tmp_path / "offline-creds.tgz", archive)


@pytest.mark.parametrize("existing_offline", [False, True], ids=["first-offline-key", "replace-offline-key"])
def test_rotate_targets(ceremony, tmp_path: Path, existing_offline: bool) -> None:
    home, station, stick, appliance_pub = ceremony
    factory = make_factory(offline_targets=seeded(20) if existing_offline else None)
    keys = _write_keys(tmp_path, factory.archive)
    prod_targets = {"production": wave_targets(factory).to_dict()} if existing_offline else {}
    req, data = _request(
        factory,
        station,
        "rotate-targets",
        {"key_type": "ED25519", "changelog": ""},
        {"online_targets_key": factory.online["targets"].public_key.to_dict(), "production_targets": prod_targets},
    )
    (stick / "req.json").write_bytes(data)
    result = run_operation("rotate-targets", home, keys, stick / "req.json", stick, "--yes")
    assert result.returncode == 0, result.stderr
    response = open_response((stick / f"response-{req.request_id}.json").read_bytes(), appliance_pub)
    new = RootPair(Root.from_dict(response.result["ci_root"]), Root.from_dict(response.result["prod_root"]))
    verify_new_pair(RootPair(factory.ci[-1], factory.prod[-1]), new, NOW)
    new_id = response.result["new_keys"][0]["keyid"]
    online_id = factory.online["targets"].keyid
    assert new.ci.meta.roles["targets"].keyids == (online_id, new_id)
    assert new.ci.meta.roles["targets"].threshold == 1
    assert new.prod.meta.roles["targets"].threshold == 2
    assert seeded(20).keyid not in new.ci.meta.keys  # a replaced offline key leaves the root
    assert {s.keyid for s in new.ci.signatures} == {factory.root_key.keyid}
    assert new.ci.meta.extra["x-changelog"]["message"] == "Targets role key rotation"
    archive = KeysArchive.from_bytes(keys.read_bytes())
    assert f"tufrepo/keys/fioctl-targets-{new_id}.sec" in archive.files
    if existing_offline:
        # The re-signed production targets meet the new production threshold with the online signature.
        sigs = [SignatureEntry.from_dict(s) for s in new.ci.envelope.extra["targets-signatures"]["production"]]
        targets = add_signatures(Envelope.from_dict(prod_targets["production"]), sigs)
        assert check_production_targets(targets, new.prod).count == 2


def test_production_threshold_stays_reachable_across_two_rotations() -> None:
    factory = make_factory(offline_targets=seeded(20))
    current = RootPair(factory.ci[-1], factory.prod[-1])
    params = RotationParameters("ED25519", "", None)
    first = plan_targets_rotation(
        current, factory.archive, seeded(21), params, NOW, factory.online["targets"].public_key, {}
    )
    second = plan_targets_rotation(
        first.new, factory.archive, seeded(22), params, NOW, factory.online["targets"].public_key, {}
    )
    role = second.new.prod.meta.roles["targets"]
    assert role.keyids == (factory.online["targets"].keyid, seeded(22).keyid) and role.threshold == 2


def test_sign_targets_with_targets_only_tarball(ceremony, tmp_path: Path) -> None:
    home, station, stick, appliance_pub = ceremony
    factory = make_factory(offline_targets=seeded(20))
    full = _write_keys(tmp_path, factory.archive)
    only = tmp_path / "targets-only.tgz"
    assert run("appliance", "copy-targets", str(full), str(only)).returncode == 0
    envelope = wave_targets(factory)
    req, data = _request(
        factory,
        station,
        "sign-targets",
        {"wave": "w1"},
        {
            "online_targets_key": factory.online["targets"].public_key.to_dict(),
            "wave": {"name": "w1", "version": "5", "tag": "production", "targets": envelope.to_dict()},
        },
    )
    (stick / "req.json").write_bytes(data)
    before = hashlib.sha256(only.read_bytes()).hexdigest()
    result = run_operation("sign-targets", home, only, stick / "req.json", stick, "--yes")
    assert result.returncode == 0, result.stderr
    assert "raspberrypi4-64-lmp-5" in result.stdout and "raspberrypi4-64" in result.stdout
    digest = hashlib.sha256(envelope.signed_bytes()).hexdigest()
    assert f"\n           {digest}\n" in result.stdout  # in the summary above the prompt, whole
    prod = factory.prod[-1]
    assert f"production root that will check these signatures: v{prod.version}" in result.stdout
    assert "current CI root" not in result.stdout
    assert f"production root v{prod.version}: 2 of 2 signatures after this" in result.stdout
    assert hashlib.sha256(only.read_bytes()).hexdigest() == before  # signing never rewrites the tarball
    response = open_response((stick / f"response-{req.request_id}.json").read_bytes(), appliance_pub)
    sigs = [SignatureEntry.from_dict(s) for s in response.result["signatures"]]
    assert [s.keyid for s in sigs] == [seeded(20).keyid]
    assert check_production_targets(add_signatures(envelope, sigs), factory.prod[-1]).count == 2


def test_one_of_two_signatures_is_refused() -> None:
    factory = make_factory(offline_targets=seeded(20))
    with pytest.raises(VerificationError, match="1 of 2"):
        check_production_targets(wave_targets(factory), factory.prod[-1])


def test_targets_key_from_another_factory_is_refused(ceremony, tmp_path: Path) -> None:
    home, station, stick, _ = ceremony
    factory = make_factory(offline_targets=seeded(20))
    stranger = make_factory(root_key=seeded(30), offline_targets=seeded(31))
    keys = _write_keys(tmp_path, stranger.archive)
    envelope = wave_targets(factory)
    result = _sign(home, station, stick, factory, envelope, keys)
    assert result.returncode == 5
    assert "holds no private key of the targets role" in result.stderr
    assert not list(stick.glob("response-*"))
    with pytest.raises(KeyMissingError):
        offline_targets_signers(factory.prod[-1], stranger.archive)


def test_wave_not_signed_online_is_refused(ceremony, tmp_path: Path) -> None:
    home, station, stick, _ = ceremony
    factory = make_factory(offline_targets=seeded(20))
    keys = _write_keys(tmp_path, factory.archive)
    envelope = wave_targets(factory, signer_seed=40)  # signed by a key that is not the online key
    result = _sign(home, station, stick, factory, envelope, keys)
    assert result.returncode == 4
    assert "not signed by the factory's online targets key" in result.stderr


def test_copy_targets_holds_no_root_key_and_cannot_rotate_root(ceremony, tmp_path: Path) -> None:
    home, station, stick, _ = ceremony
    factory = make_factory(offline_targets=seeded(20))
    full = _write_keys(tmp_path, factory.archive)
    only = tmp_path / "targets-only.tgz"
    result = run("appliance", "copy-targets", str(full), str(only))
    assert result.returncode == 0, result.stderr
    assert only.stat().st_mode & 0o777 == 0o600
    archive = KeysArchive.from_bytes(only.read_bytes())
    assert sorted(archive.files) == [f"tufrepo/keys/fioctl-targets-{seeded(20).keyid}.{s}" for s in ("pub", "sec")]
    assert archive.signers_for(factory.ci[-1].meta, "root") == []
    assert archive.signers_for(factory.ci[-1].meta, "targets")[0][0] == seeded(20).keyid
    again = run("appliance", "copy-targets", str(full), str(only))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    from tests.helpers_ceremony import rotate_request

    _, data = rotate_request(factory, station)
    (stick / "req.json").write_bytes(data)
    refused = run_operation("rotate-root", home, only, stick / "req.json", stick, "--yes")
    assert refused.returncode == 5 and "root private key" in refused.stderr
