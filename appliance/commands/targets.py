"""``rotate-targets``, ``sign-targets`` and ``copy-targets``: the offline targets key workflows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..common.identitycli import HOME_HELP
from .token import MODULE_HELP, PIN_FD_HELP

if TYPE_CHECKING:
    from ..core.keysarchive import KeyEntry, KeysArchive
    from ..core.metadata import Root


def register(app: typer.Typer) -> None:
    app.command("rotate-targets")(rotate_targets)
    app.command("sign-targets")(sign_targets)
    app.command("copy-targets")(copy_targets)


KEYS_HELP = "Offline keys tarball; updated in place, durably."
REQUEST_HELP = "Request bundle from the online station."
OUT_HELP = "Directory (the USB stick) to write the response bundle to."
YES_HELP = "Skip the typed confirmation (scripted runs)."


def rotate_targets(
    keys: Path = typer.Option(..., "--keys", help=KEYS_HELP),
    request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
    show_json: bool = typer.Option(False, "--show-json", help="Also print the new roots as JSON for review."),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
) -> None:
    """Make a new offline targets key: CI root threshold 1, production threshold 2, both root-signed."""
    from ..core.errors import BundleError
    from ..core.keys import PublicKey
    from ..core.metadata import Envelope
    from ..core.rotation import RotationParameters, plan_targets_rotation
    from ..core.timefmt import format_expires
    from ..shell.ceremony import Ceremony, root_result
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    ceremony = Ceremony.open(home, keys, request, out, operation="rotate-targets")
    if ceremony.finish_answered():
        return
    ceremony.archive, on_tokens = unlock_tokens(
        ceremony.archive, ceremony.current.ci.meta, ("root",), PinSource(pin_fd), module=module
    )
    payload = ceremony.request.payload
    params = RotationParameters.from_dict(ceremony.request.parameters)
    online = PublicKey.from_dict(payload.get("online_targets_key"))
    prod_targets = payload.get("production_targets", {})
    if not isinstance(prod_targets, dict):
        raise BundleError("request payload production_targets must be an object")
    envelopes = {tag: Envelope.from_dict(env, what=f"production targets {tag}") for tag, env in prod_targets.items()}
    new_key, now = ceremony.new_key(params.key_type)
    plan = plan_targets_rotation(ceremony.current, ceremony.archive, new_key, params, now, online, envelopes)
    stored = ceremony.with_new_key("targets", new_key)

    details = [*on_tokens, f"online CI targets key kept: {plan.online_keyid[:16]}"]
    details += [f"offline targets key retired: {k[:16]}" for k in plan.replaced]
    details += [f"production targets re-signed with the new key: tag {t}" for t in plan.resigned_tags]
    new_keys = [("targets", new_key)]
    ceremony.review(plan.new, title="rotate-targets", details=details, show_json=show_json, new_keys=new_keys)
    ceremony.confirm(yes)
    ceremony.record_in_progress({"new_keyid": new_key.keyid, "now": format_expires(now)})
    data = ceremony.store_tarball(stored, plan.new, must_sign={"targets": new_key.keyid}, now=now)
    ceremony.respond(root_result(plan.new, new_keys), archive_bytes=data, now=now)


def sign_targets(
    keys: Path = typer.Option(..., "--keys", help="Full or targets-only keys tarball (read only)."),
    request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
) -> None:
    """Add the offline targets signature to a wave's production targets.json."""
    from datetime import UTC, datetime

    from rich.table import Table

    from ..common.render import console
    from ..core.errors import BundleError, VerificationError
    from ..core.keys import PublicKey
    from ..core.metadata import Envelope
    from ..core.rotation import find_online_targets_key
    from ..core.safetext import MESSAGE_CAP, shown
    from ..core.targets import (
        add_signatures,
        check_production_targets,
        offline_targets_signers,
        parse_targets,
        signatures_json,
    )
    from ..core.targets import sign_targets as sign
    from ..core.verify import check_threshold
    from ..shell.ceremony import Ceremony
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    ceremony = Ceremony.open(home, keys, request, out, operation="sign-targets")
    payload = ceremony.request.payload
    wave = payload.get("wave")
    if not isinstance(wave, dict) or not isinstance(wave.get("name"), str):
        raise BundleError("request payload has no wave")
    # The request payload comes unchanged from the strict parser: no second shape walk.
    envelope = Envelope.from_dict(wave.get("targets"), what=f"wave {wave['name']} targets", parsed=True)
    lines = parse_targets(envelope)
    prod = ceremony.current.prod
    online = PublicKey.from_dict(payload.get("online_targets_key"))
    online_id = find_online_targets_key(prod.meta, online)
    online_role = prod.meta.roles["targets"].__class__((online_id,), 1)
    if not check_threshold(envelope.signed_bytes(), envelope.signatures, prod.meta.keys, online_role, "targets").met:
        raise VerificationError("the wave's targets are not signed by the factory's online targets key")
    archive, on_tokens = unlock_tokens(ceremony.archive, prod.meta, ("targets",), PinSource(pin_fd), module=module)
    signers = offline_targets_signers(prod, archive)
    signatures = sign(envelope, signers)
    result = check_production_targets(add_signatures(envelope, signatures), prod)

    table = Table(
        title=f"wave {shown(wave['name'])}: production targets v{envelope.version}, "
        f"expires {shown(str(envelope.signed.get('expires')))}",
        title_justify="left",
    )
    for column in ("target", "version", "hardware ids", "tags", "bytes"):
        table.add_column(column)
    for line in lines:
        table.add_row(
            shown(line.name, MESSAGE_CAP),
            shown(line.version),
            shown(", ".join(line.hardware_ids), MESSAGE_CAP),
            shown(", ".join(line.tags), MESSAGE_CAP),
            str(line.length),
        )
    details = [
        f"signing with offline targets key {keyid[:16]} ({base.rsplit('/', 1)[-1]})" for keyid, _, base in signers
    ]
    details += on_tokens
    details.append(f"after signing: {result.describe()} of the production root v{prod.version}")
    ceremony.review(None, title="sign-targets", details=details)
    console().print(table)
    ceremony.confirm(yes)
    now = datetime.now(UTC).replace(microsecond=0)
    ceremony.respond(
        {"wave": wave["name"], "targets_version": envelope.version, "signatures": signatures_json(signatures)},
        archive_bytes=None,
        now=now,
    )


