"""Operator interaction: typed confirmations, words read aloud, paging (the terminal effect)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence

from ..core.errors import AbortedByOperator

TRIES = 3
MORE_PROMPT = "-- Enter: next page of details, q: skip to the summary -- "


def interactive() -> bool:
    return sys.stdin.isatty()


def terminal_size() -> tuple[int, int]:
    """(columns, rows) of the operator's terminal (80x24 when unknown)."""
    size = shutil.get_terminal_size((80, 24))
    return size.columns, size.lines


def _need_terminal() -> None:
    if not interactive():
        raise AbortedByOperator(
            "confirmation needs an interactive terminal",
            hint="Run it at the terminal, or pass --yes for scripted runs.",
        )


def _read_answer() -> str:
    try:
        return sys.stdin.readline().strip()
    except BaseException:
        sys.stderr.write("\n")  # Ctrl-C at the prompt: the error line starts on a line of its own
        raise


def confirm_typed(
    expected: str,
    *,
    question: str,
    assume_yes: bool,
    abort_hint: str = "Run the command again when ready.",
    matches: Callable[[str], bool] | None = None,
    shown: str | None = None,
) -> None:
    """Require the operator to type ``expected`` (or an answer ``matches`` accepts); three tries.

    ``shown`` is what the prompt asks for; ``None`` shows ``expected`` itself.  ``--yes``
    skips this for scripted runs."""
    if assume_yes:
        return
    _need_terminal()
    accept = matches or (lambda answer: answer == expected)
    sys.stderr.write(f"{question}\n")
    for attempt in range(1, TRIES + 1):
        what = shown if shown is not None else f"'{expected}'"
        left = f" (try {attempt} of {TRIES})" if attempt > 1 else ""
        sys.stderr.write(f"Type {what} to continue{left}: ")
        sys.stderr.flush()
        answer = _read_answer()
        if accept(answer):
            return
        if attempt < TRIES:
            sys.stderr.write("That does not match; check it and type it again.\n")
    raise AbortedByOperator(f"the confirmation did not match {TRIES} times; nothing was changed", hint=abort_hint)


def same_words(expected: Sequence[str]) -> Callable[[str], bool]:
    """An answer matches when it names the same words (case, extra spaces and commas ignored)."""
    want = [w.lower() for w in expected]
    return lambda answer: answer.replace(",", " ").lower().split() == want


def page(lines: Sequence[str], *, reserve: int, write: Callable[[str], None]) -> None:
    """Show ``lines``; when they and ``reserve`` more rows do not fit the terminal, one page at
    a time (Enter: next page, q: stop), so nothing the operator must read scrolls off unseen."""
    _, rows = terminal_size()
    if not interactive() or len(lines) + reserve <= rows:
        for line in lines:
            write(line)
        return
    height = max(rows - 1, 4)
    for start in range(0, len(lines), height):
        for line in lines[start : start + height]:
            write(line)
        if start + height >= len(lines):
            return
        sys.stderr.write(MORE_PROMPT)
        sys.stderr.flush()
        if _read_answer().lower().startswith("q"):
            sys.stderr.write(f"({len(lines) - start - height} more lines of details skipped)\n")
            return
