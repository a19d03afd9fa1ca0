"""Two ceremonies at once, a held or tampered lock, Ctrl-C, a symlinked tarball, request freshness.

Real processes throughout: a first run is held at its confirmation prompt on a
pseudo-terminal (it holds the locks from the moment it opens the request), and a second run
must refuse at once naming it.  Several runs started together must never leave a response
naming a key the tarball lacks (the root lockout of issue 12).
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.common import lock as lock_module
from appliance.core.bundle import open_response
from appliance.core.errors import ConcurrentRunError, DurabilityError
from appliance.core.keysarchive import KeysArchive
from tests.helpers_ceremony import make_bench, make_factory, operation_args, rotate_request, run, write_keys


@pytest.fixture()
def world(tmp_path: Path):
    bench = make_bench(tmp_path)
    factory = make_factory()
    keys = write_keys(tmp_path / "offline-creds.tgz", factory.archive)
    req, data = rotate_request(factory, bench.station)
    (bench.stick / "request.json").write_bytes(data)
    return bench, factory, keys, req


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class AtPrompt:
    """A rotate-root run on a pseudo-terminal, stopped at its typed confirmation."""

    def __init__(self, args: list[str]) -> None:
        self.leader, follower = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            close_fds=True,
            env={**os.environ, "COLUMNS": "200", "LINES": "500"},  # the whole review fits: no pager
        )
        os.close(follower)
        self.output = b""
        self.read_until(b"to continue:")

    def read_until(self, marker: bytes | None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while marker is None or marker not in self.output:
            ready, _, _ = select.select([self.leader], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                if marker is None:
                    return
                raise AssertionError(f"no {marker!r} in {self.output.decode(errors='replace')}")
            try:
                chunk = os.read(self.leader, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def finish(self, answer: str | None = None, interrupt: bool = False) -> tuple[int, str]:
        if interrupt:
            time.sleep(0.5)  # let it reach the read after printing the prompt
            self.proc.send_signal(signal.SIGINT)
        else:
            os.write(self.leader, (answer or "").encode() + b"\n")
        self.read_until(None, timeout=30)
        code = self.proc.wait(timeout=60)
        os.close(self.leader)
        return code, self.output.decode(errors="replace")


def test_second_run_refuses_at_once_naming_the_first(world) -> None:
    bench, _, keys, req = world
    args = operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick)
    first = AtPrompt(args)
    before = _digest(keys)
    second = run("appliance", *args, "--yes")
    assert second.returncode == ConcurrentRunError.exit_code == 13
    lines = second.stderr.splitlines()
    assert len(lines) == 2, second.stderr
    assert lines[0].startswith(f"error: the home {bench.home} is in use by another run (pid {first.proc.pid}, host ")
    assert "command tuf-appliance rotate-root, started 20" in lines[0]
    assert _digest(keys) == before and not list(bench.stick.glob("response-*"))
    code, output = first.finish("rotate-root acme")
    assert code == 0, output
    response = open_response((bench.stick / f"response-{req.request_id}.json").read_bytes(), bench.appliance_pub)
    held = {e.keyid for e in KeysArchive.from_bytes(keys.read_bytes()).entries if e.private}
    assert {k["keyid"] for k in response.result["new_keys"]} <= held
    assert not (bench.home / "lock").exists() and not (keys.parent / f".{keys.name}.lock").exists()


def test_ctrl_c_at_the_prompt_is_an_operator_abort(world) -> None:
    bench, _, keys, _ = world
    before = _digest(keys)
    first = AtPrompt(operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick))
    code, output = first.finish(interrupt=True)
    assert code == 9, output
    tail = output.split("to continue:", 1)[1]
    assert [line for line in tail.splitlines() if line.strip()] == [
        "error: interrupted by the operator; the operation stopped before completing"
    ]
    assert _digest(keys) == before and not list(bench.stick.glob("response-*"))


def test_runs_started_together_never_lose_a_named_key(world) -> None:
    bench, _, keys, _ = world
    args = [sys.executable, "-m", "appliance"]
    args += operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick)
    procs = [
        subprocess.Popen([*args, "--yes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes.count(0) == 1, results
    assert set(codes) <= {0, 7, 13}, results
    held = {e.keyid for e in KeysArchive.from_bytes(keys.read_bytes()).entries if e.private}
    for path in bench.stick.glob("response-*.json"):
        response = open_response(path.read_bytes(), bench.appliance_pub)
        assert {k["keyid"] for k in response.result["new_keys"]} <= held


def test_a_held_lock_names_its_holder_and_tampered_contents_are_shown_safely(world) -> None:
    bench, _, keys, _ = world
    args = operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick)
    held = lock_module.acquire(lock_module.lock_path_for_file(keys), "keys tarball", "test holder")
    try:
        refused = run("appliance", *args, "--yes")
        assert refused.returncode == 13, refused.stderr
        assert f"(pid {os.getpid()}, host " in refused.stderr and "command test holder" in refused.stderr
        # The holder's record is only shown: escapes stay visible, size stays bounded.
        hostile = {"pid": "\x1b[2J", "host": "h\u202e", "command": "c" * 3000, "started": "[bold]x[/]"}
        os.pwrite(held._fd, json.dumps(hostile).encode(), 0)  # type: ignore[arg-type]
        refused = run("appliance", *args, "--yes")
        assert refused.returncode == 13
        assert "pid \\x1b[2J" in refused.stderr and "h\\u202e" in refused.stderr and "[bold]x[/]" in refused.stderr
        assert "\x1b" not in refused.stderr and len(refused.stderr) < 2000
        os.pwrite(held._fd, b"\xff" * 10_000, 0)  # type: ignore[arg-type]
        refused = run("appliance", *args, "--yes")
        assert refused.returncode == 13 and "the lock file does not say" in refused.stderr
    finally:
        held.release()
    assert run("appliance", *args, "--yes").returncode == 0


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_a_lock_file_that_is_not_a_regular_file_is_refused(world, kind: str) -> None:
    bench, _, keys, _ = world
    target = bench.home / "lock"
    if kind == "symlink":
        target.symlink_to(keys)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    before = _digest(keys)
    refused = run(
        "appliance",
        *operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick),
        "--yes",
    )
    assert refused.returncode == 2, refused.stderr
    assert {"symlink": "is a symbolic link", "fifo": "is not a regular file", "directory": "is a directory"}[
        kind
    ] in refused.stderr
    assert _digest(keys) == before


def test_stale_lock_file_of_a_killed_run_does_not_block(world) -> None:
    bench, _, keys, _ = world
    (bench.home / "lock").write_text('{"pid": 1, "host": "gone", "command": "killed", "started": "then"}')
    result = run(
        "appliance",
        *operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick),
        "--yes",
    )
    assert result.returncode == 0, result.stderr


def test_keys_symlink_is_updated_at_its_real_file(world, tmp_path: Path) -> None:
    bench, _, keys, req = world
    link = tmp_path / "link-to-creds.tgz"
    link.symlink_to(keys)
    result = run(
        "appliance",
        *operation_args("rotate-root", bench.home, link, bench.stick / "request.json", bench.stick),
        "--yes",
    )
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(keys)
    response = open_response((bench.stick / f"response-{req.request_id}.json").read_bytes(), bench.appliance_pub)
    held = {e.keyid for e in KeysArchive.from_bytes(keys.read_bytes()).entries if e.private}
    assert {k["keyid"] for k in response.result["new_keys"]} <= held
    assert response.result["tarball_sha256"] == _digest(keys)


def test_response_path_planted_as_symlink_is_replaced_not_followed(world, tmp_path: Path) -> None:
    bench, _, keys, req = world
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    (bench.stick / f"response-{req.request_id}.json").symlink_to(outside)
    result = run(
        "appliance",
        *operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick),
        "--yes",
    )
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == "untouched"
    assert not (bench.stick / f"response-{req.request_id}.json").is_symlink()


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_request_that_is_a_fifo_or_directory_is_refused(world, kind: str) -> None:
    bench, _, keys, _ = world
    odd = bench.stick / "odd.json"
    os.mkfifo(odd) if kind == "fifo" else odd.mkdir()
    result = run("appliance", *operation_args("rotate-root", bench.home, keys, odd, bench.stick), "--yes")
    assert result.returncode == 2 and "is not a regular file" in result.stderr, result.stderr


def test_tarball_changed_behind_the_ceremony_withholds_the_response(world, monkeypatch, tmp_path: Path) -> None:
    """Fault: the tarball on disk is replaced after it was stored; the response must not be written."""
    from appliance.commands.rotate_root import rotate_root
    from appliance.shell.ceremony import Ceremony

    bench, _, keys, req = world
    original_bytes = keys.read_bytes()
    store = Ceremony.store_tarball

    def store_then_lose(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        data = store(self, *args, **kwargs)
        self.keys_path.write_bytes(original_bytes)  # another writer puts the old tarball back
        return data

    monkeypatch.setattr(Ceremony, "store_tarball", store_then_lose)
    try:
        with pytest.raises(DurabilityError, match="changed after this run stored it; no response was written"):
            rotate_root(
                keys=keys,
                request=bench.stick / "request.json",
                out=bench.stick,
                home=bench.home,
                yes=True,
                show_json=False,
                require_backup_readback=False,
                backup_scan=[],
                backup_typed=[],
                backup_shares=[],
                pin_fd=None,
                module=None,
                review_only=False,
                full_ids=False,
            )
    finally:
        lock_module.release_all()
    assert not (bench.stick / f"response-{req.request_id}.json").exists()


def test_request_exported_earlier_but_carried_later_is_superseded_not_a_replay(world) -> None:
    bench, factory, keys, _ = world
    older, older_data = rotate_request(factory, bench.station, sequence=3)
    newer, newer_data = rotate_request(factory, bench.station, sequence=4)
    (bench.stick / "older.json").write_bytes(older_data)
    (bench.stick / "newer.json").write_bytes(newer_data)
    done = run(
        "appliance", *operation_args("rotate-root", bench.home, keys, bench.stick / "newer.json", bench.stick), "--yes"
    )
    assert done.returncode == 0, done.stderr
    late = run(
        "appliance", *operation_args("rotate-root", bench.home, keys, bench.stick / "older.json", bench.stick), "--yes"
    )
    assert late.returncode == 7
    assert "replay" not in late.stderr
    assert "request sequence 3 (rotate-root, exported" in late.stderr
    assert "is superseded: this appliance already answered a newer rotate-root request (sequence 4)" in late.stderr
    assert "Export a fresh request" in late.stderr
