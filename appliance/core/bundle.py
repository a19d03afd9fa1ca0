"""Request and response bundles: the only things that cross the air gap.

A bundle file is JSON ``{"bundle": {...}, "signature": {"keyid", "method", "sig"}}``.
The signature is ED25519 by the sender's identity key over
``SIGNING_CONTEXT + canonical(bundle)``; ``keyid`` is the sender's fingerprint.
A response names the request it answers by ``request_id`` and ``request_digest``
(SHA-256 of the request's canonical ``bundle`` object), so it cannot be applied
to another request.  See bundle-spec.md §6.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from .errors import BundleError, InputFormatError
from .factoryname import check_factory_name
from .identity import Identity, PeerKey
from .operation import Operation, parse_operation
from .privatekeys import RandomBytes
from .strictjson import JsonObject, canonical, dumps_pretty, loads_object
from .timefmt import format_expires, parse_expires

FORMAT = "tuf-airgap-bundle"
FORMAT_VERSION = 1
REQUEST_TYPE = "application/vnd.tuf-airgap.request+json"
RESPONSE_TYPE = "application/vnd.tuf-airgap.response+json"
SIGNING_CONTEXT = b"tuf-airgap bundle v1\n"
OPERATIONS = tuple(Operation)
MAX_BUNDLE_BYTES = 32 * 1024 * 1024
# Matched with fullmatch: "$" would also accept a trailing newline.
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def new_request_id(random_bytes: RandomBytes) -> str:
    value = random_bytes(16)
    if not isinstance(value, bytes) or len(value) != 16:
        raise BundleError("the random source did not return 16 bytes for a request id")
    return value.hex()


_HEADER = ("format", "format_version", "media_type")


class _Bundle:
    """The fields of a bundle's ``bundle`` object: a fixed header plus the dataclass fields."""

    MEDIA_TYPE: ClassVar[str]

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(_HEADER) | {f.name for f in fields(cls)}  # type: ignore[arg-type]

    def body(self) -> JsonObject:
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "media_type": self.MEDIA_TYPE}
        return header | {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def digest(self) -> str:
        return hashlib.sha256(canonical(self.body())).hexdigest()


@dataclass(frozen=True)
class Request(_Bundle):
    MEDIA_TYPE: ClassVar[str] = REQUEST_TYPE

    factory: str
    request_id: str
    created: str
    sequence: int
    operation: str
    parameters: JsonObject
    payload: JsonObject


@dataclass(frozen=True)
class Response(_Bundle):
    MEDIA_TYPE: ClassVar[str] = RESPONSE_TYPE

    factory: str
    request_id: str
    request_digest: str
    created: str
    operation: str
    result: JsonObject


def make_request(
    *,
    factory: str,
    operation: str,
    parameters: JsonObject,
    payload: JsonObject,
    sequence: int,
    now: datetime,
    random_bytes: RandomBytes,
) -> Request:
    check_factory_name(factory)
    if operation not in OPERATIONS:
        raise BundleError(f"unknown operation {operation!r}")
    if sequence < 1:
        raise BundleError("sequence numbers start at 1")
    return Request(factory, new_request_id(random_bytes), format_expires(now), sequence, operation, parameters, payload)


def answer(request: Request, result: JsonObject, now: datetime) -> Response:
    return Response(
        request.factory, request.request_id, request.digest(), format_expires(now), request.operation, result
    )


def seal(body: JsonObject, identity: Identity) -> bytes:
    """Sign ``body`` and return the bundle file bytes."""
    try:
        payload = canonical(body)
    except InputFormatError as exc:
        raise BundleError(f"bundle content cannot be signed: {exc.message}") from exc
    sig = identity.sign(SIGNING_CONTEXT + payload)
    return dumps_pretty(
        {
            "bundle": body,
            "signature": {
                "keyid": identity.peer.fingerprint,
                "method": "ed25519",
                "sig": base64.b64encode(sig).decode(),
            },
        }
    )


def _open(data: bytes, signer: PeerKey, media_type: str, what: str) -> JsonObject:
    try:
        outer = loads_object(data, max_bytes=MAX_BUNDLE_BYTES, what=what)
    except InputFormatError as exc:
        raise BundleError(exc.message, hint="The file is damaged or truncated; copy it again.") from exc
    if set(outer) != {"bundle", "signature"}:
        raise BundleError(f"{what} is not a tuf-airgap bundle (expected exactly 'bundle' and 'signature')")
    body, sig = outer["bundle"], outer["signature"]
    if not isinstance(body, dict) or not isinstance(sig, Mapping):
        raise BundleError(f"{what} has a malformed bundle or signature")
    if body.get("format") != FORMAT or body.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{what} has an unsupported format or format version")
    if body.get("media_type") != media_type:
        kind = "request" if media_type == REQUEST_TYPE else "response"
        raise BundleError(f"{what} is not a {kind} bundle (media type {body.get('media_type')!r})")
    if sig.get("method") != "ed25519" or not isinstance(sig.get("sig"), str) or not isinstance(sig.get("keyid"), str):
        raise BundleError(f"{what} has an unsupported signature")
    if sig["keyid"] != signer.fingerprint:
        raise BundleError(
            f"{what} is signed by {sig['keyid'][:16]}…, not by the pinned {signer.side} {signer.fingerprint[:16]}…",
            hint="Only bundles from the paired peer are accepted; re-pair only after an identity check.",
        )
    try:
        raw_sig = base64.b64decode(sig["sig"], validate=True)
        payload = canonical(body, parsed=True)  # ``body`` is straight from loads_object
    except (binascii.Error, ValueError, InputFormatError):
        raise BundleError(f"{what} has a malformed signature or content") from None
    if not signer.verify(SIGNING_CONTEXT + payload, raw_sig):
        raise BundleError(f"{what}: signature does not verify; the bundle was altered or forged")
    return body


def _field(body: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BundleError(f"{what}: field {name!r} is missing or has the wrong type")
    return value


def _common(body: Mapping[str, Any], what: str) -> tuple[str, str, str, str]:
    factory = check_factory_name(_field(body, "factory", str, what))
    request_id = _field(body, "request_id", str, what)
    if not _REQUEST_ID.fullmatch(request_id):
        raise BundleError(f"{what}: request_id must be 32 hex digits")
    created = _field(body, "created", str, what)
    try:
        parse_expires(created)
    except InputFormatError:
        raise BundleError(f"{what}: created {created!r} is not a UTC timestamp") from None
    operation = parse_operation(_field(body, "operation", str, what), what)
    return factory, request_id, created, operation


def open_request(data: bytes, station: PeerKey, *, what: str = "request") -> Request:
    body = _open(data, station, REQUEST_TYPE, what)
    factory, request_id, created, operation = _common(body, what)
    sequence = _field(body, "sequence", int, what)
    if sequence < 1:
        raise BundleError(f"{what}: sequence must be positive")
    extra = set(body) - Request.field_names()
    if extra:
        raise BundleError(f"{what}: unexpected fields {sorted(extra)}")
    return Request(
        factory,
        request_id,
        created,
        sequence,
        operation,
        _field(body, "parameters", dict, what),
        _field(body, "payload", dict, what),
    )


def open_response(data: bytes, appliance: PeerKey, *, what: str = "response") -> Response:
    body = _open(data, appliance, RESPONSE_TYPE, what)
    factory, request_id, created, operation = _common(body, what)
    digest = _field(body, "request_digest", str, what)
    if not _DIGEST.fullmatch(digest):
        raise BundleError(f"{what}: request_digest must be 64 hex digits")
    extra = set(body) - Response.field_names()
    if extra:
        raise BundleError(f"{what}: unexpected fields {sorted(extra)}")
    return Response(factory, request_id, digest, created, operation, _field(body, "result", dict, what))


def check_binding(response: Response, request: Request) -> None:
    """A response must answer exactly this request of this factory."""
    if response.factory != request.factory:
        raise BundleError(f"response is for factory {response.factory!r}, the request was for {request.factory!r}")
    if response.request_id != request.request_id or response.request_digest != request.digest():
        raise BundleError("response does not answer this request (request id or digest differ)")
    if response.operation != request.operation:
        raise BundleError(f"response operation {response.operation!r} does not match the request")


PRIVATE_MARKERS = ("PRIVATE KEY", '"private"', "tuf-airgap-identity-secret")


def assert_no_private_material(data: bytes) -> None:
    """Last line of defence before a bundle leaves: no private key encodings in it."""
    text = data.decode("ascii", errors="replace")
    for marker in PRIVATE_MARKERS:
        if marker in text:
            raise BundleError(f"refusing to write a bundle containing private key material ({marker!r})")
