"""One appliance operation per staged transaction change: parameters, payload and the plan (pure).

Operations (bundle-spec.md §11.4) and the fioctl command each mirrors:

=========================== =============================================== ==========================
operation                   what changes                                    fioctl ``keys tuf updates``
=========================== =============================================== ==========================
updates-rotate-key          the tarball's one key of the role -> a new key   rotate-offline-key
updates-add-key             a new key appended to the role                   add-offline-key
updates-delete-key          a key id leaves the role                         delete-offline-key --key-id
updates-set-threshold       root threshold, or production targets threshold set-threshold
updates-sign                nothing; the staged roots are signed             sign
updates-sign-prod-targets   nothing; production/wave targets are signed      sign-prod-targets
=========================== =============================================== ==========================

A change may also sign (``"sign": true``, fioctl ``--sign``).  Signing uses every root key
of the current or staged root the tarball holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import BundleError
from .keys import KEYTYPES, SignatureEntry
from .keysarchive import KeysArchive
from .metadata import Envelope, Root
from .privatekeys import PrivateKey
from .strictjson import JsonObject
from .txroots import OFFLINE_ROLES, Change, Staged, add_key, delete_key, rotate_key, set_threshold
from .txsign import (
    Signer,
    offline_targets_signer,
    require_root_signers,
    sign_documents,
    sign_staged,
    signed_by,
)

UPDATE_OPERATIONS = (
    "updates-rotate-key",
    "updates-add-key",
    "updates-delete-key",
    "updates-set-threshold",
    "updates-sign",
    "updates-sign-prod-targets",
)
NEW_KEY_OPERATIONS = ("updates-rotate-key", "updates-add-key")
_PARAMS: Mapping[str, frozenset[str]] = {
    "updates-rotate-key": frozenset({"role", "key_type", "sign"}),
    "updates-add-key": frozenset({"role", "key_type"}),
    "updates-delete-key": frozenset({"role", "keyid"}),
    "updates-set-threshold": frozenset({"role", "threshold", "sign"}),
    "updates-sign": frozenset(),
    "updates-sign-prod-targets": frozenset({"tags", "waves"}),
}


def _names(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 256 for v in value):
        raise BundleError(f"{what} must be a list of names")
    return tuple(value)


@dataclass(frozen=True)
class UpdateParameters:
    operation: str
    role: str = "root"
    key_type: str = "ED25519"
    keyid: str = ""
    threshold: int = 0
    sign: bool = False
    tags: tuple[str, ...] = ()
    waves: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, operation: str, data: Mapping[str, Any]) -> UpdateParameters:
        if operation not in UPDATE_OPERATIONS:
            raise BundleError(f"{operation!r} is not a root updates operation")
        unknown = set(data) - _PARAMS[operation]
        if unknown:
            raise BundleError(f"unknown {operation} parameters {sorted(unknown)}")
        role = data.get("role", "root")
        if role not in OFFLINE_ROLES:
            raise BundleError(f"role must be root or targets, not {role!r}")
        key_type = data.get("key_type", "ED25519")
        if not isinstance(key_type, str) or key_type.upper() not in KEYTYPES:
            raise BundleError(f"unsupported key_type {key_type!r}; expected ED25519 or RSA")
        keyid = data.get("keyid", "")
        if not isinstance(keyid, str) or len(keyid) > 128:
            raise BundleError("keyid must be a string")
        if operation == "updates-delete-key" and not keyid:
            raise BundleError("updates-delete-key needs a keyid")
        threshold = data.get("threshold", 0)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 1000:
            raise BundleError("threshold must be an integer from 1 to 1000")
        if operation == "updates-set-threshold" and threshold < 1:
            raise BundleError("updates-set-threshold needs a threshold")
        sign = data.get("sign", False)
        if not isinstance(sign, bool):
            raise BundleError("sign must be true or false")
        tags, waves = _names(data.get("tags", []), "tags"), _names(data.get("waves", []), "waves")
        return cls(str(operation), role, key_type.upper(), keyid, threshold, sign, tags, waves)

    def to_dict(self) -> JsonObject:
        """The parameters this operation takes (bundle-spec.md §11.4)."""
        every: JsonObject = {
            "role": self.role,
            "key_type": self.key_type,
            "keyid": self.keyid,
            "threshold": self.threshold,
            "sign": self.sign,
            "tags": list(self.tags),
            "waves": list(self.waves),
        }
        return {k: v for k, v in every.items() if k in _PARAMS[self.operation]}


@dataclass(frozen=True)
class UpdatePlan:
    ci: Root
    prod: Root
    summary: tuple[str, ...]
    new_key: PrivateKey | None
    signers: tuple[Signer, ...]
    targets_signatures: Mapping[str, list[SignatureEntry]]
    waves_signatures: Mapping[str, list[SignatureEntry]]

    def as_staged(self, before: Staged) -> Staged:
        return Staged(before.current, self.ci, self.prod, before.online_keys)


def _resign_documents(
    staged: Staged, change: Change, documents: Mapping[str, Envelope]
) -> dict[str, list[SignatureEntry]]:
    """A targets rotation re-signs, with the new key, the documents the retired key had signed."""
    if change.new_key is None or not change.removed:
        return {}
    picked: dict[str, Envelope] = {}
    for keyid in change.removed:
        picked.update(signed_by(documents, keyid))
    return sign_documents(picked, change.new_key.keyid, change.new_key)


def plan_update(
    params: UpdateParameters,
    staged: Staged,
    archive: KeysArchive,
    *,
    new_key: PrivateKey | None,
    owner: str,
    now: datetime,
    production_targets: Mapping[str, Envelope] | None,
    waves: Mapping[str, Envelope],
) -> UpdatePlan:
    production_targets = production_targets or {}
    op = params.operation
    if op in NEW_KEY_OPERATIONS and new_key is None:
        raise BundleError(f"{op} needs a new key")
    targets_sigs: dict[str, list[SignatureEntry]] = {}
    waves_sigs: dict[str, list[SignatureEntry]] = {}
    if op == "updates-sign-prod-targets":
        keyid, key = offline_targets_signer(staged, archive)
        targets_sigs = sign_documents(production_targets, keyid, key)
        waves_sigs = sign_documents(waves, keyid, key)
        summary = [f"production targets signed for tag {t}" for t in targets_sigs]
        summary += [f"wave targets signed for wave {w}" for w in waves_sigs]
        ci, prod = staged.ci, staged.prod_or_generated()
        return UpdatePlan(ci, prod, tuple(summary), None, (), targets_sigs, waves_sigs)
    if op == "updates-sign":
        found = require_root_signers(staged, archive)
        ci, prod = sign_staged(staged, found)
        return UpdatePlan(ci, prod, ("staged roots signed",), None, tuple(found), {}, {})
    if op == "updates-rotate-key":
        assert new_key is not None
        change = rotate_key(staged, params.role, archive, new_key, owner, now)
        if params.role == "targets":
            targets_sigs = _resign_documents(staged, change, production_targets)
            waves_sigs = _resign_documents(staged, change, waves)
    elif op == "updates-add-key":
        assert new_key is not None
        change = add_key(staged, params.role, archive, new_key, owner, now)
    elif op == "updates-delete-key":
        change = delete_key(staged, params.role, params.keyid)
    else:
        change = set_threshold(staged, params.role, params.threshold)
    ci, prod = change.ci, change.prod
    signers: tuple[Signer, ...] = ()
    if params.sign:
        after = Staged(staged.current, ci, prod, staged.online_keys)
        fresh = new_key is not None and not archive.has_private_for(new_key.public_key)
        held = archive.with_key(params.role, new_key) if fresh and new_key is not None else archive
        signers = tuple(require_root_signers(after, held))
        ci, prod = sign_staged(after, signers)
    return UpdatePlan(ci, prod, change.summary, change.new_key, signers, targets_sigs, waves_sigs)
