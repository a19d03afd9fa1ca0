"""Operations: what each request asks for and what each response answers, as typed values.

A request bundle's ``parameters`` and ``payload`` and a response's ``result`` are JSON
objects on the wire (bundle-spec.md §6); here each operation has one request class
(its parameters plus the payload beyond the root histories every request carries) and
one result class, each with ``from_wire``/``to_wire``.  ``KINDS`` maps an ``Operation``
to its two classes; ``open_verified_request`` is the one call that turns request bytes
into a verified ``RequestContext``.

Adding an operation: add a member to ``Operation``, one request class and one result
class here (or reuse ``RootResult`` when the answer is a new root pair), register them in
``KINDS``, and write one handler: the appliance command that plans it from the
``RequestContext``.  The station exports it with ``export_request`` and imports any
``RootResult`` without further code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from .errors import BundleError
from .firstroot import MAX_FIRST_ROOT_BYTES, SEALED_FIELD
from .keys import PrivateKey, PublicKey, SignatureEntry
from .metadata import Envelope, Root
from .rootpair import RootPair, check_pair, parse_chain, verify_history
from .rotation import RotationParameters
from .strictjson import JsonObject

if TYPE_CHECKING:  # loaded by the operations that use them (most ceremonies never do)
    from .resign import ResignParameters
    from .txbundle import StagedChange, StagedExtras
from .waves import WaveParameters


class Operation(StrEnum):
    ROTATE_ROOT = "rotate-root"
    ROTATE_TARGETS = "rotate-targets"
    SIGN_TARGETS = "sign-targets"
    INIT_WAVE = "init-wave"
    RESIGN_ROOT = "resign-root"
    RESIGN_TARGETS = "resign-targets"
    # root updates transactions (bundle-spec.md §11.4): one per staged change
    UPDATES_ROTATE_KEY = "updates-rotate-key"
    UPDATES_ADD_KEY = "updates-add-key"
    UPDATES_DELETE_KEY = "updates-delete-key"
    UPDATES_SET_THRESHOLD = "updates-set-threshold"
    UPDATES_SIGN = "updates-sign"
    UPDATES_SIGN_PROD_TARGETS = "updates-sign-prod-targets"

    def __repr__(self) -> str:  # messages quote an operation as the string it is on the wire
        return repr(self.value)


def parse_operation(value: str, what: str) -> Operation:
    try:
        return Operation(value)
    except ValueError:
        raise BundleError(f"{what}: unknown operation {value!r}") from None  # the cause only repeats the value


def _list(payload: Mapping[str, Any], name: str) -> list[Any]:
    value = payload.get(name)
    if not isinstance(value, list):
        raise BundleError(f"request payload has no {name!r} list")
    return value


def _object(data: Mapping[str, Any], name: str, what: str) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, Mapping):
        raise BundleError(f"{what} {name} must be an object")
    return value


@dataclass(frozen=True)
class Histories:
    """The CI and production root histories, version 1 to current, as the server serves them."""

    ci: tuple[Root, ...]
    prod: tuple[Root, ...]

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Histories:
        return cls(
            tuple(parse_chain(_list(payload, "ci_roots"), "CI root history")),
            tuple(parse_chain(_list(payload, "prod_roots"), "production root history")),
        )

    def to_payload(self) -> JsonObject:
        return {"ci_roots": [r.to_dict() for r in self.ci], "prod_roots": [r.to_dict() for r in self.prod]}

    @property
    def latest(self) -> RootPair:
        return RootPair(self.ci[-1], self.prod[-1])

    def verify(self, anchors: tuple[Root | None, Root | None] = (None, None)) -> RootPair:
        """Each history verified link by link from its anchor (or version 1); the pair must agree."""
        pair = RootPair(
            verify_history(self.ci, anchors[0], "CI root history"),
            verify_history(self.prod, anchors[1], "production root history"),
        )
        check_pair(pair)
        return pair


class OperationRequest(Protocol):
    """One operation's request: its parameters and the payload beyond the histories."""

    OPERATION: ClassVar[Operation]

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> Self: ...

    def parameters(self) -> JsonObject: ...

    def payload(self) -> JsonObject: ...


