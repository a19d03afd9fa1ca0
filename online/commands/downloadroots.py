"""``tuf-online download-roots``: every root version into a tarball, laid out as fioctl's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from ..config import factory_option, server_option, token_file_option, token_option


def register(app: typer.Typer) -> None:
    app.command("download-roots")(download_roots)


def download_roots(
    out: Path = typer.Argument(..., help="Tarball to write (members N.root.json); must not exist."),
    production: bool = typer.Option(False, "--prod", help="Download the production roots instead of the CI roots."),
    server: str | None = server_option(),
    factory: str | None = factory_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
) -> None:
    """Fetch root versions 1, 2, … and write them as `fioctl keys tuf download-roots` does."""
    from appliance.common.durable import write_durable
    from appliance.common.render import console
    from appliance.core.rootpair import verify_history

    from ..config import resolve_connection
    from ..exporting import fetch_history
    from ..sandbox.seeding import read_roots_tarball, roots_tarball

    conn = resolve_connection(server, factory, token, token_file)
    chain = fetch_history(conn.client(), production=production)
    label = "production" if production else "CI"
    verify_history(chain, None, f"{label} root history")
    data = roots_tarball(chain)
    write_durable(
        out,
        data,
        replace=False,
        mode=0o644,
        verify=lambda raw: _same(read_roots_tarball(raw, str(out)), chain),
        label="roots",
    )
    console().print(f"wrote {label} roots v1..v{chain[-1].version} of {conn.factory} to {out}", markup=False)


def _same(read: Sequence[object], chain: Sequence[object]) -> None:
    from appliance.core.errors import DurabilityError

    if len(read) != len(chain):
        raise DurabilityError("the roots tarball read back differs from the roots fetched")
