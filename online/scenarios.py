"""Rehearsal scenarios by name (``tuf-online rehearse --scenario NAME``).

Each scenario is a function (workdir, key type) -> (CI root, production root) that runs a
complete rehearsal; add one by adding it to ``SCENARIOS``.

``full``: rotate-root, rotate-targets, then a wave (CI build, waves init, appliance init-wave
with a targets-only tarball, post, rollout, complete).  ``root-only``: rotate-root alone.
``waves``: a factory that already has an offline targets key, and the wave alone.

``officers``: three officers, each with a station, an appliance and a tarball of their own, take
the factory from one root key to 2-of-3 and then rotate one officer out, through root updates
transactions (``online.rehearsal_officers``).

``token``: the offline root and targets keys live on two PKCS#11 tokens (SoftHSM2 here).
Every key follows the paper-first backup story: made on the appliance, printed, read back
from the sheet, then loaded into both tokens and removed from the tarball; every later
signature by a root or offline targets key is made inside a token after a PIN (the wave's
too: init-wave, then sign-targets once more on the posted wave).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from appliance.core.errors import AirgapError
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root

from .rehearsal import Rehearsal
from .softhsm import SoftHsm, make_softhsm

Scenario = Callable[[Path, str], tuple[Root, Root]]
TOKENS = ("tuf-officer-a", "tuf-officer-b")
PIN_FD_COMMANDS = frozenset(
    {"rotate-root", "rotate-targets", "sign-targets", "init-wave", "resign-root", "resign-targets", "move"}
)


def full(workdir: Path, key_type: str) -> tuple[Root, Root]:
    return Rehearsal(workdir, key_type=key_type).run()


def root_only(workdir: Path, key_type: str) -> tuple[Root, Root]:
    return Rehearsal(workdir, key_type=key_type, with_targets=False).run()


def waves(workdir: Path, key_type: str) -> tuple[Root, Root]:
    """A factory that already has an offline targets key: CI build, waves init, appliance init-wave
    (targets-only tarball), post, rollout, complete."""
    return Rehearsal(workdir, key_type=key_type, rotations=False).run()


def token_appliance(hsm: SoftHsm) -> Callable[[Sequence[str]], None]:
    """Run ``tuf-appliance`` as its own process that sees the SoftHSM tokens; commands that log
    in to tokens get the PIN over an inherited pipe (``--pin-fd``), never in argv or environment."""

    def run(args: Sequence[str]) -> None:
        argv = list(args)
        read_fd = write_fd = None
        if PIN_FD_COMMANDS & set(argv[:2]):
            read_fd, write_fd = os.pipe()
            os.write(write_fd, (hsm.pin + "\n").encode() * len(TOKENS))
            os.close(write_fd)
            argv += ["--pin-fd", str(read_fd)]
        try:
            result = subprocess.run(
                [sys.executable, "-m", "appliance", *argv],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                env=hsm.env(),
                pass_fds=(read_fd,) if read_fd is not None else (),
                timeout=600,
            )
        finally:
            if read_fd is not None:
                os.close(read_fd)
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            raise AirgapError(f"appliance step {' '.join(argv[:2])} failed with exit code {result.returncode}")

    return run


def move_to_tokens(run: Callable[[Sequence[str]], None], rehearsal: Rehearsal, keyid: str) -> None:
    """Paper first: print the key's backup, read it back, then load it into both tokens."""
    sheet = rehearsal.workdir / f"backup-{keyid[:16]}.txt"
    keys, home = str(rehearsal.keys), str(rehearsal.appliance_home)
    run(["backup", "print", "--keys", keys, "--key-id", keyid, "--out", str(sheet), "--factory", rehearsal.factory])
    record = rehearsal.workdir / f"custody-{keyid[:16]}.txt"
    tokens = [arg for label in TOKENS for arg in ("--token", label)]
    run(
        ["token", "move", "--keys", keys, "--key-id", keyid, *tokens, "--backup-typed", str(sheet)]
        + ["--home", home, "--record-out", str(record), "--yes"]
    )


def token(workdir: Path, key_type: str, hsm: SoftHsm | None = None) -> tuple[Root, Root]:
    """``hsm``: SoftHSM2 already holding TOKENS (default: a new one in ``workdir``)."""
    hsm = hsm or make_softhsm(workdir / "softhsm", TOKENS)
    run = token_appliance(hsm)
    rehearsal = Rehearsal(workdir, key_type=key_type, appliance=run, sign_again=True)

    def current_root() -> Root:
        return Root.from_bytes(KeysArchive.from_bytes(rehearsal.keys.read_bytes()).files["tufrepo/roles/root.json"])

    def after(what: str) -> None:
        if what == "paired":  # the factory's first root key
            move_to_tokens(run, rehearsal, current_root().meta.roles["root"].keyids[0])
        elif what == "rotate-root":
            move_to_tokens(run, rehearsal, current_root().meta.roles["root"].keyids[0])
        elif what == "rotate-targets":
            move_to_tokens(run, rehearsal, current_root().meta.roles["targets"].keyids[-1])

    rehearsal.after = after
    return rehearsal.run()


def expiry(workdir: Path, key_type: str) -> tuple[Root, Root]:
    """Roots and production targets expiring in 10 days: flagged, re-signed, chains checked."""
    from .rehearsal_expiry import ExpiryRehearsal

    return ExpiryRehearsal(workdir, key_type=key_type).run()


def officers(workdir: Path, key_type: str) -> tuple[Root, Root]:
    """Three officers go from one root key to 2-of-3, then rotate one officer out (transactions)."""
    from .rehearsal_officers import OfficersRehearsal

    return OfficersRehearsal(workdir, key_type=key_type).run()


SCENARIOS: dict[str, Scenario] = {
    "full": full,
    "root-only": root_only,
    "waves": waves,
    "token": token,
    "expiry": expiry,
    "officers": officers,
}
