"""``tuf-appliance policy``: ceremony rules the security officer sets once per appliance."""

from __future__ import annotations

from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP


def register(app: typer.Typer) -> None:
    app.command("policy")(policy)


def policy(
    require_backup_readback: bool | None = typer.Option(
        None,
        "--require-backup-readback/--no-require-backup-readback",
        help="Root rotations withhold their response until the new key's paper backup is read back "
        "(on for a new appliance; turning it off is recorded in the transcript).",
    ),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Show the appliance's ceremony policy, or change it (each change is recorded in the transcript)."""
    from datetime import UTC, datetime

    from ..common.home import Home, default_home
    from ..common.plaintext import plain_console
    from ..shell.transcriptlog import append_record

    place = Home(home or default_home("appliance"), "appliance")
    identity = place.identity()  # policy belongs to an initialised appliance
    out = plain_console()
    before = place.readback_required()
    if require_backup_readback is not None and require_backup_readback != before:
        from ..common.lock import hold_home

        hold_home(place.path, "tuf-appliance policy")
        current = place.policy()
        current["require_backup_readback"] = require_backup_readback
        place.set_policy(current)
        record = {"operation": "policy", "require_backup_readback": require_backup_readback}
        seal = append_record(place, identity, record, datetime.now(UTC).replace(microsecond=0))
        out.print(f"policy changed and recorded in the transcript; seal: {seal}")
        if not require_backup_readback:
            out.print("from now on a root rotation answers without reading the new key's paper backup back")
    out.print(f"require backup read-back: {'yes' if place.readback_required() else 'no (turned off by the officer)'}")
