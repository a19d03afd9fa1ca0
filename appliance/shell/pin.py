"""Token PINs: typed at the terminal without echo, never taken from argv or the environment.

Scripted rehearsals may hand PINs over an inherited file descriptor (``--pin-fd N``), one
line per token login, in the order the tokens are named; that descriptor is the only
non-interactive way in, so a PIN never shows up in ``ps`` or a process environment.
"""

from __future__ import annotations

import getpass
import os
import sys

from ..core.errors import TokenError, UsageError
from .token import TokenInfo

MAX_PIN_BYTES = 256


class PinSource:
    """Where PINs come from for one command run."""

    def __init__(self, pin_fd: int | None) -> None:
        if pin_fd is not None and pin_fd < 3:
            raise UsageError("--pin-fd must be an inherited descriptor of 3 or more (not stdin/stdout/stderr)")
        self._fd = pin_fd

    def __call__(self, token: TokenInfo) -> str:
        if self._fd is not None:
            return self._read_line(token)
        if not sys.stdin.isatty():
            raise TokenError(
                f"the PIN of {token.describe()} must be typed at a terminal",
                hint="Run the command at the appliance's terminal (scripted rehearsals: --pin-fd N).",
            )
        return getpass.getpass(f"PIN for {token.describe()}: ", stream=sys.stderr)

    def _read_line(self, token: TokenInfo) -> str:
        assert self._fd is not None
        data = bytearray()
        try:
            while len(data) <= MAX_PIN_BYTES:
                chunk = os.read(self._fd, 1)
                if not chunk or chunk == b"\n":
                    break
                data += chunk
        except OSError as exc:
            raise UsageError(f"cannot read the PIN from descriptor {self._fd}: {exc.strerror}") from None
        if not data or len(data) > MAX_PIN_BYTES:
            raise TokenError(f"no PIN for {token.describe()} on descriptor {self._fd}")
        return data.decode("utf-8", "replace").rstrip("\r")
