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

    from ..common.home import Home, default_home
    from ..common.render import console
    from ..core.identity import hex_words
    from ..shell.transcriptlog import read_transcript

    place = Home(home or default_home("appliance"), "appliance")
    _, records, seal = read_transcript(place, place.identity().peer)
    table = Table(
        title=f"ceremony transcript ({len(records)} entries, all links and signatures verified)", title_justify="left"
    )
    for column in ("time", "operation", "factory", "from v", "new keys", "request"):
        table.add_column(column)
    for record in records:
        keys = ", ".join(f"{k.get('role')} {str(k.get('keyid'))[:16]}" for k in record.get("new_keys", []))
        table.add_row(
            str(record.get("time")),
            str(record.get("operation")),
            str(record.get("factory")),
            str(record.get("from_version")),
            keys,
            str(record.get("request_id"))[:16],
        )
    out = console()
    out.print(table)
    out.print(f"seal: {seal}")
    out.print(f"read aloud: {' '.join(hex_words(seal))}")
