"""Planning key rotations: pure functions from current roots + keys to new roots.

Mirrors fioctl's ``keys rotate-root`` (see bundle-spec.md §1.6): the new key
replaces the root role's keys, version + 1, expiry one calendar year ahead
(unless a validity in days is requested), keys no role uses are dropped, the old
root key included (fioctl ``RemoveUnusedKeys`` since 4d9a3de, Sep 2022: devices
check the old root's signature against the old root's keys), a fresh
``x-changelog`` is set, and both the CI and the production root are signed by the
old root keys and the new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .errors import BundleError, VerificationError
from .keys import KEYTYPES, PublicKey, Signer
from .keysarchive import KeysArchive
from .metadata import Envelope, RootMeta, sign_root
from .privatekeys import PrivateKey
from .rootpair import RootPair, check_pair, production_variant
from .strictjson import check_signable_string
from .targets import parse_targets
from .timefmt import add_years, format_expires
from .verify import verify_root_update

MAX_VALIDITY_DAYS = 3660


@dataclass(frozen=True)
class RotationParameters:
    key_type: str
    changelog: str
    validity_days: int | None
    polis_id: str = ""  # the requesting user, from GET /ota/factories/<f>/users/self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key_type": self.key_type, "changelog": self.changelog}
        if self.polis_id:
            out["polis_id"] = self.polis_id
        if self.validity_days is not None:
            out["validity_days"] = self.validity_days
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RotationParameters:
        key_type = data.get("key_type", "ED25519")
        changelog = data.get("changelog", "")
        validity = data.get("validity_days")
        if not isinstance(key_type, str) or key_type.upper() not in KEYTYPES:
            raise BundleError(f"unsupported key_type {key_type!r}; expected ED25519 or RSA")
        if not isinstance(changelog, str) or len(changelog) > 1000:
            raise BundleError("changelog must be a string of at most 1000 characters")
        problem = check_signable_string(changelog)
        if problem:
            raise BundleError(f"changelog cannot be signed: {problem}")
        if validity is not None and (
            isinstance(validity, bool) or not isinstance(validity, int) or not 1 <= validity <= MAX_VALIDITY_DAYS
        ):
            raise BundleError(f"validity_days must be an integer from 1 to {MAX_VALIDITY_DAYS}")
        polis_id = data.get("polis_id", "")
        if not isinstance(polis_id, str) or len(polis_id) > 200 or check_signable_string(polis_id):
            raise BundleError("polis_id must be a signable string of at most 200 characters")
        unknown = set(data) - {"key_type", "changelog", "validity_days", "polis_id"}
        if unknown:
            raise BundleError(f"unknown rotation parameters {sorted(unknown)}")
        return cls(key_type.upper(), changelog, validity, polis_id)

    def expires(self, now: datetime) -> str:
        if self.validity_days is None:
            return format_expires(add_years(now, 1))
        return format_expires(now + timedelta(days=self.validity_days))


def rotation_from_options(
    key_type: str, changelog: str, validity_days: int | None, *, names: Mapping[str, str]
) -> RotationParameters:
    """The station's command-line values as rotation parameters; a bad value is a usage error
    naming the option as the operator typed it (``names``: parameter -> option) and its real limit."""
    from .errors import UsageError

    if key_type.upper() not in KEYTYPES:
        raise UsageError(f"{names['key_type']} {key_type!r}: the new key's type must be ED25519 or RSA", hint="")
    if len(changelog) > 1000:
        raise UsageError(
            f"{names['changelog']}: the reason is {len(changelog)} characters; at most 1000 fit in x-changelog",
            hint="Shorten it; the full story belongs in the ceremony record.",
        )
    problem = check_signable_string(changelog)
    if problem:
        raise UsageError(f"{names['changelog']}: the reason cannot be signed: {problem}", hint="")
    if validity_days is not None and not 1 <= validity_days <= MAX_VALIDITY_DAYS:
        raise UsageError(
            f"{names['validity_days']} {validity_days}: the new root must be valid for 1 to {MAX_VALIDITY_DAYS} days",
            hint="Leave the option out for the usual one year.",
        )
    data: dict[str, Any] = {"key_type": key_type, "changelog": changelog}
    if validity_days is not None:
        data["validity_days"] = validity_days
    return RotationParameters.from_dict(data)


@dataclass(frozen=True)
class RootRotation:
    old: RootPair
    new: RootPair
    new_key: PrivateKey
    signer_keyids: tuple[str, ...]  # old root keys that signed, then the new key
    removed_keyids: tuple[str, ...] = ()  # keys of the old root no role of the new one uses


def _changelog(message: str, now: datetime, polis_id: str = "") -> dict[str, Any]:
    # fioctl's RootChangeReason (client/foundries_tuf_root.go); polis-id is the user's id from
    # GET /ota/factories/<f>/users/self (UserAccessDetails), fetched by the station.
    return {"polis-id": polis_id, "message": message, "timestamp": format_expires(now)}


def _with_owner(meta: RootMeta, keyid: str, params: RotationParameters, now: datetime) -> RootMeta:
    # fioctl since d0e3d2a (v0.35, 2023; its rotate-root and rotate-targets run addOfflineTufKey)
    # records the user from users/self as the new key's owner in x-key-owners.
    return meta.with_key_owner(keyid, params.polis_id, format_expires(now)) if params.polis_id else meta


def _rotated_meta(ci: RootMeta, new_key: PrivateKey, params: RotationParameters, now: datetime) -> RootMeta:
    keys = dict(ci.keys)
    keys[new_key.keyid] = new_key.public_key
    extra = dict(ci.extra)
    # fioctl sets a fresh x-changelog on every rotate-root, even with an empty message.
    extra["x-changelog"] = _changelog(params.changelog, now, params.polis_id)
    meta = replace(ci, keys=keys, version=ci.version + 1, expires=params.expires(now), extra=extra)
    meta = _with_owner(meta.with_role("root", [new_key.keyid], 1), new_key.keyid, params, now)
    return meta.without_unused_keys()


def plan_root_rotation(
    current: RootPair, archive: KeysArchive, new_key: PrivateKey, params: RotationParameters, now: datetime
) -> RootRotation:
    """Build and self-check root N+1 (CI and production) signed by the old root keys and ``new_key``."""
    check_pair(current)
    if new_key.kind != params.key_type:
        raise VerificationError(f"new key is {new_key.kind}, the request asked for {params.key_type}")
    if current.ci.meta.keyid_for(new_key.public_key) is not None or new_key.keyid in current.ci.meta.keys:
        raise VerificationError("the new root key is already in the root")
    old_signers = archive.require_signers(current.ci.meta, "root")
    old_ids = [keyid for keyid, _, _ in old_signers]
    signers: list[Signer] = [key for _, key, _ in old_signers] + [new_key]
    ids = [*old_ids, new_key.keyid]

    new_ci_meta = _rotated_meta(current.ci.meta, new_key, params, now)
    # fioctl's syncProdRoot sets 2 after every rotate-root (rotate_root.go, 4d9a3de), even over the
    # single online targets key; a higher threshold set since (set-threshold, 39ae8ed) is kept.
    prod_threshold = max(current.prod.meta.roles["targets"].threshold, PRODUCTION_TARGETS_THRESHOLD)
    new_prod_meta = production_variant(new_ci_meta, prod_threshold)
    new = RootPair(
        sign_root(new_ci_meta, signers, keyids=ids),
        sign_root(new_prod_meta, signers, keyids=ids),
    )
    verify_new_pair(current, new, now)
    removed = tuple(k for k in current.ci.meta.keys if k not in new_ci_meta.keys)
    return RootRotation(current, new, new_key, tuple(ids), removed)


def verify_new_pair(old: RootPair, new: RootPair, now: datetime) -> None:
    """What both the appliance (before writing) and the station (before uploading) insist on."""
    check_pair(new)
    verify_root_update(old.ci, new.ci, now)
    verify_root_update(old.prod, new.prod, now)


DEFAULT_TARGETS_CHANGELOG = "Targets role key rotation"  # fioctl's default message
PRODUCTION_TARGETS_THRESHOLD = 2


@dataclass(frozen=True)
class TargetsRotation:
    old: RootPair
    new: RootPair
    new_key: PrivateKey
    online_keyid: str
    replaced: tuple[str, ...]  # offline targets key ids that leave the role
    resigned_tags: tuple[str, ...]


def find_online_targets_key(meta: RootMeta, online: PublicKey) -> str:
    for keyid in meta.roles["targets"].keyids:
        if meta.keys[keyid].same_key(online):
            return keyid
    raise VerificationError(
        "the server's online CI targets key is not in the root's targets role",
        hint="The request's online key and root do not belong together; export a fresh request.",
    )


def plan_targets_rotation(
    current: RootPair,
    archive: KeysArchive,
    new_key: PrivateKey,
    params: RotationParameters,
    now: datetime,
    online_key: PublicKey,
    production_targets: Mapping[str, Envelope],
) -> TargetsRotation:
    """fioctl ``rotate-targets``: targets = [online CI key, new offline key]; CI threshold 1,
    production threshold 2; signed by the root key(s); existing production targets re-signed
    with the new key and carried in ``targets-signatures`` so the switch is atomic."""
    check_pair(current)
    if new_key.kind != params.key_type:
        raise VerificationError(f"new key is {new_key.kind}, the request asked for {params.key_type}")
    ci = current.ci.meta
    if ci.keyid_for(new_key.public_key) is not None or new_key.keyid in ci.keys:
        raise VerificationError("the new targets key is already in the root")
    online_id = find_online_targets_key(ci, online_key)
    found = archive.require_signers(ci, "root")
    root_signers = [key for _, key, _ in found]
    root_ids = [keyid for keyid, _, _ in found]
    keys = dict(ci.keys)
    keys[new_key.keyid] = new_key.public_key
    extra = dict(ci.extra)
    extra["x-changelog"] = _changelog(params.changelog or DEFAULT_TARGETS_CHANGELOG, now, params.polis_id)
    expires = ci.expires if params.validity_days is None else params.expires(now)
    meta = replace(ci, keys=keys, version=ci.version + 1, expires=expires, extra=extra)
    meta = meta.with_role("targets", [online_id, new_key.keyid], 1)
    meta = _with_owner(meta, new_key.keyid, params, now).without_unused_keys()
    prod_meta = production_variant(
        meta, max(current.prod.meta.roles["targets"].threshold, PRODUCTION_TARGETS_THRESHOLD)
    )
    resigned: dict[str, Any] = {}
    for tag, envelope in sorted(production_targets.items()):
        parse_targets(envelope)
        resigned[tag] = [new_key.sign(envelope.signed_bytes()).to_dict()]
    envelope_extra = {"targets-signatures": resigned} if resigned else None
    new = RootPair(
        sign_root(meta, root_signers, envelope_extra, keyids=root_ids),
        sign_root(prod_meta, root_signers, envelope_extra, keyids=root_ids),
    )
    verify_new_pair(current, new, now)
    replaced = tuple(k for k in ci.roles["targets"].keyids if k != online_id)
    return TargetsRotation(current, new, new_key, online_id, replaced, tuple(resigned))
