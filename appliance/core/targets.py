"""Production targets metadata: what a wave will put on devices, and offline signing of it.

Facts (fioctl ``subcommands/waves``): a wave carries a targets.json envelope whose
``_type`` is ``Targets``; each target's ``custom`` has ``name``, ``version``,
``hardwareIds`` and ``tags``.  Offline signing (``fioctl waves sign``) signs the
canonical ``signed`` object with every targets key of the root that is not the
online CI key, and posts ``{"signatures": [...]}`` to ``/ota/factories/<f>/waves/<w>/sign/``.
Production devices require the production root's targets threshold (2): the online
key plus an offline key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import KeyMissingError, MetadataError, VerificationError
from .keys import SignatureEntry, Signer
from .keysarchive import KeysArchive
from .metadata import Envelope, Root
from .timefmt import parse_expires
from .verify import ThresholdResult, check_role

MAX_TARGETS = 100_000


@dataclass(frozen=True)
class TargetLine:
    name: str
    version: str
    hardware_ids: tuple[str, ...]
    tags: tuple[str, ...]
    length: int


def parse_targets(envelope: Envelope) -> list[TargetLine]:
    """Validate a targets envelope's shape and summarise what it would install."""
    signed = envelope.signed
    if str(signed.get("_type", "")).lower() != "targets":
        raise MetadataError(f"_type is {signed.get('_type')!r}, expected Targets")
    version = signed.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise MetadataError("targets version must be a positive integer")
    parse_expires(signed.get("expires"))
    targets = signed.get("targets")
    if not isinstance(targets, Mapping):
        raise MetadataError("targets.json has no 'targets' object")
    if len(targets) > MAX_TARGETS:
        raise MetadataError(f"targets.json lists more than {MAX_TARGETS} targets")
    lines = []
    for name, meta in sorted(targets.items()):
        entry = target_entry(name, meta)
        if not entry.hashes:
            raise MetadataError(f"target {name!r} has no hashes")
        lines.append(TargetLine(name, entry.version, entry.hardware_ids, entry.tags, entry.length))
    return lines


@dataclass(frozen=True)
class TargetEntry:
    """The fields of one target that reviews and checks read; ``hashes`` is {} when absent."""

    length: int
    hashes: Mapping[str, Any]
    version: str
    hardware_ids: tuple[str, ...]
    tags: tuple[str, ...]


def target_entry(name: str, meta: object) -> TargetEntry:
    """One target of a targets.json: an object with a valid length; custom fields read leniently."""
    if not isinstance(meta, Mapping):
        raise MetadataError(f"target {name!r} is not an object")
    length = meta.get("length")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise MetadataError(f"target {name!r} has no valid length")
    hashes = meta.get("hashes")
    custom = meta.get("custom")
    if not isinstance(custom, Mapping):
        custom = {}
    hw, tags = custom.get("hardwareIds"), custom.get("tags")
    return TargetEntry(
        length,
        hashes if isinstance(hashes, Mapping) else {},
        str(custom.get("version", "")),
        tuple(str(h) for h in hw) if isinstance(hw, list) else (),
        tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


def offline_targets_signers(root: Root, archive: KeysArchive) -> list[tuple[str, Signer, str]]:
    """Targets keys of ``root`` whose private half is in the tarball (the online key never is)."""
    found = archive.signers_for(root.meta, "targets")
    if not found:
        ids = ", ".join(k[:16] for k in root.meta.roles["targets"].keyids)
        raise KeyMissingError(
            f"the tarball holds no private key of the targets role (role keys: {ids})",
            hint="Use the tarball (or copy-targets tarball) that holds the current offline targets key.",
        )
    return found


def sign_targets(envelope: Envelope, signers: Sequence[tuple[str, Signer, str]]) -> list[SignatureEntry]:
    payload = envelope.signed_bytes()
    # Under the key id the root uses for the key (a file key or a token key alike).
    return [replace(signer.sign(payload), keyid=keyid) for keyid, signer, _ in signers]


def add_signatures(envelope: Envelope, signatures: Sequence[SignatureEntry]) -> Envelope:
    """Merge signatures: a new signature by a key id replaces that key id's old one."""
    new_ids = {s.keyid for s in signatures}
    kept = [s for s in envelope.signatures if s.keyid not in new_ids]
    return Envelope(envelope.signed, (*kept, *signatures), envelope.extra, envelope.canonical_signed)


def check_production_targets(envelope: Envelope, prod_root: Root) -> ThresholdResult:
    """The device rule: the production root's targets threshold must be met."""
    result = check_role(envelope, prod_root, "targets")
    if not result.met:
        raise VerificationError(f"production targets v{envelope.version} {result.describe()}")
    return result


def signatures_json(signatures: Sequence[SignatureEntry]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in signatures]
