"""A real 80x24 terminal for golden-screen tests: a pseudo-terminal sized with TIOCSWINSZ, the
program's output fed to a VT100 emulator (pyte), answers typed when a prompt appears.

``Screen.at_prompt[i]`` is what the officer sees (24 rows) when prompt ``i`` appears: the
test of "the decisive facts stay directly above the prompt" is a test of that snapshot.
``mask`` replaces what differs on every run (ids, digests, words, times) so a snapshot can be
compared with a golden file under tests/golden/screens/.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyte

COLUMNS, ROWS = 80, 24
PAGER_PROMPT = b"-- Enter: next page of details"
GOLDEN = Path(__file__).parent / "golden" / "screens"


@dataclass
class Screen:
    returncode: int
    output: str  # everything written, control sequences removed by the emulator's history
    at_prompt: list[list[str]] = field(default_factory=list)  # the 24 rows when each prompt appeared
    final: list[str] = field(default_factory=list)
    pages: list[list[str]] = field(default_factory=list)  # the rows at each details pager prompt


def _rows(screen: pyte.Screen) -> list[str]:
    return [line.rstrip() for line in screen.display]


def run_on_terminal(
    args: Sequence[str],
    answers: Sequence[tuple[str, str]],
    *,
    env: dict[str, str] | None = None,
    module: str = "appliance",
    timeout: float = 60,
    pager: str | None = None,
) -> Screen:
    """Run ``python -m module args`` on an 80x24 pseudo-terminal; for each (prompt text, answer)
    in order, wait until the prompt text is on the screen, snapshot it and type the answer.
    ``pager``: the answer to every details pager prompt ("" pages on, "q" skips); each page is
    snapshot too (``Screen.pages``)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    clean_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
        env={**clean_env, "TERM": "xterm", **(env or {})},
    )
    os.close(follower)
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.ByteStream(screen)
    raw = b""
    pending = list(answers)
    shots: list[list[str]] = []
    seen = 0  # bytes of output already searched for the next prompt
    paged = 0  # bytes of output already searched for a pager prompt
    pages: list[list[str]] = []
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        raw += chunk
        stream.feed(chunk)
        while pager is not None and PAGER_PROMPT in raw[paged:]:
            paged = raw.index(PAGER_PROMPT, paged) + len(PAGER_PROMPT)
            pages.append(_rows(screen))
            os.write(leader, pager.encode() + b"\r")
        while pending and pending[0][0].encode() in raw[seen:]:
            prompt, answer = pending.pop(0)
            seen = raw.index(prompt.encode(), seen) + len(prompt)
            shots.append(_rows(screen))
            os.write(leader, answer.encode() + b"\r")
    os.close(leader)
    code = proc.wait(timeout=30)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode(errors="replace")).replace("\r\n", "\n")
    return Screen(code, text, shots, _rows(screen), pages)


_EIGHT = r"[a-z]+(?: [a-z]+){7}"
_MASKS = (
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "YYYY-MM-DDTHH:MM:SSZ"),
    (re.compile(r"\b[0-9a-f]{8,64}\b"), lambda m: "#" * len(m.group())),
    (re.compile(rf"((?:read aloud:?|words:) ?)({_EIGHT})$"), lambda m: m.group(1) + _words(m.group(2))),
    (re.compile(rf"^(\s+)({_EIGHT})$"), lambda m: m.group(1) + _words(m.group(2))),
)


def _words(text: str) -> str:
    return " ".join("word" for _ in text.split())


def mask(rows: Sequence[str]) -> list[str]:
    """Rows with run-dependent values replaced by same-width placeholders."""
    out = []
    for row in rows:
        for pattern, replacement in _MASKS:
            row = pattern.sub(replacement, row)  # type: ignore[arg-type]
        out.append(row)
    return out


def golden(name: str, rows: Sequence[str]) -> None:
    """Compare masked ``rows`` with tests/golden/screens/NAME.txt (UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / f"{name}.txt"
    text = "\n".join(mask(rows)).rstrip("\n") + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("CI") == "true" and not path.exists():
            raise AssertionError(f"golden screen {path} is missing")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"screen differs from {path}:\n{text}"
