"""The rules of paper backups: which keys a backup covers, the sheets to print, and how a
tarball is rebuilt from backups read back (pure; the commands and shell do the I/O)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date as Date

from .errors import BackupMismatchError, KeyMissingError, UsageError, VerificationError
from .factoryname import check_factory_name
from .keyroles import roles_of
from .keys import public_key_file
from .keysarchive import KEYS_DIR, ROOT_COPY, KeyEntry, KeysArchive
from .metadata import Root
from .paper import DecodedBackup, Sheet, key_sheet
from .privatekeys import RandomBytes, secret_key_file
from .shares import share_sheet, split_secret

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY_PREFIX = re.compile(r"[0-9a-f]{4,64}")


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


def check_supersedes(text: str) -> str:
    """What an earlier sheet was, as printed on the new one: short plain text."""
    if len(text) > 60 or any(not (" " <= ch <= "~") for ch in text):
        raise UsageError(
            "--supersedes: at most 60 printable ASCII characters, e.g. 'root v3, printed 2026-01-15'", hint=""
        )
    return text


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


TARGETS_NOTE = (
    "NOTE: the offline TARGETS key is not on this sheet and is not restored from it: give it its own sheet "
    "(backup print --key-id ID) or keep its copy-targets tarball in the safe."
)
BLANK = "______________________________"


def with_custody(sheet: Sheet, root: Root | None, supersedes: str) -> Sheet:
    """A sheet's record of custody: which root it is for, what it replaces, who witnessed it,
    where it is kept and when it was read back; and the note that the targets key is not on it."""
    fields = (
        *sheet.fields,
        ("root version", f"v{root.version}" if root is not None else BLANK),
        ("supersedes", supersedes or f"{BLANK} (earlier sheet, destroyed)"),
        ("witness", f"{BLANK} signature {BLANK[:16]}"),
        ("stored in", BLANK),
        ("read back on", f"{BLANK[:14]} by {BLANK[:16]} (tuf-appliance backup verify)"),
    )
    return replace(sheet, fields=fields, instructions=(TARGETS_NOTE, *sheet.instructions))


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
    supersedes: str = "",
) -> list[Sheet]:
    """A sheet per key (or per share of it), each with the custody fields of ``root``."""
    sheets = []
    for entry in entries:
        if entry.private is None:
            raise KeyMissingError(f"the keys tarball holds no private key {entry.keyid[:16]}")
        roles = roles_of(root, entry)
        if shares is None or threshold is None:
            sheet = key_sheet(entry.private, roles=roles, factory=factory, date=date, part_bytes=part_bytes)
            sheets.append(with_custody(sheet, root, supersedes))
            continue
        mnemonics = split_secret(
            entry.private.kind,
            entry.private.secret_bytes(),
            count=shares,
            threshold=threshold,
            random_bytes=random_bytes,
        )
        for number, mnemonic in enumerate(mnemonics, 1):
            sheet = share_sheet(
                entry.private,
                mnemonic,
                number=number,
                count=shares,
                roles=roles,
                factory=factory,
                date=date,
                part_bytes=part_bytes,
            )
            sheets.append(with_custody(sheet, root, supersedes))
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


def stale_sheets(old: Root, new: Root, keys_path: str) -> list[str]:
    """What the officer must hear after a ceremony that added or removed a root key: which
    paper backups are now stale and the command that makes new ones (empty when no root key changed)."""
    before, after = set(old.meta.role_keys("root")), set(new.meta.role_keys("root"))
    if before == after:
        return []
    lines = [f"paper backups: the root keys changed (root v{old.version} -> v{new.version})"]
    lines += [
        f"  stale: the sheet of root key {k[:16]}: it no longer signs root v{new.version}"
        for k in sorted(before - after)
    ]
    kept = sorted(before & after)
    if kept:
        ids = ", ".join(k[:16] for k in kept)
        lines.append(f"  stale: every sheet that says 'root v{old.version}' (keys kept: {ids})")
    lines += [f"  missing: no sheet yet of the new root key {k[:16]}" for k in sorted(after - before)]
    lines.append(f"  make new sheets now (they supersede those of root v{old.version}):")
    supersedes = f"--supersedes 'root v{old.version}'"
    lines.append(f"  tuf-appliance backup print --keys {keys_path} {supersedes} --out root-v{new.version}.pdf")
    return lines
