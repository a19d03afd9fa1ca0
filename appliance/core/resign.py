"""Re-signing before expiry: the same roots (and production targets) with a later ``expires``.

Mirrors fioctl ``keys tuf resign-root`` (bundle-spec.md §10.3): version + 1, expiry one
calendar year ahead (or the requested number of days), signed by the current root
key(s); CI and production root together.  Nothing else may change: a re-sign is
the one ceremony an officer may do routinely, so anything beyond version, expiry
and changelog (or fioctl's pruning of keys no role uses) is refused.

Production targets are re-signed as fioctl's ``sign-prod-targets`` signs them, by
the offline targets key over the canonical ``signed`` object, after replacing only
``expires``; the server adds its online signature (threshold 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .errors import BundleError, VerificationError
from .expiry import check_new_expiry, days_gained
from .keys import PublicKey, SignatureEntry, Signer
from .keysarchive import KeysArchive
from .metadata import Envelope, Root, RootMeta, sign_root
from .rootpair import RootPair, check_pair, production_variant
from .rotation import _changelog, verify_new_pair
from .strictjson import canonical, check_signable_string
from .targets import check_production_targets, offline_targets_signers, parse_targets
from .timefmt import add_years, format_expires, is_expired

DEFAULT_RESIGN_CHANGELOG = "Refresh TUF root expiration by 1 year"  # fioctl resign-root's default message
DEFAULT_TARGETS_VALIDITY_DAYS = 365  # fioctl waves init --expires-days default
MAX_VALIDITY_DAYS = 3660
RESIGNABLE_FIELDS = ("version", "expires", "x-changelog")


@dataclass(frozen=True)
class ResignParameters:
    """``validity_days`` absent: roots get one calendar year, production targets 365 days."""

    changelog: str
    validity_days: int | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"changelog": self.changelog}
        if self.validity_days is not None:
            out["validity_days"] = self.validity_days
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResignParameters:
        unknown = set(data) - {"changelog", "validity_days"}
        if unknown:
            raise BundleError(f"unknown re-sign parameters {sorted(unknown)}")
        changelog = data.get("changelog", "")
        if not isinstance(changelog, str) or len(changelog) > 1000:
            raise BundleError("changelog must be a string of at most 1000 characters")
        problem = check_signable_string(changelog)
        if problem:
            raise BundleError(f"changelog cannot be signed: {problem}")
        validity = data.get("validity_days")
        if validity is not None and (
            isinstance(validity, bool) or not isinstance(validity, int) or not 1 <= validity <= MAX_VALIDITY_DAYS
        ):
            raise BundleError(f"validity_days must be an integer from 1 to {MAX_VALIDITY_DAYS}")
        return cls(changelog, validity)

    def root_expires(self, now: datetime) -> str:
        if self.validity_days is None:
            return format_expires(add_years(now, 1))
        return format_expires(now + timedelta(days=self.validity_days))

    def targets_expires(self, now: datetime) -> str:
        return format_expires(now + timedelta(days=self.validity_days or DEFAULT_TARGETS_VALIDITY_DAYS))


def _unused_keys(meta: RootMeta) -> set[str]:
    used = {kid for role in meta.roles.values() for kid in role.keyids}
    return set(meta.keys) - used


def resign_differences(old: RootMeta, new: RootMeta) -> list[str]:
    """What ``new`` changes beyond a re-sign of ``old`` (empty when it is a pure re-sign).

    Allowed: version exactly + 1, expires, x-changelog, and dropping keys no role uses
    together with their x-key-owners entries (fioctl's finalize step does that).
    """
    out: list[str] = []
    if new.version != old.version + 1:
        out.append(f"version {old.version} -> {new.version} (a re-sign is exactly + 1)")
    dropped = set(old.keys) - set(new.keys)
    if set(new.keys) - set(old.keys):
        out.append("keys added")
    if dropped - _unused_keys(old):
        out.append("keys removed that a role uses")
    if any(old.keys[k] != new.keys[k] for k in set(old.keys) & set(new.keys)):
        out.append("keys changed")
    if dict(old.roles) != dict(new.roles):
        out.append("roles")
    if old.type != new.type:
        out.append("_type")
    if old.consistent_snapshot != new.consistent_snapshot:
        out.append("consistent_snapshot")
    for name in sorted((set(old.extra) | set(new.extra)) - set(RESIGNABLE_FIELDS)):
        before, after = old.extra.get(name), new.extra.get(name)
        if name == "x-key-owners" and isinstance(before, Mapping):
            before = {k: v for k, v in before.items() if k not in dropped}
        if before != after:
            out.append(name)
    return out


def check_resign_only(old: RootMeta, new: RootMeta, what: str) -> None:
    problems = resign_differences(old, new)
    if problems:
        raise VerificationError(
            f"{what} v{new.version} changes more than version and expiry: " + ", ".join(problems),
            hint="A re-sign may only extend the expiry; use rotate-root or a root updates transaction for changes.",
        )


@dataclass(frozen=True)
class _KeyidSigner:
    """Signs under the key id the root lists (it may be of an older key-id era)."""

    keyid: str
    key: Signer

    @property
    def public_key(self) -> PublicKey:
        return self.key.public_key

    def sign(self, payload: bytes) -> SignatureEntry:
        return replace(self.key.sign(payload), keyid=self.keyid)


@dataclass(frozen=True)
class RootResign:
    old: RootPair
    new: RootPair
    signer_keyids: tuple[str, ...]
    current_expired: bool
    days_gained: int


def plan_root_resign(current: RootPair, archive: KeysArchive, params: ResignParameters, now: datetime) -> RootResign:
    """Root N+1 for CI and production: only version, expiry and changelog differ; signed by the current root key(s)."""
    check_pair(current)
    ci = current.ci.meta
    new_expires = params.root_expires(now)
    check_new_expiry(f"CI root v{ci.version + 1}", ci.expires, new_expires, now)
    check_new_expiry(f"production root v{ci.version + 1}", current.prod.meta.expires, new_expires, now)
    signers = [_KeyidSigner(keyid, key) for keyid, key, _ in archive.require_signers(ci, "root")]
    extra = dict(ci.extra)
    extra["x-changelog"] = _changelog(params.changelog or DEFAULT_RESIGN_CHANGELOG, now)
    meta = replace(ci, version=ci.version + 1, expires=new_expires, extra=extra)
    prod_meta = production_variant(meta, current.prod.meta.roles["targets"].threshold)
    new = RootPair(sign_root(meta, signers), sign_root(prod_meta, signers))
    check_resign_only(current.ci.meta, new.ci.meta, "new CI root")
    check_resign_only(current.prod.meta, new.prod.meta, "new production root")
    verify_new_pair(current, new, now)
    return RootResign(
        current,
        new,
        tuple(s.keyid for s in signers),
        is_expired(current.ci.meta.expires_at, now),
        days_gained(ci.expires, new_expires),
    )


@dataclass(frozen=True)
class TargetsResign:
    tag: str
    old: Envelope
    new_signed: dict[str, Any]
    signatures: tuple[SignatureEntry, ...]  # the offline targets signature(s) over new_signed

    @property
    def days_gained(self) -> int:
        return days_gained(str(self.old.signed["expires"]), str(self.new_signed["expires"]))

    @property
    def new(self) -> Envelope:
        return Envelope(self.new_signed, self.signatures)


def plan_targets_resign(
    prod_root: Root,
    production_targets: Mapping[str, Envelope],
    archive: KeysArchive,
    params: ResignParameters,
    now: datetime,
) -> list[TargetsResign]:
    """Each tag's current production targets with a new ``expires``, signed by the offline targets key.

    The current document must meet the production root's targets threshold: the appliance
    only extends what devices already accept, never signs a proposal it cannot trace.
    """
    if not production_targets:
        raise BundleError("the request holds no production targets to re-sign")
    signers = offline_targets_signers(prod_root, archive)
    new_expires = params.targets_expires(now)
    out = []
    for tag, envelope in sorted(production_targets.items()):
        parse_targets(envelope)
        check_production_targets(envelope, prod_root)
        check_new_expiry(f"production targets {tag}", str(envelope.signed["expires"]), new_expires, now)
        new_signed = {**envelope.signed, "expires": new_expires}
        payload = canonical(new_signed)
        sigs = tuple(replace(key.sign(payload), keyid=keyid) for keyid, key, _ in signers)
        out.append(TargetsResign(tag, envelope, new_signed, sigs))
    return out


def check_targets_resign_only(old: Mapping[str, Any], new: Mapping[str, Any], what: str) -> None:
    """A re-signed production targets document may differ only in ``expires``."""
    changed = sorted(k for k in set(old) | set(new) if k != "expires" and old.get(k) != new.get(k))
    if changed:
        raise VerificationError(f"{what}: re-signed targets change more than the expiry: {', '.join(changed)}")
