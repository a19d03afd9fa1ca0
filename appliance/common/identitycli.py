"""``init``, ``pair`` and ``whoami``: bundle-signing identities (shared by both CLIs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..core.identity import Side

HOME_HELP = "Home directory holding the identity and pinned peer (default ~/.tuf-airgap/<side>, or TUF_AIRGAP_HOME)."


def _other(side: Side) -> Side:
    return "appliance" if side == "station" else "station"


def register_for(app: typer.Typer, side: Side) -> None:
    def init(
        home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
        name: str = typer.Option("", "--name", help="A label for this side, shown to the peer."),
    ) -> None:
        """Create this side's bundle-signing key (once)."""
        import os

        from ..core.identity import Identity, fingerprint_groups, fingerprint_words
        from .home import Home, default_home
        from .plaintext import plain_console

        place = Home(home or default_home(side), side)
        identity = Identity(side, name or side, os.urandom(32))
        place.create(identity)
        out = plain_console()
        out.print(f"{side} identity created in {place.path}")
        out.print(f"public key file: {place.identity_pub}  (carry it to the {_other(side)} and run 'pair')")
        out.print(f"fingerprint: {fingerprint_groups(identity.peer.public)}")
        out.print(f"read aloud:  {' '.join(fingerprint_words(identity.peer.public))}")

    def pair(
        peer: Path = typer.Option(..., "--peer", help=f"The {_other(side)}'s identity.pub file."),
        home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
        yes: bool = typer.Option(False, "--yes", help="Skip the typed confirmation (scripted runs)."),
    ) -> None:
        """Pin the other side's public key after its words, read aloud from its screen, match."""
        from ..core.errors import UsageError
        from ..core.identity import PeerKey, fingerprint_words
        from ..core.safetext import quoted
        from .durable import read_capped
        from .home import Home, default_home
        from .lock import hold_home
        from .plaintext import plain_console
        from .terminal import confirm_typed, same_words

        place = Home(home or default_home(side), side)
        me = place.identity()  # must exist first
        hold_home(place.path, f"{side} pair")
        key = PeerKey.from_bytes(read_capped(peer, 4096, what="peer identity"), what=str(peer))
        other = _other(side)
        if key.side != other:
            raise UsageError(
                f"--peer {peer} is the {key.side}'s own identity file; this {side} pairs with the {other}'s",
                hint=f"Copy identity.pub from the {other}'s home (its 'whoami' shows it).",
            )
        out = plain_console()
        out.print(f"pairing this {side} with the {other} {quoted(key.name)}")
        out.print(f"this {side}'s words, for the {other}'s operator to type:")
        out.print(f"  {' '.join(fingerprint_words(me.peer.public))}")
        current = place.pinned()
        if current is not None and current.public != key.public:
            from .render import console, styled  # the one emphasised line: rich only when it is shown

            console().print(styled((f"this replaces the pinned {current.side} {current.fingerprint[:16]}", "bold red")))
        # The peer's words are never printed here: typing them as read aloud from the other
        # screen is the proof that the file on this side is the key on that side.
        confirm_typed(
            "",
            question=f"Ask the {other}'s operator to read aloud the words its 'whoami' shows.",
            shown=f"the {other}'s 8 words as read aloud",
            matches=same_words(fingerprint_words(key.public)),
            assume_yes=yes,
            abort_hint=f"Nothing was pinned. Check that {peer} was copied from this {other}, then pair again.",
        )
        place.pin(key)
        out.print(f"pinned {key.side} {key.fingerprint[:16]}: its words match")

    def whoami(home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
        """Show this side's fingerprint and the pinned peer."""
        from ..core.identity import fingerprint_groups, fingerprint_words
        from .home import Home, default_home
        from .plaintext import plain_console

        place = Home(home or default_home(side), side)
        me = place.identity().peer
        out = plain_console()
        out.print(f"this {side}: {fingerprint_groups(me.public)}")
        out.print(f"  read aloud: {' '.join(fingerprint_words(me.public))}")
        peer_key = place.pinned()
        if peer_key is None:
            out.print("no peer pinned")
        else:
            out.print(f"pinned {peer_key.side}: {fingerprint_groups(peer_key.public)}")

    app.command("init")(init)
    app.command("pair")(pair)
    app.command("whoami")(whoami)


def register(app: typer.Typer) -> None:
    register_for(app, "appliance")
