"""Root operations: rotate-root, rotate-targets and resign-root requests, and the ``RootResult`` they answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import BundleError
from .firstroot import MAX_FIRST_ROOT_BYTES, SEALED_FIELD
from .keys import PublicKey
from .metadata import Envelope, Root
from .operation import NewKey, Operation
from .privatekeys import PrivateKey
from .rootpair import RootPair
from .rotation import RotationParameters
from .strictjson import JsonObject

if TYPE_CHECKING:  # loaded by the operation that uses it (most ceremonies never do)
    from .resign import ResignParameters


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
