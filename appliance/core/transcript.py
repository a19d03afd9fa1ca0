"""The sealed ceremony transcript: a hash chain of ceremony records signed by the appliance.

Each line of ``transcript.jsonl`` is ``{"prev": <hex>, "record": {...}, "sig": <base64>}``
where ``prev`` is the SHA-256 of the previous line's canonical JSON (64 zeros for the
first) and ``sig`` is the appliance identity's ED25519 signature over
``TRANSCRIPT_CONTEXT + canonical({"prev", "record"})``.  The digest of the last line
is the seal: written on the paper ceremony log, it pins every earlier record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

from .errors import InputFormatError, VerificationError
from .identity import Identity, PeerKey
from .strictjson import JsonObject, canonical, dumps_compact, loads_object

TRANSCRIPT_CONTEXT = b"tuf-airgap transcript v1\n"
GENESIS = "0" * 64


def entry_digest(entry: JsonObject) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def seal_entry(prev: str, record: JsonObject, identity: Identity) -> JsonObject:
    body = {"prev": prev, "record": record}
    sig = identity.sign(TRANSCRIPT_CONTEXT + canonical(body))
    return {**body, "sig": base64.b64encode(sig).decode()}


def entry_line(entry: JsonObject) -> bytes:
    return dumps_compact(entry) + b"\n"


def verify_transcript(data: bytes, appliance: PeerKey) -> tuple[list[JsonObject], str]:
    """Check every link and signature; return the records and the seal (digest of the last entry)."""
    records: list[JsonObject] = []
    prev = GENESIS
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            entry = loads_object(line, what=f"transcript line {number}")
        except InputFormatError as exc:
            raise VerificationError(exc.message, hint="The transcript was damaged or edited.") from exc
        record, sig = entry.get("record"), entry.get("sig")
        if set(entry) != {"prev", "record", "sig"} or not isinstance(record, dict) or not isinstance(sig, str):
            raise VerificationError(f"transcript line {number} is malformed")
        if entry.get("prev") != prev:
            raise VerificationError(f"transcript line {number} does not follow line {number - 1} (chain broken)")
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise VerificationError(f"transcript line {number} has a malformed signature") from None
        if not appliance.verify(TRANSCRIPT_CONTEXT + canonical({"prev": prev, "record": record}), raw):
            raise VerificationError(f"transcript line {number} is not signed by this appliance")
        records.append(record)
        prev = entry_digest(entry)
    return records, prev


def ceremony_record(
    *,
    time: str,
    operation: str,
    factory: str,
    request_id: str,
    request_digest: str,
    response_digest: str,
    station: str,
    from_version: int,
    new_keys: Sequence[Any],
    tarball_sha256: str | None,
) -> JsonObject:
    return {
        "time": time,
        "operation": operation,
        "factory": factory,
        "request_id": request_id,
        "request_digest": request_digest,
        "response_digest": response_digest,
        "station": station,
        "from_version": from_version,
        "new_keys": list(new_keys),
        "tarball_sha256": tarball_sha256,
    }
