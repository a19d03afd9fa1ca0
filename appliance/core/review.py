"""What the officer is shown before confirming a ceremony, built as a value.

``common/render.py`` draws it; nothing here prints.  Outside text in it (factory
names, changelogs, target names) is data, never markup: the renderer shows it literally.

A review has two parts, laid out for an 80x24 console:

- ``details``: everything (current roots, the full diff, per-target rows, JSON), drawn
  first and paged, or printed alone with ``--review-only``;
- ``summary``: the decisive facts (operation, factory, request id and sequence, station
  words, new key words, what changes), at most ``SUMMARY_MAX_LINES`` lines, drawn last so
  they stay directly above the confirmation prompt.

Every operation's review goes through ``build_review``; an operation adds its own facts
with ``changes_summary`` (short lines) and ``details`` (any length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .bundle import Request
from .identity import PeerKey, fingerprint_words, hex_words
from .metadata import Root, RootMeta
from .privatekeys import PrivateKey
from .resign import TargetsResign
from .rootdiff import diff_roots
from .rootpair import RootPair
from .safetext import SHORT_ID
from .waveplan import WaveReview

SUMMARY_MAX_LINES = 14  # with the 2 prompt lines and the pager line this leaves room on 24 rows
CHANGE_LINES = 5  # "what changes" lines in the summary; the rest are in the details


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
    title: str  # the operation, as typed on the command line
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
    request_id: str = ""
    sequence: int = 0
    station_fingerprint: str = ""
    station_words: tuple[str, ...] = ()
    what_changes: tuple[str, ...] = ()
    current_roots: tuple[tuple[str, Root], ...] = ()
    resigned: ResignTable | None = None

    @property
    def operation(self) -> str:
        return self.title

    @property
    def confirm_phrase(self) -> str:
        return f"{self.title} {self.factory}"


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
    changes_summary: Sequence[str] = (),
    roots_shown: Sequence[str] = ("CI", "production"),
    resigned: ResignTable | None = None,
) -> Review:
    """The review of one ceremony.  ``changes_summary`` overrides the summary's "what changes"
    lines (default: derived from the root diff); ``roots_shown`` picks the current roots in the details."""
    changes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    signers: tuple[str, ...] = ()
    if new is not None:
        changes = (
            ("CI", tuple(diff_roots(current.ci.meta, new.ci.meta))),
            ("production", tuple(diff_roots(current.prod.meta, new.prod.meta))),
        )
        signers = tuple(s.keyid[:SHORT_ID] for s in new.ci.signatures)
    summary = tuple(changes_summary)
    if not summary and new is not None:
        summary = tuple(summarise_root_change(current, new))
    by_label = {"CI": current.ci, "production": current.prod}
    # A wave is checked by the production root's targets role: that root is the one to see.
    current_root = current.ci if wave is None else current.prod
    root_title = "current CI root" if wave is None else "production root that will check these signatures"
    shown_roots = tuple((f"current {label} root", by_label[label]) for label in roots_shown)
    if wave is not None:
        shown_roots = ((root_title, current.prod),)
    return Review(
        title=title,
        factory=request.factory,
        request_line=f"request {request.request_id}  created {request.created}  sequence {request.sequence}",
        station_line=f"signed by station {station.fingerprint[:SHORT_ID]}",
        current_root=current_root,
        current_root_title=root_title,
        changes=changes,
        new_signers=signers,
        details=tuple(details),
        new_keys=tuple(NewKeyLine(role, key.keyid, tuple(hex_words(key.keyid))) for role, key in new_keys),
        json_roots=(new.ci.to_bytes(), new.prod.to_bytes()) if show_json and new is not None else (),
        wave=wave,
        resigned=resigned,
        request_id=request.request_id,
        sequence=request.sequence,
        station_fingerprint=station.fingerprint,
        station_words=tuple(fingerprint_words(station.public)),
        what_changes=summary,
        current_roots=shown_roots,
    )


def summarise_root_change(current: RootPair, new: RootPair) -> list[str]:
    """Short lines for the summary: versions, then key and threshold changes per role."""
    lines = []
    for label, old, after in (("CI", current.ci.meta, new.ci.meta), ("production", current.prod.meta, new.prod.meta)):
        parts = [f"{label} root v{old.version} -> v{after.version}"]
        parts.extend(_role_changes(old, after))
        lines.append("; ".join(parts))
    return lines


def _role_changes(old: RootMeta, new: RootMeta) -> list[str]:
    out = []
    for name in sorted(set(old.roles) | set(new.roles)):
        before, after = old.roles.get(name), new.roles.get(name)
        if before is None or after is None:
            out.append(f"{name} role {'added' if before is None else 'removed'}")
            continue
        added = sum(1 for k in after.keyids if k not in before.keyids)
        removed = sum(1 for k in before.keyids if k not in after.keyids)
        if added or removed:
            out.append(f"{name} keys +{added} -{removed}")
        if before.threshold != after.threshold:
            out.append(f"{name} threshold {before.threshold} -> {after.threshold}")
    return out


def unused_key_reason(keyid: str, current: Root) -> str:
    """Why a key leaves the root's key list although no ceremony step removed it: no role uses it.

    fioctl drops every key no role references whenever it changes a root (``RemoveUnusedKeys``,
    fioctl 4d9a3de); roots made by fioctl v0.15 to v0.28 still list the previous root key."""
    return (
        f"key {keyid[:SHORT_ID]} removed from the key list: no role of root v{current.version} uses it "
        "(roots made by fioctl v0.15 to v0.28 still list the previous root key); "
        "fioctl drops unused keys the same way whenever it changes a root"
    )


def summarise_wave(wave: WaveReview, signed_sha256: str) -> list[str]:
    """The summary of a wave signing: what, the digest of what is signed, and the root that checks it."""
    diff = wave.diff
    base = "first wave of the tag" if wave.base_version is None else f"vs v{wave.base_version}"
    return [
        f"wave {wave.wave}, tag {wave.tag}: targets v{wave.version}, {len(wave.rows)} target(s)",
        f"{base}: +{len(diff.added)} -{len(diff.removed)} changed {len(diff.changed)}; sha256:",
        signed_sha256,
        f"production root v{wave.prod_root.version}: {wave.signatures_after} of {wave.threshold} signatures after this",
    ]


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
