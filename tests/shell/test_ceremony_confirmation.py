"""Operator-facing behaviour of the appliance: pairing required, typed confirmation, golden errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers_ceremony import make_bench, make_factory, operation_args, pair, rotate_request, run, write_keys
from tests.helpers_screen import Screen, run_on_terminal


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


def _interactive(args: list[str], *answers: str) -> Screen:
    """Run the appliance on an 80x24 pseudo-terminal, answering each confirmation prompt in turn."""
    return run_on_terminal(args, [("to continue", a) for a in answers], pager="")


@pytest.mark.parametrize(
    ("answers", "code"),
    [(("rotate-root acme",), 0), (("yes", "rotate-root acm", "rotate-root acme"), 0), (("yes", "no", "x"), 9)],
)
def test_typed_confirmation_three_tries(prepared, answers: tuple[str, ...], code: int) -> None:
    home, station_pub, keys, stick, req = prepared
    pair("appliance", home, station_pub)
    before = hashlib.sha256(keys.read_bytes()).hexdigest()
    screen = _interactive(_args(home, keys, stick), *answers)
    assert "Type 'rotate-root acme' to continue" in screen.output
    assert "read aloud" in screen.output and "changes to the CI root" in screen.output
    assert screen.returncode == code, screen.output
    assert len(screen.at_prompt) == len(answers)
    if len(answers) > 1:
        assert "(try 2 of 3)" in screen.output
    if code == 0:
        assert (stick / f"response-{req.request_id}.json").exists()
    else:
        assert "the confirmation did not match 3 times; nothing was changed" in screen.output
        assert "hint: Run the same command again: it shows the same request, new key and words." in screen.output
        assert hashlib.sha256(keys.read_bytes()).hexdigest() == before
        assert not list(stick.glob("response-*"))