class OperationResult(Protocol):
    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> Self: ...

    def to_wire(self) -> JsonObject: ...


# --- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotateRootRequest:
    OPERATION: ClassVar[Operation] = Operation.ROTATE_ROOT

    params: RotationParameters
    # First-time takeover: the server's first_root.sec answer, sealed to the appliance (base64).
    first_root_sealed: str | None = None

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> RotateRootRequest:
        sealed = payload.get(SEALED_FIELD)
        if sealed is not None and (not isinstance(sealed, str) or len(sealed) > 2 * MAX_FIRST_ROOT_BYTES):
            raise BundleError(f"request payload {SEALED_FIELD} must be base64 text")
        return cls(RotationParameters.from_dict(parameters), sealed)

    def parameters(self) -> JsonObject:
        return self.params.to_dict()

    def payload(self) -> JsonObject:
        return {} if self.first_root_sealed is None else {SEALED_FIELD: self.first_root_sealed}


@dataclass(frozen=True)
class RotateTargetsRequest:
    OPERATION: ClassVar[Operation] = Operation.ROTATE_TARGETS

    params: RotationParameters
    online_targets_key: PublicKey
    production_targets: Mapping[str, Envelope] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> RotateTargetsRequest:
        params = RotationParameters.from_dict(parameters)
        online = PublicKey.from_dict(payload.get("online_targets_key"))
        prod_targets = payload.get("production_targets", {})
        if not isinstance(prod_targets, dict):
            raise BundleError("request payload production_targets must be an object")
        envelopes = {
            tag: Envelope.from_dict(env, what=f"production targets {tag}") for tag, env in prod_targets.items()
        }
        return cls(params, online, envelopes)

    def parameters(self) -> JsonObject:
        return self.params.to_dict()

    def payload(self) -> JsonObject:
        return {
            "online_targets_key": self.online_targets_key.to_dict(),
            "production_targets": {tag: env.to_dict() for tag, env in self.production_targets.items()},
        }


@dataclass(frozen=True)
class Wave:
    """A wave's production targets.json (signed online) with the server's name, version and tag."""

    name: str
    targets: Envelope
    extra: Mapping[str, Any] = field(default_factory=dict)  # version, tag: carried as the server sent them

    WIRE_FIELDS: ClassVar[tuple[str, ...]] = ("name", "version", "tag", "targets")

    @classmethod
    def from_wire(cls, wave: object) -> Wave:
        if not isinstance(wave, Mapping) or not isinstance(wave.get("name"), str):
            raise BundleError("request payload has no wave")
        # A request payload comes unchanged from the strict parser: no second shape walk.
        targets = Envelope.from_dict(wave.get("targets"), what=f"wave {wave['name']} targets", parsed=True)
        extra = {k: wave[k] for k in ("version", "tag") if k in wave}
        return cls(wave["name"], targets, extra)

    def to_wire(self) -> JsonObject:
        return {"name": self.name, **self.extra, "targets": self.targets.to_dict()}


def _tag_targets(payload: Mapping[str, Any]) -> Envelope | None:
    """A wave request's ``production_targets``: the tag's current envelope, or null (first wave)."""
    raw = payload.get("production_targets")
    return None if raw is None else Envelope.from_dict(raw, what="production targets of the wave's tag", parsed=True)


def _tag_targets_wire(envelope: Envelope | None) -> JsonObject | None:
    return None if envelope is None else envelope.to_dict()


