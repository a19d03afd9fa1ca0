"""Sandbox: offline expiry refresh of a tag's production targets (pure rule).

``POST /ota/factories/<f>/prod-targets/<tag>/resign/`` with ``{"signed", "signatures"}``:
``signed`` must equal the tag's current production targets except for a later,
future ``expires``; each signature must verify with a production targets key.  The
server adds its online targets signature and stores the document only when the
production root's targets threshold is then met.  The real server's way of taking
such a refresh is unknown (bundle-spec.md §10.4); this is the sandbox's form of it.
"""

from __future__ import annotations

from datetime import datetime

from appliance.core.errors import InputFormatError, Refusal, VerificationError
from appliance.core.expiry import check_new_expiry
from appliance.core.metadata import Envelope, Root
from appliance.core.privatekeys import PrivateKey
from appliance.core.resign import check_targets_resign_only
from appliance.core.strictjson import loads_object
from appliance.core.targets import add_signatures
from appliance.core.verify import check_threshold

from .waves import MAX_WAVE_BYTES, publishable


def accept_resigned_targets(
    body: bytes, *, tag: str, current: Envelope | None, prod_root: Root, online: PrivateKey, now: datetime
) -> Envelope:
    if current is None:
        raise Refusal(404, "no-production-targets", f"there are no production targets for tag {tag!r}")
    try:
        obj = loads_object(body, max_bytes=MAX_WAVE_BYTES, what="re-signed targets")
        if set(obj) != {"signed", "signatures"}:
            raise Refusal(400, "bad-request", 'body must be {"signed": {...}, "signatures": [...]}')
        offered = Envelope.from_dict(obj, what="re-signed targets")
    except InputFormatError as exc:
        raise Refusal(400, "bad-request", exc.message) from None
    try:
        check_targets_resign_only(current.signed, offered.signed, f"production targets {tag}")
        check_new_expiry(
            f"production targets {tag}", str(current.signed["expires"]), str(offered.signed["expires"]), now
        )
    except VerificationError as exc:
        raise Refusal(409, "not-a-resign", exc.message) from None
    role = prod_root.meta.roles["targets"]
    payload = offered.signed_bytes()
    if not offered.signatures:
        raise Refusal(400, "bad-request", "at least one offline signature is needed")
    for sig in offered.signatures:
        single = role.__class__((sig.keyid,), 1)
        if sig.keyid not in role.keyids or not check_threshold(payload, [sig], prod_root.meta.keys, single, "t").met:
            raise Refusal(
                422, "verification-failed", f"signature by {sig.keyid[:16]} is not by a production targets key"
            )
    envelope = add_signatures(Envelope(offered.signed, ()), [*offered.signatures, online.sign(payload)])
    publishable(envelope, prod_root)
    return envelope
