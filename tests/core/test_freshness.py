"""Request freshness (bundle-spec §6.12): replay by id, superseded per factory and stream, else answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from appliance.core.bundle import Request, make_request
from appliance.core.errors import BundleError
from appliance.core.freshness import HANDLED_CAP, check_fresh, record_handled

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def req(sequence: int, *, factory: str = "acme", operation: str = "rotate-root", rid: int | None = None) -> Request:
    ident = bytes([rid if rid is not None else sequence]) * 16
    return make_request(
        factory=factory,
        operation=operation,
        parameters={},
        payload={},
        sequence=sequence,
        now=NOW,
        random_bytes=lambda n: ident[:n],
    )


def answered(*requests: Request) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for request in requests:
        record = record_handled(record, request)
    return record


@pytest.mark.parametrize(
    ("done", "candidate", "refusal"),
    [
        ((), req(1), None),
        ((req(4),), req(3), "is superseded: this appliance already answered a newer rotate-root request (sequence 4)"),
        ((req(4),), req(4), "was already answered by this appliance (replayed request)"),
        ((req(4, rid=9),), req(4), "superseded: this appliance already answered another rotate-root request"),
        ((req(4, operation="rotate-targets"),), req(3), "superseded"),  # both make the next root version
        ((req(4, operation="sign-targets"),), req(3), None),  # another stream: still current
        ((req(4, factory="globex"),), req(3), None),  # another factory
        ((req(3), req(4, operation="sign-targets")), req(3), "replayed request"),
        ((req(2), req(5)), req(6), None),
    ],
)
def test_freshness(done: tuple[Request, ...], candidate: Request, refusal: str | None) -> None:
    record = answered(*done)
    if refusal is None:
        check_fresh(record, candidate)
    else:
        with pytest.raises(BundleError, match=refusal.replace("(", r"\(").replace(")", r"\)")) as caught:
            check_fresh(record, candidate)
        if "superseded" in refusal:
            assert "replay" not in caught.value.message


def test_records_written_before_ids_were_kept_refuse_as_possibly_answered() -> None:
    with pytest.raises(BundleError, match="not newer than 4, the last request this appliance answered before"):
        check_fresh({"last_sequence": 4}, req(3))
    check_fresh({"last_sequence": 4}, req(5))


def test_the_handled_list_is_bounded_and_the_latest_per_stream_is_kept() -> None:
    record: dict[str, Any] = {}
    for sequence in range(1, HANDLED_CAP + 50):
        record = record_handled(record, req(sequence, operation="sign-targets", rid=sequence % 256))
    assert len(record["handled"]) <= HANDLED_CAP
    assert record["latest"]["acme"]["sign-targets"]["sequence"] == HANDLED_CAP + 49
    assert record["last_sequence"] == HANDLED_CAP + 49
