"""Unlocking the token keys an operation needs, before it signs anything.

The officer sees which role key is on which token (label, serial) and types each token's
PIN; the unlocked keys are attached to the in-memory archive so the core signs through them
exactly as through file keys.  Nothing is written while tokens are unlocked here.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..common.plaintext import plain_console
from ..core.keys import Signer
from ..core.keysarchive import KeysArchive
from ..core.metadata import RootMeta
from .pin import PinSource
from .token import TokenSigner, show, unlock


def unlock_tokens(
    archive: KeysArchive,
    meta: RootMeta,
    roles: Iterable[str],
    pins: PinSource,
    *,
    module: str | None = None,
) -> tuple[KeysArchive, list[str]]:
    """The archive with every token key of ``roles`` unlocked, and review lines naming the tokens."""
    needed = archive.token_entries_for(meta, roles)
    if not needed:
        return archive, []
    out = plain_console()
    bindings: dict[str, Signer] = {}
    lines = []
    for role, entry in needed:
        assert entry.token is not None
        out.print(
            f"{role} key {entry.keyid[:16]} is on {' or '.join(show(d) for d in entry.token.describe())}",
        )
        signer: TokenSigner = unlock(entry.token, entry.public, pins, module=module)
        bindings[entry.base] = signer
        lines.append(f"{role} key {entry.keyid[:16]} signs on {signer.token.describe()}")
    return archive.with_bindings(bindings), lines
