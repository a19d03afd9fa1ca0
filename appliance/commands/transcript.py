"""``tuf-appliance transcript``: verify and show the sealed ceremony transcript."""

from __future__ import annotations

from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP


def register(app: typer.Typer) -> None:
    app.command("transcript")(transcript)


def transcript(home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
    """Verify every link and signature of the ceremony transcript, list the ceremonies, print the seal."""
    from rich.table import Table

    from ..common.durable import read_capped
    from ..common.home import Home, default_home
    from ..common.render import console
    from ..core.identity import hex_words
    from ..core.safetext import MESSAGE_CAP, shown
    from ..core.transcript import verify_transcript
    from ..shell.ceremony import TRANSCRIPT_MAX_BYTES

    place = Home(home or default_home("appliance"), "appliance")
    me = place.identity().peer
    data = read_capped(place.transcript, TRANSCRIPT_MAX_BYTES, what="transcript") if place.transcript.exists() else b""
    records, seal = verify_transcript(data, me)
    table = Table(
        title=f"ceremony transcript ({len(records)} entries, all links and signatures verified)", title_justify="left"
    )
    for column in ("time", "operation", "factory", "from v", "new keys", "request"):
        table.add_column(column)
    for record in records:
        keys = ", ".join(f"{k.get('role')} {str(k.get('keyid'))[:16]}" for k in record.get("new_keys", []))
        table.add_row(
            shown(str(record.get("time"))),
            shown(str(record.get("operation"))),
            shown(str(record.get("factory"))),
            shown(str(record.get("from_version"))),
            shown(keys, MESSAGE_CAP),
            shown(str(record.get("request_id"))[:16]),
        )
    out = console()
    out.print(table)
    out.print(f"seal: {seal}")
    out.print(f"read aloud: {' '.join(hex_words(seal))}")
