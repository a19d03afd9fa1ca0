"""``tuf-online export <operation>`` and ``tuf-online import``: the two ends of a ceremony."""

from __future__ import annotations

from pathlib import Path

import typer

from appliance.common.identitycli import HOME_HELP

from ..config import factory_option, insecure_http_option, server_option, token_file_option, token_option

export_app = typer.Typer(
    help="Fetch what the appliance needs into a signed request bundle.", no_args_is_help=True, rich_markup_mode=None
)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.command("import")(import_response)


@export_app.command("rotate-root")
def export_rotate_root(
    factory: str | None = factory_option(),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the request to."),
    key_type: str = typer.Option("ED25519", "--key-type", help="Type of the new root key: ED25519 or RSA."),
    changelog: str = typer.Option("", "--changelog", "-m", help="Reason, recorded in x-changelog of the new root."),
    validity_days: int | None = typer.Option(None, "--validity-days", help="New root validity (default 1 year)."),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    insecure_http: bool = insecure_http_option(),
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
        insecure_http=insecure_http,
    )


@export_app.command("rotate-targets")
def export_rotate_targets(
    factory: str | None = factory_option(),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the request to."),
    key_type: str = typer.Option("ED25519", "--key-type", help="Type of the new offline targets key."),
    changelog: str = typer.Option("", "--changelog", "-m", help="Reason (default: 'Targets role key rotation')."),
    tags: str = typer.Option("", "--tags", help="Comma-separated production tags whose targets get re-signed."),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    insecure_http: bool = insecure_http_option(),
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
        insecure_http=insecure_http,
        extra_payload=lambda client: targets_payload(client, tag_list),
    )


@export_app.command("sign-targets")
def export_sign_targets(
    wave: str = typer.Option(..., "--wave", help="Wave whose production targets need the offline signature."),
    factory: str | None = factory_option(),
    out: Path = typer.Option(..., "--out", help="Directory (the USB stick) to write the request to."),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    insecure_http: bool = insecure_http_option(),
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
        insecure_http=insecure_http,
        extra_payload=lambda client: wave_payload(client, wave),
    )


def import_response(
    response: Path = typer.Argument(..., help="Response bundle written by the appliance."),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    insecure_http: bool = insecure_http_option(),
) -> None:
    """Verify a response against its pending request and upload the result (resumable)."""
    from ..importing import import_bundle

    import_bundle(response, server=server, token=token, token_file=token_file, home=home, insecure_http=insecure_http)
