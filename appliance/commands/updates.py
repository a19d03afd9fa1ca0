"""``tuf-appliance updates <change>``: the offline half of fioctl's ``keys tuf updates`` commands.

Each subcommand answers one request kind (``appliance.core.operations.Updates*Request``,
planned by ``appliance.core.txplan``): it verifies the
request and the staged roots it carries, shows the officer the change, who has signed
so far and how many signatures the old and the new root still need (before and after
this appliance signs), then writes the changed or signed staged roots as the response.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP
from .reviewopts import FULL_IDS_HELP, REVIEW_ONLY_HELP
from .token import MODULE_HELP, PIN_FD_HELP

KEYS_HELP = "This officer's keys tarball (only their own keys); updated in place when a key is made."
REQUEST_HELP = "Request bundle from the online station."
OUT_HELP = "Directory (the USB stick) to write the response bundle to."
YES_HELP = "Skip the typed confirmation (scripted runs)."

# command -> (operation, help); the operations are appliance.core.operations.Operation values.
COMMANDS = {
    "rotate-key": ("updates-rotate-key", "Replace the one root or targets key this tarball holds by a new key."),
    "add-key": ("updates-add-key", "Add a new root or targets key; a new officer's tarball may not exist yet."),
    "delete-key": ("updates-delete-key", "Remove a key id from the root or targets role."),
    "set-threshold": ("updates-set-threshold", "Set the root threshold or the production targets threshold."),
    "sign": ("updates-sign", "Sign the staged CI and production roots with this tarball's root keys."),
    "sign-prod-targets": ("updates-sign-prod-targets", "Sign production and wave targets with the new targets key."),
}


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Root updates transactions: stage and sign changes to the factory's TUF root.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    for name, (operation, help_text) in COMMANDS.items():
        group.command(name, help=help_text)(_command(operation))
    app.add_typer(group, name="updates")


def _command(operation: str) -> Callable[..., None]:
    def command(
        keys: Path = typer.Option(..., "--keys", help=KEYS_HELP),
        request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
        out: Path = typer.Option(..., "--out", help=OUT_HELP),
        home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
        yes: bool = typer.Option(False, "--yes", help=YES_HELP),
        show_json: bool = typer.Option(False, "--show-json", help="Also print the resulting staged roots as JSON."),
        pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
        module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
        review_only: bool = typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP),
        full_ids: bool = typer.Option(False, "--full-ids", help=FULL_IDS_HELP),
    ) -> None:
        run_update(
            operation,
            keys=keys,
            request=request,
            out=out,
            home=home,
            yes=yes,
            show_json=show_json,
            pin_fd=pin_fd,
            module=module,
            review_only=review_only,
            full_ids=full_ids,
        )

    return command


def run_update(
    operation: str,
    *,
    keys: Path,
    request: Path,
    out: Path,
    home: Path | None,
    yes: bool,
    show_json: bool,
    pin_fd: int | None = None,
    module: str | None = None,
    review_only: bool = False,
    full_ids: bool = False,
) -> None:
    from datetime import UTC, datetime

    from ..core.operations import KINDS, NewKey, Operation, RootResult, StagedChangeRequest, StagedResult
    from ..core.txbundle import StagedExtras
    from ..core.txplan import NEW_KEY_OPERATIONS, plan_update
    from ..core.txreview import transaction_review
    from ..shell.ceremony import Ceremony
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    kind = KINDS[Operation(operation)].request
    assert issubclass(kind, StagedChangeRequest)
    new_holder = kind.OPERATION == Operation.UPDATES_ADD_KEY
    ceremony = Ceremony.open(
        home, keys, request, out, kind=kind, new_tarball_ok=new_holder, review_only=review_only, full_ids=full_ids
    )
    if ceremony.finish_answered():
        return
    change = ceremony.body.change
    params = change.params
    staged = change.staged.against(ceremony.current)
    # Token keys sign like file keys once unlocked: root keys of the current or the staged root,
    # and for production targets the staged offline targets key.
    on_tokens: list[str] = []
    if operation == Operation.UPDATES_SIGN_PROD_TARGETS:
        unlock = [(staged.ci.meta, "targets")]
    elif operation == Operation.UPDATES_SIGN or params.sign:
        unlock = [(staged.ci.meta, "root"), (staged.current.ci.meta, "root")]
    else:
        unlock = []
    pins = PinSource(pin_fd)
    for meta, role in unlock:
        ceremony.archive, lines = unlock_tokens(ceremony.archive, meta, (role,), pins, module=module)
        on_tokens += lines
    if params.operation in NEW_KEY_OPERATIONS:
        new_key, now = ceremony.new_key(params.key_type)
    else:
        new_key, now = None, datetime.now(UTC).replace(microsecond=0)
    plan = plan_update(
        params,
        staged,
        ceremony.archive,
        new_key=new_key,
        owner=change.owner,
        now=now,
        production_targets=change.production_targets,
        waves=change.waves,
    )
    new_keys = [(params.role, new_key)] if new_key is not None else []
    review = transaction_review(
        ceremony.request,
        ceremony.context.station,
        staged,
        plan,
        now,
        details=on_tokens,
        show_json=show_json,
        new_keys=new_keys,
    )
    ceremony.show(review, new_keys)
    ceremony.confirm(yes)
    archive_bytes = None
    if new_key is not None:
        ceremony.record_in_progress(new_key, now)
        stored = ceremony.with_new_key(params.role, new_key)
        archive_bytes = ceremony.store_tarball(stored, None, must_sign={params.role: new_key.keyid}, now=now)
    extras = StagedExtras(
        hashlib.sha256(staged.ci.signed_bytes()).hexdigest(),
        tuple(s.keyid for s in plan.signers),
        plan.targets_signatures,
        plan.waves_signatures,
    )
    roots = RootResult(plan.ci, plan.prod, tuple(NewKey(role, key.keyid, key.kind) for role, key in new_keys))
    ceremony.respond(StagedResult(roots, extras), archive_bytes=archive_bytes, now=now)
