"""Targets operations: waves (init-wave, sign-targets) and resign-targets, requests and results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import BundleError
from .keys import PublicKey, SignatureEntry
from .metadata import Envelope
from .operation import NewKey, Operation, wire_object
from .strictjson import JsonObject
from .waves import WaveParameters

if TYPE_CHECKING:  # loaded by the operation that uses it (most ceremonies never do)
    from .resign import ResignParameters


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
            wire_object(payload, "ci_targets", "request payload"),
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
