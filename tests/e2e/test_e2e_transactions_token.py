"""An officer's root key on a PKCS#11 token signs a staged root (SoftHSM2; appliances as processes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from appliance.core.keysarchive import KeysArchive
from online.commands import updates as cli
from online.rehearsal_officers import OfficersRehearsal
from online.sandbox.server import SandboxServer
from online.softhsm import SoftHsm
from tests.helpers_token import appliance

pytestmark = pytest.mark.softhsm

TOKEN = "tuf-b"


def test_root_key_on_a_token_signs_the_staged_root(softhsm: SoftHsm, tmp_path: Path) -> None:
    pin_runs: list[Sequence[str]] = []
    with_pin = {("token", "move"), ("updates", "sign")}

    def run(args: Sequence[str]) -> None:
        argv = list(args)
        pins = (softhsm.pin,) if tuple(argv[:2]) in with_pin and "--no-pin" not in argv else ()
        argv = [a for a in argv if a != "--no-pin"]
        done = appliance(softhsm, *argv, pins=pins)
        pin_runs.append(argv)
        if done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}: {done.stderr}")

    r = OfficersRehearsal(tmp_path / "work", appliance=run)
    a, _, _ = r.prepare()
    with SandboxServer(r.state_dir) as server:
        r.url = server.url
        first_root = r.roots(a)[0].meta.roles["root"].keyids[0]
        sheet = tmp_path / "sheet.txt"
        run(["backup", "print", "--keys", str(a.keys), "--key-id", first_root, "--out", str(sheet)])
        run(
            ["token", "move", "--keys", str(a.keys), "--key-id", first_root, "--token", TOKEN]
            + ["--backup-typed", str(sheet), "--home", str(a.appliance_home), "--yes"]
        )
        archive = KeysArchive.from_bytes(a.keys.read_bytes())
        (entry,) = [e for e in archive.entries if e.keyid == first_root]
        assert entry.private is None and entry.token is not None  # only a reference is left in the tarball

        r.start(a, "sign on the token", [])
        # without the PIN the appliance refuses (exit 11, token) and writes nothing
        stick_before = set(r.stick.iterdir())
        with pytest.raises(AssertionError, match="exit 11"):
            cli.export_sign(out=r.stick, **r._conn(a))
            (request,) = set(r.stick.glob("request-*.json")) - stick_before
            run(
                ["updates", "sign", "--home", str(a.appliance_home), "--keys", str(a.keys), "--no-pin"]
                + ["--request", str(request), "--out", str(r.stick), "--yes"]
            )
        assert not list(r.stick.glob("response-*.json"))

        r.change(a, "sign", cli.export_sign)
        r.apply(a)
        ci, prod = r.roots(a)
    assert ci.version == prod.version == 2
    assert first_root in {s.keyid for s in ci.signatures} and first_root in {s.keyid for s in prod.signatures}
