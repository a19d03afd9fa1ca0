"""The shared CLI frame: a typer app built the same way for both halves, and the
translation of AirgapError into one clean message, a hint and the class's exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from ..core.errors import AirgapError


def make_app(name: str, help_text: str) -> typer.Typer:
    """A command group that never shows locals in tracebacks and prints plain help.

    Plain click help instead of typer's rich renderer halves start-up time; option
    values are converted without pydantic (plainparams).
    """
    from .plainparams import install

    install()
    app = typer.Typer(
        name=name,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
        add_completion=False,
    )

    @app.callback()
    def _group() -> None:
        """Keep sub-commands as a group even when only one is registered."""

    return app


def report(exc: AirgapError) -> int:
    sys.stderr.write(f"error: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")
    return exc.exit_code


def run_cli(app: Callable[..., object], prog_name: str) -> None:
    """Run a typer app; AirgapError never produces a traceback (nor shows locals)."""
    try:
        app(prog_name=prog_name, standalone_mode=True)
    except AirgapError as exc:
        sys.exit(report(exc))
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing further was written\n")
        sys.exit(130)
