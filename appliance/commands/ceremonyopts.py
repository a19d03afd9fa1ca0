"""The options every ceremony command takes, as one set, and the opening each of them does.

``@ceremony_options(keys_help=...)`` gives a command ``--keys``, ``--request``, ``--out``,
``--home``, ``--yes`` (and ``--show-json``) where it declares ``options: CeremonyOptions``,
and ``--pin-fd``, ``--module``, ``--review-only``, ``--full-ids`` after its own options;
they reach it as one ``CeremonyOptions``.  Heavy modules are imported on use, not here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from ..common.identitycli import HOME_HELP
from ..common.optionset import Option, bind, parameters
from .reviewopts import FULL_IDS_HELP, REVIEW_ONLY_HELP
from .token import MODULE_HELP, PIN_FD_HELP

if TYPE_CHECKING:
    from ..core.context import B
    from ..core.keysarchive import KeysArchive
    from ..core.metadata import RootMeta
    from ..shell.ceremony import Ceremony

REQUEST_HELP = "Request bundle from the online station."
OUT_HELP = "Directory (the USB stick) to write the response bundle to."
YES_HELP = "Skip the typed confirmation (scripted runs)."
TARGETS_KEYS_HELP = "Full or targets-only keys tarball (read only)."
SHOW_ROOTS_JSON_HELP = "Also print the new roots as JSON for review."


@dataclass(frozen=True)
class CeremonyOptions:
    keys: Path
    request: Path
    out: Path
    home: Path | None = None
    yes: bool = False
    show_json: bool = False
    pin_fd: int | None = None
    module: str | None = None
    review_only: bool = False
    full_ids: bool = False

    def open(self, kind: type[B], *, new_tarball_ok: bool = False) -> Ceremony[B]:
        """The verified ceremony for a request of ``kind`` (its answer may already be on the stick)."""
        from ..shell.ceremony import Ceremony

        return Ceremony.open(
            self.home,
            self.keys,
            self.request,
            self.out,
            kind=kind,
            new_tarball_ok=new_tarball_ok,
            review_only=self.review_only,
            full_ids=self.full_ids,
        )

    def unlock(self, archive: KeysArchive, meta: RootMeta, roles: Sequence[str]) -> tuple[KeysArchive, list[str]]:
        """The archive with ``roles``' token keys unlocked (``--pin-fd``, ``--module``), and review lines."""
        from ..shell.pin import PinSource
        from ..shell.tokensigning import unlock_tokens

        return unlock_tokens(archive, meta, roles, PinSource(self.pin_fd), module=self.module)


R = TypeVar("R")


def ceremony_options(
    *, keys_help: str, show_json_help: str | None = None
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Replace a command's ``options: CeremonyOptions`` parameter by the ceremony options."""
    head: list[Option] = [
        ("keys", Path, typer.Option(..., "--keys", help=keys_help)),
        ("request", Path, typer.Option(..., "--request", help=REQUEST_HELP)),
        ("out", Path, typer.Option(..., "--out", help=OUT_HELP)),
        ("home", Path | None, typer.Option(None, "--home", help=HOME_HELP)),
        ("yes", bool, typer.Option(False, "--yes", help=YES_HELP)),
    ]
    if show_json_help is not None:
        head.append(("show_json", bool, typer.Option(False, "--show-json", help=show_json_help)))
    tail: list[Option] = [
        ("pin_fd", int | None, typer.Option(None, "--pin-fd", help=PIN_FD_HELP)),
        ("module", str | None, typer.Option(None, "--module", help=MODULE_HELP)),
        ("review_only", bool, typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP)),
        ("full_ids", bool, typer.Option(False, "--full-ids", help=FULL_IDS_HELP)),
    ]

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        params: list[inspect.Parameter] = []
        for param in inspect.signature(command).parameters.values():
            params += parameters(head) if param.name == "options" else [param]
        params += parameters(tail)
        return bind(command, param="options", options=head + tail, signature=params, build=CeremonyOptions)

    return decorate
