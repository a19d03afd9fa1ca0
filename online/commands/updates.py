"""``tuf-online updates``: fioctl's ``keys tuf updates`` transaction, with the keys behind the air gap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from appliance.common.identitycli import HOME_HELP

from ..config import ConnectionOptions
from .options import connection_options

updates_app = typer.Typer(
    help="TUF root updates transactions: start, join, review, apply, cancel; export staged changes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
export_app = typer.Typer(
    help="Put the staged roots and one change into a request for the appliance.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OUT_HELP = "Directory (the USB stick) to write the request to."
ROLE_HELP = "Offline role: root or targets."


def register(app: typer.Typer) -> None:
    updates_app.add_typer(export_app, name="export")
    app.add_typer(updates_app, name="updates")


def _print(lines: list[str]) -> None:
    from appliance.common.plaintext import plain_console

    out = plain_console()
    for line in lines:
        out.print(line)


@updates_app.command("init")
@connection_options()
def init(
    connection: ConnectionOptions,
    changelog: str = typer.Option(..., "--changelog", "-m", help="Reason for the changes (x-changelog)."),
    first_time: bool = typer.Option(False, "--first-time", help="Also download the factory's first root key."),
    keys_out: Path | None = typer.Option(None, "--keys-out", "-k", help="With --first-time: new tarball to write."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Start a transaction; the txid is kept in this station's home and shown once for the other officers."""
    from appliance.core.errors import RemoteError, UsageError

    from ..station import Station
    from ..txstation import TxidStore, write_first_root
    from ..updates_api import init_updates

    if first_time != (keys_out is not None):
        raise UsageError("--first-time and --keys-out go together (fioctl: --first-time needs --keys)")
    if keys_out is not None and keys_out.exists():
        raise UsageError(f"{keys_out} already exists", hint="fioctl refuses too: choose a new file.")
    station = Station(home)
    station.identity()
    client = connection.resolve().client()
    answer = init_updates(client, changelog, first_time=first_time)
    txid = answer.get("txid")
    if not isinstance(txid, str):
        raise RemoteError("the server's answer has no txid")
    TxidStore(station).save(client.factory, txid)
    if keys_out is not None:
        write_first_root(keys_out, answer)
        typer.echo(f"first root key written to {keys_out} (take it to the appliance; keep it offline)")
    typer.echo(f"root updates transaction started for factory {client.factory}")
    typer.echo(f"txid: {txid}")
    typer.echo("Share the txid only with the officers taking part (tuf-online updates join --txid TXID).")