def copy_targets(
    source: Path = typer.Argument(..., help="Full offline keys tarball."),
    destination: Path = typer.Argument(..., help="New tarball holding only the offline targets key."),
    root: Path | None = typer.Option(
        None,
        "--root",
        help="root.json naming the targets keys (default: the copy inside the tarball, tufrepo/roles/root.json).",
    ),
) -> None:
    """Write a targets-only tarball: it can sign production targets but holds no root key."""
    from ..common.durable import read_capped, write_durable
    from ..common.render import console
    from ..core.errors import DurabilityError, TarballError
    from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive
    from ..core.metadata import MAX_METADATA_BYTES, Root
    from ..core.targets import offline_targets_signers

    archive = KeysArchive.from_bytes(read_capped(source, MAX_COMPRESSED_BYTES, what="keys tarball"))
    if root is not None:
        parsed = Root.from_bytes(read_capped(root, MAX_METADATA_BYTES, what="root.json"), what=str(root))
    elif "tufrepo/roles/root.json" in archive.files:
        parsed = Root.from_bytes(archive.files["tufrepo/roles/root.json"], what="tufrepo/roles/root.json")
    else:
        raise TarballError("the tarball has no tufrepo/roles/root.json", hint="Pass the current root with --root.")
    signers = _targets_keys(parsed, archive)
    if not signers:
        offline_targets_signers(parsed, archive)  # raises the usual "no targets key" error
    # A key on a token is copied as its reference (.p11): the copy signs only with the token.
    names = [name for _, entry in signers for name in (entry.base + ".pub", entry.base + _private_suffix(entry))]
    subset = archive.subset(names)
    data = subset.to_bytes(mtime=0)

    def check(raw: bytes) -> None:
        reread = KeysArchive.from_bytes(raw)
        if _keys_of(parsed, reread, "root"):
            raise DurabilityError("targets-only tarball would contain a root key")
        if len(_targets_keys(parsed, reread)) != len(signers):
            raise DurabilityError("targets-only tarball lost a targets key")

    write_durable(destination, data, replace=False, verify=check, label="copy-targets")
    out = console()
    for keyid, entry in signers:
        where = " on a token" if entry.token is not None else ""
        out.print(f"copied offline targets key {keyid[:16]} ({entry.base.rsplit('/', 1)[-1]}){where}")
    out.print(f"wrote {destination} (mode 0600); it holds no root key")


def _private_suffix(entry: KeyEntry) -> str:
    return ".sec" if entry.private is not None else ".p11"


def _keys_of(root: Root, archive: KeysArchive, role: str) -> list[tuple[str, KeyEntry]]:
    """(keyid, entry) for ``role``'s keys whose private half is in the tarball or on a token."""
    found = []
    for keyid, public in root.meta.role_keys(role).items():
        for entry in archive.entries:
            if (entry.private is not None or entry.token is not None) and entry.public.same_key(public):
                found.append((keyid, entry))
                break
    return found


def _targets_keys(root: Root, archive: KeysArchive) -> list[tuple[str, KeyEntry]]:
    return _keys_of(root, archive, "targets")
