"""Kill the appliance (and the station's import) at every durable-write step, then look at the disk.

Crash points are ``<label>:written|synced|renamed|verified`` inside write_durable plus
``state:in-progress``; with TUF_AIRGAP_CRASH_AT=<point> the process exits 137 there.
A traced run lists the points a ceremony passes through (it must be exactly the
table below), and each point is then hit in its own work tree.  After every crash:
the tarball is the old one byte for byte or a complete new one holding the new key,
no response names a key the tarball does not hold, leftover temp files with key
material are private, and re-running the same request finishes with the same key.
Appliance runs use the pre-imported fork server of test_hostile_corpus (a real child
process per run); the station's import also runs as a plain ``python -m online``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appliance.common.home import Home
from appliance.core.bundle import make_request, open_response, seal
from appliance.core.identity import Identity
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.rootpair import RootPair, same_metadata
from appliance.core.rotation import verify_new_pair
from appliance.core.transcript import verify_transcript
from appliance.shell.ceremony import ROOT_COPY
from tests.e2e.test_hostile_corpus import ForkServer, Result, clean_env, run_subprocess
from tests.helpers_ceremony import NOW, Factory, make_factory

STATION = Identity("station", "fault-station", bytes([0x53]) * 32)
APPLIANCE = Identity("appliance", "fault-appliance", bytes([0xA3]) * 32)
REQUEST_ID = bytes([0x5A]) * 16
CRASH_ENV = "TUF_AIRGAP_CRASH_AT"

# In the order a ceremony passes them (later repeats of a point, such as the final state save,
# cannot be addressed separately: a crash point fires on its first occurrence).
CEREMONY_POINTS = [
    "pending-time:written",
    "pending-time:synced",
    "pending-time:renamed",
    "pending-time:verified",
    "pending-key:written",
    "pending-key:synced",
    "pending-key:renamed",
    "pending-key:verified",
    "state:written",
    "state:synced",
    "state:renamed",
    "state:verified",
    "state:in-progress",
    "tarball:written",
    "tarball:synced",
    "tarball:renamed",
    "tarball:verified",
    "response:written",
    "response:synced",
    "response:renamed",
    "response:verified",
    "transcript:written",
    "transcript:synced",
    "transcript:renamed",
    "transcript:verified",
]
IMPORT_POINTS = [
    "import-progress:written",
    "import-progress:synced",
    "import-progress:renamed",
    "import-progress:verified",
    "import:ci-uploaded",
]
OPERATIONS = {"rotate-root": "root", "rotate-targets": "targets"}
KEY_MARKERS = (b'"private"', b"PRIVATE KEY", b"tuf-airgap-identity-secret")


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    server = ForkServer(tmp_path_factory.mktemp("fork-io"))
    try:
        yield server
    finally:
        server.close()


# --- an appliance work tree ---------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    root: Path
    operation: str
    factory: Factory

    @property
    def home(self) -> Path:
        return self.root / "appliance-home"

    @property
    def keys(self) -> Path:
        return self.root / "offline-creds.tgz"

    @property
    def stick(self) -> Path:
        return self.root / "stick"

    @property
    def request(self) -> Path:
        return self.stick / "request.json"

    @property
    def response(self) -> Path:
        return self.stick / f"response-{REQUEST_ID.hex()}.json"

    @property
    def role(self) -> str:
        return OPERATIONS[self.operation]

    def args(self) -> list[str]:
        return [
            self.operation,
            "--home",
            str(self.home),
            "--keys",
            str(self.keys),
            "--request",
            str(self.request),
            "--out",
            str(self.stick),
            "--yes",
        ]


def request_bytes(operation: str, factory: Factory) -> bytes:
    payload = {"ci_roots": [r.to_dict() for r in factory.ci], "prod_roots": [r.to_dict() for r in factory.prod]}
    if operation == "rotate-targets":
        payload |= {"online_targets_key": factory.online["targets"].public_key.to_dict(), "production_targets": {}}
    request = make_request(
        factory="acme",
        operation=operation,
        parameters={"key_type": "ED25519", "changelog": "fault injection"},
        payload=payload,
        sequence=1,
        now=NOW,
        random_bytes=lambda n: REQUEST_ID[:n],
    )
    return seal(request.body(), STATION)


def make_tree(root: Path, operation: str) -> Tree:
    tree = Tree(root, operation, make_factory())
    home = Home(tree.home, "appliance")
    home.create(APPLIANCE)
    home.pin(STATION.peer)
    home.set_policy({"require_backup_readback": False})  # these runs are about crashes, not backups
    tree.keys.write_bytes(tree.factory.archive.to_bytes(mtime=0))
    tree.keys.chmod(0o600)
    tree.stick.mkdir()
    tree.request.write_bytes(request_bytes(operation, tree.factory))
    return tree


def snapshot(*roots: Path) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode)
    return out


@dataclass(frozen=True)
class TempFile:
    path: Path
    data: bytes
    mode: int


def temp_files(root: Path) -> list[TempFile]:
    return [TempFile(p, p.read_bytes(), p.stat().st_mode) for p in sorted(root.rglob(".*.tmp-*"))]


def check_temp_files(temps: list[TempFile]) -> None:
    """Leftover temp files may exist after a crash; any holding key material must be 0600."""
    for temp in temps:
        data = temp.data
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            pass
        if any(marker in data for marker in KEY_MARKERS):
            assert temp.mode & 0o077 == 0, f"{temp.path} holds key material with mode {temp.mode:o}"


def check_one_line_error(result: Result, code: int) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    assert result.returncode == code, result.stderr


# --- the appliance ------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_ceremony_passes_exactly_the_known_crash_points(operation: str, forks: ForkServer, tmp_path: Path) -> None:
    tree = make_tree(tmp_path, operation)
    trace = tmp_path / "trace"
    result = forks.run("appliance", *tree.args(), trace=trace)
    assert result.returncode == 0, result.stderr
    passed = list(dict.fromkeys(trace.read_text().split()))
    assert passed == CEREMONY_POINTS
    assert {"tarball:renamed", "response:renamed"} <= set(passed)


@dataclass
class Disk:
    """What a crashed or finished run left behind."""

    tarball: bytes
    tarball_mode: int
    state: dict[str, Any]
    responses: dict[str, bytes]
    transcript: bytes | None
    temps: list[TempFile]

    @classmethod
    def read(cls, tree: Tree) -> Disk:
        home = Home(tree.home, "appliance")
        return cls(
            tree.keys.read_bytes(),
            tree.keys.stat().st_mode,
            home.load_state(),
            {p.name: p.read_bytes() for p in tree.stick.glob("response-*.json")},
            home.transcript.read_bytes() if home.transcript.exists() else None,
            temp_files(tree.root),
        )

    def new_keyids(self, role: str) -> list[str]:
        archive = KeysArchive.from_bytes(self.tarball)
        return [e.keyid for e in archive.entries if e.base.startswith(f"tufrepo/keys/fioctl-{role}-")]


@dataclass
class CrashRun:
    tree: Tree
    old_tarball: bytes
    crashed: Result
    after_crash: Disk
    resumed: Result
    after_resume: Disk


def crash_and_resume(operation: str, point: str, root: Path, forks: ForkServer) -> CrashRun:
    tree = make_tree(root, operation)
    old = tree.keys.read_bytes()
    crashed = forks.run("appliance", *tree.args(), env=clean_env(**{CRASH_ENV: point}))
    after_crash = Disk.read(tree)
    resumed = forks.run("appliance", *tree.args())
    return CrashRun(tree, old, crashed, after_crash, resumed, Disk.read(tree))


MATRIX = [(operation, point) for operation in OPERATIONS for point in CEREMONY_POINTS]


@pytest.fixture(scope="module")
def crash_runs(forks: ForkServer, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], CrashRun]:
    """Every (operation, crash point) scenario, run as many at a time as there are CPUs."""
    base = tmp_path_factory.mktemp("crashes")

    def one(job: tuple[str, str]) -> CrashRun:
        operation, point = job
        return crash_and_resume(operation, point, base / f"{operation}-{point.replace(':', '-')}", forks)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        return dict(zip(MATRIX, pool.map(one, MATRIX), strict=True))


@pytest.mark.parametrize(("operation", "point"), MATRIX, ids=[f"{o}@{p}" for o, p in MATRIX])
def test_crash_leaves_old_or_complete_new_tarball_and_resumes(
    operation: str, point: str, crash_runs: dict[tuple[str, str], CrashRun]
) -> None:
    run = crash_runs[operation, point]
    tree, disk = run.tree, run.after_crash
    assert run.crashed.returncode == 137, f"crash point {point} was not reached: {run.crashed.stderr}"

    # The tarball is the old one byte for byte, or a complete new one holding the recorded new key.
    stored_key: str | None = None
    if CEREMONY_POINTS.index(point) >= CEREMONY_POINTS.index("tarball:renamed"):
        archive = KeysArchive.from_bytes(disk.tarball)
        record = disk.state.get("in_progress", {}).get(REQUEST_ID.hex())
        assert record is not None
        stored_key = record["new_keyid"]
        assert disk.new_keyids(tree.role) == [stored_key]
        assert any(e.keyid == stored_key and e.private is not None for e in archive.entries)
        for name, content in KeysArchive.from_bytes(run.old_tarball).files.items():
            assert name == ROOT_COPY or archive.files[name] == content, f"{name} changed"
    else:
        assert disk.tarball == run.old_tarball
    assert disk.tarball_mode & 0o777 == 0o600
    # A response exists only once it is complete, and names only keys the tarball holds.
    written = CEREMONY_POINTS.index(point) >= CEREMONY_POINTS.index("response:renamed")
    assert set(disk.responses) == ({tree.response.name} if written else set())
    stored = {e.keyid for e in KeysArchive.from_bytes(disk.tarball).entries if e.private is not None}
    for name, data in disk.responses.items():
        for entry in open_response(data, APPLIANCE.peer).result["new_keys"]:
            assert entry["keyid"] in stored, f"{name} names key {entry['keyid'][:16]} that the tarball lacks"
    check_temp_files(disk.temps)

    # Re-running the same request finishes the ceremony with the key already stored.
    assert run.resumed.returncode == 0, run.resumed.stderr
    final = run.after_resume
    response = open_response(final.responses[tree.response.name], APPLIANCE.peer)
    new_keyid = response.result["new_keys"][0]["keyid"]
    assert final.new_keyids(tree.role) == [new_keyid]  # one new key, never a second one
    if stored_key is not None:
        assert new_keyid == stored_key
    assert response.result["tarball_sha256"] == hashlib.sha256(final.tarball).hexdigest()
    new = RootPair(Root.from_dict(response.result["ci_root"]), Root.from_dict(response.result["prod_root"]))
    verify_new_pair(RootPair(tree.factory.ci[-1], tree.factory.prod[-1]), new, NOW)
    assert not final.state.get("in_progress")
    assert final.state["stations"][STATION.peer.fingerprint]["last_sequence"] == 1
    assert final.transcript is not None
    verify_transcript(final.transcript, APPLIANCE.peer)
    check_temp_files(final.temps)


@pytest.mark.parametrize(
    ("operation", "point"),
    [pytest.param(o, p) for o, p in MATRIX],
    ids=[f"{o}@{p}" for o, p in MATRIX],
)
def test_resumed_ceremony_is_recorded_once_in_the_transcript(
    operation: str, point: str, crash_runs: dict[tuple[str, str], CrashRun]
) -> None:
    final = crash_runs[operation, point].after_resume
    assert final.transcript is not None
    records, _ = verify_transcript(final.transcript, APPLIANCE.peer)
    assert [r["request_id"] for r in records] == [REQUEST_ID.hex()]


def _truncation_offsets() -> list[int]:
    length = len(request_bytes("rotate-root", make_factory()))
    # The file ends in "}\n": cutting only the newline leaves valid JSON, so cut at most length - 2.
    return sorted({0, 1, length // 2, length - 2, *random.Random(7).sample(range(length - 1), 6)})


@pytest.mark.parametrize("offset", _truncation_offsets())
def test_truncated_request_on_the_stick_is_refused_and_changes_nothing(
    offset: int, forks: ForkServer, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path, "rotate-root")
    tree.request.write_bytes(tree.request.read_bytes()[:offset])
    before = snapshot(tree.root)
    result = forks.run("appliance", *tree.args())
    check_one_line_error(result, 7)
    assert "not valid JSON" in result.stderr
    assert snapshot(tree.root) == before


# --- the station's import ----------------------------------------------------------------------------


@dataclass
class Online:
    url: str
    state: Path
    token_file: Path
    station_home: Path
    response: Path
    server: object

    def import_args(self) -> list[str]:
        return [
            "import",
            str(self.response),
            "--server",
            self.url,
            "--token-file",
            str(self.token_file),
            "--home",
            str(self.station_home),
            "--direct",  # the crash points below are those of the two direct uploads
        ]

    def versions(self) -> tuple[int, int]:
        roots = self.served()
        return roots[0].version, roots[1].version

    def served(self) -> tuple[Root, Root]:
        from online.config import make_client

        client = make_client(self.url, None, self.token_file, "acme")
        return Root.from_bytes(client.get_root()), Root.from_bytes(client.get_root(production=True))

    def expected(self) -> tuple[Root, Root]:
        result = open_response(self.response.read_bytes(), APPLIANCE.peer).result
        return Root.from_dict(result["ci_root"]), Root.from_dict(result["prod_root"])


@pytest.fixture()
def online(tmp_path: Path, forks: ForkServer) -> Iterator[Online]:
    """A sandbox factory served on loopback, a request exported from it and answered by the appliance."""
    from appliance.core.operations import RotateRootRequest
    from appliance.core.rotation import RotationParameters
    from online.config import ConnectionOptions
    from online.exporting import export_request
    from online.sandbox.provision import provision_factory
    from online.sandbox.server import SandboxServer
    from tests.conftest import seeded_random

    keys = tmp_path / "offline-creds.tgz"
    made = provision_factory(tmp_path / "state", "acme", keys, random_bytes=seeded_random(5))
    token_file = tmp_path / "token"
    token_file.write_text(made.token)
    station_home, appliance_home = Home(tmp_path / "station", "station"), Home(tmp_path / "appliance", "appliance")
    station_home.create(STATION)
    station_home.pin(APPLIANCE.peer)
    appliance_home.create(APPLIANCE)
    appliance_home.pin(STATION.peer)
    appliance_home.set_policy({"require_backup_readback": False})  # not about backups
    stick = tmp_path / "stick"
    stick.mkdir()
    with SandboxServer(tmp_path / "state") as server:
        params = RotationParameters.from_dict({"key_type": "ED25519", "changelog": "fault injection"})
        request = export_request(
            lambda client: RotateRootRequest(params),
            out=stick,
            connection=ConnectionOptions(server=server.url, factory="acme", token_file=token_file),
            home=station_home.path,
        )
        answered = forks.run(
            "appliance",
            "rotate-root",
            "--home",
            str(appliance_home.path),
            "--keys",
            str(keys),
            "--request",
            str(request),
            "--out",
            str(stick),
            "--yes",
        )
        assert answered.returncode == 0, answered.stderr
        response = stick / request.name.replace("request-", "response-")
        yield Online(server.url, tmp_path / "state", token_file, station_home.path, response, server)


def _finish_and_check_idempotent(online: Online, run: Callable[[], Result]) -> None:
    resumed = run()
    assert resumed.returncode == 0, resumed.stderr
    assert online.versions() == (2, 2)
    served, expected = online.served(), online.expected()
    assert same_metadata(served[0], expected[0]) and same_metadata(served[1], expected[1])
    before = snapshot(online.state, online.station_home)
    again = run()
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert snapshot(online.state, online.station_home) == before


def test_import_killed_between_ci_and_production_upload_resumes(online: Online) -> None:
    """The station as operators run it: `python -m online import`, killed after the CI upload."""
    killed = run_subprocess("online", *online.import_args(), env=clean_env(**{CRASH_ENV: "import:ci-uploaded"}))
    assert killed.returncode == 137, killed.stderr
    assert online.versions() == (2, 1)
    _finish_and_check_idempotent(online, lambda: run_subprocess("online", *online.import_args()))


def test_an_import_passes_exactly_the_known_crash_points(online: Online, forks: ForkServer, tmp_path: Path) -> None:
    trace = tmp_path / "import-trace"
    result = forks.run("online", *online.import_args(), trace=trace)
    assert result.returncode == 0, result.stderr
    assert list(dict.fromkeys(trace.read_text().split())) == IMPORT_POINTS


@pytest.mark.parametrize("point", IMPORT_POINTS)
def test_import_killed_at_any_point_resumes(point: str, online: Online, forks: ForkServer) -> None:
    killed = forks.run("online", *online.import_args(), env=clean_env(**{CRASH_ENV: point}))
    assert killed.returncode == 137, killed.stderr
    assert online.versions() == (2, 1)  # every import crash point lies after the CI upload
    check_temp_files(temp_files(online.station_home))
    _finish_and_check_idempotent(online, lambda: forks.run("online", *online.import_args()))
