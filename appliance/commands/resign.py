"""``resign-root`` and ``resign-targets``: extend expiry offline, nothing else."""

from __future__ import annotations

import typer

from .ceremonyopts import SHOW_ROOTS_JSON_HELP, TARGETS_KEYS_HELP, CeremonyOptions, ceremony_options

EXPIRED_ROOT_NOTE = (
    "Devices still holding it recover once the re-signed root is published: aktualizr walks every newer root "
    "version checking signatures and version numbers only, and checks expiry on the last root alone."
)


def register(app: typer.Typer) -> None:
    app.command("resign-root")(resign_root)
    app.command("resign-targets")(resign_targets)


@ceremony_options(keys_help="Offline keys tarball (read only).", show_json_help=SHOW_ROOTS_JSON_HELP)
def resign_root(options: CeremonyOptions) -> None:
    """Re-sign the CI and production roots with a later expiry: version + 1, nothing else changes."""
    from datetime import UTC, datetime

    from ..common.plaintext import plain_console
    from ..core.resign import plan_root_resign
    from ..core.rootops import ResignRootRequest, root_result

    ceremony = options.open(ResignRootRequest)
    if ceremony.finish_answered():
        return
    ceremony.archive, on_tokens = options.unlock(ceremony.archive, ceremony.current.ci.meta, ("root",))
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
    ceremony.review(plan.new, title="resign-root", details=details, show_json=options.show_json)
    ceremony.confirm(options.yes)
    ceremony.respond(root_result(plan.new, []), archive_bytes=None, now=now)


@ceremony_options(keys_help=TARGETS_KEYS_HELP)
def resign_targets(options: CeremonyOptions) -> None:
    """Sign each tag's current production targets with a later expiry (the server adds its online signature)."""
    from datetime import UTC, datetime

    from ..core.resign import plan_targets_resign
    from ..core.review import resign_table
    from ..core.targetsops import ResignedTargets, ResignTargetsRequest

    ceremony = options.open(ResignTargetsRequest)
    if ceremony.finish_answered():
        return
    prod = ceremony.current.prod
    ceremony.archive, on_tokens = options.unlock(ceremony.archive, prod.meta, ("targets",))
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
    ceremony.confirm(options.yes)
    result = ResignedTargets({plan.tag: plan.new for plan in plans})
    ceremony.respond(result, archive_bytes=None, now=now)
