"""The online station's bookkeeping: sequence numbers, pending requests, import progress.

Pending requests are kept under ``<home>/requests/<id>.json`` (the exact bytes put on
the stick) so that a response can only be imported against a request this station
made.  Import progress lives under ``<home>/imports/<id>.json``; the server itself is
the source of truth for which uploads already happened, so an interrupted import is
finished by simply running it again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from appliance.common.durable import read_capped, write_durable
from appliance.common.home import Home, default_home
from appliance.core.bundle import MAX_BUNDLE_BYTES, Request, open_request
from appliance.core.errors import BundleError
from appliance.core.identity import Identity, PeerKey, require_pinned
from appliance.core.state import ImportProgress, StationState
from appliance.core.strictjson import dumps_pretty, loads_object


class Station:
    def __init__(self, home: Path | None) -> None:
        self.home = Home(home or default_home("station"), "station")

    def identity(self) -> Identity:
        return self.home.identity()

    def appliance(self) -> PeerKey:
        return require_pinned(self.home.pinned(), "appliance")

    def next_sequence(self) -> int:
        state = StationState.from_wire(self.home.load_state()).next_request()
        self.home.save_state(state.to_wire())
        return state.sequence

    def remember_request(self, request_id: str, data: bytes) -> Path:
        path = self.home.subdir("requests") / f"{request_id}.json"
        write_durable(path, data, replace=False, mode=0o600, label="pending-request")
        return path

    def pending_request(self, request_id: str) -> Request:
        path = self.home.subdir("requests") / f"{request_id}.json"
        if not path.exists():
            raise BundleError(
                f"no request {request_id} was exported by this station",
                hint="A response can only be imported on the station that exported its request.",
            )
        own = self.identity().peer
        return open_request(read_capped(path, MAX_BUNDLE_BYTES, what="pending request"), own, what=str(path))

    def progress(self, request_id: str) -> ImportProgress:
        path = self.home.path / "imports" / f"{request_id}.json"
        if not path.exists():
            return ImportProgress()
        return ImportProgress.from_wire(loads_object(read_capped(path, 1024 * 1024, what="import progress")))

    def save_progress(self, request_id: str, progress: ImportProgress) -> None:
        updated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = self.home.subdir("imports") / f"{request_id}.json"
        write_durable(path, dumps_pretty(progress.to_wire(updated)), replace=True, mode=0o600, label="import-progress")
