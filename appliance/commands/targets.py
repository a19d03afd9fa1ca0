"""``rotate-targets`` and ``copy-targets``: the offline targets key workflows (waves: waves.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .ceremonyopts import SHOW_ROOTS_JSON_HELP, CeremonyOptions, ceremony_options

if TYPE_CHECKING:
    from ..core.keysarchive import KeyEntry, KeysArchive
    from ..core.metadata import Root


def register(app: typer.Typer) -> None:
    app.command("rotate-targets")(rotate_targets)
    app.command("copy-targets")(copy_targets)


@ceremony_options(keys_help="Offline keys tarball; updated in place, durably.", show_json_help=SHOW_ROOTS_JSON_HELP)
def rotate_targets(options: CeremonyOptions) -> None:
    """Make a new offline targets key: CI root threshold 1, production threshold 2, both root-signed."""
    from ..core.review import summarise_root_change, unused_key_reason
    from ..core.rootops import RotateTargetsRequest, root_result
    from ..core.rotation import plan_targets_rotation

    ceremony = options.open(RotateTargetsRequest)
    if ceremony.finish_answered():
        return
    ceremony.archive, on_tokens = options.unlock(ceremony.archive, ceremony.current.ci.meta, ("root",))
    body = ceremony.body
    params = body.params
    new_key, now = ceremony.new_key(params.key_type)
    plan = plan_targets_rotation(
        ceremony.current, ceremony.archive, new_key, params, now, body.online_targets_key, body.production_targets
    )
    stored = ceremony.with_new_key("targets", new_key)

    details = [*on_tokens, f"online CI targets key kept: {plan.online_keyid[:16]}"]
    details += [f"offline targets key retired: {k[:16]}" for k in plan.replaced]
    details += [f"production targets re-signed with the new key: tag {t}" for t in plan.resigned_tags]
    dropped = sorted(set(ceremony.current.ci.meta.keys) - set(plan.new.ci.meta.keys) - set(plan.replaced))
    why = [unused_key_reason(k, ceremony.current.ci) for k in dropped]
    details += why
    new_keys = [("targets", new_key)]
    summary = [*summarise_root_change(ceremony.current, plan.new), *(line.split(":")[0] for line in why)]
    ceremony.review(
        plan.new,
        title="rotate-targets",
        details=details,
        show_json=options.show_json,
        new_keys=new_keys,
        changes_summary=summary,
    )
    ceremony.confirm(options.yes)
    ceremony.record_in_progress(new_key, now)
    data = ceremony.store_tarball(stored, plan.new, must_sign={"targets": new_key.keyid}, now=now)
    ceremony.respond(root_result(plan.new, new_keys), archive_bytes=data, now=now)


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
    from ..common.plaintext import plain_console
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
    out = plain_console()
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
