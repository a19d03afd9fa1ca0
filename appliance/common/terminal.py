"""Operator interaction: review output and typed confirmations (the terminal effect)."""

from __future__ import annotations

import sys

from ..core.errors import AbortedByOperator


def confirm_typed(expected: str, *, question: str, assume_yes: bool) -> None:
    """Require the operator to type ``expected`` exactly; ``--yes`` skips this for scripted runs."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise AbortedByOperator(
            "confirmation needs an interactive terminal",
            hint="Run it at the terminal, or pass --yes for scripted runs.",
        )
    sys.stderr.write(f"{question}\nType '{expected}' to continue: ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline().strip()
    except BaseException:
        sys.stderr.write("\n")  # Ctrl-C at the prompt: the error line starts on a line of its own
        raise
    if answer != expected:
        raise AbortedByOperator("confirmation did not match; nothing was changed")
