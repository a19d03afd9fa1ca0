"""``resign-root`` and ``resign-targets``: extend expiry offline, nothing else."""

from __future__ import annotations

from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP
from .reviewopts import FULL_IDS_HELP, REVIEW_ONLY_HELP
from .token import MODULE_HELP, PIN_FD_HELP

EXPIRED_ROOT_NOTE = (
    "Devices still holding it recover once the re-signed root is published: aktualizr walks every newer root "
    "version checking signatures and version numbers only, and checks expiry on the last root alone."
)


def register(app: typer.Typer) -> None:
    app.command("resign-root")(resign_root)
    app.command("resign-targets")(resign_targets)


def resign_root(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball (read only)."),
    request: Path = typer.Option(..., "--request", help="Request bundle from the online station."),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the response bundle to."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help="Skip the typed confirmation (scripted runs)."),
    show_json: bool = typer.Option(False, "--show-json", help="Also print the new roots as JSON for review."),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
    review_only: bool = typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP),
    full_ids: bool = typer.Option(False, "--full-ids", help=FULL_IDS_HELP),
) -> None:
    """Re-sign the CI and production roots with a later expiry: version + 1, nothing else changes."""
    from datetime import UTC, datetime

    from ..common.plaintext import plain_console
    from ..core.operations import ResignRootRequest, root_result
    from ..core.resign import plan_root_resign
    from ..shell.ceremony import Ceremony
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    ceremony = Ceremony.open(
        home, keys, request, out, kind=ResignRootRequest, review_only=review_only, full_ids=full_ids
    )
    if ceremony.finish_answered():
        return
    ceremony.archive, on_tokens = unlock_tokens(
        ceremony.archive, ceremony.current.ci.meta, ("root",), PinSource(pin_fd), module=module
    )
    now = datetime.now(UTC).replace(microsecond=0)
    plan = plan_root_resign(ceremony.current, ceremony.archive, ceremony.body.params, now)
    old, new = plan.old.ci.meta, plan.new.ci.meta
    details = [
        f"expiry: {old.expires} -> {new.expires} ({plan.days_gained} days gained)",
        f"signed by the current root key(s): {', '.join(k[:16] for k in plan.signer_keyids)}",
        *on_tokens,
    ]
    if plan.current_expired:
        warn = plain_console(stderr=True)
        warn.print(f"warning: the current root v{old.version} already expired at {old.expires}.")
        warn.print(EXPIRED_ROOT_NOTE)
    ceremony.review(plan.new, title="resign-root", details=details, show_json=show_json)
    ceremony.confirm(yes)
    ceremony.respond(root_result(plan.new, []), archive_bytes=None, now=now)


def resign_targets(
    keys: Path = typer.Option(..., "--keys", help="Full or targets-only keys tarball (read only)."),
    request: Path = typer.Option(..., "--request", help="Request bundle from the online station."),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the response bundle to."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help="Skip the typed confirmation (scripted runs)."),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
    review_only: bool = typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP),
    full_ids: bool = typer.Option(False, "--full-ids", help=FULL_IDS_HELP),
) -> None:
    """Sign each tag's current production targets with a later expiry (the server adds its online signature)."""
    from datetime import UTC, datetime

    from ..core.operations import ResignedTargets, ResignTargetsRequest
    from ..core.resign import plan_targets_resign
    from ..core.review import resign_table
    from ..shell.ceremony import Ceremony
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    ceremony = Ceremony.open(
        home, keys, request, out, kind=ResignTargetsRequest, review_only=review_only, full_ids=full_ids
    )
    if ceremony.finish_answered():
        return
    prod = ceremony.current.prod
    ceremony.archive, on_tokens = unlock_tokens(
        ceremony.archive, prod.meta, ("targets",), PinSource(pin_fd), module=module
    )
    body = ceremony.body
    now = datetime.now(UTC).replace(microsecond=0)
    plans = plan_targets_resign(prod, body.production_targets, ceremony.archive, body.params, now)

    signers = sorted({s.keyid[:16] for plan in plans for s in plan.signatures})
    details = [f"signing with offline targets key(s): {', '.join(signers)}; nothing but the expiry changes"]
    details += on_tokens
    table = resign_table(plans)
    summary = [
        f"targets {tag} v{version}: expires {after} (+{gained} days)"
        for tag, version, _, _, after, gained in table.rows
    ]
    ceremony.review(
        None,
        title="resign-targets",
        details=details,
        resigned=table,
        changes_summary=summary,
        roots_shown=("production",),
    )
    ceremony.confirm(yes)
    result = ResignedTargets({plan.tag: plan.new for plan in plans})
    ceremony.respond(result, archive_bytes=None, now=now)
