"""The one call that turns request bytes into a verified ceremony context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from .bundle import Request, Response, answer, check_binding, make_request, open_request, open_response
from .errors import BundleError
from .identity import PeerKey
from .operation import Histories, Operation
from .operations import AnyRequest, AnyResult, request_body, result_body
from .privatekeys import RandomBytes
from .rootpair import RootPair
from .state import ApplianceState

B = TypeVar("B", bound=AnyRequest)


@dataclass(frozen=True)
class RequestContext(Generic[B]):
    """A request whose signature, freshness, histories and typed contents all checked out."""

    request: Request  # the envelope, as signed by the station
    station: PeerKey
    histories: Histories
    current: RootPair  # the verified current CI and production roots (the pairing)
    body: B  # the operation's typed parameters and payload


def open_verified_request(
    data: bytes, station: PeerKey, state: ApplianceState, kind: type[B], *, what: str = "request"
) -> RequestContext[B]:
    """Signature by the pinned station, the expected operation, not already handled, both histories
    verified from the appliance's anchors and paired, and the operation's contents parsed."""
    request = open_request(data, station, what=what)
    if request.operation != kind.OPERATION:
        raise BundleError(f"{what} is a {request.operation} request, not {kind.OPERATION}")
    state.check_fresh(request, station.fingerprint)
    histories = Histories.from_payload(request.payload)
    current = histories.verify(state.anchor(request.factory))
    body = request_body(Operation(request.operation), request.parameters, request.payload)
    if not isinstance(body, kind):
        raise BundleError(f"{what}: contents do not match operation {request.operation}")
    return RequestContext(request, station, histories, current, body)


def make_operation_request(
    factory: str,
    body: AnyRequest,
    histories: Histories,
    *,
    sequence: int,
    now: datetime,
    random_bytes: RandomBytes,
) -> Request:
    """The request bundle contents for ``body``: its parameters, and the histories plus its payload."""
    return make_request(
        factory=factory,
        operation=body.OPERATION,
        parameters=body.parameters(),
        payload=histories.to_payload() | body.payload(),
        sequence=sequence,
        now=now,
        random_bytes=random_bytes,
    )


def answer_with(request: Request, result: AnyResult, now: datetime) -> Response:
    return answer(request, result.to_wire(), now)


@dataclass(frozen=True)
class ResponseContext:
    """A response bound to the station's own pending request, with both sides typed."""

    request: Request
    response: Response
    histories: Histories
    result: AnyResult


def open_verified_response(data: bytes, appliance: PeerKey, request: Request, *, what: str) -> ResponseContext:
    response = open_response(data, appliance, what=what)
    return bind_response(response, request)


def bind_response(response: Response, request: Request) -> ResponseContext:
    check_binding(response, request)
    histories = Histories.from_payload(request.payload)
    return ResponseContext(request, response, histories, result_body(Operation(request.operation), response.result))
