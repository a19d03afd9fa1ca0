"""``tuf-appliance updates <change>``: the offline half of fioctl's ``keys tuf updates`` commands.

Each subcommand answers one request kind (see appliance.core.txplan): it verifies the
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

KEYS_HELP = "This officer's keys tarball (only their own keys); updated in place when a key is made."
REQUEST_HELP = "Request bundle from the online station."
OUT_HELP = "Directory (the USB stick) to write the response bundle to."
YES_HELP = "Skip the typed confirmation (scripted runs)."

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
    ) -> None:
        run_update(operation, keys=keys, request=request, out=out, home=home, yes=yes, show_json=show_json)

    return command


def run_update(
    operation: str, *, keys: Path, request: Path, out: Path, home: Path | None, yes: bool, show_json: bool
) -> None:
    from datetime import UTC, datetime

    from ..common.render import console
    from ..core.errors import BundleError
    from ..core.timefmt import format_expires
    from ..core.txplan import (
        NEW_KEY_OPERATIONS,
        UpdateParameters,
        documents_from_payload,
        plan_update,
        staged_from_payload,
    )
    from ..core.txreview import review_lines
    from ..core.txwire import put_body
    from ..shell.ceremony import Ceremony

    ceremony = Ceremony.open(
        home, keys, request, out, operation=operation, new_tarball_ok=operation == "updates-add-key"
    )
    if ceremony.finish_answered():
        return
    params = UpdateParameters.from_dict(operation, ceremony.request.parameters)
    payload = ceremony.request.payload
    staged = staged_from_payload(ceremony.current, payload)
    owner_obj = payload.get("owner", {})
    owner = owner_obj.get("polis-id", "") if isinstance(owner_obj, dict) else ""
    if not isinstance(owner, str):
        raise BundleError("request payload owner polis-id must be a string")
    if operation in NEW_KEY_OPERATIONS:
        new_key, now = ceremony.new_key(params.key_type)
    else:
        new_key, now = None, datetime.now(UTC).replace(microsecond=0)
    plan = plan_update(
        params,
        staged,
        ceremony.archive,
        new_key=new_key,
        owner=owner,
        now=now,
        production_targets=documents_from_payload(payload, "production_targets"),
        waves=documents_from_payload(payload, "waves"),
    )
    ceremony.review(None, title=operation)
    shown = console()
    for line in review_lines(staged, plan, now):
        shown.print(line, markup=False, highlight=False)
    if show_json:
        shown.print_json(plan.ci.to_bytes().decode())
        shown.print_json(plan.prod.to_bytes().decode())
    ceremony.confirm(yes)
    archive_bytes = None
    new_keys = []
    if new_key is not None:
        ceremony.record_in_progress({"new_keyid": new_key.keyid, "now": format_expires(now)})
        stored = ceremony.with_new_key(params.role, new_key)
        archive_bytes = ceremony.store_tarball(stored, None, must_sign={params.role: new_key.keyid}, now=now)
        new_keys.append({"role": params.role, "keyid": new_key.keyid, "keytype": new_key.kind})
    body = put_body("", plan.ci, plan.prod, plan.targets_signatures, plan.waves_signatures)
    result = {
        "ci_root": body["ci-root"],
        "prod_root": body["prod-root"],
        "targets_signatures": body.get("targets-signatures", {}),
        "waves_signatures": body.get("waves-signatures", {}),
        "staged_ci_sha256": hashlib.sha256(staged.ci.signed_bytes()).hexdigest(),
        "signed_by": [s.keyid for s in plan.signers],
        "new_keys": new_keys,
    }
    ceremony.respond(result, archive_bytes=archive_bytes, now=now)
