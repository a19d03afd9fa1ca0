"""``tuf-appliance backup``: paper/QR backups of private keys — print, verify, restore, export.

Formats are in bundle-spec.md section 4 (appliance/core/paper.py, appliance/core/shares.py).
Another command that must see a backup read back before it finishes (a root rotation
with ``--require-backup-readback``) can call ``read_backups`` and then
``appliance.core.paper.confirm_backup``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..core.keysarchive import KeyEntry, KeysArchive
    from ..core.metadata import Root
    from ..core.paper import DecodedBackup, Sheet

MAX_TEXT_BYTES = 1024 * 1024
_FACTORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OUTPUT_KINDS = (".pdf", ".png", ".svg", ".txt")
TERMINAL_WARNING = (
    "WARNING: the private key is about to be shown on this terminal. Terminals can be recorded "
    "(scrollback, tmux/screen logs, session recorders, screenshots, cameras). Only continue on the "
    "air-gapped appliance, clear the screen and scrollback afterwards.\n"
)
PLAIN_WARNING = (
    "WARNING: {path} holds the private key {keyid} in plain text. It is secret material: keep it only on "
    "the backup medium that goes into the safe, never on a networked machine.\n"
)


def register(app: typer.Typer) -> None:
    backup = typer.Typer(
        help="Paper and QR backups of private keys: print, verify, restore, export-plain.",
        no_args_is_help=True,
    )
    backup.command("print")(print_backup)
    backup.command("verify")(verify_backup)
    backup.command("restore")(restore_backup)
    backup.command("export-plain")(export_plain)
    app.add_typer(backup, name="backup")


# --- shared helpers --------------------------------------------------------------------------


def _load_archive(path: Path) -> KeysArchive:
    from ..common.durable import read_capped
    from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive

    return KeysArchive.from_bytes(read_capped(path, MAX_COMPRESSED_BYTES, what="keys tarball"))


def _load_root(path: Path | None, archive: KeysArchive | None) -> Root | None:
    """root.json from --root, else the tarball's tufrepo/roles/root.json, else None."""
    from ..common.durable import read_capped
    from ..core.metadata import MAX_METADATA_BYTES, Root

    if path is not None:
        return Root.from_bytes(read_capped(path, MAX_METADATA_BYTES, what="root.json"), what=str(path))
    if archive is not None and "tufrepo/roles/root.json" in archive.files:
        return Root.from_bytes(archive.files["tufrepo/roles/root.json"], what="tufrepo/roles/root.json in the tarball")
    return None


def _roles_of(root: Root | None, entry: KeyEntry) -> list[str]:
    if root is None:
        # Without root.json the fioctl file name says what the key was made for.
        name = entry.base.rsplit("/", 1)[-1]
        match = re.match(r"^(?:fioctl-([a-z]+)-|first-(root))", name)
        return [next(g for g in match.groups() if g)] if match else []
    return [
        name
        for name, role in sorted(root.meta.roles.items(), key=lambda item: item[0] != "root")
        if any(root.meta.keys[k].same_key(entry.public) for k in role.keyids)
    ]


def _select_keys(archive: KeysArchive, root: Root | None, key_id: str | None) -> list[KeyEntry]:
    from ..core.errors import KeyMissingError, UsageError

    if key_id is not None:
        prefix = key_id.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", prefix):
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


def _check_factory(factory: str) -> str:
    from ..core.errors import UsageError

    if factory and not _FACTORY.fullmatch(factory):
        raise UsageError("--factory must be letters, digits, '.', '_' or '-' (at most 63)")
    return factory


def _check_date(date: str | None) -> str:
    from datetime import UTC, datetime

    from ..core.errors import UsageError

    if date is None:
        return datetime.now(UTC).date().isoformat()
    if not _DATE.fullmatch(date):
        raise UsageError(f"--date {date!r} is not YYYY-MM-DD")
    try:
        datetime.strptime(date, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"--date {date!r} is not a real date") from None
    return date


