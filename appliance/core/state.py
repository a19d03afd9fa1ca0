"""The appliance's and the station's bookkeeping as frozen values with pure transitions.

Stored as JSON (``state.json`` in each side's home, bundle-spec.md §6); keys this
version does not know are kept as they are.  The appliance's transitions:

- ``check_fresh(request, station)``: refuse a request already answered (its id was
  recorded) or superseded by a newer answered request of the same factory and stream,
  unless that request is the one in progress (``core.freshness``);
- ``begin(request_id, record)``: remember the new key of a ceremony before the tarball
  changes, so a crash after that resumes with the same key;
- ``complete(request, station, current)``: record the request as answered, anchor the factory's
  next ceremony on the roots verified now, forget the in-progress record.

Each rule is one method so a new one (another freshness rule, a record of handled
request ids) is added in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .bundle import Request
from .errors import BundleError
from .freshness import check_fresh, record_handled
from .metadata import Root
from .rootpair import RootPair
from .strictjson import JsonObject

_APPLIANCE_KEYS = ("stations", "factories", "in_progress")


def _objects(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise BundleError(f"appliance state: {name} must be an object", hint="The state file is damaged.")
    return dict(value)


@dataclass(frozen=True)
class InProgress:
    """A ceremony whose new key may already be in the tarball (no secrets: the key id and time)."""

    new_keyid: str | None
    now: str | None

    @classmethod
    def from_wire(cls, data: object) -> InProgress:
        if not isinstance(data, Mapping):
            return cls(None, None)
        keyid, now = data.get("new_keyid"), data.get("now")
        return cls(keyid if isinstance(keyid, str) else None, now if isinstance(now, str) else None)

    def to_wire(self) -> JsonObject:
        return {"new_keyid": self.new_keyid, "now": self.now}


@dataclass(frozen=True)
class ApplianceState:
    # fingerprint -> {"last_sequence": n, "handled": [ids], "latest": {factory: {stream: ...}}}
    stations: Mapping[str, JsonObject] = field(default_factory=dict)
    anchors: Mapping[str, JsonObject] = field(default_factory=dict)  # factory -> {"ci_root", "prod_root"}
    in_progress: Mapping[str, InProgress] = field(default_factory=dict)  # request id -> record
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys of other versions, kept as they are

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ApplianceState:
        return cls(
            {fp: dict(rec) for fp, rec in _objects(data, "stations").items() if isinstance(rec, Mapping)},
            _objects(data, "factories"),
            {rid: InProgress.from_wire(rec) for rid, rec in _objects(data, "in_progress").items()},
            {k: v for k, v in data.items() if k not in _APPLIANCE_KEYS},
        )

    def to_wire(self) -> JsonObject:
        return dict(self.extra) | {
            "stations": {fp: dict(rec) for fp, rec in self.stations.items()},
            "factories": dict(self.anchors),
            "in_progress": {rid: rec.to_wire() for rid, rec in self.in_progress.items()},
        }

    def last_sequence(self, station: str) -> int:
        last = self.stations.get(station, {}).get("last_sequence", 0)
        return last if isinstance(last, int) and not isinstance(last, bool) else 0

    def resume_record(self, request_id: str) -> InProgress | None:
        return self.in_progress.get(request_id)

    def anchor(self, factory: str) -> tuple[Root | None, Root | None]:
        """The roots the last ceremony for ``factory`` verified (each history must continue them)."""
        known = self.anchors.get(factory, {})
        return _anchor(known.get("ci_root")), _anchor(known.get("prod_root"))

    def check_fresh(self, request: Request, station: str) -> None:
        """Refuse a replayed or superseded request (``core.freshness``) unless it is the one in progress."""
        if request.request_id not in self.in_progress:
            check_fresh(self.stations.get(station, {}), request)

    def begin(self, request_id: str, record: InProgress) -> ApplianceState:
        return replace(self, in_progress={**self.in_progress, request_id: record})

    def complete(self, request: Request, station: str, current: RootPair) -> ApplianceState:
        # Anchor the next ceremony on the roots verified now (the new ones may never be uploaded).
        anchor: JsonObject = {"ci_root": current.ci.to_dict(), "prod_root": current.prod.to_dict()}
        return replace(
            self,
            stations={**self.stations, station: record_handled(self.stations.get(station, {}), request)},
            anchors={**self.anchors, request.factory: anchor},
            in_progress={k: v for k, v in self.in_progress.items() if k != request.request_id},
        )


def _anchor(obj: object) -> Root | None:
    return None if obj is None else Root.from_dict(obj, what="trusted root in appliance state")


@dataclass(frozen=True)
class StationState:
    """The station's request counter; every request carries the next number."""

    sequence: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> StationState:
        value = data.get("sequence", 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BundleError("station state: sequence must be a non-negative integer", hint="The state is damaged.")
        return cls(value, {k: v for k, v in data.items() if k != "sequence"})

    def to_wire(self) -> JsonObject:
        return {**self.extra, "sequence": self.sequence}

    def next_request(self) -> StationState:
        return replace(self, sequence=self.sequence + 1)


@dataclass(frozen=True)
class ImportProgress:
    """How far the import of one response got (the server is the source of truth; this saves work)."""

    ci_uploaded: bool = False
    prod_uploaded: bool = False
    done: bool = False
    updated: str | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ImportProgress:
        updated = data.get("updated")
        return cls(
            data.get("ci_uploaded") is True,
            data.get("prod_uploaded") is True,
            data.get("done") is True,
            updated if isinstance(updated, str) else None,
        )

    def to_wire(self, updated: str) -> JsonObject:
        out: JsonObject = {}
        for name in ("ci_uploaded", "prod_uploaded", "done"):
            if getattr(self, name):
                out[name] = True
        out["updated"] = updated
        return out

    def ci_done(self) -> ImportProgress:
        return replace(self, ci_uploaded=True)

    def prod_done(self) -> ImportProgress:
        return replace(self, ci_uploaded=True, prod_uploaded=True)

    def finished(self) -> ImportProgress:
        return replace(self, done=True)
