"""The new key of a ceremony not yet confirmed, kept in the appliance home.

A declined or mistyped confirmation, a Ctrl-C at the prompt or ``--review-only`` must
not make the next run show a different key id and different read-aloud words: witnesses
may already have written them down.  So the key made for a request is kept, as its
``.sec`` file (mode 0600, durable, re-read), in ``<home>/pending/<request id>.sec`` with
the ceremony time beside it, until that request's response is written.  The home lives
on the appliance only, like the keys tarball.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path

from ..common.durable import read_capped, write_durable
from ..common.home import Home
from ..core.errors import DurabilityError
from ..core.keys import PrivateKey, parse_secret_key_file, secret_key_file
from ..core.timefmt import format_expires, parse_expires

MAX_PENDING_BYTES = 64 * 1024


def _paths(home: Home, request_id: str) -> tuple[Path, Path]:
    folder = home.path / "pending"
    return folder / f"{request_id}.sec", folder / f"{request_id}.time"


def load(home: Home, request_id: str, key_type: str) -> tuple[PrivateKey, datetime] | None:
    """The key kept for ``request_id`` (if of ``key_type``) and its ceremony time."""
    sec, when = _paths(home, request_id)
    if not sec.exists() or not when.exists():
        return None
    key = parse_secret_key_file(read_capped(sec, MAX_PENDING_BYTES, what="pending key"), what=str(sec))
    if key.kind != key_type.upper():
        return None
    return key, parse_expires(read_capped(when, 64, what="pending key time").decode("ascii").strip())


def keep(home: Home, request_id: str, key: PrivateKey, now: datetime) -> None:
    sec, when = _paths(home, request_id)
    home.subdir("pending")

    def check(data: bytes) -> None:
        if parse_secret_key_file(data, what=str(sec)).keyid != key.keyid:
            raise DurabilityError(f"pending key {sec} does not read back as key {key.keyid[:16]}")

    write_durable(when, format_expires(now).encode("ascii"), replace=True, label="pending-time")
    write_durable(sec, secret_key_file(key), replace=True, verify=check, label="pending-key")


def forget(home: Home, request_id: str) -> None:
    """Remove the kept key once its response is written (the tarball holds it by then)."""
    for path in _paths(home, request_id):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    folder = home.path / "pending"
    if folder.is_dir():
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
