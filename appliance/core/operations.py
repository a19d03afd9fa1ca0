"""Operations: what each request asks for and what each response answers, as typed values.

A request bundle's ``parameters`` and ``payload`` and a response's ``result`` are JSON
objects on the wire (bundle-spec.md §6); here each operation has one request class
(its parameters plus the payload beyond the root histories every request carries) and
one result class, each with ``from_wire``/``to_wire``, in its family's module (rootops,
targetsops, updatesops).  ``KINDS`` here maps an ``Operation`` (operation.py) to its two
classes; ``context.open_verified_request`` is the one call that turns request bytes into a
verified ``RequestContext``.

Adding an operation: add a member to ``Operation``, one request class and one result
class in its family's module (or reuse ``RootResult`` when the answer is a new root pair),
register them in ``KINDS``, and write one handler: the appliance command that plans it from the
``RequestContext``.  The station exports it with ``export_request`` and imports any
``RootResult`` without further code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .operation import Operation
from .rootops import ResignRootRequest, RootResult, RotateRootRequest, RotateTargetsRequest
from .targetsops import InitWaveRequest, ResignedTargets, ResignTargetsRequest, SignTargetsRequest, WaveSignatures
from .updatesops import (
    StagedChangeRequest,
    StagedResult,
    UpdatesAddKeyRequest,
    UpdatesDeleteKeyRequest,
    UpdatesRotateKeyRequest,
    UpdatesSetThresholdRequest,
    UpdatesSignProdTargetsRequest,
    UpdatesSignRequest,
)

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
