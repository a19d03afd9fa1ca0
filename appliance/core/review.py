"""What the officer is shown before confirming a ceremony, built as a value.

``common/render.py`` draws it; nothing here prints.  Outside text in it (factory
names, changelogs, target names) is data, never markup: the renderer shows it literally.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .bundle import Request
from .identity import PeerKey, fingerprint_words, hex_words
from .keys import PrivateKey
from .metadata import Root
from .resign import TargetsResign
from .rootdiff import diff_roots
from .rootpair import RootPair
from .waveplan import WaveReview


@dataclass(frozen=True)
class NewKeyLine:
    role: str
    keyid: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class ResignTable:
    """resign-targets: each tag's production targets, the old and new expiry and the days gained."""

    rows: tuple[tuple[str, int, int, str, str, int], ...]  # tag, version, targets, expires, new expiry, gained

    COLUMNS = ("tag", "version", "targets", "expires now", "new expiry", "days gained")


@dataclass(frozen=True)
class Review:
    title: str
    factory: str
    request_line: str
    station_line: str
    current_root: Root  # the CI root; for a wave the production root, whose targets role checks it
    current_root_title: str
    changes: tuple[tuple[str, tuple[str, ...]], ...]  # ("CI", diff lines), ("production", diff lines)
    new_signers: tuple[str, ...]
    details: tuple[str, ...]
    new_keys: tuple[NewKeyLine, ...]
    json_roots: tuple[bytes, ...]  # with --show-json: the new CI and production roots
    wave: WaveReview | None = None
    resigned: ResignTable | None = None


def build_review(
    request: Request,
    station: PeerKey,
    current: RootPair,
    new: RootPair | None,
    *,
    title: str,
    details: Sequence[str] = (),
    show_json: bool = False,
    new_keys: Sequence[tuple[str, PrivateKey]] = (),
    wave: WaveReview | None = None,
    resigned: ResignTable | None = None,
) -> Review:
    changes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    signers: tuple[str, ...] = ()
    if new is not None:
        changes = (
            ("CI", tuple(diff_roots(current.ci.meta, new.ci.meta))),
            ("production", tuple(diff_roots(current.prod.meta, new.prod.meta))),
        )
        signers = tuple(s.keyid[:16] for s in new.ci.signatures)
    return Review(
        title=title,
        factory=request.factory,
        request_line=f"request {request.request_id}  created {request.created}  sequence {request.sequence}",
        station_line=(f"signed by station {station.fingerprint[:16]}… ({' '.join(fingerprint_words(station.public))})"),
        current_root=current.ci if wave is None else current.prod,
        current_root_title="current CI root" if wave is None else "production root that will check these signatures",
        changes=changes,
        new_signers=signers,
        details=tuple(details),
        new_keys=tuple(NewKeyLine(role, key.keyid, tuple(hex_words(key.keyid))) for role, key in new_keys),
        json_roots=(new.ci.to_bytes(), new.prod.to_bytes()) if show_json and new is not None else (),
        wave=wave,
        resigned=resigned,
    )


def resign_table(plans: Sequence[TargetsResign]) -> ResignTable:
    return ResignTable(
        tuple(
            (
                plan.tag,
                plan.old.version,
                len(plan.new_signed.get("targets", {})),
                str(plan.old.signed["expires"]),
                str(plan.new_signed["expires"]),
                plan.days_gained,
            )
            for plan in plans
        )
    )
