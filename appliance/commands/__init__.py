"""Command groups of ``tuf-appliance``; each module exposes ``register(app)``."""

from __future__ import annotations

import importlib

import typer

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


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)
