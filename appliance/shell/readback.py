"""Reading paper backups back: QR scans, typed lines and share files decoded into backups,
and the gate that withholds a ceremony's response until the new key's backup is read back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..common.durable import read_capped
from ..common.plaintext import plain_console
from ..core.errors import AirgapError, BackupFormatError, BackupPendingError, InputFormatError, UsageError
from ..core.keysarchive import KeysArchive
from ..core.paper import (
    KIND_KEY,
    DecodedBackup,
    assemble_qr,
    confirm_backup,
    decoded_from_qr,
    is_backup_payload,
    parse_typed,
)
from ..core.shares import mnemonic_from_qr, parse_share_text, recover_shares
from .qrscan import read_qr_file

MAX_TEXT_BYTES = 1024 * 1024


@dataclass
class ReadBack:
    """Everything read from scans, typed files and share files."""

    backups: list[DecodedBackup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_backups(scans: Sequence[Path], typed: Sequence[Path], share_files: Sequence[Path]) -> ReadBack:
    """Decode every input into backups; shares (from files or share QR codes) are checked as a
    whole set and combined into one backup."""
    if not (scans or typed or share_files):
        raise UsageError("nothing to read: give --scan PHOTO, --typed FILE or --shares FILE...")
    result = ReadBack()
    found: list[tuple[str, str]] = []
    empty: list[str] = []
    for path in scans:
        texts = read_qr_file(path)
        ours = [t for t in texts if is_backup_payload(t)]
        if not ours:
            what = "no QR code" if not texts else "no tuf-airgap backup QR code"
            empty.append(f"{what} found in scan {path}")
        found.extend((path.name, t) for t in ours)
    if scans and not found:
        # One scan without codes may be a page of typed lines; only none at all is an error.
        raise InputFormatError(
            empty[0] if len(empty) == 1 else f"no tuf-airgap backup QR code found in any of the {len(scans)} scans",
            hint="Photograph the codes flat, sharp and well lit, filling most of the picture; one code per photo "
            "is easiest.",
        )
    result.notes.extend(f"note: {message}" for message in empty)
    shares: list[tuple[str, str]] = []
    for content in assemble_qr(found):
        if content.kind == KIND_KEY:
            result.backups.append(decoded_from_qr(content))
        else:
            shares.append((f"share QR set of key {content.keyid_prefix}", mnemonic_from_qr(content)))
    for path in typed:
        text = _read_text(read_capped(path, MAX_TEXT_BYTES, what="typed backup"), str(path))
        result.backups.extend(parse_typed(text, what=str(path)))
    for path in share_files:
        text = _read_text(read_capped(path, MAX_TEXT_BYTES, what="share file"), str(path))
        mnemonics = parse_share_text(text, what=str(path))
        for n, mnemonic in enumerate(mnemonics, 1):
            shares.append((str(path) if len(mnemonics) == 1 else f"{path} share block {n}", mnemonic))
    if shares:
        recovered = recover_shares(shares)
        result.backups.append(recovered.decoded())
        result.notes.append(
            f"share set {recovered.set_id}: all {recovered.shares} shares parse and all "
            f"{recovered.subsets_checked} checked {recovered.threshold}-share combinations recover the same secret"
        )
    return result


def _read_text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupFormatError(f"{what} is not UTF-8 text") from None


def require_backup(
    keyid: str,
    keys_path: Path,
    archive_bytes: bytes,
    *,
    required: bool,
    scans: Sequence[Path],
    typed: Sequence[Path],
    shares: Sequence[Path],
) -> None:
    """Withhold the response until the new key's paper backup reproduces it (when policy says so)."""
    if not (required or scans or typed or shares):
        return
    if not (scans or typed or shares):
        raise BackupPendingError(
            f"new key {keyid[:16]} is stored in {keys_path}; the response is withheld until its paper "
            "backup is read back",
            hint=f"Print it with 'tuf-appliance backup print --keys {keys_path} --key-id {keyid[:16]} "
            "--out sheet.pdf', then re-run this command with the same request and --backup-scan PHOTO "
            "or --backup-typed FILE; the same key is reused.",
        )
    archive = KeysArchive.from_bytes(archive_bytes)
    backups = read_backups(scans, typed, shares).backups
    problems = []
    for backup in backups:
        try:
            confirm_backup(archive, keyid, backup.secret)
        except AirgapError as exc:
            problems.append(exc)
            continue
        plain_console().print(f"backup of new key {keyid[:16]} read back and verified ({backup.source})")
        return
    if problems:
        raise problems[0]
    raise BackupPendingError(f"no backup of new key {keyid[:16]} was found in the inputs")
