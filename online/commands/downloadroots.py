"""``tuf-online download-roots``: every root version into a tarball, laid out as fioctl's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from ..config import ConnectionOptions
from .options import connection_options


def register(app: typer.Typer) -> None:
    app.command("download-roots")(download_roots)


@connection_options()
def download_roots(
    connection: ConnectionOptions = ConnectionOptions(),
    out: Path = typer.Argument(..., help="Tarball to write (members N.root.json); must not exist."),
    production: bool = typer.Option(False, "--prod", help="Download the production roots instead of the CI roots."),
) -> None:
    """Fetch root versions 1, 2, … and write them as `fioctl keys tuf download-roots` does."""
    from appliance.common.durable import write_durable
    from appliance.common.render import console
    from appliance.core.rootpair import verify_history

    from ..exporting import fetch_history
    from ..sandbox.seeding import read_roots_tarball, roots_tarball

    conn = connection.resolve()
    chain = fetch_history(conn.client(), production=production)
    label = "production" if production else "CI"
    verify_history(list(chain), None, f"{label} root history")
    data = roots_tarball(list(chain))
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
