"""Golden error output of the appliance CLI for hostile keys tarballs: exact stderr and exit code."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers_core import Member, tgz

TARBALL_HINT = "hint: Use the original offline keys tarball (offline-creds.tgz) from the safe.\n"
KEY_HINT = "hint: Key files must be fioctl JSON with keytype ED25519 or RSA (>= 2048 bits).\n"


@pytest.mark.parametrize(
    ("content", "stderr"),
    [
        (b"this is a text file\n", "error: not a gzip-compressed tarball\n" + TARBALL_HINT),
        (
            tgz([Member("tufrepo/keys/evil.pub", type=tarfile.SYMTYPE, linkname="/etc/shadow")]),
            "error: member 'tufrepo/keys/evil.pub' is a link; links are refused\n" + TARBALL_HINT,
        ),
        (
            tgz([("../escape.pub", b"{}")]),
            "error: member '../escape.pub' has an unsafe path\n" + TARBALL_HINT,
        ),
        (
            tgz([("tufrepo/keys/a.pub", b"[]")]),
            "error: tufrepo/keys/a.pub must be a JSON object\n" + KEY_HINT,
        ),
    ],
    ids=["text-file", "symlink-member", "tar-slip", "malformed-key"],
)
def test_keys_command_reports_tarball_errors(tmp_path: Path, content: bytes, stderr: str) -> None:
    path = tmp_path / "offline-creds.tgz"
    path.write_bytes(content)
    out = subprocess.run(
        [sys.executable, "-m", "appliance", "keys", "--keys", str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.stderr == stderr
    assert out.stdout == ""
    assert out.returncode == 5
