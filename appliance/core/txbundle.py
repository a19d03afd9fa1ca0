"""What a root updates request carries beyond the root histories, and what its response adds (pure).

Request (bundle-spec.md §11.4): the operation's parameters (``txplan.UpdateParameters``)
and a payload of the transaction's staged roots, the user of the station's API token
(``owner``, recorded in ``x-key-owners`` for a new key) and, for signing targets, the
production and wave targets.  The txid never travels in a bundle.

Response: the staged roots after the change (``updatesops.StagedResult``, a ``RootResult``
plus the ``StagedExtras`` here): the production and wave targets signatures, the digest of
the staged CI root the appliance worked from, and the key ids it signed with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import BundleError
from .keys import SignatureEntry
from .metadata import Envelope, Root
from .rootpair import RootPair
from .strictjson import JsonObject
from .txplan import UpdateParameters
from .txroots import Staged, check_staged
from .txwire import parse_signature_map


@dataclass(frozen=True)
class StagedRoots:
    """The transaction's staged CI root, production root (absent until generated) and online key ids."""

    ci: Root
    prod: Root | None
    online_keys: Mapping[str, str]

    @classmethod
    def from_wire(cls, raw: object) -> StagedRoots:
        if not isinstance(raw, Mapping):
            raise BundleError("request payload has no staged roots")
        ci = Root.from_dict(raw.get("ci_root"), what="staged CI root")
        prod_raw = raw.get("prod_root")
        prod = None if prod_raw is None else Root.from_dict(prod_raw, what="staged production root")
        online = raw.get("online_keys", {})
        if not isinstance(online, Mapping) or not all(isinstance(v, str) for v in online.values()):
            raise BundleError("staged online_keys must map roles to key ids")
        return cls(ci, prod, {str(k): v for k, v in online.items()})

    def to_wire(self) -> JsonObject:
        return {
            "ci_root": self.ci.to_dict(),
            "prod_root": self.prod.to_dict() if self.prod is not None else None,
            "online_keys": dict(self.online_keys),
        }

    def against(self, current: RootPair) -> Staged:
        """The staged roots as the successors of ``current`` (version + 1, CI/production twins)."""
        staged = Staged(current, self.ci, self.prod, self.online_keys)
        check_staged(staged)
        return staged


def _documents(payload: Mapping[str, Any], name: str) -> dict[str, Envelope]:
    raw = payload.get(name, {})
    if not isinstance(raw, Mapping):
        raise BundleError(f"request payload {name} must be an object")
    return {str(k): Envelope.from_dict(v, what=f"{name} {k}") for k, v in raw.items()}


@dataclass(frozen=True)
class StagedChange:
    """One root updates request's contents: parameters, staged roots, owner and targets to sign."""

    params: UpdateParameters
    staged: StagedRoots
    owner: str = ""  # polis-id of the station token's user
    owner_name: str = ""
    production_targets: Mapping[str, Envelope] | None = None  # None: not fetched for this operation
    waves: Mapping[str, Envelope] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, operation: str, parameters: Mapping[str, Any], payload: Mapping[str, Any]) -> StagedChange:
        params = UpdateParameters.from_dict(operation, parameters)
        owner = payload.get("owner", {})
        if not isinstance(owner, Mapping) or not all(isinstance(owner.get(k, ""), str) for k in ("polis-id", "name")):
            raise BundleError("request payload owner must be {polis-id, name} strings")
        targets = _documents(payload, "production_targets") if "production_targets" in payload else None
        return cls(
            params,
            StagedRoots.from_wire(payload.get("staged")),
            owner.get("polis-id", ""),
            owner.get("name", ""),
            targets,
            _documents(payload, "waves"),
        )

    def parameters(self) -> JsonObject:
        return self.params.to_dict()

    def payload(self) -> JsonObject:
        out: JsonObject = {"staged": self.staged.to_wire()}
        if self.owner or self.owner_name:
            out["owner"] = {"polis-id": self.owner, "name": self.owner_name}
        if self.production_targets is not None:
            out["production_targets"] = {t: env.to_dict() for t, env in self.production_targets.items()}
        if self.waves:
            out["waves"] = {w: env.to_dict() for w, env in self.waves.items()}
        return out


@dataclass(frozen=True)
class StagedExtras:
    """What a root updates response carries beyond the new staged roots."""

    staged_ci_sha256: str
    signed_by: tuple[str, ...] = ()
    targets_signatures: Mapping[str, list[SignatureEntry]] = field(default_factory=dict)
    waves_signatures: Mapping[str, list[SignatureEntry]] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> StagedExtras:
        digest, signed_by = result.get("staged_ci_sha256"), result.get("signed_by", [])
        if not isinstance(digest, str):
            raise BundleError("response names no staged_ci_sha256")
        if not isinstance(signed_by, list) or not all(isinstance(k, str) for k in signed_by):
            raise BundleError("response signed_by must be a list of key ids")
        targets = parse_signature_map(result.get("targets_signatures"), "targets_signatures")
        waves = parse_signature_map(result.get("waves_signatures"), "waves_signatures")
        return cls(digest, tuple(signed_by), targets, waves)

    def to_wire(self) -> JsonObject:
        return {
            "targets_signatures": {t: [s.to_dict() for s in sigs] for t, sigs in self.targets_signatures.items()},
            "waves_signatures": {w: [s.to_dict() for s in sigs] for w, sigs in self.waves_signatures.items()},
            "staged_ci_sha256": self.staged_ci_sha256,
            "signed_by": list(self.signed_by),
        }
