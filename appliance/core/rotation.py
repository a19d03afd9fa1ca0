"""Planning key rotations: pure functions from current roots + keys to new roots.

Mirrors fioctl's ``keys rotate-root`` (see bundle-spec.md §1.6): the new key
replaces the root role's keys, version + 1, expiry one calendar year ahead
(unless a validity in days is requested), keys no role uses are dropped except
the old root keys (they sign this version), and both the CI and the production
root are signed by the old root keys and the new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .errors import BundleError, VerificationError
from .keys import KEYTYPES, PrivateKey, PublicKey, Signer
from .keysarchive import KeysArchive
from .metadata import Envelope, RootMeta, sign_root
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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key_type": self.key_type, "changelog": self.changelog}
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
        unknown = set(data) - {"key_type", "changelog", "validity_days"}
        if unknown:
            raise BundleError(f"unknown rotation parameters {sorted(unknown)}")
        return cls(key_type.upper(), changelog, validity)

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


def _changelog(message: str, now: datetime) -> dict[str, Any]:
    # Same shape as fioctl's RootChangeReason; polis-id names a Foundries user, unknown offline.
    return {"polis-id": "", "message": message, "timestamp": format_expires(now)}


def _rotated_meta(
    ci: RootMeta, new_key: PrivateKey, old_root_ids: list[str], params: RotationParameters, now: datetime
) -> RootMeta:
    keys = dict(ci.keys)
    keys[new_key.keyid] = new_key.public_key
    extra = dict(ci.extra)
    if params.changelog:
        extra["x-changelog"] = _changelog(params.changelog, now)
    meta = replace(ci, keys=keys, version=ci.version + 1, expires=params.expires(now), extra=extra)
    meta = meta.with_role("root", [new_key.keyid], 1)
    return meta.without_unused_keys(keep=old_root_ids)


def plan_root_rotation(
    current: RootPair, archive: KeysArchive, new_key: PrivateKey, params: RotationParameters, now: datetime
) -> RootRotation:
    """Build and self-check root N+1 (CI and production) signed by the old root keys and ``new_key``."""
    check_pair(current)
    if new_key.kind != params.key_type:
        raise VerificationError(f"new key is {new_key.kind}, the request asked for {params.key_type}")
    if new_key.keyid in current.ci.meta.keys:
        raise VerificationError("the new root key is already in the root")
    old_signers = archive.require_signers(current.ci.meta, "root")
    old_ids = [keyid for keyid, _, _ in old_signers]
    signers: list[Signer] = [key for _, key, _ in old_signers] + [new_key]

    new_ci_meta = _rotated_meta(current.ci.meta, new_key, old_ids, params, now)
    prod_threshold = current.prod.meta.roles["targets"].threshold
    new_prod_meta = production_variant(new_ci_meta, prod_threshold)
    new = RootPair(
        sign_root(new_ci_meta, signers),
        sign_root(new_prod_meta, signers),
    )
    verify_new_pair(current, new, now)
    return RootRotation(current, new, new_key, tuple(old_ids) + (new_key.keyid,))


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
    if new_key.keyid in ci.keys:
        raise VerificationError("the new targets key is already in the root")
    online_id = find_online_targets_key(ci, online_key)
    root_signers = [key for _, key, _ in archive.require_signers(ci, "root")]
    keys = dict(ci.keys)
    keys[new_key.keyid] = new_key.public_key
    extra = dict(ci.extra)
    extra["x-changelog"] = _changelog(params.changelog or DEFAULT_TARGETS_CHANGELOG, now)
    expires = ci.expires if params.validity_days is None else params.expires(now)
    meta = replace(ci, keys=keys, version=ci.version + 1, expires=expires, extra=extra)
    meta = meta.with_role("targets", [online_id, new_key.keyid], 1).without_unused_keys()
    prod_meta = production_variant(meta, PRODUCTION_TARGETS_THRESHOLD)
    resigned: dict[str, Any] = {}
    for tag, envelope in sorted(production_targets.items()):
        parse_targets(envelope)
        resigned[tag] = [new_key.sign(envelope.signed_bytes()).to_dict()]
    envelope_extra = {"targets-signatures": resigned} if resigned else None
    new = RootPair(sign_root(meta, root_signers, envelope_extra), sign_root(prod_meta, root_signers, envelope_extra))
    verify_new_pair(current, new, now)
    replaced = tuple(k for k in ci.roles["targets"].keyids if k != online_id)
    return TargetsRotation(current, new, new_key, online_id, replaced, tuple(resigned))
