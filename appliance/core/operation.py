"""The ``Operation`` enum and what every operation shares: the root histories, the wire protocols.

Each operation's request and result classes live with their family (rootops, targetsops,
updatesops); ``operations.KINDS`` is the one registry that maps an ``Operation`` to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self

from .errors import BundleError
from .metadata import Root
from .rootpair import RootPair, check_pair, parse_chain, verify_history
from .strictjson import JsonObject


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


def wire_list(payload: Mapping[str, Any], name: str) -> list[Any]:
    value = payload.get(name)
    if not isinstance(value, list):
        raise BundleError(f"request payload has no {name!r} list")
    return value


def wire_object(data: Mapping[str, Any], name: str, what: str) -> Mapping[str, Any]:
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
            tuple(parse_chain(wire_list(payload, "ci_roots"), "CI root history")),
            tuple(parse_chain(wire_list(payload, "prod_roots"), "production root history")),
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


@dataclass(frozen=True)
class NewKey:
    role: str
    keyid: str
    keytype: str

    def to_wire(self) -> JsonObject:
        return {"role": self.role, "keyid": self.keyid, "keytype": self.keytype}
