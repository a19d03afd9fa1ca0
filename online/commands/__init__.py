"""Command groups of ``tuf-online``; each module exposes ``register(app)``."""

from __future__ import annotations

import importlib

import typer

MODULES: tuple[str, ...] = ("identity", "exchange", "rehearse", "sandbox", "showroot", "waves", "expiry", "updates")


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)
