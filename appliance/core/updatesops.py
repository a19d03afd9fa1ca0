"""Root updates transactions (bundle-spec.md §11.4): one request class per staged change, one result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from .operation import NewKey, Operation
from .rootops import RootResult
from .strictjson import JsonObject

if TYPE_CHECKING:  # loaded by the operations that use them (most ceremonies never do)
    from .txbundle import StagedChange, StagedExtras


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