@updates_app.command("join")
@connection_options()
def join(
    connection: ConnectionOptions,
    txid: str = typer.Option(..., "--txid", help="The txid the officer who started the transaction shared."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Take part in a transaction another officer started: keep its txid in this station's home."""
    from ..station import Station
    from ..txstation import TxidStore, staged_of
    from ..updates_api import get_updates

    client = connection.resolve().client()
    staged_of(get_updates(client))
    TxidStore(Station(home)).save(client.factory, txid.strip())
    typer.echo(f"joined the root updates transaction of factory {client.factory}")


@updates_app.command("review")
@connection_options()
def review(connection: ConnectionOptions) -> None:
    """Show the staged roots against the current ones, who signed, and what is still needed."""
    from datetime import UTC, datetime

    from ..txstation import review as review_lines
    from ..updates_api import get_updates

    _print(review_lines(get_updates(connection.resolve().client()), datetime.now(UTC)))


@updates_app.command("apply")
@connection_options()
def apply(connection: ConnectionOptions, home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
    """Apply the staged roots, only if the old and the new root thresholds are both met."""
    from datetime import UTC, datetime

    from ..station import Station
    from ..txstation import TxidStore, apply_checked

    client = connection.resolve().client()
    store = TxidStore(Station(home))
    staged = apply_checked(client, store.get(client.factory), datetime.now(UTC))
    store.forget(client.factory)
    typer.echo(f"applied: factory {client.factory} CI and production roots are now version {staged.ci.version}")


@updates_app.command("cancel")
@connection_options()
def cancel(connection: ConnectionOptions, home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
    """Cancel the transaction in progress (fioctl sends no txid for this)."""
    from ..station import Station
    from ..txstation import TxidStore
    from ..updates_api import cancel_updates

    client = connection.resolve().client()
    cancel_updates(client)
    TxidStore(Station(home)).forget(client.factory)
    typer.echo(f"root updates of factory {client.factory} canceled")


@updates_app.command("rotate-online-key")
@connection_options()
def rotate_online_key(
    connection: ConnectionOptions,
    roles: str = typer.Option("targets,snapshot,timestamp", "--role", "-r", help="Comma-separated online roles."),
    key_type: str = typer.Option("ED25519", "--key-type", help="ED25519 or RSA."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Have the server stage new online keys (the staged roots then need signing again)."""
    from appliance.core.errors import UsageError

    from ..station import Station
    from ..txstation import TxidStore
    from ..updates_api import gen_online_keys, get_updates

    wanted = [r.strip().lower() for r in roles.split(",") if r.strip()]
    if not wanted or set(wanted) - {"targets", "snapshot", "timestamp"}:
        raise UsageError("--role takes targets, snapshot and/or timestamp")
    if key_type.upper() not in ("ED25519", "RSA"):
        raise UsageError("--key-type takes ED25519 or RSA")
    client = connection.resolve().client()
    gen_online_keys(client, TxidStore(Station(home)).get(client.factory), wanted, key_type.upper())
    online = get_updates(client).updated.online_keys
    for role in wanted:
        typer.echo(f"new online {role} key: {online.get(role, '?')}")
    typer.echo("the staged roots need signing again (tuf-online updates export sign)")


# --- requests for the appliance ---------------------------------------------------------------


def _export(
    operation: str,
    parameters: dict[str, Any],
    *,
    out: Path,
    connection: ConnectionOptions,
    home: Path | None,
    owner: bool = False,
    tags: list[str] | None = None,
    waves: list[str] | None = None,
) -> None:
    from ..exporting import export_request
    from ..station import Station
    from ..txstation import TxidStore, staged_request

    request = staged_request(operation, parameters, owner=owner, tags=tags, waves=waves)  # parameters checked here
    TxidStore(Station(home)).get(connection.resolve().factory)  # only officers in the transaction export
    export_request(request, out=out, connection=connection, home=home)


@export_app.command("rotate-key")
@connection_options()
def export_rotate_key(
    connection: ConnectionOptions,
    role: str = typer.Option("root", "--role", "-r", help=ROLE_HELP),
    key_type: str = typer.Option("ED25519", "--key-type", "-y", help="Type of the new key."),
    sign: bool = typer.Option(False, "--sign", "-s", help="Also sign the changed roots with the tarball's keys."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Rotate the offline root or targets key held in the officer's tarball."""
    params = {"role": role, "key_type": key_type, "sign": sign}
    # a targets rotation re-signs every production tag the old key signed
    tags: list[str] | None = [] if role == "targets" else None
    _export("updates-rotate-key", params, out=out, connection=connection, home=home, owner=True, tags=tags)


@export_app.command("add-key")
@connection_options()
def export_add_key(
    connection: ConnectionOptions,
    role: str = typer.Option("root", "--role", "-r", help=ROLE_HELP),
    key_type: str = typer.Option("ED25519", "--key-type", "-y", help="Type of the new key."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Add a new offline root or targets key; its holder is the user of this station's token."""
    params = {"role": role, "key_type": key_type}
    _export("updates-add-key", params, out=out, connection=connection, home=home, owner=True)


@export_app.command("delete-key")
@connection_options()
def export_delete_key(
    connection: ConnectionOptions,
    key_id: str = typer.Option(..., "--key-id", help="Key id to remove (whole, or at least 8 leading digits)."),
    role: str = typer.Option("root", "--role", "-r", help=ROLE_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Remove an offline root or targets key from its role."""
    _export("updates-delete-key", {"role": role, "keyid": key_id}, out=out, connection=connection, home=home)


@export_app.command("set-threshold")
@connection_options()
def export_set_threshold(
    connection: ConnectionOptions,
    threshold: int = typer.Argument(..., help="New threshold."),
    role: str = typer.Option("root", "--role", "-r", help="root, or targets (production targets only)."),
    sign: bool = typer.Option(False, "--sign", "-s", help="Also sign the changed roots with the tarball's keys."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Set the root threshold, or the production targets threshold."""
    params = {"role": role, "threshold": threshold, "sign": sign}
    _export("updates-set-threshold", params, out=out, connection=connection, home=home)


@export_app.command("sign")
@connection_options()
def export_sign(
    connection: ConnectionOptions,
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Ask the appliance to sign the staged CI and production roots."""
    _export("updates-sign", {}, out=out, connection=connection, home=home)


@export_app.command("sign-prod-targets")
@connection_options()
def export_sign_prod_targets(
    connection: ConnectionOptions,
    tags: str = typer.Option("", "--tags", help="Comma-separated production tags (default: all)."),
    waves: str = typer.Option("", "--waves", help="Comma-separated active waves to sign as well."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Ask the appliance to sign production (and wave) targets with the staged offline targets key."""
    tag_list = [t for t in tags.split(",") if t]
    wave_list = [w for w in waves.split(",") if w]
    params = {"tags": tag_list, "waves": wave_list}
    wanted_tags = tag_list if tag_list or not wave_list else None  # fioctl: tags unless only waves are named
    _export(
        "updates-sign-prod-targets",
        params,
        out=out,
        connection=connection,
        home=home,
        tags=wanted_tags,
        waves=wave_list,
    )
