"""``tuf-appliance backup``: paper/QR backups of private keys — print, verify, restore, export.

Formats are in bundle-spec.md section 4 (appliance/core/paper.py, appliance/core/shares.py).
The rules are in ``appliance/core/backupplan.py``; reading backups back (also used by the
root rotation's read-back gate) is ``appliance/shell/readback.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..common.cliframe import add_group

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
    add_group(
        app,
        "backup",
        "Paper and QR backups of private keys: print, verify, restore, export-plain.",
        {"print": print_backup, "verify": verify_backup, "restore": restore_backup, "export-plain": export_plain},
    )


# --- shared helpers --------------------------------------------------------------------------


def _screen(message: str, stream: object) -> str:
    """The literal-text rule for this module's plain writes (names and paths come from outside)."""
    from ..core.safetext import for_terminal

    return for_terminal(message, getattr(stream, "encoding", None))


def _out(message: str) -> None:
    sys.stdout.write(_screen(message, sys.stdout) + "\n")


def _err(message: str) -> None:
    typer.secho(_screen(message.rstrip("\n"), sys.stderr), err=True, fg=typer.colors.RED, bold=True)


def wait_after_warning() -> None:
    """``--terminal``: the warning, then nothing secret until the operator presses Enter."""
    from ..core.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(
            "--terminal shows the private key only after its warning was read, and waits for Enter: "
            "standard input is not a terminal",
            hint="Run it at the appliance's console, or write the sheet to a file with --out.",
        )
    _err(TERMINAL_WARNING)
    sys.stderr.write("Press Enter to show the key now, or Ctrl-C to stop: ")
    sys.stderr.flush()
    sys.stdin.readline()


# --- print -----------------------------------------------------------------------------------


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
    paper: str = typer.Option("a4", "--paper", help="Paper size of .pdf/.png/.svg sheets: a4 or letter."),
    supersedes: str = typer.Option(
        "", "--supersedes", help="Which earlier sheet this one replaces, e.g. 'root v3' (printed on the sheet)."
    ),
) -> None:
    """Print backup sheets of the active root key(s): QR code(s), typed lines, restore steps."""
    import secrets
    from datetime import UTC, datetime

    from ..common.terminal import terminal_size
    from ..core.backupplan import build_sheets, check_date, check_sheet_factory, check_supersedes, select_keys
    from ..core.errors import UsageError
    from ..core.keyroles import roles_of
    from ..core.paper import MIN_PART_BYTES
    from ..core.shares import check_split_parameters
    from ..shell.backupfiles import load_archive, load_root, write_sheets
    from ..shell.printsheet import terminal_sheet

    if out is None and not terminal:
        raise UsageError("give --out FILE (.pdf, .png, .svg, .txt) or --terminal")
    if (shares is None) != (threshold is None):
        raise UsageError("--shares and --threshold go together")
    if shares is not None and threshold is not None:
        check_split_parameters(shares, threshold)
    if not MIN_PART_BYTES <= qr_part_bytes <= 2000:
        raise UsageError(f"--qr-part-bytes must be between {MIN_PART_BYTES} and 2000")
    if paper.lower() not in ("a4", "letter"):
        raise UsageError(f"--paper {paper!r}: the sheet is laid out for a4 or letter paper", hint="")
    factory = check_sheet_factory(factory)
    supersedes = check_supersedes(supersedes)
    day = check_date(date, datetime.now(UTC).date())
    archive = load_archive(keys)
    parsed_root = load_root(root, archive)
    entries = select_keys(archive, parsed_root, key_id)
    sheets = build_sheets(
        parsed_root,
        entries,
        factory=factory,
        date=day,
        part_bytes=qr_part_bytes,
        shares=shares,
        threshold=threshold,
        random_bytes=secrets.token_bytes,
        supersedes=supersedes,
    )
    if terminal:
        wait_after_warning()
    if out is not None:
        written = write_sheets(out, sheets, paper=paper.lower())
        names = ", ".join(str(p) for p in written)
        _out(f"wrote {len(sheets)} sheet(s) to {names} (mode 0600, secret material)")
    if terminal:
        columns = terminal_size()[0]
        plain = not (sys.stdout.encoding or "").lower().replace("-", "").startswith("utf")
        for sheet in sheets:
            _out(terminal_sheet(sheet, columns, ascii_only=plain))
        _err(TERMINAL_WARNING)
    for entry in entries:
        _out(f"key {entry.keyid} ({entry.public.kind}, {', '.join(roles_of(parsed_root, entry)) or 'no role'})")
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
    from ..core.keyroles import roles_of
    from ..core.paper import confirm_backup
    from ..shell.backupfiles import load_archive, load_root
    from ..shell.readback import read_backups

    if files and not shares:
        raise UsageError("extra arguments given; share files need --shares before them")
    if shares and not files:
        raise UsageError("--shares needs the share files after it")
    archive = load_archive(keys)
    parsed_root = load_root(root, archive)
    readback = read_backups(scan or [], typed or [], files or [])
    for note in readback.notes:
        _out(note)
    for decoded in readback.backups:
        key = decoded.rebuild()
        confirm_backup(archive, key.keyid, decoded.secret)
        entry = next(e for e in archive.entries if e.keyid == key.keyid)
        status = ""
        if parsed_root is not None:
            roles = roles_of(parsed_root, entry)
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
    from ..core.backupplan import check_sheet_factory, plan_restore
    from ..core.errors import TarballError, UsageError
    from ..core.keysarchive import KeysArchive
    from ..core.metadata import MAX_METADATA_BYTES, Root
    from ..core.verify import verify_self_signed
    from ..shell.readback import read_backups

    if files and not shares:
        raise UsageError("extra arguments given; share files need --shares before them")
    if shares and not files:
        raise UsageError("--shares needs the share files after it")
    factory = check_sheet_factory(factory)
    if out.exists():
        raise UsageError(f"{out} already exists; refusing to overwrite it", hint="Choose a new output path.")
    root_bytes = read_capped(root, MAX_METADATA_BYTES, what="root.json")
    parsed_root = Root.from_bytes(root_bytes, what=str(root))
    verify_self_signed(parsed_root)
    if role not in parsed_root.meta.roles:
        raise UsageError(f"root.json has no role {role!r}")
    readback = read_backups(scan or [], typed or [], files or [])
    plan = plan_restore(parsed_root, root_bytes, readback.backups, role=role, factory=factory)
    data = plan.archive.to_bytes(mtime=int(datetime.now(UTC).timestamp()))

    def check(written: bytes) -> None:
        again = KeysArchive.from_bytes(written)
        for keyid, _base in plan.restored:
            if not again.has_private_for(parsed_root.meta.keys[keyid]):
                raise TarballError(f"re-read tarball lacks key {keyid[:16]}")

    write_durable(out, data, replace=False, verify=check, label="restored-tarball")
    for note in readback.notes:
        _out(note)
    for keyid, base in plan.restored:
        _out(f"restored {role} key {keyid} as {base}.pub/.sec")
    _out(f"wrote {out} (mode 0600) with root.json v{parsed_root.version}{f' for factory {factory}' if factory else ''}")
    if role != "targets":
        _out(
            "the offline targets key is NOT restored: this tarball holds only the keys read back above. "
            "Restore the targets key from its own backup (--role targets) or its targets-only tarball."
        )
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
    from ..core.backupplan import select_keys
    from ..core.errors import BackupMismatchError, UsageError
    from ..core.keys import parse_secret_key_file
    from ..shell.backupfiles import load_archive, load_root

    archive = load_archive(keys)
    parsed_root = load_root(root, archive)
    entries = select_keys(archive, parsed_root, key_id)
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
