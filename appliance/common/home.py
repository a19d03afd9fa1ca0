"""A side's home directory: its identity key, the pinned peer, and its state file.

Layout: ``identity.sec`` (0600), ``identity.pub``, ``peer.pub`` (the pinned other
side), ``state.json``, and for the station ``requests/`` and ``imports/``.
Default location ``~/.tuf-airgap/<side>``; ``--home`` or ``TUF_AIRGAP_HOME`` override it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.identity import Identity, PeerKey, Side
from ..core.strictjson import dumps_pretty, loads_object
from .durable import read_capped, write_durable

STATE_MAX_BYTES = 64 * 1024 * 1024


def default_home(side: Side) -> Path:
    env = os.environ.get("TUF_AIRGAP_HOME")
    if env:
        return Path(env)
    return Path.home() / ".tuf-airgap" / side


class Home:
    def __init__(self, path: Path, side: Side) -> None:
        self.path = Path(path)
        self.side = side

    @property
    def identity_sec(self) -> Path:
        return self.path / "identity.sec"

    @property
    def identity_pub(self) -> Path:
        return self.path / "identity.pub"

    @property
    def peer_pub(self) -> Path:
        return self.path / "peer.pub"

    @property
    def transcript(self) -> Path:
        return self.path / "transcript.jsonl"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    def subdir(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def create(self, identity: Identity) -> None:
        if self.identity_sec.exists():
            raise UsageError(
                f"{self.identity_sec} already exists", hint="An identity is made once; use --home for another."
            )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = identity.secret_bytes()

        def check(data: bytes) -> None:
            if Identity.from_secret_bytes(data).peer != identity.peer:
                raise UsageError("identity key re-read does not match")

        write_durable(self.identity_sec, secret, replace=False, verify=check, label="identity")
        write_durable(self.identity_pub, identity.peer.to_bytes(), replace=False, mode=0o644, label="identity-pub")

    def identity(self) -> Identity:
        if not self.identity_sec.exists():
            raise UsageError(
                f"no identity at {self.path}", hint=f"Run 'init' first (or pass --home); side: {self.side}."
            )
        return Identity.from_secret_bytes(read_capped(self.identity_sec, 4096, what="identity key"))

    def pinned(self) -> PeerKey | None:
        if not self.peer_pub.exists():
            return None
        return PeerKey.from_bytes(read_capped(self.peer_pub, 4096, what="pinned peer key"))

    def pin(self, peer: PeerKey) -> None:
        write_durable(self.peer_pub, peer.to_bytes(), replace=True, mode=0o644, label="pin")

    @property
    def policy_file(self) -> Path:
        return self.path / "policy.json"

    def policy(self) -> dict[str, Any]:
        """Ceremony policy set by the security officer (``tuf-appliance policy``)."""
        if not self.policy_file.exists():
            return {}
        return loads_object(read_capped(self.policy_file, 64 * 1024, what="policy"), what="policy")

    def readback_required(self) -> bool:
        """Root rotations withhold their response until the new key's backup is read back:
        on unless the officer turned it off (``policy --no-require-backup-readback``, recorded)."""
        return self.policy().get("require_backup_readback", True) is not False

    def set_policy(self, policy: dict[str, Any]) -> None:
        write_durable(self.policy_file, dumps_pretty(policy), replace=True, label="policy")

    def load_state(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {}
        return loads_object(read_capped(self.state_file, STATE_MAX_BYTES, what="state"), max_bytes=STATE_MAX_BYTES)

    def save_state(self, state: dict[str, Any]) -> None:
        write_durable(self.state_file, dumps_pretty(state), replace=True, label="state")
