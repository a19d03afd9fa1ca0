"""``init-wave`` and ``sign-targets``: the offline targets key signs a wave's production targets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..common.identitycli import HOME_HELP
from .reviewopts import FULL_IDS_HELP, REVIEW_ONLY_HELP
from .token import MODULE_HELP, PIN_FD_HELP

if TYPE_CHECKING:
    from ..core.operations import InitWaveRequest, SignTargetsRequest


def register(app: typer.Typer) -> None:
    app.command("init-wave")(init_wave)
    app.command("sign-targets")(sign_targets)


KEYS_HELP = "Full or targets-only keys tarball (read only)."
REQUEST_HELP = "Request bundle from the online station."
OUT_HELP = "Directory (the USB stick) to write the response bundle to."
YES_HELP = "Skip the typed confirmation (scripted runs)."


def _run(
    home: Path | None,
    keys: Path,
    request: Path,
    out: Path,
    yes: bool,
    kind: type[InitWaveRequest] | type[SignTargetsRequest],
    pins: tuple[int | None, str | None],
    review_only: bool = False,
    full_ids: bool = False,
) -> None:
    import hashlib
    from datetime import UTC, datetime

    from ..core.operations import InitWaveRequest, SignTargetsRequest
    from ..core.review import summarise_wave
    from ..core.waveplan import check_init_wave, check_sign_wave, sign_wave
    from ..shell.ceremony import Ceremony
    from ..shell.pin import PinSource
    from ..shell.tokensigning import unlock_tokens

    ceremony = Ceremony[InitWaveRequest | SignTargetsRequest].open(
        home, keys, request, out, kind=kind, review_only=review_only, full_ids=full_ids
    )
    if ceremony.finish_answered():
        return
    now = datetime.now(UTC).replace(microsecond=0)
    prod = ceremony.current.prod
    body = ceremony.body
    if isinstance(body, InitWaveRequest):
        checked = check_init_wave(prod, body, now)
    else:
        checked = check_sign_wave(prod, body, now)
    # Only a request that passed every check asks for a PIN: the offline targets key may be on a token.
    pin_fd, module = pins
    archive, on_tokens = unlock_tokens(ceremony.archive, prod.meta, ("targets",), PinSource(pin_fd), module=module)
    plan = sign_wave(checked, prod, archive)
    digest = hashlib.sha256(plan.envelope.signed_bytes()).hexdigest()
    ceremony.review(
        None,
        title=kind.OPERATION.value,
        details=on_tokens,
        wave=plan.review,
        changes_summary=summarise_wave(plan.review, digest),
    )
    ceremony.confirm(yes)
    ceremony.record_in_progress(None, now)
    ceremony.respond(plan.result(), archive_bytes=None, now=now)


def init_wave(
    keys: Path = typer.Option(..., "--keys", help=KEYS_HELP),
    request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
    review_only: bool = typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP),
    full_ids: bool = typer.Option(False, "--full-ids", help=FULL_IDS_HELP),
) -> None:
    """Sign a new wave's production targets (fioctl waves init) after checking how they were built."""
    from ..core.operations import InitWaveRequest

    _run(home, keys, request, out, yes, InitWaveRequest, (pin_fd, module), review_only, full_ids)


def sign_targets(
    keys: Path = typer.Option(..., "--keys", help=KEYS_HELP),
    request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
    review_only: bool = typer.Option(False, "--review-only", help=REVIEW_ONLY_HELP),
    full_ids: bool = typer.Option(False, "--full-ids", help=FULL_IDS_HELP),
) -> None:
    """Add another offline targets signature to an existing wave (fioctl waves sign)."""
    from ..core.operations import SignTargetsRequest

    _run(home, keys, request, out, yes, SignTargetsRequest, (pin_fd, module), review_only, full_ids)
