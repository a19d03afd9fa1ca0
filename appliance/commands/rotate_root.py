"""``tuf-appliance rotate-root``: the offline half of fioctl's ``keys rotate-root``."""

from __future__ import annotations

from pathlib import Path

import typer

from .ceremonyopts import SHOW_ROOTS_JSON_HELP, CeremonyOptions, ceremony_options


def register(app: typer.Typer) -> None:
    app.command("rotate-root")(rotate_root)


@ceremony_options(keys_help="Offline keys tarball; updated in place, durably.", show_json_help=SHOW_ROOTS_JSON_HELP)
def rotate_root(
    options: CeremonyOptions,
    require_backup_readback: bool = typer.Option(
        False,
        "--require-backup-readback",
        help="Withhold the response until the new key's paper backup is read back (the default; see 'policy').",
    ),
    backup_scan: list[Path] = typer.Option([], "--backup-scan", help="Photo of the new key's backup QR code(s)."),
    backup_typed: list[Path] = typer.Option([], "--backup-typed", help="Typed lines of the new key's backup."),
    backup_shares: list[Path] = typer.Option([], "--backup-shares", help="Shamir share files of the new key."),
) -> None:
    """Verify a rotate-root request, review, make the new root key, update the tarball, write the response."""
    from ..core.firstroot import first_root_files, open_first_root, with_first_root
    from ..core.rootops import RotateRootRequest, root_result
    from ..core.rotation import plan_root_rotation

    ceremony = options.open(RotateRootRequest)
    if ceremony.finish_answered():
        return
    params = ceremony.body.params
    details: list[str] = []
    if ceremony.body.first_root_sealed is not None:
        secret = open_first_root(ceremony.identity, ceremony.body.first_root_sealed)
        ceremony.archive = with_first_root(ceremony.archive, first_root_files(ceremony.current, secret))
        details.append(
            "first-time takeover: Foundries' first root key (opened from the request, sealed to this appliance)"
            " is stored as tufrepo/keys/first-root.pub/.sec and signs its own replacement now"
        )
    ceremony.archive, on_tokens = options.unlock(ceremony.archive, ceremony.current.ci.meta, ("root",))
    new_key, now = ceremony.new_key(params.key_type)
    plan = plan_root_rotation(ceremony.current, ceremony.archive, new_key, params, now)
    stored = ceremony.with_new_key("root", new_key)

    new_keys = [("root", new_key)]
    ceremony.review(
        plan.new, title="rotate-root", details=[*details, *on_tokens], show_json=options.show_json, new_keys=new_keys
    )
    ceremony.confirm(options.yes)
    ceremony.record_in_progress(new_key, now)
    data = ceremony.store_tarball(stored, plan.new, must_sign={"root": new_key.keyid}, now=now)
    required = require_backup_readback or ceremony.home.readback_required()
    ceremony.require_backup(
        new_key.keyid, data, required=required, scans=backup_scan, typed=backup_typed, shares=backup_shares
    )
    ceremony.respond(root_result(plan.new, new_keys), archive_bytes=data, now=now)