@dataclass(frozen=True)
class SignTargetsRequest:
    """fioctl ``waves sign``: one more offline signature on a wave the server already holds."""

    OPERATION: ClassVar[Operation] = Operation.SIGN_TARGETS

    wave: Wave
    online_targets_key: PublicKey
    production_targets: Envelope | None = None  # the wave tag's, for the review's difference

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> SignTargetsRequest:
        wave = Wave.from_wire(payload.get("wave"))
        return cls(wave, PublicKey.from_dict(payload.get("online_targets_key")), _tag_targets(payload))

    def parameters(self) -> JsonObject:
        return {"wave": self.wave.name}

    def payload(self) -> JsonObject:
        return {
            "online_targets_key": self.online_targets_key.to_dict(),
            "wave": self.wave.to_wire(),
            "production_targets": _tag_targets_wire(self.production_targets),
        }


@dataclass(frozen=True)
class InitWaveRequest:
    """fioctl ``waves init``: the wave the station built, unsigned, and everything it was built from."""

    OPERATION: ClassVar[Operation] = Operation.INIT_WAVE

    params: WaveParameters
    online_targets_key: PublicKey
    ci_targets: Mapping[str, Any]  # GET …/targets/?version=V: {name: target}
    production_targets: Envelope | None  # the tag's current production targets (None: first wave)
    wave: Wave  # the proposal: the appliance signs it only if its own build gives the same bytes

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> InitWaveRequest:
        return cls(
            WaveParameters.from_dict(parameters),
            PublicKey.from_dict(payload.get("online_targets_key")),
            _object(payload, "ci_targets", "request payload"),
            _tag_targets(payload),
            Wave.from_wire(payload.get("wave")),
        )

    def parameters(self) -> JsonObject:
        return self.params.to_dict()

    def payload(self) -> JsonObject:
        return {
            "online_targets_key": self.online_targets_key.to_dict(),
            "ci_targets": dict(self.ci_targets),
            "production_targets": _tag_targets_wire(self.production_targets),
            "wave": self.wave.to_wire(),
        }


def _production_targets(payload: Mapping[str, Any], what: str) -> dict[str, Envelope]:
    raw = payload.get("production_targets", {})
    if not isinstance(raw, Mapping):
        raise BundleError(f"{what} production_targets must be an object")
    return {tag: Envelope.from_dict(env, what=f"production targets {tag}") for tag, env in raw.items()}


@dataclass(frozen=True)
class ResignRootRequest:
    """Re-sign both roots: version + 1 and a later expiry, nothing else (bundle-spec.md §10.3)."""

    OPERATION: ClassVar[Operation] = Operation.RESIGN_ROOT

    params: ResignParameters

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> ResignRootRequest:
        from .resign import ResignParameters

        return cls(ResignParameters.from_dict(parameters))

    def parameters(self) -> JsonObject:
        return self.params.to_dict()

    def payload(self) -> JsonObject:
        return {}


@dataclass(frozen=True)
class ResignTargetsRequest:
    """Re-sign the named tags' current production targets with a later expiry (bundle-spec.md §10.4)."""

    OPERATION: ClassVar[Operation] = Operation.RESIGN_TARGETS

    params: ResignParameters
    production_targets: Mapping[str, Envelope]

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> ResignTargetsRequest:
        from .resign import ResignParameters

        if not isinstance(payload.get("production_targets"), Mapping):
            raise BundleError("request payload has no production_targets object")
        return cls(ResignParameters.from_dict(parameters), _production_targets(payload, "request payload"))

    def parameters(self) -> JsonObject:
        return self.params.to_dict()

    def payload(self) -> JsonObject:
        return {"production_targets": {tag: env.to_dict() for tag, env in self.production_targets.items()}}


