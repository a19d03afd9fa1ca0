"""A root rotation under the 'require backup read-back' policy finishes only after the paper backup checks out."""

from __future__ import annotations

from pathlib import Path

from appliance.core.bundle import open_response
from appliance.core.identity import PeerKey
from appliance.core.keysarchive import KeysArchive
from tests.helpers_ceremony import make_bench, make_factory, operation_args, rotate_request, run, write_keys


def test_response_waits_for_the_backup_of_the_new_key(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    home, station, stick = bench.home, bench.station, bench.stick
    assert run("appliance", "policy", "--home", str(home), "--require-backup-readback").returncode == 0
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    req, data = rotate_request(factory, station)
    (stick / "req.json").write_bytes(data)
    args = [*operation_args("rotate-root", home, keys, stick / "req.json", stick), "--yes"]

    pending = run("appliance", *args)
    assert pending.returncode == 10, pending.stderr
    assert "response is withheld until its paper backup is read back" in pending.stderr
    assert not list(stick.glob("response-*"))
    stored = KeysArchive.from_bytes(keys.read_bytes())
    new_ids = [e.keyid for e in stored.entries if e.base.startswith("tufrepo/keys/fioctl-root-")]
    assert len(new_ids) == 1

    # A good backup of the wrong key (the old first-root key) does not release the response.
    v1 = tmp_path / "v1.json"
    v1.write_bytes(factory.ci[0].to_bytes())
    old_sheet = tmp_path / "old.txt"
    printed = run("appliance", "backup", "print", "--keys", str(keys), "--root", str(v1), "--out", str(old_sheet))
    assert printed.returncode == 0, printed.stderr
    wrong = run("appliance", *args, "--backup-typed", str(old_sheet))
    assert wrong.returncode == 4, wrong.stderr
    assert f"not {new_ids[0][:16]}" in wrong.stderr
    assert not list(stick.glob("response-*"))

    sheet = tmp_path / "sheet.txt"
    made = run("appliance", "backup", "print", "--keys", str(keys), "--out", str(sheet))
    assert made.returncode == 0, made.stderr
    tampered = tmp_path / "tampered.txt"
    lines = sheet.read_text().splitlines()
    body = next(i for i, line in enumerate(lines) if line[:2].strip().isdigit())
    chars = list(lines[body])
    position = len(chars) - 12
    chars[position] = "A" if chars[position] != "A" else "B"
    lines[body] = "".join(chars)
    tampered.write_text("\n".join(lines) + "\n")
    refused = run("appliance", *args, "--backup-typed", str(tampered))
    assert refused.returncode != 0 and not list(stick.glob("response-*"))

    done = run("appliance", *args, "--backup-typed", str(sheet))
    assert done.returncode == 0, done.stderr
    assert "read back and verified" in done.stdout
    response = open_response(
        (stick / f"response-{req.request_id}.json").read_bytes(),
        PeerKey.from_bytes((home / "identity.pub").read_bytes()),
    )
    assert response.result["new_keys"][0]["keyid"] == new_ids[0]  # the stored key was reused
