"""``tuf-appliance``: the offline half.  Never imports ``online`` and never opens a socket.

Each command group lives in ``appliance/commands/<group>.py``; heavy imports
(cryptography, qrcode, PIL) stay inside command functions so ``--help`` is fast.
"""

from __future__ import annotations

import typer

from .errorhandling import run_cli

app = typer.Typer(
    name="tuf-appliance",
    help="Air-gapped TUF key appliance: rotate keys, sign, back up — offline.",
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
    run_cli(app, "tuf-appliance")
