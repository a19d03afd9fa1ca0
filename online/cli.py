"""``tuf-online``: the networked half (export requests, import responses, sandbox server)."""

from __future__ import annotations

import typer

from appliance.errorhandling import run_cli

app = typer.Typer(
    name="tuf-online",
    help="Online station: fetch roots into signed requests, verify and upload responses.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain click help: the rich help renderer alone doubles start-up time
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Keep sub-commands as a group even when only one is registered."""


def _register() -> None:
    from .commands import register_all

    register_all(app)


def main() -> None:
    _register()
    run_cli(app, "tuf-online")
