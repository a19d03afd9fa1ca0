"""``tuf-appliance keys``: list what an offline keys tarball holds (never prints secrets)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("keys")(list_keys)


def list_keys(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball (offline-creds.tgz)."),
    root: Path | None = typer.Option(
        None, "--root", help="root.json to match keys against roles (default: the tarball's tufrepo/roles/root.json)."
    ),
    full_ids: bool = typer.Option(False, "--full-ids", help="Also list every key id in full, one per line."),
) -> None:
    """List the key pairs in a keys tarball and which roles of ROOT they serve."""
    from ..common.durable import read_capped
    from ..common.plaintext import full_id_lines, key_table, plain_console
    from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive, root_in_archive
    from ..core.metadata import MAX_METADATA_BYTES, Root

    archive = KeysArchive.from_bytes(read_capped(keys, MAX_COMPRESSED_BYTES, what="keys tarball"))
    out = plain_console()
    parsed: Root | None
    if root is not None:
        parsed = Root.from_bytes(read_capped(root, MAX_METADATA_BYTES, what="root.json"), what=str(root))
        source = str(root)
    else:
        parsed = root_in_archive(archive)
        source = "the tarball's tufrepo/roles/root.json"
    out.print(key_table(archive.entries, parsed, archive.files))
    for note in archive.notes:
        out.print(f"not used: {note}")
    if parsed is None:
        out.print("roles: unknown (the tarball has no tufrepo/roles/root.json; pass --root)")
    else:
        out.print(f"roles from {source}, v{parsed.version}")
    if full_ids:
        listed = (parsed.meta.keyid_for(e.public) if parsed is not None else None for e in archive.entries)
        ids = (kid or e.keyid for kid, e in zip(listed, archive.entries, strict=True))
        out.print("key ids in full:", *full_id_lines(ids))
