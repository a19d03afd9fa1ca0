"""The sealed ceremony transcript file: read it, verify it, append one ceremony."""

from __future__ import annotations

from datetime import datetime

from ..common.durable import read_capped, write_durable
from ..common.home import Home
from ..common.plaintext import plain_console
from ..core.bundle import Request, Response
from ..core.identity import Identity, PeerKey, hex_words
from ..core.strictjson import JsonObject
from ..core.timefmt import format_expires
from ..core.transcript import ceremony_record, entry_digest, entry_line, seal_entry, verify_transcript

TRANSCRIPT_MAX_BYTES = 64 * 1024 * 1024


def read_transcript(home: Home, appliance: PeerKey) -> tuple[bytes, list[JsonObject], str]:
    """The file's bytes, its verified records and its seal (the digest of the last entry)."""
    path = home.transcript
    data = read_capped(path, TRANSCRIPT_MAX_BYTES, what="transcript") if path.exists() else b""
    records, seal = verify_transcript(data, appliance)
    return data, records, seal


def append_ceremony(
    home: Home,
    identity: Identity,
    request: Request,
    station: PeerKey,
    from_version: int,
    response: Response,
    now: datetime,
) -> None:
    """Extend the sealed transcript (hash chain signed by this appliance) and show its new seal."""
    existing, records, prev = read_transcript(home, identity.peer)
    response_digest = response.digest()
    last = records[-1] if records else {}
    if last.get("request_id") == request.request_id and last.get("response_digest") == response_digest:
        plain_console().print(f"transcript already records this ceremony; seal: {prev}")
        return
    record = ceremony_record(
        time=format_expires(now),
        operation=request.operation,
        factory=request.factory,
        request_id=request.request_id,
        request_digest=request.digest(),
        response_digest=response_digest,
        station=station.fingerprint,
        from_version=from_version,
        new_keys=response.result.get("new_keys", []),
        tarball_sha256=response.result.get("tarball_sha256"),
    )
    entry = seal_entry(prev, record, identity)
    write_durable(home.transcript, existing + entry_line(entry), replace=True, mode=0o600, label="transcript")
    seal = entry_digest(entry)
    plain_console().print("transcript seal and its words:", f"  {seal}", f"  {' '.join(hex_words(seal))}")


def append_record(home: Home, identity: Identity, record: JsonObject, now: datetime) -> str:
    """Extend the sealed transcript with a non-ceremony record (e.g. a key moved to a token); returns the seal."""
    existing, _, prev = read_transcript(home, identity.peer)
    entry = seal_entry(prev, {"time": format_expires(now), **record}, identity)
    write_durable(home.transcript, existing + entry_line(entry), replace=True, mode=0o600, label="transcript")
    return entry_digest(entry)
