"""``tuf-appliance init | pair | whoami``."""

from __future__ import annotations

import typer

from ..common.identitycli import register_for


def register(app: typer.Typer) -> None:
    register_for(app, "appliance")
