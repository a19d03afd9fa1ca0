"""Exclusive locks over what an operation may write: the keys tarball and a side's home.

Two ceremonies on the same tarball at once would each add a key and the later rename would
drop the earlier one, while its response already names it: a root lockout.  So every
operation that can write the tarball or the home first takes an ``flock(2)`` on a lock file,
``.<name>.lock`` beside the tarball's real path and ``lock`` in the home, and keeps it until
it ends.  The lock is non-blocking: a second run refuses at once and names the holder (pid,
host, command, start time), which the holder writes into the lock file.

The kernel drops an ``flock`` when its holder exits, however it exits, so a lock file left
behind (after ``kill -9``) never blocks anyone; what it says is only shown, never trusted
(read capped, shown under the literal-text rule).  A lock file that is a symlink, a FIFO or
a directory is refused.  On release the holder removes the file while still holding it;
a run that locked a file which was then removed or replaced notices (the inode changed)
and tries again, so two runs can never both hold a lock.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from ..core.errors import ConcurrentRunError, UsageError
from ..core.safetext import capped, visible

MAX_HOLDER_BYTES = 4096
_ATTEMPTS = 5


def lock_path_for_file(path: Path) -> Path:
    """The lock file of a file that is replaced by rename: beside its real path."""
    real = Path(os.path.realpath(path))
    return real.parent / f".{real.name}.lock"


def lock_path_for_home(home: Path) -> Path:
    return Path(home) / "lock"


def _holder_text(fd: int) -> str:
    try:
        raw = os.pread(fd, MAX_HOLDER_BYTES, 0)
    except OSError:
        return "unknown"
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        info = None
    if not isinstance(info, dict):
        return "unknown (the lock file does not say)"
    parts = [f"{name} {visible(capped(str(info.get(name)), 100))}" for name in ("pid", "host", "command", "started")]
    return ", ".join(parts)


class Lock:
    """One held lock file; ``release`` (also run at exit) removes it and lets go."""

    def __init__(self, path: Path, what: str, fd: int) -> None:
        self.path = path
        self.what = what
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if _same_file(fd, self.path):
                self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.lstat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


def _open_lock_file(path: Path, what: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(
                f"lock file {path} of the {what} is a symbolic link; refusing to use it",
                hint="Remove it after checking no other run is active.",
            ) from None
        if exc.errno == errno.EISDIR:
            raise UsageError(f"lock file {path} of the {what} is a directory", hint="Remove it.") from None
        raise UsageError(f"cannot create the lock file {path} of the {what}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"lock file {path} of the {what} is not a regular file", hint="Remove it.")
    return fd


def acquire(path: Path, what: str, command: str) -> Lock:
    """Take the lock at ``path`` for ``command`` or raise ConcurrentRunError naming the holder."""
    for _ in range(_ATTEMPTS):
        fd = _open_lock_file(path, what)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_text(fd)
            os.close(fd)
            raise ConcurrentRunError(
                f"the {what} is in use by another run ({holder}); nothing was changed",
                hint=f"Let that run finish (or stop it), then run this command again. Lock file: {path}",
            ) from None
        except OSError as exc:
            os.close(fd)
            raise UsageError(f"cannot lock {path}: {exc.strerror}") from None
        if not _same_file(fd, path):
            os.close(fd)  # the file was removed or replaced by its last holder: lock the new one
            continue
        info = {
            "pid": os.getpid(),
            "host": os.uname().nodename,
            "command": command,
            "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode() + b"\n", 0)
        return Lock(path, what, fd)
    raise ConcurrentRunError(f"the lock file {path} of the {what} keeps changing; another run is starting")


_HELD: list[Lock] = []


def hold(path: Path, what: str, command: str) -> Lock:
    """``acquire``, released when the command ends (``release_all``) or the process exits.

    A lock this process already holds is held on, not taken again: commands run in-process
    one after another (a rehearsal driving several officers' commands) are one holder."""
    for held in _HELD:
        if held.held and held.path == path:
            return held
    lock = acquire(path, what, command)
    _HELD.append(lock)
    return lock


@atexit.register
def release_all() -> None:
    """Release every lock ``hold`` took, newest first (the CLI frame calls this as a command ends)."""
    while _HELD:
        _HELD.pop().release()


def hold_home(home: Path, command: str) -> Lock:
    return hold(lock_path_for_home(home), f"home {home}", command)


def hold_file(path: Path, what: str, command: str) -> Lock:
    return hold(lock_path_for_file(path), f"{what} {os.path.realpath(path)}", command)
