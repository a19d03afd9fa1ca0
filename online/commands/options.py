"""Command-line options shared by several tuf-online commands."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from appliance.common.optionset import Option, bind, parameters

from ..config import ENV_FACTORY, ENV_INSECURE_HTTP, ENV_SERVER, ENV_TOKEN, ConnectionOptions


def server_option() -> Any:
    return typer.Option(
        None, "--server", help=f"Factory API base URL, e.g. https://api.foundries.io [env {ENV_SERVER}]."
    )


def factory_option() -> Any:
    return typer.Option(None, "--factory", help=f"Factory name [env {ENV_FACTORY}].")


def token_option() -> Any:
    return typer.Option(
        None, "--token", help=f"API token (visible in the process list; prefer --token-file or {ENV_TOKEN})."
    )


def token_file_option() -> Any:
    return typer.Option(None, "--token-file", help="File holding the API token (one line).")


def insecure_http_option() -> Any:
    return typer.Option(
        False,
        "--insecure-http",
        help=f"Allow http:// to a non-loopback server (the token travels in clear) [env {ENV_INSECURE_HTTP}=1].",
    )


R = TypeVar("R")


def connection_options(*, factory: bool = True) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command ``--server``, ``--token``, ``--token-file``, ``--insecure-http`` (and ``--factory``)
    as one set.

    The decorated command declares a parameter ``connection: ConnectionOptions``; the
    options take its place in the command line and reach it as one value.
    """

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        options: list[Option] = [
            ("server", str | None, server_option()),
            ("token", str | None, token_option()),
            ("token_file", Path | None, token_file_option()),
            ("insecure_http", bool, insecure_http_option()),
        ]
        if factory:
            options.insert(0, ("factory", str | None, factory_option()))
        # --factory where the command puts its connection parameter, the rest before --home (or last).
        made = parameters(options)
        first, rest = (made[:1], made[1:]) if factory else ([], made)
        params: list[inspect.Parameter] = []
        for param in inspect.signature(command).parameters.values():
            if param.name == "connection":
                params += first
                continue
            if param.name == "home":
                params += rest
                rest = []
            params.append(param)
        params += rest
        return bind(command, param="connection", options=options, signature=params, build=ConnectionOptions)

    return decorate


def as_typed(*names: str) -> str:
    """The spelling of an option the operator used (``-m`` or ``--changelog``), for messages."""
    import sys

    for arg in sys.argv[1:]:
        for name in names:
            if arg == name or arg.startswith(name + "=") or (len(name) == 2 and arg.startswith(name) and arg != name):
                return name
    return names[0]


def rotation_options(key_type: str, changelog: str, validity_days: int | None) -> Any:
    """RotationParameters from the export options; errors name the option as typed (exit 2)."""
    from appliance.core.rotation import rotation_from_options

    names = {
        "key_type": as_typed("--key-type"),
        "changelog": as_typed("--changelog", "-m"),
        "validity_days": as_typed("--validity-days"),
    }
    return rotation_from_options(key_type, changelog, validity_days, names=names)
