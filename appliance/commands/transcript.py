"""``tuf-appliance transcript``: verify and show the sealed ceremony transcript."""

from __future__ import annotations

from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP


def register(app: typer.Typer) -> None:
    app.command("transcript")(transcript)


def transcript(home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
    """Verify every link and signature of the ceremony transcript, list the ceremonies, print the seal."""
    from ..common.home import Home, default_home
    from ..common.render import console, transcript_table
    from ..core.identity import hex_words
    from ..shell.transcriptlog import read_transcript

    place = Home(home or default_home("appliance"), "appliance")
    _, records, seal = read_transcript(place, place.identity().peer)
    out = console()
    out.print(transcript_table(records))
    out.print(f"seal: {seal}")
    out.print(f"read aloud: {' '.join(hex_words(seal))}")
