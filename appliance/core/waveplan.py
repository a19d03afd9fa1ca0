"""Offline signing of a wave's production targets: checks, signatures and the review value (pure).

``init-wave`` rebuilds the wave from the request's CI targets and current production
targets with fioctl's rules (core/waves.py) and signs only when the station's proposal
is exactly that.  The base it merges, the tag's current production targets, must meet
the production root's targets threshold: otherwise a server could slip targets into
the document the offline key signs.  The server adds the online targets key's
signature when it takes the wave, so the review counts it as "to come".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import BundleError, KeyMissingError, VerificationError
from .keys import PrivateKey, PublicKey, SignatureEntry
from .keysarchive import KeysArchive
from .metadata import Envelope, Root
from .rotation import find_online_targets_key
from .targets import add_signatures, check_production_targets, offline_targets_signers, sign_targets
from .timefmt import parse_expires
from .verify import check_threshold
from .waves import TargetRow, TargetsDiff, WaveParameters, build_wave_targets, diff_targets, target_rows, targets_of


@dataclass(frozen=True)
class WaveReview:
    """Everything the officer checks before the offline targets key signs."""

    wave: str
    tag: str
    version: int
    expires: str
    rows: tuple[TargetRow, ...]
    diff: TargetsDiff
    base_version: int | None  # the tag's current production targets version (None: first wave)
    prod_root: Root  # the root whose targets role will check the signatures on devices
    online_keyid: str
    signer_keyids: tuple[str, ...]
    signatures_after: int  # valid signatures once the server adds its online one (init) / as posted (sign)
    threshold: int
    lacks_delta_stats: bool = False

    @property
    def met(self) -> bool:
        return self.signatures_after >= self.threshold


@dataclass(frozen=True)
class WaveSigning:
    envelope: Envelope  # the unsigned (init) or server-signed (sign) targets the signatures cover
    signatures: tuple[SignatureEntry, ...]
    review: WaveReview

    def result(self) -> dict[str, Any]:
        return {
            "wave": self.review.wave,
            "targets_version": self.review.version,
            "signatures": [s.to_dict() for s in self.signatures],
        }


def _envelope(raw: object, what: str) -> Envelope:
    return Envelope.from_dict(raw, what=what)


def _valid(envelope: Envelope, prod: Root, keyids: tuple[str, ...]) -> int:
    role = prod.meta.roles["targets"]
    wanted = tuple(k for k in keyids if k in role.keyids)
    if not wanted:
        return 0
    result = check_threshold(
        envelope.signed_bytes(), envelope.signatures, prod.meta.keys, role.__class__(wanted, 1), "targets"
    )
    return result.count


def _current(payload: Mapping[str, Any], tag: str, prod: Root) -> Envelope | None:
    """The tag's production targets from the request; they must meet the production threshold."""
    raw = payload.get("production_targets")
    if raw is None:
        return None
    current = _envelope(raw, f"production targets of tag {tag}")
    try:
        check_production_targets(current, prod)
    except VerificationError as exc:
        raise VerificationError(
            f"the current production targets of tag {tag} are not trusted: {exc.message}",
            hint="They are the base of the wave; compare with the server and investigate.",
        ) from None
    return current


def _signers(prod: Root, archive: KeysArchive, online_id: str) -> list[tuple[str, PrivateKey, str]]:
    found = [s for s in offline_targets_signers(prod, archive) if s[0] != online_id]
    if not found:
        raise KeyMissingError(
            "the tarball holds no offline targets key of the production root",
            hint="Use the tarball (or targets-only tarball) that holds the current offline targets key.",
        )
    return found


def _check_expiry(expires: str, now: datetime) -> None:
    if parse_expires(expires) <= now:
        raise VerificationError(
            f"the wave's targets expire at {expires}, not after this appliance's clock ({now:%Y-%m-%d %H:%M}Z)",
            hint="Export a fresh request with a later --expires-days, or check the appliance clock.",
        )


