"""``tuf-appliance token`` and ceremonies with token keys, as processes against SoftHSM2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.verify import verify_root_update
from online.softhsm import SoftHsm
from tests.helpers_ceremony import NOW, make_bench, make_factory, operation_args, rotate_request, seeded, write_keys
from tests.helpers_token import appliance

pytestmark = pytest.mark.softhsm


def _setup(tmp_path: Path, hsm: SoftHsm, seed: int):  # type: ignore[no-untyped-def]
    key = seeded(seed)
    factory = make_factory(key)
    bench = make_bench(tmp_path)
    keys = write_keys(tmp_path / "offline-creds.tgz", factory.archive)
    sheet = tmp_path / "sheet.txt"
    out = appliance(hsm, "backup", "print", "--keys", str(keys), "--key-id", key.keyid, "--out", str(sheet))
    assert out.returncode == 0, out.stderr
    return key, factory, bench, keys, sheet


def _move(hsm: SoftHsm, keys: Path, key_id: str, *extra: str, pins: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return appliance(hsm, "token", "move", "--keys", str(keys), "--key-id", key_id, "--yes", *extra, pins=pins)


def test_move_needs_the_read_back_backup_the_pin_and_the_token(softhsm: SoftHsm, tmp_path: Path) -> None:
    key, _, bench, keys, sheet = _setup(tmp_path, softhsm, 61)
    before = keys.read_bytes()
    home = ("--home", str(bench.home))

    no_backup = _move(softhsm, keys, key.keyid[:8], "--token", "tuf-c", *home, pins=(softhsm.pin,))
    assert no_backup.returncode == 10 and "paper backup was read back" in no_backup.stderr
    other = tmp_path / "other.txt"
    k2 = write_keys(tmp_path / "k2.tgz", make_factory(seeded(62)).archive)
    assert (
        appliance(
            softhsm, "backup", "print", "--keys", str(k2), "--key-id", seeded(62).keyid, "--out", str(other)
        ).returncode
        == 0
    )
    wrong_sheet = _move(
        softhsm, keys, key.keyid[:8], "--token", "tuf-c", "--backup-typed", str(other), *home, pins=(softhsm.pin,)
    )
    assert wrong_sheet.returncode != 0 and "not" in wrong_sheet.stderr
    typed = ("--backup-typed", str(sheet))
    wrong_pin = _move(softhsm, keys, key.keyid[:8], "--token", "tuf-c", *typed, *home, pins=("999999",))
    assert wrong_pin.returncode == 11 and "refused the PIN" in wrong_pin.stderr, wrong_pin.stderr
    missing = _move(softhsm, keys, key.keyid[:8], "--token", "tuf-nowhere", *typed, *home, pins=(softhsm.pin,))
    assert missing.returncode == 11 and "no token with label 'tuf-nowhere'" in missing.stderr
    no_pin = _move(softhsm, keys, key.keyid[:8], "--token", "tuf-c", *typed, *home)
    assert no_pin.returncode == 11 and "must be typed at a terminal" in no_pin.stderr
    assert keys.read_bytes() == before  # nothing changed by any refusal

    record = tmp_path / "custody.txt"
    ok = _move(
        softhsm,
        keys,
        key.keyid[:8],
        "--token",
        "tuf-c",
        "--token",
        "tuf-a",
        *typed,
        *home,
        "--record-out",
        str(record),
        pins=(softhsm.pin, softhsm.pin),
    )
    assert ok.returncode == 0, ok.stderr
    archive = KeysArchive.from_bytes(keys.read_bytes())
    assert "tufrepo/keys/first-root.sec" not in archive.files
    assert "tufrepo/keys/first-root.pub" in archive.files
    ref = json.loads(archive.files["tufrepo/keys/first-root.p11"])
    assert ref["keyid"] == key.keyid and [u.split(";")[0] for u in ref["uris"]] == [
        "pkcs11:token=tuf-c",
        "pkcs11:token=tuf-a",
    ]
    assert "backup:   paper backup read back, then loaded into hardware token(s)" in record.read_text()
    transcript = [json.loads(line)["record"] for line in (bench.home / "transcript.jsonl").read_text().splitlines()]
    assert transcript[-1]["operation"] == "token-move" and transcript[-1]["keyid"] == key.keyid
    assert [t["label"] for t in transcript[-1]["tokens"]] == ["tuf-c", "tuf-a"]
    listed = appliance(softhsm, "token", "list")
    assert listed.returncode == 0 and key.keyid in listed.stdout and "tuf-c" in listed.stdout
    # A second move of the same key finds no private key left in the tarball.
    again = _move(softhsm, keys, key.keyid[:8], "--token", "tuf-b", *typed, *home, pins=(softhsm.pin,))
    assert again.returncode == 5 and "holds no private key" in again.stderr


def test_rotate_root_signs_with_the_token_key_and_refuses_a_wrong_pin(softhsm: SoftHsm, tmp_path: Path) -> None:
    key, factory, bench, keys, sheet = _setup(tmp_path, softhsm, 63)
    moved = _move(
        softhsm,
        keys,
        key.keyid,
        "--token",
        "tuf-b",
        "--backup-typed",
        str(sheet),
        "--home",
        str(bench.home),
        pins=(softhsm.pin,),
    )
    assert moved.returncode == 0, moved.stderr
    _, bundle = rotate_request(factory, bench.station)
    request = tmp_path / "request.json"
    request.write_bytes(bundle)
    before = keys.read_bytes()
    args = operation_args("rotate-root", bench.home, keys, request, bench.stick)
    wrong = appliance(softhsm, *args, "--yes", pins=("000000",))
    assert wrong.returncode == 11 and "refused the PIN" in wrong.stderr
    assert keys.read_bytes() == before and not list(bench.stick.iterdir())
    ok = appliance(softhsm, *args, "--yes", pins=(softhsm.pin,))
    assert ok.returncode == 0, ok.stderr
    assert "root key " + key.keyid[:16] + " signs on token 'tuf-b'" in " ".join(ok.stdout.split())
    response = json.loads(next(bench.stick.iterdir()).read_text())["bundle"]["result"]
    new_ci = Root.from_dict(response["ci_root"])
    verify_root_update(factory.ci[-1], new_ci, NOW)
    assert key.keyid in {s.keyid for s in new_ci.signatures}
    assert "tufrepo/keys/first-root.p11" in KeysArchive.from_bytes(keys.read_bytes()).files


def test_generate_on_token_records_the_key_without_a_backup(softhsm: SoftHsm, tmp_path: Path) -> None:
    factory = make_factory(seeded(64))
    bench = make_bench(tmp_path)
    keys = write_keys(tmp_path / "offline-creds.tgz", factory.archive)
    record = tmp_path / "custody.txt"
    args = ["token", "generate", "--keys", str(keys), "--token", "tuf-gen", "--role", "root", "--home", str(bench.home)]
    made = appliance(softhsm, *args, "--record-out", str(record), pins=(softhsm.pin,))
    assert made.returncode == 0, made.stderr
    archive = KeysArchive.from_bytes(keys.read_bytes())
    [entry] = [e for e in archive.entries if e.token is not None]
    assert entry.private is None and entry.base.startswith("tufrepo/keys/fioctl-root-")
    assert "generated on the token; no copy exists anywhere else" in record.read_text()
    assert "has no backup" in made.stdout
    listed = appliance(softhsm, "token", "list")
    assert entry.keyid in listed.stdout
    bad = appliance(softhsm, *args, "--key-type", "DSA", pins=(softhsm.pin,))
    assert bad.returncode == 2
