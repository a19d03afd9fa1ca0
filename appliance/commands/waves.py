"""``init-wave`` and ``sign-targets``: the offline targets key signs a wave's production targets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .ceremonyopts import TARGETS_KEYS_HELP, CeremonyOptions, ceremony_options

if TYPE_CHECKING:
    from ..core.targetsops import InitWaveRequest, SignTargetsRequest


def register(app: typer.Typer) -> None:
    app.command("init-wave")(init_wave)
    app.command("sign-targets")(sign_targets)


def _run(options: CeremonyOptions, kind: type[InitWaveRequest] | type[SignTargetsRequest]) -> None:
    import hashlib
    from datetime import UTC, datetime

    from ..core.review import summarise_wave
    from ..core.targetsops import InitWaveRequest
    from ..core.waveplan import check_init_wave, check_sign_wave, sign_wave
    from ..shell.ceremony import Ceremony

    ceremony: Ceremony[InitWaveRequest | SignTargetsRequest] = options.open(kind)
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
    archive, on_tokens = options.unlock(ceremony.archive, prod.meta, ("targets",))
    plan = sign_wave(checked, prod, archive)
    digest = hashlib.sha256(plan.envelope.signed_bytes()).hexdigest()
    ceremony.review(
        None,
        title=kind.OPERATION.value,
        details=on_tokens,
        wave=plan.review,
        changes_summary=summarise_wave(plan.review, digest),
    )
    ceremony.confirm(options.yes)
    ceremony.record_in_progress(None, now)
    ceremony.respond(plan.result(), archive_bytes=None, now=now)


@ceremony_options(keys_help=TARGETS_KEYS_HELP)
def init_wave(options: CeremonyOptions) -> None:
    """Sign a new wave's production targets (fioctl waves init) after checking how they were built."""
    from ..core.targetsops import InitWaveRequest

    _run(options, InitWaveRequest)


@ceremony_options(keys_help=TARGETS_KEYS_HELP)
def sign_targets(options: CeremonyOptions) -> None:
    """Add another offline targets signature to an existing wave (fioctl waves sign)."""
    from ..core.targetsops import SignTargetsRequest

    _run(options, SignTargetsRequest)
