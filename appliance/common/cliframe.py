"""The shared CLI frame: a typer app built the same way for both halves, and the
translation of AirgapError into one clean message, a hint and the class's exit code."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence

import typer

from ..core.errors import AbortedByOperator, AirgapError
from ..core.safetext import MESSAGE_CAP, capped_middle, for_terminal

Registrar = Callable[[typer.Typer], None]


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


def _line(text: str) -> str:
    """One line of an error report: the literal-text rule, capped, ASCII if the terminal needs it."""
    return for_terminal(capped_middle(text, MESSAGE_CAP), getattr(sys.stderr, "encoding", None), keep_newlines=False)


def add_group(app: typer.Typer, name: str, help_text: str, commands: Mapping[str, Callable[..., None]]) -> None:
    """A sub-command group ``name`` holding ``commands`` (name -> function), in that order."""
    group = typer.Typer(help=help_text, no_args_is_help=True)
    for command, function in commands.items():
        group.command(command)(function)
    app.add_typer(group, name=name)


def registrar(package: str, modules: Sequence[str], commands: Mapping[str, str], argv: Sequence[str]) -> Registrar:
    """What registers the commands of ``package`` for one run.

    typer builds the options of every registered command on each run (signatures, annotations),
    so a command line that names a command (``commands``: top-level name -> module) registers
    only the module that defines it; anything else (help, a mistyped name) registers them all.
    """
    import importlib

    wanted = commands.get(argv[0]) if argv else None
    names = [wanted] if wanted is not None else list(modules)

    def register(app: typer.Typer) -> None:
        for name in names:
            importlib.import_module(f"{package}.{name}").register(app)

    return register


def report(exc: AirgapError) -> int:
    sys.stderr.write(f"error: {_line(exc.message)}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {_line(exc.hint)}\n")
    return exc.exit_code


class OperatorInterrupt(BaseException):
    """Ctrl-C, raised by our SIGINT handler.  Not an Exception (nothing may swallow it) and
    not a KeyboardInterrupt (the CLI framework would turn that into a silent exit 130)."""


def _interrupted(signum: int, frame: object) -> None:
    raise OperatorInterrupt


def _survive_any_encoding() -> None:
    """A terminal that cannot encode some character gets an escape instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def run_cli(app: typer.Typer, prog_name: str, register: Registrar | None = None) -> None:
    """Register the commands (late, to keep imports lazy) and run the app; AirgapError never
    produces a traceback (nor shows locals).

    Ctrl-C anywhere is an operator abort: one line and exit 9, like a declined confirmation
    (durable writes remove their temporary file on the way out, so nothing is half written).
    """
    _survive_any_encoding()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)
    if register is not None:
        register(app)
    try:
        app(prog_name=prog_name, standalone_mode=True)
    except AirgapError as exc:
        sys.exit(report(exc))
    except (OperatorInterrupt, KeyboardInterrupt):
        sys.stderr.write("error: interrupted by the operator; the operation stopped before completing\n")
        sys.exit(AbortedByOperator.exit_code)
    finally:
        _release_locks()


def _release_locks() -> None:
    """Locks a command took (appliance.common.lock) end with it; imported only if it was used."""
    lock = sys.modules.get("appliance.common.lock")
    if lock is not None:
        lock.release_all()
