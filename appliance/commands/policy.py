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
        help="Root rotations withhold their response until the new key's paper backup is read back.",
    ),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Show the appliance's ceremony policy, or change it."""
    from ..common.home import Home, default_home
    from ..common.plaintext import plain_console

    place = Home(home or default_home("appliance"), "appliance")
    place.identity()  # policy belongs to an initialised appliance
    current = place.policy()
    if require_backup_readback is not None:
        from ..common.lock import hold_home

        hold_home(place.path, "tuf-appliance policy")
        current = place.policy()
        current["require_backup_readback"] = require_backup_readback
        place.set_policy(current)
    plain_console().print(f"require backup read-back: {'yes' if current.get('require_backup_readback') else 'no'}")
