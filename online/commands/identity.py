"""``tuf-online init | pair | whoami`` (same implementation as the appliance's)."""

from __future__ import annotations

import typer

from appliance.common.identitycli import register_for


def register(app: typer.Typer) -> None:
    register_for(app, "station")
