"""A throwaway SoftHSM2 (software PKCS#11 token) for rehearsals and tests.

SoftHSM2 stands in for a YubiKey, Nitrokey or HSM: it speaks the same PKCS#11 interface
(CKM_EDDSA and CKM_SHA256_RSA_PKCS_PSS in version 2.6), so the appliance code that signs
through it is the code that signs through real hardware.  Everything lives in one
directory: its own ``softhsm2.conf`` (selected with SOFTHSM2_CONF) and token store.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from appliance.core.errors import AirgapError

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def softhsm_module() -> str | None:
    if shutil.which("softhsm2-util") is None:
        return None
    return next((m for m in MODULE_CANDIDATES if Path(m).is_file()), None)


@dataclass(frozen=True)
class SoftHsm:
    directory: Path
    module: str
    pin: str  # the user PIN of every token made here (a rehearsal secret, never a real one)

    @property
    def conf(self) -> Path:
        return self.directory / "softhsm2.conf"

    def env(self) -> dict[str, str]:
        """Environment for a process that should see these tokens (no PIN in it)."""
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf), "TUF_AIRGAP_PKCS11_MODULE": self.module}

    def init_token(self, label: str) -> None:
        so_pin = secrets.token_hex(8)
        result = subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", self.pin],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise AirgapError(f"softhsm2-util could not create token {label}: {result.stderr.strip()}")


def make_softhsm(directory: Path, labels: tuple[str, ...] = ()) -> SoftHsm:
    module = softhsm_module()
    if module is None:
        raise AirgapError(
            "SoftHSM2 is not installed (softhsm2-util and libsofthsm2.so)",
            hint="apt-get install softhsm2",
        )
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    hsm = SoftHsm(directory, module, secrets.token_hex(4))
    hsm.conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
    )
    for label in labels:
        hsm.init_token(label)
    return hsm