@dataclass
class ReadBack:
    """Everything read from scans, typed files and share files."""

    backups: list[DecodedBackup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_backups(scans: Sequence[Path], typed: Sequence[Path], share_files: Sequence[Path]) -> ReadBack:
    """Decode every input into backups; shares (from files or share QR codes) are checked as a
    whole set and combined into one backup."""
    from ..common.durable import read_capped
    from ..core.errors import InputFormatError, UsageError
    from ..core.paper import KIND_KEY, assemble_qr, decoded_from_qr, is_backup_payload, parse_typed
    from ..core.shares import mnemonic_from_qr, parse_share_text, recover_shares
    from ..shell.qrscan import read_qr_file

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
    from ..core.paper import BackupFormatError

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupFormatError(f"{what} is not UTF-8 text") from None


def _screen(message: str, stream: object) -> str:
    """The literal-text rule for this module's plain writes (names and paths come from outside)."""
    from ..core.safetext import for_terminal

    return for_terminal(message, getattr(stream, "encoding", None))


def _out(message: str) -> None:
    sys.stdout.write(_screen(message, sys.stdout) + "\n")


def _err(message: str) -> None:
    typer.secho(_screen(message.rstrip("\n"), sys.stderr), err=True, fg=typer.colors.RED, bold=True)


# --- print -----------------------------------------------------------------------------------


def _build_sheets(
    root: Root | None,
    entries: list[KeyEntry],
    *,
    factory: str,
    date: str,
    part_bytes: int,
    shares: int | None,
    threshold: int | None,
) -> list[Sheet]:
    import secrets

    from ..core.paper import key_sheet
    from ..core.shares import share_sheet, split_secret

    sheets = []
    for entry in entries:
        assert entry.private is not None
        roles = _roles_of(root, entry)
        if shares is None or threshold is None:
            sheets.append(key_sheet(entry.private, roles=roles, factory=factory, date=date, part_bytes=part_bytes))
            continue
        mnemonics = split_secret(
            entry.private.kind,
            entry.private.secret_bytes(),
            count=shares,
            threshold=threshold,
            random_bytes=secrets.token_bytes,
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


def _page_paths(out: Path, count: int) -> list[Path]:
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(1, count + 1)]


def _write_sheets(out: Path, sheets: list[Sheet]) -> list[Path]:
    from ..common.durable import write_durable
    from ..core.errors import UsageError
    from ..core.paper import parse_typed, sheet_text
    from ..shell import printsheet

    suffix = out.suffix.lower()
    if suffix not in _OUTPUT_KINDS:
        raise UsageError(f"--out must end in one of {', '.join(_OUTPUT_KINDS)}, not {out.name!r}")
    if suffix == ".txt":
        text = "#\n# ----\n".join(sheet_text(s) for s in sheets).encode("ascii")

        def check_text(data: bytes) -> None:
            if any(s.block and s.block[0].startswith("format:") for s in sheets):
                parse_typed(data.decode("ascii"), what=str(out))

        write_durable(out, text, replace=False, verify=check_text, label="backup-sheet")
        return [out]
    pages = printsheet.layout(sheets)
    paths = [out] if suffix == ".pdf" else _page_paths(out, len(pages))
    existing = [p for p in paths if p.exists()]
    if existing:
        raise UsageError(f"{existing[0]} already exists; refusing to overwrite it", hint="Choose a new output path.")
    # Pages without QR codes are rasterised only when PNG is the output format.
    png = [printsheet.render_png(p) if suffix == ".png" or p.payloads else b"" for p in pages]
    printsheet.check_pages_read_back(pages, png)
    if suffix == ".pdf":
        write_durable(out, printsheet.render_pdf(pages), replace=False, label="backup-sheet")
        return [out]
    blobs = png if suffix == ".png" else [printsheet.render_svg(page) for page in pages]
    for path, blob in zip(paths, blobs, strict=True):
        write_durable(path, blob, replace=False, label="backup-sheet")
    return paths


def print_backup(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball (offline-creds.tgz)."),
    root: Path | None = typer.Option(None, "--root", help="root.json deciding which key is the active root key."),
    key_id: str | None = typer.Option(None, "--key-id", help="Back up the key whose id starts with this instead."),
    out: Path | None = typer.Option(
        None, "--out", help="Write sheets to FILE.pdf, .png, .svg (one file per page) or .txt."
    ),
    terminal: bool = typer.Option(False, "--terminal", help="Show the sheets on this terminal (may be recorded!)."),
    factory: str = typer.Option("", "--factory", help="Factory name printed on the sheet."),
    date: str | None = typer.Option(None, "--date", help="Date printed on the sheet, YYYY-MM-DD (default: today)."),
    shares: int | None = typer.Option(None, "--shares", help="Split each key into this many SLIP-39 shares."),
    threshold: int | None = typer.Option(None, "--threshold", help="Shares needed to restore (with --shares)."),
    qr_part_bytes: int = typer.Option(600, "--qr-part-bytes", help="Secret bytes per QR code (smaller: more codes)."),
) -> None:
    """Print backup sheets of the active root key(s): QR code(s), typed lines, restore steps."""
    from ..core.errors import UsageError
    from ..core.paper import MIN_PART_BYTES
    from ..core.shares import check_split_parameters
    from ..shell.printsheet import terminal_sheet

    if out is None and not terminal:
        raise UsageError("give --out FILE (.pdf, .png, .svg, .txt) or --terminal")
    if (shares is None) != (threshold is None):
        raise UsageError("--shares and --threshold go together")
    if shares is not None and threshold is not None:
        check_split_parameters(shares, threshold)
    if not MIN_PART_BYTES <= qr_part_bytes <= 2000:
        raise UsageError(f"--qr-part-bytes must be between {MIN_PART_BYTES} and 2000")
    factory = _check_factory(factory)
    day = _check_date(date)
    archive = _load_archive(keys)
    parsed_root = _load_root(root, archive)
    entries = _select_keys(archive, parsed_root, key_id)
    sheets = _build_sheets(
        parsed_root,
        entries,
        factory=factory,
        date=day,
        part_bytes=qr_part_bytes,
        shares=shares,
        threshold=threshold,
    )
    if out is not None:
        written = _write_sheets(out, sheets)
        names = ", ".join(str(p) for p in written)
        _out(f"wrote {len(sheets)} sheet(s) to {names} (mode 0600, secret material)")
    if terminal:
        _err(TERMINAL_WARNING)
        plain = not (sys.stdout.encoding or "").lower().replace("-", "").startswith("utf")
        for sheet in sheets:
            _out(terminal_sheet(sheet, ascii_only=plain))
        _err(TERMINAL_WARNING)
    for entry in entries:
        _out(f"key {entry.keyid} ({entry.public.kind}, {', '.join(_roles_of(parsed_root, entry)) or 'no role'})")
    _out("Read every sheet back before relying on it: tuf-appliance backup verify --keys TARBALL --scan PHOTO ...")


# --- verify ----------------------------------------------------------------------------------


def verify_backup(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball holding the key the backup must reproduce."),
    root: Path | None = typer.Option(None, "--root", help="root.json, to report whether the key is active."),
    scan: list[Path] | None = typer.Option(None, "--scan", help="Photo or scan of QR code(s); repeat per image."),
    typed: list[Path] | None = typer.Option(None, "--typed", help="Typed backup lines; repeatable."),
    shares: bool = typer.Option(False, "--shares", help="The FILES are SLIP-39 share files (one share each)."),
    files: list[Path] | None = typer.Argument(None, help="Share files (with --shares)."),
) -> None:
    """Read a backup back and confirm it reproduces exactly the key in the tarball."""
    from ..core.errors import UsageError
    from ..core.paper import confirm_backup

    if files and not shares:
        raise UsageError("extra arguments given; share files need --shares before them")
    if shares and not files:
        raise UsageError("--shares needs the share files after it")
    archive = _load_archive(keys)
    parsed_root = _load_root(root, archive)
    readback = read_backups(scan or [], typed or [], files or [])
    for note in readback.notes:
        _out(note)
    for decoded in readback.backups:
        key = decoded.rebuild()
        confirm_backup(archive, key.keyid, decoded.secret)
        entry = next(e for e in archive.entries if e.keyid == key.keyid)
        status = ""
        if parsed_root is not None:
            roles = _roles_of(parsed_root, entry)
            status = (
                f", {'/'.join(roles)} key of root.json v{parsed_root.version}"
                if roles
                else f", holds NO role in root.json v{parsed_root.version}"
            )
        _out(f"verified: {decoded.source} reproduces {key.kind} key {key.keyid} ({entry.base}.sec{status})")


# --- restore ---------------------------------------------------------------------------------


def restore_backup(
    root: Path = typer.Option(..., "--root", help="Current root.json (the restored key must be one of its keys)."),
    out: Path = typer.Option(..., "--out", help="New keys tarball to write (refuses to overwrite)."),
    scan: list[Path] | None = typer.Option(None, "--scan", help="Photo or scan of QR code(s); repeat per image."),
    typed: list[Path] | None = typer.Option(None, "--typed", help="Typed backup lines; repeatable."),
    shares: bool = typer.Option(False, "--shares", help="The FILES are SLIP-39 share files (one share each)."),
    files: list[Path] | None = typer.Argument(None, help="Share files (with --shares)."),
    factory: str = typer.Option("", "--factory", help="Factory name; must match the typed backup's, if it has one."),
    role: str = typer.Option("root", "--role", help="Role the restored key must hold in root.json."),
) -> None:
    """Rebuild a keys tarball (fioctl layout) from paper after the tarball is lost."""
    from datetime import UTC, datetime

    from ..common.durable import read_capped, write_durable
    from ..core.errors import TarballError, UsageError, VerificationError
    from ..core.keys import public_key_file, secret_key_file
    from ..core.keysarchive import KEYS_DIR, KeysArchive
    from ..core.metadata import MAX_METADATA_BYTES, Root
    from ..core.paper import BackupMismatchError
    from ..core.verify import verify_self_signed

    if files and not shares:
        raise UsageError("extra arguments given; share files need --shares before them")
    if shares and not files:
        raise UsageError("--shares needs the share files after it")
    factory = _check_factory(factory)
    if out.exists():
        raise UsageError(f"{out} already exists; refusing to overwrite it", hint="Choose a new output path.")
    root_bytes = read_capped(root, MAX_METADATA_BYTES, what="root.json")
    parsed_root = Root.from_bytes(root_bytes, what=str(root))
    verify_self_signed(parsed_root)
    if role not in parsed_root.meta.roles:
        raise UsageError(f"root.json has no role {role!r}")
    readback = read_backups(scan or [], typed or [], files or [])
    files_out: dict[str, bytes] = {}
    restored = []
    for decoded in readback.backups:
        if factory and decoded.factory and decoded.factory != factory:
            raise BackupMismatchError(f"{decoded.source} was made for factory {decoded.factory!r}, not {factory!r}")
        key = decoded.rebuild()
        keyid = next((k for k, pub in parsed_root.meta.keys.items() if pub.same_key(key.public_key)), None)
        if keyid is None:
            raise VerificationError(
                f"restored key {key.keyid[:16]} is not a key of root.json v{parsed_root.version}",
                hint="Use the current root.json of this factory, or the backup of its current root key.",
            )
        if keyid not in parsed_root.meta.roles[role].keyids:
            holds = [n for n, r in parsed_root.meta.roles.items() if keyid in r.keyids] or ["no role"]
            raise VerificationError(
                f"restored key {keyid[:16]} is not a {role} key of root.json v{parsed_root.version} "
                f"(it holds: {', '.join(holds)})",
                hint="Restore the backup of the current root key, or pass --role for another role's key.",
            )
        base = f"{KEYS_DIR}fioctl-{role}-{keyid}"
        if base + ".sec" in files_out:  # the same key read from two inputs
            continue
        files_out[base + ".pub"] = public_key_file(parsed_root.meta.keys[keyid])
        files_out[base + ".sec"] = secret_key_file(key)
        restored.append((keyid, base))
    files_out["tufrepo/roles/root.json"] = root_bytes
    archive = KeysArchive.from_files(files_out)
    data = archive.to_bytes(mtime=int(datetime.now(UTC).timestamp()))

    def check(written: bytes) -> None:
        again = KeysArchive.from_bytes(written)
        for keyid, _base in restored:
            if not again.has_private_for(parsed_root.meta.keys[keyid]):
                raise TarballError(f"re-read tarball lacks key {keyid[:16]}")

    write_durable(out, data, replace=False, verify=check, label="restored-tarball")
    for note in readback.notes:
        _out(note)
    for keyid, base in restored:
        _out(f"restored {role} key {keyid} as {base}.pub/.sec")
    _out(f"wrote {out} (mode 0600) with root.json v{parsed_root.version}{f' for factory {factory}' if factory else ''}")
    _err(f"{out} holds private key material: keep it on the air-gapped appliance or in the safe only.")


# --- export-plain ----------------------------------------------------------------------------


def export_plain(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball (offline-creds.tgz)."),
    root: Path | None = typer.Option(None, "--root", help="root.json deciding which key is the active root key."),
    key_id: str | None = typer.Option(None, "--key-id", help="Export the key whose id starts with this instead."),
    out: Path = typer.Option(..., "--out", help="File to write, e.g. root-key.sec (refuses to overwrite)."),
) -> None:
    """Write the active root key's .sec file exactly as stored in the tarball (secret!)."""
    from ..common.durable import write_durable
    from ..core.errors import UsageError
    from ..core.keys import parse_secret_key_file
    from ..core.paper import BackupMismatchError

    archive = _load_archive(keys)
    parsed_root = _load_root(root, archive)
    entries = _select_keys(archive, parsed_root, key_id)
    if len(entries) > 1:
        ids = ", ".join(e.keyid[:16] for e in entries)
        raise UsageError(f"root.json has {len(entries)} root keys in the tarball ({ids}); pick one with --key-id")
    entry = entries[0]
    data = archive.files[entry.base + ".sec"]

    def check(written: bytes) -> None:
        if parse_secret_key_file(written, what=str(out)).keyid != entry.keyid:
            raise BackupMismatchError(f"{out} does not read back as key {entry.keyid[:16]}")

    write_durable(out, data, replace=False, verify=check, label="plain-export")
    _err(PLAIN_WARNING.format(path=out, keyid=entry.keyid))
    _out(f"wrote {out}: {entry.base}.sec, {entry.public.kind} key {entry.keyid}, {len(data)} bytes, mode 0600")
