"""Durable, verified file writes for anything that holds key material.

Sequence: write a temp file beside the target (O_EXCL, mode 0600) → fsync →
re-read and verify the temp → rename over the target → fsync the directory →
re-read and verify the target.  A crash leaves either the old file or the new one
whole, never a mix.  ``crashpoint`` lets fault-injection tests kill the process at
every numbered step (set TUF_AIRGAP_CRASH_AT=<name>).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..core.errors import DurabilityError, UsageError

CRASH_ENV = "TUF_AIRGAP_CRASH_AT"


def crashpoint(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_capped(path: Path, max_bytes: int, *, what: str) -> bytes:
    """Read a whole file, refusing anything that is not a regular file or is too large."""
    import stat as _stat

    # Open first and check the open descriptor: no window between check and read, and
    # O_NONBLOCK keeps a FIFO from blocking the open.
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist", hint="Check the path.") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not _stat.S_ISREG(st.st_mode):
            raise UsageError(f"{what} {path} is not a regular file")
        if st.st_size > max_bytes:
            raise UsageError(f"{what} {path} is {st.st_size} bytes, more than the {max_bytes} allowed")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UsageError(f"{what} {path} grew past {max_bytes} bytes while being read")
    return data


def write_durable(
    path: Path,
    data: bytes,
    *,
    replace: bool,
    verify: Callable[[bytes], None] | None = None,
    mode: int = 0o600,
    label: str = "file",
) -> None:
    """Write ``data`` to ``path`` durably; ``verify`` must raise if re-read bytes are wrong."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"directory {directory} does not exist")
    if path.exists() and not replace:
        raise UsageError(f"{path} already exists; refusing to overwrite it", hint="Choose a new output path.")
    tmp = directory / f".{path.name}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise DurabilityError(f"temporary file {tmp} exists; remove it after checking it is not needed") from None
    except OSError as exc:
        raise DurabilityError(f"cannot create {tmp}: {exc.strerror}") from exc
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            crashpoint(f"{label}:written")
            os.fsync(fd)
        finally:
            os.close(fd)
        crashpoint(f"{label}:synced")
        if verify is not None:
            verify(tmp.read_bytes())
        if replace:
            os.replace(tmp, path)
        else:
            # link() fails if the target appeared since the check above: never overwrite.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise UsageError(f"{path} already exists; refusing to overwrite it") from None
            except OSError:
                # FAT-formatted sticks have no hard links: fall back to check-then-rename.
                if path.exists():
                    raise UsageError(f"{path} already exists; refusing to overwrite it") from None
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        crashpoint(f"{label}:renamed")
        _fsync_dir(directory)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DurabilityError(f"writing {path} failed: {exc.strerror}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    reread = path.read_bytes()
    if reread != data:
        raise DurabilityError(f"{path} reads back different bytes than were written")
    if verify is not None:
        verify(reread)
    crashpoint(f"{label}:verified")
