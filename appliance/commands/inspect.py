"""``tuf-appliance keys``: list what an offline keys tarball holds (never prints secrets)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("keys")(list_keys)


def list_keys(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball (offline-creds.tgz)."),
    root: Path | None = typer.Option(None, "--root", help="root.json to match keys against roles."),
) -> None:
    """List the key pairs in a keys tarball and which roles of ROOT they serve."""
    from ..common.durable import read_capped
    from ..common.plaintext import key_table, plain_console
    from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive
    from ..core.metadata import MAX_METADATA_BYTES, Root

    archive = KeysArchive.from_bytes(read_capped(keys, MAX_COMPRESSED_BYTES, what="keys tarball"))
    parsed = None
    if root is not None:
        parsed = Root.from_bytes(read_capped(root, MAX_METADATA_BYTES, what="root.json"), what=str(root))
    plain_console().print(key_table(archive.entries, parsed))
