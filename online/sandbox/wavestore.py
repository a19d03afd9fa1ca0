"""Sandbox storage of waves and production targets: one JSON file each, written durably.

``<factory>/waves/<name>.json`` holds the wave as ``GET …/waves/<w>/?show-targets=1``
serves it (fioctl ``client.Wave``: name, version, tag, targets, status,
rollout-groups, rollout-history, change-meta); ``<factory>/prod-targets/<tag>.json``
holds the published production targets of a tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.common.durable import read_capped, write_durable
from appliance.core.metadata import Envelope
from appliance.core.strictjson import dumps_pretty, loads_object
from appliance.core.waves import TAG_NAME, WAVE_NAME

from .waves import MAX_WAVE_BYTES

ACTIVE, COMPLETE, CANCELED = "active", "complete", "canceled"
STATUSES = (ACTIVE, COMPLETE, CANCELED)


class WaveStore:
    def __init__(self, factory_dir: Path) -> None:
        self.dir = factory_dir

    def _path(self, kind: str, name: str) -> Path:
        folder = self.dir / kind
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder / f"{name}.json"

    def wave(self, name: str) -> dict[str, Any] | None:
        if not WAVE_NAME.fullmatch(name):
            return None
        path = self._path("waves", name)
        return loads_object(read_capped(path, MAX_WAVE_BYTES, what="wave")) if path.is_file() else None

    def waves(self) -> list[dict[str, Any]]:
        folder = self.dir / "waves"
        names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        return [w for n in names if (w := self.wave(n)) is not None]

    def save_wave(self, wave: Mapping[str, Any], *, new: bool) -> None:
        write_durable(self._path("waves", wave["name"]), dumps_pretty(dict(wave)), replace=not new, label="wave")

    def production_targets(self, tag: str) -> Envelope | None:
        if not TAG_NAME.fullmatch(tag):
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
