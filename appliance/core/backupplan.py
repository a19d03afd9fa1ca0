"""The rules of paper backups: which keys a backup covers, the sheets to print, and how a
tarball is rebuilt from backups read back (pure; the commands and shell do the I/O)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date

from .errors import BackupMismatchError, KeyMissingError, UsageError, VerificationError
from .factoryname import check_factory_name
from .keyroles import roles_of
from .keys import RandomBytes, public_key_file, secret_key_file
from .keysarchive import KEYS_DIR, KeyEntry, KeysArchive
from .metadata import Root
from .paper import DecodedBackup, Sheet, key_sheet
from .shares import share_sheet, split_secret

ROOT_COPY = "tufrepo/roles/root.json"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY_PREFIX = re.compile(r"[0-9a-f]{4,64}")


def root_in_archive(archive: KeysArchive) -> Root | None:
    """The tarball's own copy of root.json, when it has one."""
    if ROOT_COPY not in archive.files:
        return None
    return Root.from_bytes(archive.files[ROOT_COPY], what=f"{ROOT_COPY} in the tarball")


def select_keys(archive: KeysArchive, root: Root | None, key_id: str | None) -> list[KeyEntry]:
    """The private keys a backup command works on: the one ``key_id`` names, else the root's root keys."""
    if key_id is not None:
        prefix = key_id.strip().lower()
        if not _KEY_PREFIX.fullmatch(prefix):
            raise UsageError("--key-id must be at least 4 hex digits of a key id")
        found = [e for e in archive.entries if e.private is not None and e.keyid.startswith(prefix)]
        if not found:
            raise KeyMissingError(f"the keys tarball holds no private key whose id starts with {prefix}")
        if len(found) > 1:
            ids = ", ".join(e.keyid[:16] for e in found)
            raise UsageError(f"--key-id {prefix} matches several keys ({ids}); give more digits")
        return found
    if root is None:
        raise UsageError(
            "no root.json: the tarball has no tufrepo/roles/root.json",
            hint="Pass --root root.json to pick the active root key, or --key-id to pick a key directly.",
        )
    wanted = root.meta.role_keys("root")
    found = [e for e in archive.entries if e.private is not None and any(e.public.same_key(p) for p in wanted.values())]
    if not found:
        ids = ", ".join(k[:16] for k in wanted)
        raise KeyMissingError(
            f"the keys tarball holds no private key of the root key(s) of root.json v{root.version} ({ids})"
        )
    return found


def check_sheet_factory(factory: str) -> str:
    """An optional factory name for a sheet: empty, or a factory name by the one rule."""
    if factory:
        check_factory_name(factory, error=UsageError, what="--factory must be a factory name:")
    return factory


def check_date(text: str | None, today: Date) -> str:
    if text is None:
        return today.isoformat()
    if not _DATE.fullmatch(text):
        raise UsageError(f"--date {text!r} is not YYYY-MM-DD")
    try:
        Date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date {text!r} is not a real date") from None  # the cause repeats the text
    return text


def build_sheets(
    root: Root | None,
    entries: Sequence[KeyEntry],
    *,
    factory: str,
    date: str,
    part_bytes: int,
    shares: int | None,
    threshold: int | None,
    random_bytes: RandomBytes,
) -> list[Sheet]:
    sheets = []
    for entry in entries:
        if entry.private is None:
            raise KeyMissingError(f"the keys tarball holds no private key {entry.keyid[:16]}")
        roles = roles_of(root, entry)
        if shares is None or threshold is None:
            sheets.append(key_sheet(entry.private, roles=roles, factory=factory, date=date, part_bytes=part_bytes))
            continue
        mnemonics = split_secret(
            entry.private.kind,
            entry.private.secret_bytes(),
            count=shares,
            threshold=threshold,
            random_bytes=random_bytes,
        )
        for number, mnemonic in enumerate(mnemonics, 1):
            sheets.append(
                share_sheet(
                    entry.private,
                    mnemonic,
                    number=number,
                    count=shares,
                    roles=roles,
                    factory=factory,
                    date=date,
                    part_bytes=part_bytes,
                )
            )
    return sheets


@dataclass(frozen=True)
class RestorePlan:
    archive: KeysArchive
    restored: tuple[tuple[str, str], ...]  # (key id, tarball base name)


def plan_restore(
    root: Root, root_bytes: bytes, backups: Sequence[DecodedBackup], *, role: str, factory: str
) -> RestorePlan:
    """A fioctl-layout tarball holding each backed-up key of ``role`` in ``root``, plus ``root`` itself."""
    if role not in root.meta.roles:
        raise UsageError(f"root.json has no role {role!r}")
    files: dict[str, bytes] = {}
    restored: list[tuple[str, str]] = []
    for decoded in backups:
        if factory and decoded.factory and decoded.factory != factory:
            raise BackupMismatchError(f"{decoded.source} was made for factory {decoded.factory!r}, not {factory!r}")
        key = decoded.rebuild()
        keyid = next((k for k, pub in root.meta.keys.items() if pub.same_key(key.public_key)), None)
        if keyid is None:
            raise VerificationError(
                f"restored key {key.keyid[:16]} is not a key of root.json v{root.version}",
                hint="Use the current root.json of this factory, or the backup of its current root key.",
            )
        if keyid not in root.meta.roles[role].keyids:
            holds = [n for n, r in root.meta.roles.items() if keyid in r.keyids] or ["no role"]
            raise VerificationError(
                f"restored key {keyid[:16]} is not a {role} key of root.json v{root.version} "
                f"(it holds: {', '.join(holds)})",
                hint="Restore the backup of the current root key, or pass --role for another role's key.",
            )
        base = f"{KEYS_DIR}fioctl-{role}-{keyid}"
        if base + ".sec" in files:  # the same key read from two inputs
            continue
        files[base + ".pub"] = public_key_file(root.meta.keys[keyid])
        files[base + ".sec"] = secret_key_file(key)
        restored.append((keyid, base))
    files[ROOT_COPY] = root_bytes
    return RestorePlan(KeysArchive.from_files(files), tuple(restored))