def plan_init_wave(
    prod: Root,
    archive: KeysArchive,
    params: WaveParameters,
    payload: Mapping[str, Any],
    now: datetime,
) -> WaveSigning:
    online_id = find_online_targets_key(prod.meta, PublicKey.from_dict(payload.get("online_targets_key")))
    ci_targets = payload.get("ci_targets")
    if not isinstance(ci_targets, Mapping):
        raise BundleError("request payload has no ci_targets object")
    current = _current(payload, params.tag, prod)
    _check_expiry(params.expires, now)
    built = build_wave_targets(params, ci_targets, current)
    wave = payload.get("wave")
    if not isinstance(wave, Mapping):
        raise BundleError("request payload has no wave")
    for field, expected in (("name", params.name), ("version", params.version), ("tag", params.tag)):
        if wave.get(field) != expected:
            raise BundleError(f"request wave {field} {wave.get(field)!r} differs from its parameters ({expected!r})")
    proposed = _envelope(wave.get("targets"), f"wave {params.name} targets")
    if proposed.signed != built.signed:
        raise VerificationError(
            "the wave targets in the request are not what fioctl's rules build from its CI and production targets",
            hint="The request was altered or built wrongly; export a fresh one.",
        )
    unsigned = Envelope(built.signed, ())
    signers = _signers(prod, archive, online_id)
    signatures = tuple(sign_targets(unsigned, signers))
    signed = Envelope(unsigned.signed, signatures, {}, unsigned.canonical_signed)
    ids = tuple(k for k, _, _ in signers)
    after = _valid(signed, prod, ids) + (1 if online_id in prod.meta.roles["targets"].keyids else 0)
    review = WaveReview(
        wave=params.name,
        tag=params.tag,
        version=params.int_version,
        expires=params.expires,
        rows=tuple(target_rows(targets_of(signed))),
        diff=diff_targets(targets_of(current), targets_of(signed)),
        base_version=None if current is None else current.version,
        prod_root=prod,
        online_keyid=online_id,
        signer_keyids=ids,
        signatures_after=after,
        threshold=prod.meta.roles["targets"].threshold,
        lacks_delta_stats=built.lacks_delta_stats,
    )
    return WaveSigning(unsigned, signatures, review)


def plan_sign_wave(prod: Root, archive: KeysArchive, payload: Mapping[str, Any], now: datetime) -> WaveSigning:
    """fioctl ``waves sign``: one more offline signature on a wave the server already holds."""
    online_id = find_online_targets_key(prod.meta, PublicKey.from_dict(payload.get("online_targets_key")))
    wave = payload.get("wave")
    if not isinstance(wave, Mapping) or not isinstance(wave.get("name"), str):
        raise BundleError("request payload has no wave")
    name, tag = wave["name"], str(wave.get("tag", ""))
    envelope = _envelope(wave.get("targets"), f"wave {name} targets")
    rows = tuple(target_rows(targets_of(envelope)))
    if _valid(envelope, prod, (online_id,)) != 1:
        raise VerificationError("the wave's targets are not signed by the factory's online targets key")
    _check_expiry(str(envelope.signed.get("expires")), now)
    current = _current(payload, tag, prod)
    signers = _signers(prod, archive, online_id)
    signatures = tuple(sign_targets(envelope, signers))
    merged = add_signatures(envelope, signatures)
    review = WaveReview(
        wave=name,
        tag=tag,
        version=envelope.version,
        expires=str(envelope.signed.get("expires")),
        rows=rows,
        diff=diff_targets(targets_of(current), targets_of(envelope)),
        base_version=None if current is None else current.version,
        prod_root=prod,
        online_keyid=online_id,
        signer_keyids=tuple(k for k, _, _ in signers),
        signatures_after=_valid(merged, prod, prod.meta.roles["targets"].keyids),
        threshold=prod.meta.roles["targets"].threshold,
    )
    return WaveSigning(envelope, signatures, review)
