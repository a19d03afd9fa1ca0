"""``tuf-online export <operation>`` and ``tuf-online import``: the two ends of a ceremony."""

from __future__ import annotations

from pathlib import Path

import typer

from appliance.common.identitycli import HOME_HELP

from ..config import ConnectionOptions
from .options import connection_options, rotation_options

export_app = typer.Typer(
    help="Fetch what the appliance needs into a signed request bundle.", no_args_is_help=True, rich_markup_mode=None
)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.command("import")(import_response)


OUT_HELP = "Directory (the USB stick) to write the request to."


@export_app.command("rotate-root")
@connection_options()
def export_rotate_root(
    connection: ConnectionOptions,
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    key_type: str = typer.Option("ED25519", "--key-type", help="Type of the new root key: ED25519 or RSA."),
    changelog: str = typer.Option("", "--changelog", "-m", help="Reason, recorded in x-changelog of the new root."),
    validity_days: int | None = typer.Option(None, "--validity-days", help="New root validity (default 1 year)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Fetch the CI and production root histories into a rotate-root request."""
    from appliance.core.operations import RotateRootRequest

    from ..exporting import export_request

    params = rotation_options(key_type, changelog, validity_days)

    export_request(lambda client: RotateRootRequest(params), out=out, connection=connection, home=home)


@export_app.command("rotate-targets")
@connection_options()
def export_rotate_targets(
    connection: ConnectionOptions,
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    key_type: str = typer.Option("ED25519", "--key-type", help="Type of the new offline targets key."),
    changelog: str = typer.Option("", "--changelog", "-m", help="Reason (default: 'Targets role key rotation')."),
    tags: str = typer.Option("", "--tags", help="Comma-separated production tags whose targets get re-signed."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Fetch roots, the online targets key and production targets into a rotate-targets request."""
    from ..exporting import export_request, rotate_targets_request

    params = rotation_options(key_type, changelog, None)
    tag_list = [t for t in tags.split(",") if t]
    export_request(
        lambda client: rotate_targets_request(client, params, tag_list), out=out, connection=connection, home=home
    )


@export_app.command("sign-targets")
@connection_options()
def export_sign_targets(
    wave: str = typer.Option(..., "--wave", help="Wave whose production targets need the offline signature."),
    connection: ConnectionOptions = ConnectionOptions(),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Put a wave's production targets.json (signed online) into a sign-targets request."""
    from ..exporting import export_request
    from ..wavestation import sign_targets_request

    export_request(lambda client: sign_targets_request(client, wave), out=out, connection=connection, home=home)


@export_app.command("resign-root")
@connection_options()
def export_resign_root(
    connection: ConnectionOptions,
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    changelog: str = typer.Option(
        "", "--changelog", "-m", help="Reason (default: 'Refresh TUF root expiration by 1 year')."
    ),
    validity_days: int | None = typer.Option(None, "--validity-days", help="New root validity (default 1 year)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Fetch the root histories into a resign-root request: version + 1 and a later expiry, nothing else."""
    from appliance.core.operations import ResignRootRequest
    from appliance.core.resign import ResignParameters

    from ..exporting import export_request

    params = ResignParameters.from_dict(
        {"changelog": changelog} | ({"validity_days": validity_days} if validity_days is not None else {})
    )
    export_request(lambda client: ResignRootRequest(params), out=out, connection=connection, home=home)


@export_app.command("resign-targets")
@connection_options()
def export_resign_targets(
    connection: ConnectionOptions,
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    tags: str = typer.Option("", "--tags", help="Comma-separated production tags (default: every tag)."),
    validity_days: int | None = typer.Option(None, "--validity-days", help="New validity (default 365 days)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Fetch the current production targets into a resign-targets request (only the expiry changes)."""
    from appliance.core.resign import ResignParameters

    from ..exporting import export_request, resign_targets_request

    params = ResignParameters.from_dict({"validity_days": validity_days} if validity_days is not None else {})
    tag_list = [t for t in tags.split(",") if t]
    export_request(
        lambda client: resign_targets_request(client, params, tag_list), out=out, connection=connection, home=home
    )


@connection_options(factory=False)
def import_response(
    response: Path = typer.Argument(..., help="Response bundle written by the appliance."),
    connection: ConnectionOptions = ConnectionOptions(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    direct: bool = typer.Option(
        False,
        "--direct",
        help="Upload new roots with POST .../user_repo/root (for servers without the root updates API); "
        "default: a root updates transaction.",
    ),
) -> None:
    """Verify a response against its pending request and upload the result (resumable)."""
    from ..importing import import_bundle

    import_bundle(response, connection=connection, home=home, direct=direct)
