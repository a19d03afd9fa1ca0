"""The wire shapes of fioctl's root updates API (``/ota/repo/<f>/api/v1/user_repo/root/updates``).

Facts (foundriesio/fioctl client/foundries_tuf_root.go; bundle-spec.md §11.1):
- ``GET`` answers ``{"status": "NONE"|"STARTED"|"APPLYING", "current": {...}, "updated": {...},
  "change-meta": {...}, "first-time": bool, "amendments": [...], "issues": {...}}`` where
  ``current``/``updated`` are ``{"ci-root": <root JSON as a *string*>, "prod-root": <string>,
  "online-keys": {role: keyid}}``; an empty string means absent.  There is no txid in it.
- ``PUT`` sends ``{"txid", "ci-root": <object>, "prod-root": <object>, "targets-signatures"?,
  "waves-signatures"?}``; ``POST .../apply`` sends ``{"txid"}``; ``POST .../cancel`` sends no body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MetadataError
from .keys import SignatureEntry
from .metadata import Root
from .strictjson import JsonObject, loads_object

STATUSES = ("NONE", "STARTED", "APPLYING")
MAX_TXID = 256


@dataclass(frozen=True)
class RootsView:
    ci: Root | None
    prod: Root | None
    online_keys: Mapping[str, str]


@dataclass(frozen=True)
class UpdatesView:
    status: str
    current: RootsView
    updated: RootsView
    first_time: bool = False
    change_meta: Mapping[str, Any] = field(default_factory=dict)
    amendments: Sequence[Any] = ()
    errors: Sequence[Any] = ()
    warnings: Sequence[Any] = ()


def _root_string(value: object, what: str) -> Root | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MetadataError(f"{what} must be a string holding root JSON")
    return Root.from_bytes(value.encode("utf-8"), what=what)


def _roots(value: object, what: str) -> RootsView:
    if value is None:
        return RootsView(None, None, {})
    if not isinstance(value, Mapping):
        raise MetadataError(f"{what} must be an object")
    online = value.get("online-keys") or {}
    if not isinstance(online, Mapping) or not all(isinstance(v, str) for v in online.values()):
        raise MetadataError(f"{what}.online-keys must map roles to key ids")
    return RootsView(
        _root_string(value.get("ci-root"), f"{what} CI root"),
        _root_string(value.get("prod-root"), f"{what} production root"),
        {str(k): str(v) for k, v in online.items()},
    )


def parse_updates(data: bytes) -> UpdatesView:
    obj = loads_object(data, what="root updates")
    status = obj.get("status")
    if status not in STATUSES:
        raise MetadataError(f"root updates status {status!r} is not one of {', '.join(STATUSES)}")
    issues = obj.get("issues") if isinstance(obj.get("issues"), Mapping) else {}
    assert isinstance(issues, Mapping)
    current = _roots(obj.get("current"), "current")
    updated = _roots(obj.get("updated"), "updated")
    if current.ci is None:
        raise MetadataError("root updates carry no current CI root")
    if status != "NONE" and updated.ci is None:
        raise MetadataError("root updates in progress carry no staged CI root")
    meta = obj.get("change-meta")

    def listed(value: object) -> tuple[Any, ...]:
        return tuple(value) if isinstance(value, list) else ()

    return UpdatesView(
        status,
        current,
        updated,
        obj.get("first-time") is True,
        meta if isinstance(meta, Mapping) else {},
        listed(obj.get("amendments")),
        listed(issues.get("errors")),
        listed(issues.get("warnings")),
    )


def roots_object(ci: Root | None, prod: Root | None, online_keys: Mapping[str, str]) -> JsonObject:
    """``current``/``updated`` as the server sends them: roots as JSON strings."""
    return {
        "ci-root": ci.to_bytes().decode("utf-8") if ci is not None else "",
        "prod-root": prod.to_bytes().decode("utf-8") if prod is not None else "",
        "online-keys": dict(online_keys),
    }


def put_body(
    txid: str,
    ci: Root,
    prod: Root,
    targets_signatures: Mapping[str, Sequence[SignatureEntry]] | None = None,
    waves_signatures: Mapping[str, Sequence[SignatureEntry]] | None = None,
) -> JsonObject:
    body: JsonObject = {"txid": txid, "ci-root": ci.to_dict(), "prod-root": prod.to_dict()}
    if targets_signatures:
        body["targets-signatures"] = {t: [s.to_dict() for s in sigs] for t, sigs in targets_signatures.items()}
    if waves_signatures:
        body["waves-signatures"] = {w: [s.to_dict() for s in sigs] for w, sigs in waves_signatures.items()}
    return body


def parse_signature_map(value: object, what: str) -> dict[str, list[SignatureEntry]]:
    """``{name: [signature, ...]}`` as in ``targets-signatures`` / ``waves-signatures``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MetadataError(f"{what} must be an object")
    out: dict[str, list[SignatureEntry]] = {}
    for name, sigs in value.items():
        if not isinstance(sigs, list):
            raise MetadataError(f"{what}[{name!r}] must be a list of signatures")
        out[str(name)] = [SignatureEntry.from_dict(s) for s in sigs]
    return out


def check_txid(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TXID or not value.isprintable():
        raise MetadataError("txid must be a printable string")
    return value
