"""``init-wave`` and ``sign-targets``: the offline targets key signs a wave's production targets."""

from __future__ import annotations

from pathlib import Path

import typer

from ..common.identitycli import HOME_HELP


def register(app: typer.Typer) -> None:
    app.command("init-wave")(init_wave)
    app.command("sign-targets")(sign_targets)


KEYS_HELP = "Full or targets-only keys tarball (read only)."
REQUEST_HELP = "Request bundle from the online station."
OUT_HELP = "Directory (the USB stick) to write the response bundle to."
YES_HELP = "Skip the typed confirmation (scripted runs)."


def _run(home: Path | None, keys: Path, request: Path, out: Path, yes: bool, operation: str) -> None:
    from datetime import UTC, datetime

    from ..common.render import console
    from ..common.wavereview import print_wave_review
    from ..core.waveplan import plan_init_wave, plan_sign_wave
    from ..core.waves import WaveParameters
    from ..shell.ceremony import Ceremony

    ceremony = Ceremony.open(home, keys, request, out, operation=operation)
    if ceremony.finish_answered():
        return
    now = datetime.now(UTC).replace(microsecond=0)
    prod = ceremony.current.prod
    payload = ceremony.request.payload
    if operation == "init-wave":
        params = WaveParameters.from_dict(ceremony.request.parameters)
        plan = plan_init_wave(prod, ceremony.archive, params, payload, now)
    else:
        plan = plan_sign_wave(prod, ceremony.archive, payload, now)
    ceremony.review(None, title=operation)
    print_wave_review(console(), plan.review)
    ceremony.confirm(yes)
    ceremony.record_in_progress({"now": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    ceremony.respond(plan.result(), archive_bytes=None, now=now)


def init_wave(
    keys: Path = typer.Option(..., "--keys", help=KEYS_HELP),
    request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Sign a new wave's production targets (fioctl waves init) after checking how they were built."""
    _run(home, keys, request, out, yes, "init-wave")


def sign_targets(
    keys: Path = typer.Option(..., "--keys", help=KEYS_HELP),
    request: Path = typer.Option(..., "--request", help=REQUEST_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Add another offline targets signature to an existing wave (fioctl waves sign)."""
    _run(home, keys, request, out, yes, "sign-targets")
