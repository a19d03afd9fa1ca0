"""``tuf-online export <operation>`` and ``tuf-online import``: the two ends of a ceremony."""

from __future__ import annotations

from pathlib import Path

import typer

from appliance.commands.identity import HOME_HELP

export_app = typer.Typer(
    help="Fetch what the appliance needs into a signed request bundle.", no_args_is_help=True, rich_markup_mode=None
)

SERVER_HELP = "Factory API base URL (or TUF_ONLINE_SERVER)."
TOKEN_HELP = "API token (or TUF_ONLINE_TOKEN); prefer --token-file."  # noqa: S105 (help text)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.command("import")(import_response)


@export_app.command("rotate-root")
def export_rotate_root(
    factory: str = typer.Option(None, "--factory", help="Factory name (or TUF_ONLINE_FACTORY)."),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the request to."),
    key_type: str = typer.Option("ED25519", "--key-type", help="Type of the new root key: ED25519 or RSA."),
    changelog: str = typer.Option("", "--changelog", "-m", help="Reason, recorded in x-changelog of the new root."),
    validity_days: int | None = typer.Option(None, "--validity-days", help="New root validity (default 1 year)."),
    server: str | None = typer.Option(None, "--server", help=SERVER_HELP),
    token: str | None = typer.Option(None, "--token", help=TOKEN_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help="File holding the API token."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Fetch the CI and production root histories into a rotate-root request."""
    from appliance.core.rotation import RotationParameters

    params = RotationParameters.from_dict(
        {"key_type": key_type, "changelog": changelog}
        | ({"validity_days": validity_days} if validity_days is not None else {})
    )
    from ..exporting import export_request

    export_request(
        "rotate-root",
        params.to_dict(),
        out=out,
        factory=factory,
        server=server,
        token=token,
        token_file=token_file,
        home=home,
    )


@export_app.command("rotate-targets")
def export_rotate_targets(
    factory: str = typer.Option(None, "--factory", help="Factory name (or TUF_ONLINE_FACTORY)."),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the request to."),
    key_type: str = typer.Option("ED25519", "--key-type", help="Type of the new offline targets key."),
    changelog: str = typer.Option("", "--changelog", "-m", help="Reason (default: 'Targets role key rotation')."),
    tags: str = typer.Option("", "--tags", help="Comma-separated production tags whose targets get re-signed."),
    server: str | None = typer.Option(None, "--server", help=SERVER_HELP),
    token: str | None = typer.Option(None, "--token", help=TOKEN_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help="File holding the API token."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Fetch roots, the online targets key and production targets into a rotate-targets request."""
    from appliance.core.rotation import RotationParameters

    from ..exporting import export_request, targets_payload

    params = RotationParameters.from_dict({"key_type": key_type, "changelog": changelog})
    tag_list = [t for t in tags.split(",") if t]
    export_request(
        "rotate-targets",
        params.to_dict(),
        out=out,
        factory=factory,
        server=server,
        token=token,
        token_file=token_file,
        home=home,
        extra_payload=lambda client: targets_payload(client, tag_list),
    )


@export_app.command("sign-targets")
def export_sign_targets(
    wave: str = typer.Option(..., "--wave", help="Wave whose production targets need the offline signature."),
    factory: str = typer.Option(None, "--factory", help="Factory name (or TUF_ONLINE_FACTORY)."),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the request to."),
    server: str | None = typer.Option(None, "--server", help=SERVER_HELP),
    token: str | None = typer.Option(None, "--token", help=TOKEN_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help="File holding the API token."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Put a wave's production targets.json (signed online) into a sign-targets request."""
    from ..exporting import export_request, wave_payload

    export_request(
        "sign-targets",
        {"wave": wave},
        out=out,
        factory=factory,
        server=server,
        token=token,
        token_file=token_file,
        home=home,
        extra_payload=lambda client: wave_payload(client, wave),
    )


def import_response(
    response: Path = typer.Argument(..., help="Response bundle written by the appliance."),
    server: str | None = typer.Option(None, "--server", help=SERVER_HELP),
    token: str | None = typer.Option(None, "--token", help=TOKEN_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help="File holding the API token."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Verify a response against its pending request and upload the result (resumable)."""
    from ..importing import import_bundle

    import_bundle(response, server=server, token=token, token_file=token_file, home=home)
