"""Sandbox production targets and waves: pure rules plus their storage.

A wave's targets.json is built by the server from the CI target of one version
plus the tag's current production targets, and signed by the online targets
key.  Offline signatures arrive by ``POST …/waves/<w>/sign/``; each must verify
with a targets key of the current production root.  ``POST …/waves/<w>/complete/``
publishes the targets as the tag's production targets only when the production
root's targets threshold is met, as a device would insist.  A root upload that
carries ``targets-signatures`` {tag: [signature]} (fioctl rotate-targets)
re-signs the stored production targets atomically with the production root.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.common.durable import read_capped, write_durable
from appliance.core.errors import InputFormatError, Refusal, VerificationError
from appliance.core.keys import PrivateKey, SignatureEntry
from appliance.core.metadata import Envelope, Root
from appliance.core.strictjson import dumps_pretty, loads_object
from appliance.core.targets import add_signatures, check_production_targets
from appliance.core.timefmt import format_expires
from appliance.core.verify import check_threshold

WAVE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
MAX_WAVE_BYTES = 8 * 1024 * 1024
HARDWARE_ID = "raspberrypi4-64"


def build_wave_targets(version: int, tag: str, current: Envelope | None, online: PrivateKey, now: datetime) -> Envelope:
    """The production targets a new wave proposes, signed by the online key only."""
    targets: dict[str, Any] = dict(current.signed.get("targets", {})) if current is not None else {}
    if current is not None and version <= current.version:
        raise Refusal(
            409,
            "version-conflict",
            f"wave version {version} is not above production version {current.version} for tag {tag}",
        )
    name = f"{HARDWARE_ID}-lmp-{version}"
    content = f"sandbox image {name}".encode()
    targets[name] = {
        "hashes": {"sha256": hashlib.sha256(content).hexdigest()},
        "length": len(content),
        "custom": {
            "name": f"{HARDWARE_ID}-lmp",
            "version": str(version),
            "hardwareIds": [HARDWARE_ID],
            "tags": [tag],
            "targetFormat": "OSTREE",
        },
    }
    signed = {
        "_type": "Targets",
        "version": version,
        "expires": format_expires(now + timedelta(days=365)),
        "targets": targets,
    }
    envelope = Envelope(signed, ())
    return add_signatures(envelope, [online.sign(envelope.signed_bytes())])


def checked_signatures(body: bytes, envelope: Envelope, prod_root: Root) -> list[SignatureEntry]:
    """Parse ``{"signatures": [...]}``; every signature must be a valid one by a production targets key."""
    try:
        obj = loads_object(body, max_bytes=MAX_WAVE_BYTES, what="signatures")
        raw = obj.get("signatures")
        if not isinstance(raw, list) or not raw or set(obj) != {"signatures"}:
            raise Refusal(400, "bad-request", 'body must be {"signatures": [ ... ]} with at least one signature')
        signatures = [SignatureEntry.from_dict(s) for s in raw]
    except InputFormatError as exc:
        raise Refusal(400, "bad-request", exc.message) from exc
    role = prod_root.meta.roles["targets"]
    payload = envelope.signed_bytes()
    for sig in signatures:
        try:
            result = check_threshold(payload, [sig], prod_root.meta.keys, role.__class__((sig.keyid,), 1), "targets")
        except VerificationError as exc:
            raise Refusal(422, "verification-failed", exc.message) from exc
        if sig.keyid not in role.keyids or not result.met:
            raise Refusal(
                422,
                "verification-failed",
                f"signature by {sig.keyid[:16]} is not a valid signature by a production targets key",
            )
    return signatures


def publishable(envelope: Envelope, prod_root: Root) -> None:
    try:
        check_production_targets(envelope, prod_root)
    except VerificationError as exc:
        raise Refusal(422, "threshold-not-met", exc.message) from exc


def resigned(current: Envelope, signatures: list[SignatureEntry], prod_root: Root) -> Envelope:
    """Production targets re-signed for a new production root (online signatures kept)."""
    new_ids = {s.keyid for s in signatures}
    kept = [
        s for s in current.signatures if s.keyid not in new_ids and s.keyid in prod_root.meta.roles["targets"].keyids
    ]
    envelope = Envelope(current.signed, (*kept, *signatures), current.extra, current.canonical_signed)
    publishable(envelope, prod_root)
    return envelope


class WaveStore:
    """``<factory>/waves/<name>.json`` and ``<factory>/prod-targets/<tag>.json``."""

    def __init__(self, factory_dir: Path) -> None:
        self.dir = factory_dir

    def _path(self, kind: str, name: str) -> Path:
        folder = self.dir / kind
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder / f"{name}.json"

    def wave(self, name: str) -> dict[str, Any] | None:
        if not WAVE_NAME.match(name):
            return None
        path = self._path("waves", name)
        return loads_object(read_capped(path, MAX_WAVE_BYTES, what="wave")) if path.is_file() else None

    def save_wave(self, wave: Mapping[str, Any], *, new: bool) -> None:
        write_durable(self._path("waves", wave["name"]), dumps_pretty(dict(wave)), replace=not new, label="wave")

    def production_targets(self, tag: str) -> Envelope | None:
        if not TAG_NAME.match(tag):
            return None
        path = self._path("prod-targets", tag)
        if not path.is_file():
            return None
        return Envelope.from_bytes(read_capped(path, MAX_WAVE_BYTES, what="production targets"))

    def tags(self) -> list[str]:
        folder = self.dir / "prod-targets"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def save_production_targets(self, tag: str, envelope: Envelope) -> None:
        write_durable(self._path("prod-targets", tag), envelope.to_bytes(), replace=True, label="prod-targets")
