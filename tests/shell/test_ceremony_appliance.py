"""The appliance half of rotate-root, driven through the real CLI with hand-built requests."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from appliance.common.home import Home
from appliance.core.bundle import PRIVATE_MARKERS, check_binding, open_request, open_response
from appliance.core.identity import Identity
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.rootpair import RootPair
from appliance.core.rotation import verify_new_pair
from tests.helpers_ceremony import (
    NOW,
    make_bench,
    make_factory,
    rotate_request,
    run_operation,
    seeded,
    write_keys,
)


@pytest.fixture()
def setup(tmp_path: Path):
    bench = make_bench(tmp_path)
    factory = make_factory()
    keys = write_keys(tmp_path / "offline-creds.tgz", factory.archive)
    return bench.home, bench.station, factory, keys, bench.stick, bench.appliance_pub


def _rotate(home: Path, keys: Path, request: Path, stick: Path):
    return run_operation("rotate-root", home, keys, request, stick, "--yes")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rotate_root_happy_path(setup, tmp_path: Path) -> None:
    home, station, factory, keys, stick, appliance_pub = setup
    req, data = rotate_request(factory, station)
    request_path = stick / "request.json"
    request_path.write_bytes(data)
    result = _rotate(home, keys, request_path, stick)
    assert result.returncode == 0, result.stderr
    response_path = stick / f"response-{req.request_id}.json"
    raw = response_path.read_bytes()
    for marker in PRIVATE_MARKERS:
        assert marker not in raw.decode()
    response = open_response(raw, appliance_pub)
    check_binding(response, open_request(data, station.peer))
    new = RootPair(Root.from_dict(response.result["ci_root"]), Root.from_dict(response.result["prod_root"]))
    verify_new_pair(RootPair(factory.ci[-1], factory.prod[-1]), new, NOW)
    new_id = response.result["new_keys"][0]["keyid"]
    assert new.ci.meta.roles["root"].keyids == (new_id,)
    assert factory.root_key.keyid in new.ci.meta.keys  # the old root key stays: it signed this version
    assert {s.keyid for s in new.ci.signatures} == {factory.root_key.keyid, new_id}
    assert new.ci.meta.extra["x-changelog"]["message"] == "scheduled rotation"
    # The tarball now holds the new key under fioctl's name, durably and privately.
    assert keys.stat().st_mode & 0o777 == 0o600
    archive = KeysArchive.from_bytes(keys.read_bytes())
    assert f"tufrepo/keys/fioctl-root-{new_id}.sec" in archive.files
    assert "tufrepo/keys/first-root.sec" in archive.files
    assert archive.signers_for(new.ci.meta, "root")[0][0] == new_id
    assert response.result["tarball_sha256"] == _digest(keys)
    assert json.loads(archive.files["tufrepo/roles/root.json"])["signed"]["version"] == 2


def test_replayed_request_is_refused_and_changes_nothing(setup) -> None:
    home, station, factory, keys, stick, _ = setup
    _, data = rotate_request(factory, station)
    request_path = stick / "request.json"
    request_path.write_bytes(data)
    assert _rotate(home, keys, request_path, stick).returncode == 0
    before = _digest(keys)
    again = _rotate(home, keys, request_path, stick)
    assert again.returncode == 7
    assert "already answered by this appliance (replayed request)" in again.stderr
    assert _digest(keys) == before


@pytest.mark.parametrize(
    ("defect", "code", "fragment"),
    [
        ("flipped-byte", 7, "signature does not verify"),
        ("truncated", 7, "not valid JSON"),
        ("foreign-station", 7, "not by the pinned station"),
        ("wrong-operation", 7, "not rotate-root"),
    ],
)
def test_bad_requests_change_nothing(setup, defect: str, code: int, fragment: str) -> None:
    home, station, factory, keys, stick, _ = setup
    _, data = rotate_request(factory, station)
    if defect == "flipped-byte":
        data = data.replace(b"scheduled rotation", b"scheduled rotatioN")
    elif defect == "truncated":
        data = data[: len(data) // 2]
    elif defect == "foreign-station":
        _, data = rotate_request(factory, Identity("station", "evil", os.urandom(32)))
    elif defect == "wrong-operation":
        _, data = rotate_request(factory, station, operation="rotate-targets")
    request_path = stick / "request.json"
    request_path.write_bytes(data)
    before = _digest(keys)
    state_before = (home / "state.json").read_bytes() if (home / "state.json").exists() else None
    result = _rotate(home, keys, request_path, stick)
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert _digest(keys) == before
    assert not list(stick.glob("response-*"))
    assert ((home / "state.json").read_bytes() if (home / "state.json").exists() else None) == state_before


def test_tarball_without_the_root_key_is_refused(setup, tmp_path: Path) -> None:
    home, station, factory, keys, stick, _ = setup
    other = make_factory(root_key=seeded(9))  # a tarball from another factory: different root key
    keys.write_bytes(other.archive.to_bytes(mtime=0))
    _, data = rotate_request(factory, station)
    request_path = stick / "request.json"
    request_path.write_bytes(data)
    before = _digest(keys)
    result = _rotate(home, keys, request_path, stick)
    assert result.returncode == 5
    assert "holds 0 of the 1 root private key(s)" in result.stderr
    assert _digest(keys) == before


def test_crash_after_tarball_resumes_with_the_same_key(setup) -> None:
    home, station, factory, keys, stick, appliance_pub = setup
    req, data = rotate_request(factory, station)
    request_path = stick / "request.json"
    request_path.write_bytes(data)
    crashed = run_operation(
        "rotate-root", home, keys, request_path, stick, "--yes", env={"TUF_AIRGAP_CRASH_AT": "tarball:verified"}
    )
    assert crashed.returncode == 137
    assert not list(stick.glob("response-*"))
    stored = KeysArchive.from_bytes(keys.read_bytes())
    new_ids = [e.keyid for e in stored.entries if e.base.startswith("tufrepo/keys/fioctl-root-")]
    assert len(new_ids) == 1
    resumed = _rotate(home, keys, request_path, stick)
    assert resumed.returncode == 0, resumed.stderr
    response = open_response((stick / f"response-{req.request_id}.json").read_bytes(), appliance_pub)
    assert response.result["new_keys"][0]["keyid"] == new_ids[0]
    assert (
        len(
            [
                e
                for e in KeysArchive.from_bytes(keys.read_bytes()).entries
                if e.base.startswith("tufrepo/keys/fioctl-root-")
            ]
        )
        == 1
    )


def test_second_ceremony_needs_history_consistent_with_the_first(setup) -> None:
    home, station, factory, keys, stick, _ = setup
    _, data = rotate_request(factory, station)
    (stick / "r1.json").write_bytes(data)
    assert _rotate(home, keys, stick / "r1.json", stick).returncode == 0
    # A server presenting a different v1 (forked history) is refused on the next ceremony.
    forged = make_factory(root_key=seeded(7))
    _, data2 = rotate_request(forged, station, sequence=2)
    (stick / "r2.json").write_bytes(data2)
    result = _rotate(home, keys, stick / "r2.json", stick)
    assert result.returncode == 4
    assert "forked history" in result.stderr
    state = Home(home, "appliance").load_state()
    assert state["stations"][station.peer.fingerprint]["last_sequence"] == 1
