"""Offline signing of a wave's production targets: checks, signatures and the review value (pure).

``init-wave`` rebuilds the wave from the request's CI targets and current production
targets with fioctl's rules (core/waves.py) and signs only when the station's proposal
is exactly that.  The base it merges, the tag's current production targets, must meet
the production root's targets threshold: otherwise a server could slip targets into
the document the offline key signs.  The server adds the online targets key's
signature when it takes the wave, so the review counts it as "to come".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import BundleError, KeyMissingError, VerificationError
from .keys import SignatureEntry, Signer
from .keysarchive import KeysArchive
from .metadata import Envelope, RoleKeys, Root
from .operations import InitWaveRequest, SignTargetsRequest, WaveSignatures
from .rotation import find_online_targets_key
from .targets import add_signatures, check_production_targets, offline_targets_signers, sign_targets
from .timefmt import parse_expires
from .verify import check_threshold
from .waves import TargetRow, TargetsDiff, build_wave_targets, diff_targets, target_rows, targets_of


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
class CheckedWave:
    """A wave request that passed every check; nothing is signed yet (tokens still locked)."""

    name: str
    tag: str
    envelope: Envelope  # the unsigned (init) or server-signed (sign) targets the signatures cover
    current: Envelope | None  # the tag's production targets, threshold met
    online_keyid: str
    init: bool  # init-wave: the server adds its online signature after posting
    lacks_delta_stats: bool = False


@dataclass(frozen=True)
class WaveSigning:
    envelope: Envelope  # the unsigned (init) or server-signed (sign) targets the signatures cover
    signatures: tuple[SignatureEntry, ...]
    review: WaveReview

    def result(self) -> WaveSignatures:
        return WaveSignatures(self.review.wave, self.review.version, self.signatures)


def _valid(envelope: Envelope, prod: Root, keyids: tuple[str, ...]) -> int:
    role = prod.meta.roles["targets"]
    wanted = tuple(k for k in keyids if k in role.keyids)
    if not wanted:
        return 0
    result = check_threshold(
        envelope.signed_bytes(), envelope.signatures, prod.meta.keys, RoleKeys(wanted, 1), "targets"
    )
    return result.count


def _current(current: Envelope | None, tag: str, prod: Root) -> Envelope | None:
    """The tag's production targets from the request; they must meet the production threshold."""
    if current is None:
        return None
    try:
        check_production_targets(current, prod)
    except VerificationError as exc:
        raise VerificationError(
            f"the current production targets of tag {tag} are not trusted: {exc.message}",
            hint="They are the base of the wave; compare with the server and investigate.",
        ) from exc
    return current


def _signers(prod: Root, archive: KeysArchive, online_id: str) -> list[tuple[str, Signer, str]]:
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


def check_init_wave(prod: Root, body: InitWaveRequest, now: datetime) -> CheckedWave:
    """fioctl ``waves init``: rebuild the wave; it is signed only if the station proposed exactly that."""
    params = body.params
    online_id = find_online_targets_key(prod.meta, body.online_targets_key)
    current = _current(body.production_targets, params.tag, prod)
    _check_expiry(params.expires, now)
    built = build_wave_targets(params, body.ci_targets, current)
    wave = body.wave.to_wire()
    for field, expected in (("name", params.name), ("version", params.version), ("tag", params.tag)):
        if wave.get(field) != expected:
            raise BundleError(f"request wave {field} {wave.get(field)!r} differs from its parameters ({expected!r})")
    if body.wave.targets.signed != built.signed:
        raise VerificationError(
            "the wave targets in the request are not what fioctl's rules build from its CI and production targets",
            hint="The request was altered or built wrongly; export a fresh one.",
        )
    unsigned = Envelope(built.signed, ())
    target_rows(targets_of(unsigned))  # every target shown in the review must be well formed
    return CheckedWave(params.name, params.tag, unsigned, current, online_id, True, built.lacks_delta_stats)


def check_sign_wave(prod: Root, body: SignTargetsRequest, now: datetime) -> CheckedWave:
    """fioctl ``waves sign``: one more offline signature on a wave the server already holds."""
    online_id = find_online_targets_key(prod.meta, body.online_targets_key)
    name, tag = body.wave.name, str(body.wave.extra.get("tag", ""))
    envelope = body.wave.targets
    target_rows(targets_of(envelope))
    if _valid(envelope, prod, (online_id,)) != 1:
        raise VerificationError("the wave's targets are not signed by the factory's online targets key")
    _check_expiry(str(envelope.signed.get("expires")), now)
    current = _current(body.production_targets, tag, prod)
    return CheckedWave(name, tag, envelope, current, online_id, False)


def sign_wave(checked: CheckedWave, prod: Root, archive: KeysArchive) -> WaveSigning:
    """Sign with every offline targets key the tarball (or its tokens, unlocked) holds; build the review."""
    envelope = checked.envelope
    signers = _signers(prod, archive, checked.online_keyid)
    signatures = tuple(sign_targets(envelope, signers))
    merged = add_signatures(envelope, signatures)
    role = prod.meta.roles["targets"]
    if checked.init:  # the server adds the online signature when it takes the wave
        after = _valid(merged, prod, role.keyids) + (1 if checked.online_keyid in role.keyids else 0)
    else:
        after = _valid(merged, prod, role.keyids)
    current = checked.current
    review = WaveReview(
        wave=checked.name,
        tag=checked.tag,
        version=envelope.version,
        expires=str(envelope.signed.get("expires")),
        rows=tuple(target_rows(targets_of(envelope))),
        diff=diff_targets(targets_of(current), targets_of(envelope)),
        base_version=None if current is None else current.version,
        prod_root=prod,
        online_keyid=checked.online_keyid,
        signer_keyids=tuple(k for k, _, _ in signers),
        signatures_after=after,
        threshold=role.threshold,
        lacks_delta_stats=checked.lacks_delta_stats,
    )
    return WaveSigning(envelope, signatures, review)


def plan_init_wave(prod: Root, archive: KeysArchive, body: InitWaveRequest, now: datetime) -> WaveSigning:
    return sign_wave(check_init_wave(prod, body, now), prod, archive)


def plan_sign_wave(prod: Root, archive: KeysArchive, body: SignTargetsRequest, now: datetime) -> WaveSigning:
    return sign_wave(check_sign_wave(prod, body, now), prod, archive)
