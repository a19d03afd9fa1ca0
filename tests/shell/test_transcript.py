"""The sealed ceremony transcript: appended by every ceremony, verified link by link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.core.errors import VerificationError
from appliance.core.identity import Identity, PeerKey
from appliance.core.transcript import GENESIS, entry_digest, entry_line, seal_entry, verify_transcript
from tests.helpers_ceremony import make_bench, make_factory, rotate_request, run, run_operation, write_keys

APPLIANCE = Identity("appliance", "a", bytes([5]) * 32)


def _chain(n: int) -> bytes:
    data, prev = b"", GENESIS
    for i in range(n):
        entry = seal_entry(prev, {"n": i}, APPLIANCE)
        data += entry_line(entry)
        prev = entry_digest(entry)
    return data


def test_chain_verifies_and_seal_is_last_digest() -> None:
    records, seal = verify_transcript(_chain(3), APPLIANCE.peer)
    assert [r["n"] for r in records] == [0, 1, 2]
    last = json.loads(_chain(3).splitlines()[-1])
    assert seal == entry_digest(last)
    assert verify_transcript(b"", APPLIANCE.peer) == ([], GENESIS)


@pytest.mark.parametrize(
    ("tamper", "fragment"),
    [
        (lambda lines: [lines[0], lines[2]], "chain broken"),  # a record removed
        (lambda lines: [lines[1], lines[0], lines[2]], "chain broken"),  # reordered
        (lambda lines: [lines[0], lines[1].replace(b'"n":1', b'"n":7'), lines[2]], "not signed by this appliance"),
        (lambda lines: [lines[0], lines[1][:-5], lines[2]], "not valid JSON"),
    ],
)
def test_tampering_is_detected(tamper, fragment: str) -> None:
    lines = _chain(3).splitlines()
    with pytest.raises(VerificationError, match=fragment):
        verify_transcript(b"\n".join(tamper(lines)) + b"\n", APPLIANCE.peer)


def test_other_appliance_cannot_extend() -> None:
    data = _chain(2)
    _, seal = verify_transcript(data, APPLIANCE.peer)
    forged = data + entry_line(seal_entry(seal, {"n": 2}, Identity("appliance", "b", bytes([6]) * 32)))
    with pytest.raises(VerificationError, match="line 3 is not signed"):
        verify_transcript(forged, APPLIANCE.peer)


def test_ceremonies_append_to_the_transcript(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    home, station = bench.home, bench.station
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    req, data = rotate_request(factory, station)
    (tmp_path / "req.json").write_bytes(data)
    done = run_operation("rotate-root", home, keys, tmp_path / "req.json", tmp_path, "--yes")
    assert done.returncode == 0, done.stderr
    assert "transcript seal and its words:" in done.stdout
    shown = run("appliance", "transcript", "--home", str(home))
    assert shown.returncode == 0, shown.stderr
    assert "1 entries, all links and signatures verified" in shown.stdout
    records, seal = verify_transcript(
        (home / "transcript.jsonl").read_bytes(), PeerKey.from_bytes((home / "identity.pub").read_bytes())
    )
    assert records[0]["request_id"] == req.request_id and records[0]["operation"] == "rotate-root"
    assert seal in shown.stdout and seal in done.stdout
    (home / "transcript.jsonl").write_bytes(
        (home / "transcript.jsonl").read_bytes().replace(b"rotate-root", b"rotate-ROOT")
    )
    broken = run("appliance", "transcript", "--home", str(home))
    assert broken.returncode == 4 and "not signed by this appliance" in broken.stderr
