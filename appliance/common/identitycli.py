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
        """Pin the other side's public key after comparing its fingerprint out loud."""
        from ..core.errors import BundleError
        from ..core.identity import PeerKey, fingerprint_groups, fingerprint_words
        from ..core.safetext import quoted
        from .durable import read_capped
        from .home import Home, default_home
        from .lock import hold_home
        from .plaintext import plain_console
        from .terminal import confirm_typed

        place = Home(home or default_home(side), side)
        place.identity()  # must exist first
        hold_home(place.path, f"{side} pair")
        key = PeerKey.from_bytes(read_capped(peer, 4096, what="peer identity"), what=str(peer))
        if key.side != _other(side):
            raise BundleError(f"{peer} is a {key.side} identity; a {side} pairs with a {_other(side)}")
        words = fingerprint_words(key.public)
        out = plain_console()
        out.print(f"{key.side} {quoted(key.name)}")
        out.print(f"fingerprint: {fingerprint_groups(key.public)}")
        out.print(f"read aloud:  {' '.join(words)}")
        current = place.pinned()
        if current is not None and current.public != key.public:
            from .render import console, styled  # the one emphasised line: rich only when it is shown

            console().print(
                styled((f"this replaces the pinned {current.side} {current.fingerprint[:16]}…", "bold red"))
            )
        confirm_typed(words[-1], question="Compare the words with the other side's screen.", assume_yes=yes)
        place.pin(key)
        out.print(f"pinned {key.side} {key.fingerprint[:16]}…")

    def whoami(home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
        """Show this side's fingerprint and the pinned peer."""
        from ..core.identity import fingerprint_groups, fingerprint_words
        from .home import Home, default_home
        from .plaintext import plain_console

        place = Home(home or default_home(side), side)
        me = place.identity().peer
        out = plain_console()
        out.print(f"this {side}: {fingerprint_groups(me.public)}  ({' '.join(fingerprint_words(me.public))})")
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
