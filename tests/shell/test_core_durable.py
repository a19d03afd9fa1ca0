"""Durable writes (temp, fsync, rename, fsync dir, re-read) and capped reads."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.common.durable import CRASH_ENV, read_capped, write_durable
from appliance.core.errors import DurabilityError, UsageError


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


def test_new_file_is_0600_even_with_permissive_umask(tmp_path: Path, permissive_umask: None) -> None:
    target = tmp_path / "keys.tgz"
    write_durable(target, b"secret", replace=False)
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


def test_replacing_a_world_readable_file_leaves_0600(tmp_path: Path, permissive_umask: None) -> None:
    target = tmp_path / "keys.tgz"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_durable(target, b"new", replace=True)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_refuses_to_overwrite_without_replace(tmp_path: Path) -> None:
    target = tmp_path / "keys.tgz"
    target.write_bytes(b"old")
    with pytest.raises(UsageError, match="already exists; refusing to overwrite it") as info:
        write_durable(target, b"new", replace=False)
    assert info.value.hint == "Choose a new output path."
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_replace_true_replaces_and_verifies_temp_and_final(tmp_path: Path) -> None:
    target = tmp_path / "keys.tgz"
    target.write_bytes(b"old")
    seen: list[bytes] = []
    write_durable(target, b"new contents", replace=True, verify=seen.append)
    assert target.read_bytes() == b"new contents"
    assert seen == [b"new contents", b"new contents"]  # the temp file, then the renamed target
    assert leftovers(tmp_path) == []


def test_large_write_is_complete(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    write_durable(tmp_path / "big", data, replace=False)
    assert (tmp_path / "big").read_bytes() == data


@pytest.mark.parametrize("existing", [b"old", None], ids=["replacing", "new-file"])
def test_failing_verify_leaves_old_file_and_no_temp(tmp_path: Path, existing: bytes | None) -> None:
    target = tmp_path / "keys.tgz"
    if existing is not None:
        target.write_bytes(existing)

    def verify(data: bytes) -> None:
        raise ValueError("re-read bytes are wrong")

    with pytest.raises(ValueError, match="re-read bytes are wrong"):
        write_durable(target, b"new", replace=True, verify=verify)
    assert (target.read_bytes() if target.exists() else None) == existing
    assert leftovers(tmp_path) == []


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        write_durable(tmp_path / "nope" / "keys.tgz", b"x", replace=False)


def test_planted_temp_file_or_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "keys.tgz"
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    temp = tmp_path / f".keys.tgz.tmp-{os.getpid()}"
    temp.symlink_to(victim)
    with pytest.raises(DurabilityError, match="temporary file .* exists"):
        write_durable(target, b"new", replace=False)
    assert victim.read_bytes() == b"victim"
    assert not target.exists()


CRASH_SCRIPT = (
    "import sys; from pathlib import Path; from appliance.common.durable import write_durable; "
    "write_durable(Path(sys.argv[1]), b'new contents', replace=True, label='keys')"
)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("keys:written", b"old"),
        ("keys:synced", b"old"),
        ("keys:renamed", b"new contents"),
        ("keys:verified", b"new contents"),
    ],
)
def test_crash_leaves_old_or_new_file_whole(tmp_path: Path, point: str, expected: bytes) -> None:
    target = tmp_path / "keys.tgz"
    target.write_bytes(b"old")
    env = {**os.environ, CRASH_ENV: point}
    out = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(target)], env=env, capture_output=True, timeout=60)
    assert out.returncode == 137, out.stderr
    assert target.read_bytes() == expected
    for name in leftovers(tmp_path):  # a crash before the rename may leave the temp file, never a partial target
        assert (tmp_path / name).read_bytes() == b"new contents"


def test_crash_env_for_another_label_does_not_fire(tmp_path: Path) -> None:
    target = tmp_path / "keys.tgz"
    env = {**os.environ, CRASH_ENV: "other:written"}
    out = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(target)], env=env, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == b"new contents"


# --- capped reads -----------------------------------------------------------------------


def test_read_capped_reads_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_capped(path, 10, what="file") == b"x" * 10
    link = tmp_path / "link"
    link.symlink_to(path)
    assert read_capped(link, 10, what="file") == b"x" * 10


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda p: p.mkdir(), "is not a regular file"),
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b"x" * 11), "is 11 bytes, more than the 10 allowed"),
        (lambda p: os.mkfifo(p), "is not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "is not a regular file"),
        (lambda p: p.symlink_to(p.parent / "missing"), "does not exist"),
    ],
    ids=["directory", "missing", "oversize", "fifo", "device", "dangling-symlink"],
)
def test_read_capped_refusals(tmp_path: Path, make, error: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "input"
    make(path)
    with pytest.raises(UsageError) as info:
        read_capped(path, 10, what="keys tarball")
    assert info.value.message.startswith("keys tarball ")
    assert error in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files regardless of mode")
def test_read_capped_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "locked"
    path.write_bytes(b"x")
    path.chmod(0)
    with pytest.raises(UsageError, match="cannot read"):
        read_capped(path, 10, what="file")
