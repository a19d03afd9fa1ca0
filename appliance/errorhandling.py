"""Turn AirgapError into one clean message, a hint and the class's exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .core.errors import AirgapError


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
