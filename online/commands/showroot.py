"""``tuf-online show-root``: fetch a factory's CI or production root, check it and show it."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import factory_option, insecure_http_option, server_option, token_file_option, token_option


def register(app: typer.Typer) -> None:
    app.command("show-root")(show_root)


def show_root(
    server: str | None = server_option(),
    factory: str | None = factory_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    production: bool = typer.Option(False, "--production", help="Show the production root instead of the CI root."),
    version: int | None = typer.Option(None, "--version", min=1, help="Show this version instead of the current one."),
    as_json: bool = typer.Option(False, "--json", help="Print the metadata as pretty JSON instead of a table."),
    insecure_http: bool = insecure_http_option(),
) -> None:
    """Fetch a root.json, parse it strictly, check it meets its own root threshold, and print it."""
    import sys
    from datetime import UTC, datetime

    from appliance.common.render import console, root_table
    from appliance.core.errors import VerificationError
    from appliance.core.metadata import Root
    from appliance.core.strictjson import dumps_pretty
    from appliance.core.verify import verify_self_signed

    from ..config import resolve_connection

    conn = resolve_connection(server, factory, token, token_file, insecure_http=insecure_http)
    label = "production" if production else "CI"
    data = conn.client().get_root(production=production, version=version)
    root = Root.from_bytes(data, what=f"{label} root.json from {conn.server}")
    if version is not None and root.version != version:
        raise VerificationError(f"asked for {label} root version {version} but the server sent version {root.version}")
    result = verify_self_signed(root)
    if as_json:
        sys.stdout.write(dumps_pretty(root.to_dict()).decode("ascii"))
        return
    out = console()
    out.print(root_table(root, f"{conn.factory} {label} root"))
    out.print(f"root signatures: {result.count} of {result.threshold} required, by its own root keys: OK")
    if root.meta.expires_at <= datetime.now(UTC):
        console(stderr=True).print(f"warning: this root expired at {root.meta.expires}")
