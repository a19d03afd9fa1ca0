"""Import a resign-targets response: check every document, then hand each to the server.

Resumable like the root import: a tag whose server document already carries the new
expiry (and meets the production threshold) is done; a tag still at the exported
document is uploaded; anything else stops the import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from appliance.common.render import console
from appliance.core.errors import BundleError, RemoteError, VerificationError
from appliance.core.expiry import check_new_expiry, days_gained
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Envelope, Root
from appliance.core.resign import check_targets_resign_only
from appliance.core.rootpair import parse_chain
from appliance.core.strictjson import canonical
from appliance.core.targets import check_production_targets
from appliance.core.verify import check_threshold

from .station import Station
from .targets_api import get_production_targets, resign_production_targets


def _checked(tag: str, old: Envelope, raw: object, prod: Root, now: datetime) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) != {"signed", "signatures"}:
        raise BundleError(f"response entry for tag {tag!r} is not {{signed, signatures}}")
    new = Envelope.from_dict(raw, what=f"re-signed production targets {tag}")
    check_targets_resign_only(old.signed, new.signed, f"production targets {tag}")
    check_new_expiry(f"production targets {tag}", str(old.signed["expires"]), str(new.signed["expires"]), now)
    role = prod.meta.roles["targets"]
    payload = canonical(new.signed)
    for sig in new.signatures:
        single = role.__class__((sig.keyid,), 1)
        if sig.keyid not in role.keyids or not check_threshold(payload, [sig], prod.meta.keys, single, "targets").met:
            raise VerificationError(f"production targets {tag}: signature by {sig.keyid[:16]} does not verify")
    if not new.signatures:
        raise BundleError(f"response carries no signature for tag {tag!r}")
    return {"signed": new.signed, "signatures": [s.to_dict() for s in new.signatures]}


def import_resigned_targets(station: Station, request: Any, result: dict[str, Any], client: Any) -> None:
    out = console()
    now = datetime.now(UTC)
    prod = parse_chain(request.payload["prod_roots"], "production root history")[-1]
    exported = request.payload["production_targets"]
    answered = result.get("production_targets")
    if not isinstance(answered, dict) or set(answered) != set(exported):
        raise BundleError("response does not re-sign exactly the exported tags")
    documents = {
        tag: _checked(tag, Envelope.from_dict(exported[tag], what=f"exported targets {tag}"), answered[tag], prod, now)
        for tag in sorted(exported)
    }
    served = get_production_targets(client, *documents)
    for tag, document in documents.items():
        old = Envelope.from_dict(exported[tag], what=f"exported targets {tag}")
        current = Envelope.from_dict(served.get(tag), what=f"server production targets {tag}")
        if current.signed == document["signed"]:
            out.print(f"production targets {tag} already carry the new expiry; nothing to do", markup=False)
            continue
        if current.signed != old.signed:
            raise RemoteError(
                f"production targets {tag} changed on the server since export", hint="Export a fresh request."
            )
        resign_production_targets(client, tag, document)
        gained = days_gained(str(old.signed["expires"]), str(document["signed"]["expires"]))
        out.print(
            f"production targets {tag} re-signed: expires {document['signed']['expires']} (+{gained} days)",
            markup=False,
        )
    after = get_production_targets(client, *documents)
    for tag, document in documents.items():
        stored = Envelope.from_dict(after.get(tag), what=f"server production targets {tag}")
        if stored.signed != document["signed"]:
            raise RemoteError(f"the server does not serve the re-signed production targets {tag}")
        check_production_targets(stored, prod)
        mine = {SignatureEntry.from_dict(s).keyid for s in document["signatures"]}
        if not mine <= {s.keyid for s in stored.signatures}:
            raise RemoteError(f"the server dropped the offline signature of production targets {tag}")
    station.save_progress(request.request_id, {"done": True})
