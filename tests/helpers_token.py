"""SoftHSM2 for the token tests: one token store per test run, tokens made up front.

SoftHSM2 reads SOFTHSM2_CONF once per process (at C_Initialize), so one directory serves the
whole run; tests use distinct tokens or object ids.  Without SoftHSM2 the tests skip on a
developer machine and fail in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from online.scenarios import TOKENS as SCENARIO_TOKENS
from online.softhsm import SoftHsm, make_softhsm, softhsm_module

TOKENS = ("tuf-a", "tuf-b", "tuf-c", "tuf-gen", "tuf-rsa", *SCENARIO_TOKENS)


def require_softhsm() -> None:
    if softhsm_module() is None:
        message = "SoftHSM2 is not installed (apt-get install softhsm2); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    require_softhsm()
    hsm = make_softhsm(tmp_path_factory.mktemp("softhsm"), TOKENS)
    saved = {k: os.environ.get(k) for k in ("SOFTHSM2_CONF", "TUF_AIRGAP_PKCS11_MODULE")}
    os.environ.update({"SOFTHSM2_CONF": str(hsm.conf), "TUF_AIRGAP_PKCS11_MODULE": hsm.module})
    yield hsm
    from appliance.shell.token import close_sessions

    close_sessions()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def sessions_closed() -> Iterator[None]:
    yield
    from appliance.shell.token import close_sessions

    close_sessions()


def appliance(hsm: SoftHsm, *args: str, pins: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """``tuf-appliance`` in its own process seeing the SoftHSM tokens; PINs (if any) over --pin-fd."""
    argv = list(args)
    read_fd = None
    if pins:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, "".join(p + "\n" for p in pins).encode())
        os.close(write_fd)
        argv += ["--pin-fd", str(read_fd)]
    try:
        return subprocess.run(
            [sys.executable, "-m", "appliance", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=hsm.env(),
            stdin=subprocess.DEVNULL,
            pass_fds=(read_fd,) if read_fd is not None else (),
        )
    finally:
        if read_fd is not None:
            os.close(read_fd)


def write_pins(*pins: str) -> int:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, "".join(p + "\n" for p in pins).encode())
    os.close(write_fd)
    return read_fd


def keys_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path
