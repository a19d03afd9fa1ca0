"""Command groups of ``tuf-online``; each module exposes ``register(app)``."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer

from appliance.common.cliframe import Registrar, registrar

MODULES: tuple[str, ...] = (
    "identity",
    "exchange",
    "rehearse",
    "sandbox",
    "showroot",
    "waves",
    "expiry",
    "updates",
    "downloadroots",
)

# Top-level command name -> the module that registers it (checked against MODULES by a test).
COMMANDS = {
    "init": "identity",
    "pair": "identity",
    "whoami": "identity",
    "import": "exchange",
    "export": "exchange",
    "rehearse": "rehearse",
    "sandbox": "sandbox",
    "show-root": "showroot",
    "waves": "waves",
    "expiry": "expiry",
    "updates": "updates",
    "download-roots": "downloadroots",
}


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)


def register_for(argv: Sequence[str]) -> Registrar:
    """Only the module of the command ``argv`` names (all of them for help or an unknown name)."""
    return registrar(__name__, MODULES, COMMANDS, argv)
