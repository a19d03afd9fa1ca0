"""``tuf-appliance rotate-root``: the offline half of fioctl's ``keys rotate-root``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP
from .reviewopts import FULL_IDS_HELP, REVIEW_ONLY_HELP
from .token import MODULE_HELP, PIN_FD_HELP


def register(app: typer.Typer) -> None:
    app.command("rotate-root")(rotate_root)


def rotate_root(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball; updated in place, durably."),
    request: Path = typer.Option(..., "--request", help="Request bundle from the online station."),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the response bundle to."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help="Skip the typed confirmation (scripted runs)."),
    show_json: bool = typer.Option(False, "--show-json", help="Also print the new roots as JSON for review."),
    require_backup_readback: bool = typer.Option(
        False,
        "--require-backup-readback",
        help="Withhold the response until the new key's paper backup is read back (the default; see 'policy').",
    ),
    backup_scan: list[Path] = typer.Option([], "--backup-scan", help="Photo of the new key's backup QR code(s)."),
    backup_typed: list[Path] = typer.Option([], "--backup-typed", help="Typed lines of the new key's backup."),
    backup_shares: list[Path] = typer.Option([], "--backup-shares", help="Shamir share files of the new key."),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
    review_only: bool = typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP),
    full_ids: bool = typer.Option(False, "--full-ids", help=FULL_IDS_HELP),
) -> None:
    """Verify a rotate-root request, review, make the new root key, update the tarball, write the response."""
    from ..core.operations import RotateRootRequest, root_result
    from ..core.rotation import plan_root_rotation
    from ..shell.ceremony import Ceremony
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    ceremony = Ceremony.open(
        home, keys, request, out, kind=RotateRootRequest, review_only=review_only, full_ids=full_ids
    )
    if ceremony.finish_answered():
        return
    params = ceremony.body.params
    ceremony.archive, on_tokens = unlock_tokens(
        ceremony.archive, ceremony.current.ci.meta, ("root",), PinSource(pin_fd), module=module
    )
    new_key, now = ceremony.new_key(params.key_type)
    plan = plan_root_rotation(ceremony.current, ceremony.archive, new_key, params, now)
    stored = ceremony.with_new_key("root", new_key)

    new_keys = [("root", new_key)]
    ceremony.review(plan.new, title="rotate-root", details=on_tokens, show_json=show_json, new_keys=new_keys)
    ceremony.confirm(yes)
    ceremony.record_in_progress(new_key, now)
    data = ceremony.store_tarball(stored, plan.new, must_sign={"root": new_key.keyid}, now=now)
    required = require_backup_readback or ceremony.home.readback_required()
    ceremony.require_backup(
        new_key.keyid, data, required=required, scans=backup_scan, typed=backup_typed, shares=backup_shares
    )
    ceremony.respond(root_result(plan.new, new_keys), archive_bytes=data, now=now)
