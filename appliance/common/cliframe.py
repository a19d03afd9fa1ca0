"""The shared CLI frame: a typer app built the same way for both halves, and the
translation of AirgapError into one clean message, a hint and the class's exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

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


def add_group(app: typer.Typer, name: str, help_text: str, commands: Mapping[str, Callable[..., None]]) -> None:
    """A sub-command group ``name`` holding ``commands`` (name -> function), in that order."""
    group = typer.Typer(help=help_text, no_args_is_help=True)
    for command, function in commands.items():
        group.command(command)(function)
    app.add_typer(group, name=name)


def report(exc: AirgapError) -> int:
    sys.stderr.write(f"error: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")
    return exc.exit_code


def run_cli(app: typer.Typer, prog_name: str, register: Callable[[typer.Typer], None] | None = None) -> None:
    """Register the commands (late, to keep imports lazy) and run the app; AirgapError never
    produces a traceback (nor shows locals)."""
    if register is not None:
        register(app)
    try:
        app(prog_name=prog_name, standalone_mode=True)
    except AirgapError as exc:
        sys.exit(report(exc))
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing further was written\n")
        sys.exit(130)
