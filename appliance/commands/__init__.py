"""Command groups of ``tuf-appliance``; each module exposes ``register(app)``."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer

from ..common.cliframe import Registrar, registrar

# Module names under appliance.commands; each defines register(app: typer.Typer) -> None.
MODULES = (
    "inspect",
    "backup",
    "identity",
    "rotate_root",
    "targets",
    "waves",
    "transcript",
    "policy",
    "token",
    "resign",
    "updates",
    "script",
)

# Top-level command name -> the module that registers it (checked against MODULES by a test).
COMMANDS = {
    "keys": "inspect",
    "backup": "backup",
    "init": "identity",
    "pair": "identity",
    "whoami": "identity",
    "rotate-root": "rotate_root",
    "rotate-targets": "targets",
    "sign-targets": "waves",
    "init-wave": "waves",
    "copy-targets": "targets",
    "transcript": "transcript",
    "policy": "policy",
    "token": "token",
    "resign-root": "resign",
    "resign-targets": "resign",
    "updates": "updates",
    "script": "script",
}


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)


def register_for(argv: Sequence[str]) -> Registrar:
    """Only the module of the command ``argv`` names (all of them for help or an unknown name)."""
    return registrar(__name__, MODULES, COMMANDS, argv)
