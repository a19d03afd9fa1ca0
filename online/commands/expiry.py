"""``tuf-online expiry``: what expires when; non-zero exit inside the window (for cron or CI)."""

from __future__ import annotations

import typer

from ..config import ConnectionOptions
from .options import connection_options


def register(app: typer.Typer) -> None:
    app.command("expiry")(expiry)


@connection_options()
def expiry(
    connection: ConnectionOptions = ConnectionOptions(),
    within: int = typer.Option(60, "--within", help="Warning window in days (0 to 3660)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
) -> None:
    """Report CI root, production root and production targets expiry; exit 12 if any is within the window."""
    import sys
    from datetime import UTC, datetime

    from appliance.common.plaintext import Column, PlainTable, plain_console
    from appliance.core.errors import ExpiryWindowError, UsageError, VerificationError
    from appliance.core.expiry import assess, check_window, crossing, report_json
    from appliance.core.strictjson import dumps_pretty

    from ..expirycheck import fetch_items

    try:
        check_window(within)
    except VerificationError as exc:
        raise UsageError(exc.message) from None
    conn = connection.resolve()
    now = datetime.now(UTC).replace(microsecond=0)
    statuses = assess(fetch_items(conn.client()), now)
    if as_json:
        sys.stdout.write(dumps_pretty(report_json(statuses, within, now)).decode("ascii"))
    else:
        columns = ("metadata", "version", "expires", "days left", "status")
        table = PlainTable(f"{conn.factory}: expiry (window {within} days)", tuple(Column(c) for c in columns))
        for s in statuses:
            state = "EXPIRED" if s.expired else ("within window" if s.within(within) else "ok")
            table.add_row(s.item.label, str(s.item.version), s.item.expires, str(s.days_left), state)
        plain_console().print(table)
    late = crossing(statuses, within)
    if late:
        raise ExpiryWindowError(
            f"{len(late)} document(s) of factory {conn.factory} expire within {within} days; "
            f"first: {late[0].describe()}"
        )
