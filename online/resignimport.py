"""Import a resign-targets response: check every document, then hand each to the server.

Resumable like the root import: a tag whose server document already carries the new
expiry (and meets the production threshold) is done; a tag still at the exported
document is uploaded; anything else stops the import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from appliance.common.plaintext import plain_console
from appliance.core.context import ResponseContext
from appliance.core.errors import BundleError, RemoteError, VerificationError
from appliance.core.expiry import check_new_expiry, days_gained
from appliance.core.metadata import Envelope, Root
from appliance.core.resign import check_targets_resign_only
from appliance.core.state import ImportProgress
from appliance.core.targets import check_production_targets
from appliance.core.targetsops import ResignedTargets, ResignTargetsRequest
from appliance.core.verify import check_threshold

from .api import FactoryClient
from .station import Station
from .targets_api import get_production_targets, resign_production_targets


def _check(tag: str, old: Envelope, new: Envelope, prod: Root, now: datetime) -> None:
    check_targets_resign_only(old.signed, new.signed, f"production targets {tag}")
    check_new_expiry(f"production targets {tag}", str(old.signed["expires"]), str(new.signed["expires"]), now)
    role = prod.meta.roles["targets"]
    payload = new.signed_bytes()
    for sig in new.signatures:
        single = role.__class__((sig.keyid,), 1)
        if sig.keyid not in role.keyids or not check_threshold(payload, [sig], prod.meta.keys, single, "targets").met:
            raise VerificationError(f"production targets {tag}: signature by {sig.keyid[:16]} does not verify")


def import_resigned_targets(
    station: Station,
    bound: ResponseContext,
    result: ResignedTargets,
    client: Callable[[], FactoryClient],
    progress: ImportProgress,
) -> None:
    out = plain_console()
    now = datetime.now(UTC)
    request = bound.request
    prod = bound.histories.latest.prod
    exported = ResignTargetsRequest.from_wire(request.parameters, request.payload).production_targets
    documents = dict(sorted(result.production_targets.items()))
    if set(documents) != set(exported):
        raise BundleError("response does not re-sign exactly the exported tags")
    for tag, document in documents.items():
        _check(tag, exported[tag], document, prod, now)
    api = client()
    served = get_production_targets(api, *documents)
    for tag, document in documents.items():
        old = exported[tag]
        current = Envelope.from_dict(served.get(tag), what=f"server production targets {tag}")
        if current.signed == document.signed:
            out.print(f"production targets {tag} already carry the new expiry; nothing to do")
            continue
        if current.signed != old.signed:
            raise RemoteError(
                f"production targets {tag} changed on the server since export", hint="Export a fresh request."
            )
        resign_production_targets(api, tag, document)
        gained = days_gained(str(old.signed["expires"]), str(document.signed["expires"]))
        out.print(
            f"production targets {tag} re-signed: expires {document.signed['expires']} (+{gained} days)",
        )
    after = get_production_targets(api, *documents)
    for tag, document in documents.items():
        stored = Envelope.from_dict(after.get(tag), what=f"server production targets {tag}")
        if stored.signed != document.signed:
            raise RemoteError(f"the server does not serve the re-signed production targets {tag}")
        check_production_targets(stored, prod)
        mine = {s.keyid for s in document.signatures}
        if not mine <= {s.keyid for s in stored.signatures}:
            raise RemoteError(f"the server dropped the offline signature of production targets {tag}")
    station.save_progress(request.request_id, progress.finished())