@dataclass(frozen=True)
class StagedChangeRequest:
    """A root updates change; the subclasses below differ only in their operation."""

    OPERATION: ClassVar[Operation]

    change: StagedChange

    @classmethod
    def from_wire(cls, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> Self:
        from .txbundle import StagedChange

        return cls(StagedChange.from_wire(cls.OPERATION, parameters, payload))

    def parameters(self) -> JsonObject:
        return self.change.parameters()

    def payload(self) -> JsonObject:
        return self.change.payload()


class UpdatesRotateKeyRequest(StagedChangeRequest):
    OPERATION = Operation.UPDATES_ROTATE_KEY


class UpdatesAddKeyRequest(StagedChangeRequest):
    OPERATION = Operation.UPDATES_ADD_KEY


class UpdatesDeleteKeyRequest(StagedChangeRequest):
    OPERATION = Operation.UPDATES_DELETE_KEY


class UpdatesSetThresholdRequest(StagedChangeRequest):
    OPERATION = Operation.UPDATES_SET_THRESHOLD


class UpdatesSignRequest(StagedChangeRequest):
    OPERATION = Operation.UPDATES_SIGN


class UpdatesSignProdTargetsRequest(StagedChangeRequest):
    OPERATION = Operation.UPDATES_SIGN_PROD_TARGETS


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewKey:
    role: str
    keyid: str
    keytype: str

    def to_wire(self) -> JsonObject:
        return {"role": self.role, "keyid": self.keyid, "keytype": self.keytype}


@dataclass(frozen=True)
class RootResult:
    """A new CI and production root pair (rotate-root, rotate-targets, resign-root)."""

    ci_root: Root
    prod_root: Root
    new_keys: tuple[NewKey, ...] = ()
    tarball_sha256: str | None = None

    @property
    def pair(self) -> RootPair:
        return RootPair(self.ci_root, self.prod_root)

    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> RootResult:
        keys = result.get("new_keys", [])
        if not isinstance(keys, list) or not all(
            isinstance(k, Mapping) and all(isinstance(k.get(n), str) for n in ("role", "keyid", "keytype"))
            for k in keys
        ):
            raise BundleError("response new_keys must be a list of {role, keyid, keytype}")
        digest = result.get("tarball_sha256")
        if digest is not None and not isinstance(digest, str):
            raise BundleError("response tarball_sha256 must be a string")
        return cls(
            Root.from_dict(result.get("ci_root"), what="new CI root"),
            Root.from_dict(result.get("prod_root"), what="new production root"),
            tuple(NewKey(k["role"], k["keyid"], k["keytype"]) for k in keys),
            digest,
        )

    def to_wire(self) -> JsonObject:
        out: JsonObject = {
            "ci_root": self.ci_root.to_dict(),
            "prod_root": self.prod_root.to_dict(),
            "new_keys": [k.to_wire() for k in self.new_keys],
        }
        if self.tarball_sha256 is not None:
            out["tarball_sha256"] = self.tarball_sha256
        return out


def root_result(new: RootPair, new_keys: Sequence[tuple[str, PrivateKey]]) -> RootResult:
    """The answer of a root-changing operation: the new pair and the public facts of its new keys."""
    return RootResult(new.ci, new.prod, tuple(NewKey(role, key.keyid, key.kind) for role, key in new_keys))


@dataclass(frozen=True)
class WaveSignatures:
    """The offline targets signatures over a wave's production targets (init-wave, sign-targets)."""

    wave: str
    targets_version: int
    signatures: tuple[SignatureEntry, ...]
    tarball_sha256: None = None  # signing a wave leaves the tarball unchanged
    new_keys: tuple[NewKey, ...] = ()

    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> WaveSignatures:
        wave, version, raw = result.get("wave"), result.get("targets_version"), result.get("signatures")
        if not isinstance(raw, list) or not raw:
            raise BundleError("response carries no signatures")
        if not isinstance(wave, str):
            raise BundleError("response names no wave")
        if isinstance(version, bool) or not isinstance(version, int):
            raise BundleError("response targets_version must be an integer")
        return cls(wave, version, tuple(SignatureEntry.from_dict(s) for s in raw))

    def to_wire(self) -> JsonObject:
        return {
            "wave": self.wave,
            "targets_version": self.targets_version,
            "signatures": [s.to_dict() for s in self.signatures],
        }


@dataclass(frozen=True)
class ResignedTargets:
    """Each tag's production targets with the new expiry and the offline signature(s) (resign-targets)."""

    production_targets: Mapping[str, Envelope]
    tarball_sha256: None = None  # resign-targets leaves the tarball unchanged
    new_keys: tuple[NewKey, ...] = ()

    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> ResignedTargets:
        raw = result.get("production_targets")
        if not isinstance(raw, Mapping) or not raw:
            raise BundleError("response carries no re-signed production targets")
        for tag, entry in raw.items():
            if not isinstance(entry, Mapping) or set(entry) != {"signed", "signatures"}:
                raise BundleError(f"response entry for tag {tag!r} is not {{signed, signatures}}")
            if not entry["signatures"]:
                raise BundleError(f"response carries no signature for tag {tag!r}")
        return cls(_production_targets(result, "response"))

    def to_wire(self) -> JsonObject:
        return {"production_targets": {tag: env.to_dict() for tag, env in self.production_targets.items()}}


@dataclass(frozen=True)
class StagedResult:
    """The staged roots after a root updates change (as a ``RootResult``) and what signing added."""

    roots: RootResult
    extras: StagedExtras

    @property
    def tarball_sha256(self) -> str | None:
        return self.roots.tarball_sha256

    @property
    def new_keys(self) -> tuple[NewKey, ...]:
        return self.roots.new_keys

    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> StagedResult:
        from .txbundle import StagedExtras

        return cls(RootResult.from_wire(result), StagedExtras.from_wire(result))

    def to_wire(self) -> JsonObject:
        return self.roots.to_wire() | self.extras.to_wire()


# --- the registry ----------------------------------------------------------------------------


AnyRequest = (
    RotateRootRequest
    | RotateTargetsRequest
    | SignTargetsRequest
    | InitWaveRequest
    | ResignRootRequest
    | ResignTargetsRequest
    | StagedChangeRequest
)
AnyResult = RootResult | WaveSignatures | ResignedTargets | StagedResult


@dataclass(frozen=True)
class OperationKind:
    request: type[AnyRequest]
    result: type[AnyResult]


KINDS: Mapping[Operation, OperationKind] = {
    Operation.ROTATE_ROOT: OperationKind(RotateRootRequest, RootResult),
    Operation.ROTATE_TARGETS: OperationKind(RotateTargetsRequest, RootResult),
    Operation.SIGN_TARGETS: OperationKind(SignTargetsRequest, WaveSignatures),
    Operation.INIT_WAVE: OperationKind(InitWaveRequest, WaveSignatures),
    Operation.RESIGN_ROOT: OperationKind(ResignRootRequest, RootResult),
    Operation.RESIGN_TARGETS: OperationKind(ResignTargetsRequest, ResignedTargets),
    Operation.UPDATES_ROTATE_KEY: OperationKind(UpdatesRotateKeyRequest, StagedResult),
    Operation.UPDATES_ADD_KEY: OperationKind(UpdatesAddKeyRequest, StagedResult),
    Operation.UPDATES_DELETE_KEY: OperationKind(UpdatesDeleteKeyRequest, StagedResult),
    Operation.UPDATES_SET_THRESHOLD: OperationKind(UpdatesSetThresholdRequest, StagedResult),
    Operation.UPDATES_SIGN: OperationKind(UpdatesSignRequest, StagedResult),
    Operation.UPDATES_SIGN_PROD_TARGETS: OperationKind(UpdatesSignProdTargetsRequest, StagedResult),
}


def request_body(operation: Operation, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> AnyRequest:
    return KINDS[operation].request.from_wire(parameters, payload)


def result_body(operation: Operation, result: Mapping[str, Any]) -> AnyResult:
    return KINDS[operation].result.from_wire(result)
