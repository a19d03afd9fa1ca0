"""Operator-facing behaviour of the appliance: pairing required, typed confirmation, golden errors."""

from __future__ import annotations

import hashlib
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_ceremony import make_bench, make_factory, operation_args, pair, rotate_request, run, write_keys


@pytest.fixture()
def prepared(tmp_path: Path):
    bench = make_bench(tmp_path, paired=False)
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    req, data = rotate_request(factory, bench.station)
    (bench.stick / "request.json").write_bytes(data)
    return bench.home, bench.station_pub, keys, bench.stick, req


def _args(home: Path, keys: Path, stick: Path) -> list[str]:
    return operation_args("rotate-root", home, keys, stick / "request.json", stick)


def test_unpaired_appliance_refuses_golden(prepared) -> None:
    home, _, keys, stick, _ = prepared
    result = run("appliance", *_args(home, keys, stick), "--yes")
    assert result.returncode == 7
    assert result.stderr == (
        "error: no online station key is pinned\nhint: Pair first: run 'pair' with the other side's .pub file.\n"
    )


def test_no_terminal_and_no_yes_aborts_golden(prepared) -> None:
    home, station_pub, keys, stick, _ = prepared
    pair("appliance", home, station_pub)
    before = hashlib.sha256(keys.read_bytes()).hexdigest()
    result = run("appliance", *_args(home, keys, stick))
    assert result.returncode == 9
    assert result.stderr == (
        "error: confirmation needs an interactive terminal\n"
        "hint: Run it at the terminal, or pass --yes for scripted runs.\n"
    )
    assert hashlib.sha256(keys.read_bytes()).hexdigest() == before
    assert not list(stick.glob("response-*"))


def _interactive(args: list[str], answer: str) -> tuple[int, str]:
    """Run the appliance on a pseudo-terminal, answer the confirmation prompt, return (exit code, output)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(follower)
    output = b""
    answered = False
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"to continue:" in output:
            os.write(leader, answer.encode() + b"\n")
            answered = True
    os.close(leader)
    return proc.wait(timeout=30), output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code"), [("rotate-root acme", 0), ("yes", 9), ("rotate-root acm", 9)])
def test_typed_confirmation(prepared, answer: str, code: int) -> None:
    home, station_pub, keys, stick, req = prepared
    pair("appliance", home, station_pub)
    before = hashlib.sha256(keys.read_bytes()).hexdigest()
    returncode, output = _interactive(_args(home, keys, stick), answer)
    assert "Type 'rotate-root acme' to continue:" in output
    assert "read aloud:" in output and "changes to the CI root" in output
    assert returncode == code, output
    if code == 0:
        assert (stick / f"response-{req.request_id}.json").exists()
    else:
        assert "confirmation did not match; nothing was changed" in output
        assert hashlib.sha256(keys.read_bytes()).hexdigest() == before
        assert not list(stick.glob("response-*"))
