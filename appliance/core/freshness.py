"""Which requests the appliance may still answer (bundle-spec.md §6.12).

Per pinned station the appliance records, in its state file:

- ``handled``: the ids of the last ``HANDLED_CAP`` requests it answered (a replay is
  recognised by its id, never guessed from a sequence number);
- ``latest``: per factory and per stream, the sequence and id of the newest request
  answered.  ``rotate-root``, ``rotate-targets`` and ``resign-root`` share the stream
  ``roots`` (each makes the next root version); the root updates operations
  (``updates-*``) share ``root-updates``; ``sign-targets``, ``init-wave`` and
  ``resign-targets`` are streams of their own.  Never trimmed.
- ``last_sequence``: the highest sequence answered (kept for older records).

A request is refused when its id was handled (replay), or when a request of the same factory
and stream with a higher sequence was handled (superseded: it was computed against roots that
are no longer current).  Any other request is answered, even one whose sequence is below
that of a request of another stream or factory handled meanwhile.  Requests have no expiry
of their own; expired roots inside them are refused by the root checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bundle import Request
from .errors import BundleError

HANDLED_CAP = 1000
_FRESH_HINT = "Export a fresh request on the online station and carry that one."


def stream(operation: str) -> str:
    if operation in ("rotate-root", "rotate-targets", "resign-root"):
        return "roots"
    if operation.startswith("updates-"):
        return "root-updates"  # the changes of one staged transaction build on each other
    return operation


def check_fresh(record: Mapping[str, Any], request: Request) -> None:
    """Raise BundleError naming the accurate reason when ``request`` may not be answered."""
    handled = record.get("handled")
    latest_all = record.get("latest")
    if not isinstance(handled, list) or not isinstance(latest_all, Mapping):
        last = record.get("last_sequence", 0)
        if isinstance(last, int) and request.sequence <= last:
            raise BundleError(
                f"request sequence {request.sequence} is not newer than {last}, the last request this appliance "
                "answered before it kept request ids; it may already have been answered",
                hint=_FRESH_HINT,
            )
        return
    if request.request_id in handled:
        raise BundleError(
            f"request {request.request_id} (sequence {request.sequence}) was already answered by this appliance "
            "(replayed request)",
            hint="A request is answered once; the response of that ceremony is on the stick it was written to.",
        )
    per_factory = latest_all.get(request.factory, {})
    latest = per_factory.get(stream(request.operation)) if isinstance(per_factory, Mapping) else None
    if not isinstance(latest, Mapping):
        return
    sequence, request_id = latest.get("sequence"), latest.get("request_id")
    if request_id == request.request_id:
        raise BundleError(
            f"request {request.request_id} (sequence {request.sequence}) was already answered by this appliance "
            "(replayed request)",
            hint="A request is answered once; the response of that ceremony is on the stick it was written to.",
        )
    if isinstance(sequence, int) and request.sequence <= sequence:
        newer = "a newer" if request.sequence < sequence else "another"
        raise BundleError(
            f"request sequence {request.sequence} ({request.operation}, exported {request.created}) is superseded: "
            f"this appliance already answered {newer} {latest.get('operation')} request (sequence {sequence}) for "
            f"factory {request.factory}, so this one was made from roots that are no longer current",
            hint=_FRESH_HINT,
        )


def record_handled(record: Mapping[str, Any], request: Request) -> dict[str, Any]:
    """``record`` after answering ``request``: id remembered (bounded), latest of its stream moved."""
    handled = [i for i in record.get("handled", []) if isinstance(i, str) and i != request.request_id]
    handled = [*handled, request.request_id][-HANDLED_CAP:]
    latest_all = {k: dict(v) for k, v in record.get("latest", {}).items() if isinstance(v, Mapping)}
    per_factory = latest_all.setdefault(request.factory, {})
    current = per_factory.get(stream(request.operation))
    if (
        not isinstance(current, Mapping)
        or not isinstance(current.get("sequence"), int)
        or (current["sequence"] < request.sequence)
    ):
        per_factory[stream(request.operation)] = {
            "sequence": request.sequence,
            "request_id": request.request_id,
            "operation": request.operation,
        }
    last = record.get("last_sequence", 0)
    return {
        **record,
        "last_sequence": max(last if isinstance(last, int) else 0, request.sequence),
        "handled": handled,
        "latest": latest_all,
    }
