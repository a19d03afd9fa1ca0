"""``tuf-online show-root``: fetch a factory's CI or production root, check it and show it."""

from __future__ import annotations

import typer

from ..config import ConnectionOptions
from .options import connection_options


def register(app: typer.Typer) -> None:
    app.command("show-root")(show_root)


@connection_options()
def show_root(
    connection: ConnectionOptions = ConnectionOptions(),
    production: bool = typer.Option(False, "--production", help="Show the production root instead of the CI root."),
    version: int | None = typer.Option(None, "--version", min=1, help="Show this version instead of the current one."),
    as_json: bool = typer.Option(False, "--json", help="Print the metadata as pretty JSON instead of a table."),
    full_ids: bool = typer.Option(False, "--full-ids", help="Also list every key id in full, one per line."),
) -> None:
    """Fetch a root.json, parse it strictly, check it meets its own root threshold, and print it."""
    import sys
    from datetime import UTC, datetime

    from appliance.common.plaintext import plain_console, print_root
    from appliance.core.errors import VerificationError
    from appliance.core.expiry import ExpiryItem, assess
    from appliance.core.metadata import Root
    from appliance.core.rootpair import unsignable_production_targets
    from appliance.core.strictjson import dumps_pretty
    from appliance.core.verify import verify_self_signed

    from ..expirycheck import print_warnings

    conn = connection.resolve()
    label = "production" if production else "CI"
    data = conn.client().get_root(production=production, version=version)
    root = Root.from_bytes(data, what=f"{label} root.json from {conn.server}")
    if version is not None and root.version != version:
        raise VerificationError(f"asked for {label} root version {version} but the server sent version {root.version}")
    result = verify_self_signed(root)
    if as_json:
        sys.stdout.write(dumps_pretty(root.to_dict()).decode("ascii"))
        return
    out = plain_console()
    print_root(out, root, f"{conn.factory} {label} root", full_ids=full_ids)
    out.print(f"root signatures: {result.count} of {result.threshold} required, by its own root keys: OK")
    warning = unsignable_production_targets(root.meta)
    if warning:
        out.print(f"note: {warning}")
    kind = "prod-root" if production else "ci-root"
    print_warnings(assess([ExpiryItem(kind, root.version, root.meta.expires)], datetime.now(UTC)))
