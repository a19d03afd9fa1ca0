"""``tuf-online updates``: fioctl's ``keys tuf updates`` transaction, with the keys behind the air gap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from appliance.common.identitycli import HOME_HELP

from ..config import factory_option, server_option, token_file_option, token_option

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


def _client(server: str | None, token: str | None, token_file: Path | None, factory: str | None) -> Any:
    from ..config import make_client, resolve_factory

    return make_client(server, token, token_file, resolve_factory(factory))


def _print(lines: list[str]) -> None:
    from appliance.common.render import console

    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False)


@updates_app.command("init")
def init(
    changelog: str = typer.Option(..., "--changelog", "-m", help="Reason for the changes (x-changelog)."),
    first_time: bool = typer.Option(False, "--first-time", help="Also download the factory's first root key."),
    keys_out: Path | None = typer.Option(None, "--keys-out", "-k", help="With --first-time: new tarball to write."),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Start a transaction; the txid is kept in this station's home and shown once for the other officers."""
    from appliance.core.errors import UsageError

    from ..station import Station
    from ..txstation import TxidStore
    from ..updates_api import init_updates

    if first_time != (keys_out is not None):
        raise UsageError("--first-time and --keys-out go together (fioctl: --first-time needs --keys)")
    if keys_out is not None and keys_out.exists():
        raise UsageError(f"{keys_out} already exists", hint="fioctl refuses too: choose a new file.")
    station = Station(home)
    station.identity()
    client = _client(server, token, token_file, factory)
    answer = init_updates(client, changelog, first_time=first_time)
    txid = answer.get("txid")
    if not isinstance(txid, str):
        from appliance.core.errors import RemoteError

        raise RemoteError("the server's answer has no txid")
    TxidStore(station).save(client.factory, txid)
    if keys_out is not None:
        _write_first_root(keys_out, answer)
    typer.echo(f"root updates transaction started for factory {client.factory}")
    typer.echo(f"txid: {txid}")
    typer.echo("Share the txid only with the officers taking part (tuf-online updates join --txid TXID).")


def _write_first_root(path: Path, answer: dict[str, Any]) -> None:
    """fioctl's --first-time tarball: tufrepo/keys/first-root.pub and .sec from the init answer."""
    from appliance.common.durable import write_durable
    from appliance.core.errors import RemoteError
    from appliance.core.keysarchive import KeysArchive
    from appliance.core.strictjson import dumps_compact

    sec, pub = answer.get("first_root.sec"), answer.get("first_root.pub")
    if not isinstance(sec, dict) or not isinstance(pub, dict):
        raise RemoteError("the server's --first-time answer lacks first_root.sec or first_root.pub")
    archive = KeysArchive.from_files(
        {"tufrepo/keys/first-root.pub": dumps_compact(pub), "tufrepo/keys/first-root.sec": dumps_compact(sec)}
    )

    def check(raw: bytes) -> None:
        if len([e for e in KeysArchive.from_bytes(raw).entries if e.private]) != 1:
            raise RemoteError("re-read first root tarball does not hold the key")

    write_durable(path, archive.to_bytes(mtime=0), replace=False, verify=check, mode=0o600, label="keys")
    typer.echo(f"first root key written to {path} (take it to the appliance; keep it offline)")


@updates_app.command("join")
def join(
    txid: str = typer.Option(..., "--txid", help="The txid the officer who started the transaction shared."),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Take part in a transaction another officer started: keep its txid in this station's home."""
    from ..station import Station
    from ..txstation import TxidStore, staged_of
    from ..updates_api import get_updates

    client = _client(server, token, token_file, factory)
    staged_of(get_updates(client))
    TxidStore(Station(home)).save(client.factory, txid.strip())
    typer.echo(f"joined the root updates transaction of factory {client.factory}")


@updates_app.command("review")
def review(
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
) -> None:
    """Show the staged roots against the current ones, who signed, and what is still needed."""
    from datetime import UTC, datetime

    from ..txstation import review as review_lines
    from ..updates_api import get_updates

    _print(review_lines(get_updates(_client(server, token, token_file, factory)), datetime.now(UTC)))


@updates_app.command("apply")
def apply(
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Apply the staged roots, only if the old and the new root thresholds are both met."""
    from datetime import UTC, datetime

    from ..station import Station
    from ..txstation import TxidStore, apply_checked

    client = _client(server, token, token_file, factory)
    store = TxidStore(Station(home))
    staged = apply_checked(client, store.get(client.factory), datetime.now(UTC))
    store.forget(client.factory)
    typer.echo(f"applied: factory {client.factory} CI and production roots are now version {staged.ci.version}")


@updates_app.command("cancel")
def cancel(
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Cancel the transaction in progress (fioctl sends no txid for this)."""
    from ..station import Station
    from ..txstation import TxidStore
    from ..updates_api import cancel_updates

    client = _client(server, token, token_file, factory)
    cancel_updates(client)
    TxidStore(Station(home)).forget(client.factory)
    typer.echo(f"root updates of factory {client.factory} canceled")


@updates_app.command("rotate-online-key")
def rotate_online_key(
    roles: str = typer.Option("targets,snapshot,timestamp", "--role", "-r", help="Comma-separated online roles."),
    key_type: str = typer.Option("ED25519", "--key-type", help="ED25519 or RSA."),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Have the server stage new online keys (the staged roots then need signing again)."""
    from appliance.core.errors import UsageError

    from ..station import Station
    from ..txstation import TxidStore
    from ..updates_api import gen_online_keys

    wanted = [r.strip().lower() for r in roles.split(",") if r.strip()]
    if not wanted or set(wanted) - {"targets", "snapshot", "timestamp"}:
        raise UsageError("--role takes targets, snapshot and/or timestamp")
    client = _client(server, token, token_file, factory)
    gen_online_keys(client, TxidStore(Station(home)).get(client.factory), wanted, key_type.upper())
    typer.echo(f"new online keys staged for {', '.join(wanted)}; the staged roots need signing again")


# --- requests for the appliance ---------------------------------------------------------------


def _export(
    operation: str,
    parameters: dict[str, Any],
    *,
    out: Path,
    factory: str | None,
    server: str | None,
    token: str | None,
    token_file: Path | None,
    home: Path | None,
    owner: bool = False,
    tags: list[str] | None = None,
    waves: list[str] | None = None,
) -> None:
    from appliance.core.txplan import UpdateParameters

    from ..config import resolve_factory
    from ..exporting import export_request
    from ..station import Station
    from ..txstation import TxidStore, staged_of, staged_payload
    from ..updates_api import current_user, get_updates

    UpdateParameters.from_dict(operation, parameters)
    TxidStore(Station(home)).get(resolve_factory(factory))  # only officers in the transaction export

    def payload(client: Any) -> dict[str, Any]:
        from ..targets_api import get_production_targets, get_wave

        extra: dict[str, Any] = {"staged": staged_payload(staged_of(get_updates(client)))}
        if owner:
            me = current_user(client)
            extra["owner"] = {"polis-id": str(me.get("polis-id", "")), "name": str(me.get("name", ""))}
        if tags is not None:
            extra["production_targets"] = get_production_targets(client, *tags)
        if waves:
            extra["waves"] = {w: get_wave(client, w)["targets"] for w in waves}
        return extra

    export_request(
        operation,
        parameters,
        out=out,
        factory=factory,
        server=server,
        token=token,
        token_file=token_file,
        home=home,
        extra_payload=payload,
    )


@export_app.command("rotate-key")
def export_rotate_key(
    role: str = typer.Option("root", "--role", "-r", help=ROLE_HELP),
    key_type: str = typer.Option("ED25519", "--key-type", "-y", help="Type of the new key."),
    sign: bool = typer.Option(False, "--sign", "-s", help="Also sign the changed roots with the tarball's keys."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Rotate the offline root or targets key held in the officer's tarball."""
    params = {"role": role, "key_type": key_type, "sign": sign}
    conn = {"factory": factory, "server": server, "token": token, "token_file": token_file, "home": home}
    _export("updates-rotate-key", params, out=out, owner=True, tags=[] if role == "targets" else None, **conn)


@export_app.command("add-key")
def export_add_key(
    role: str = typer.Option("root", "--role", "-r", help=ROLE_HELP),
    key_type: str = typer.Option("ED25519", "--key-type", "-y", help="Type of the new key."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Add a new offline root or targets key; its holder is the user of this station's token."""
    conn = {"factory": factory, "server": server, "token": token, "token_file": token_file, "home": home}
    _export("updates-add-key", {"role": role, "key_type": key_type}, out=out, owner=True, **conn)


@export_app.command("delete-key")
def export_delete_key(
    key_id: str = typer.Option(..., "--key-id", help="Key id to remove (whole, or at least 8 leading digits)."),
    role: str = typer.Option("root", "--role", "-r", help=ROLE_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Remove an offline root or targets key from its role."""
    conn = {"factory": factory, "server": server, "token": token, "token_file": token_file, "home": home}
    _export("updates-delete-key", {"role": role, "keyid": key_id}, out=out, **conn)


@export_app.command("set-threshold")
def export_set_threshold(
    threshold: int = typer.Argument(..., help="New threshold."),
    role: str = typer.Option("root", "--role", "-r", help="root, or targets (production targets only)."),
    sign: bool = typer.Option(False, "--sign", "-s", help="Also sign the changed roots with the tarball's keys."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Set the root threshold, or the production targets threshold."""
    conn = {"factory": factory, "server": server, "token": token, "token_file": token_file, "home": home}
    _export("updates-set-threshold", {"role": role, "threshold": threshold, "sign": sign}, out=out, **conn)


@export_app.command("sign")
def export_sign(
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Ask the appliance to sign the staged CI and production roots."""
    conn = {"factory": factory, "server": server, "token": token, "token_file": token_file, "home": home}
    _export("updates-sign", {}, out=out, **conn)


@export_app.command("sign-prod-targets")
def export_sign_prod_targets(
    tags: str = typer.Option("", "--tags", help="Comma-separated production tags (default: all)."),
    waves: str = typer.Option("", "--waves", help="Comma-separated active waves to sign as well."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    factory: str | None = factory_option(),
    server: str | None = server_option(),
    token: str | None = token_option(),
    token_file: Path | None = token_file_option(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Ask the appliance to sign production (and wave) targets with the staged offline targets key."""
    conn = {"factory": factory, "server": server, "token": token, "token_file": token_file, "home": home}
    tag_list = [t for t in tags.split(",") if t]
    wave_list = [w for w in waves.split(",") if w]
    params = {"tags": tag_list, "waves": wave_list}
    wanted_tags = tag_list if tag_list or not wave_list else None  # fioctl: tags unless only waves are named
    _export("updates-sign-prod-targets", params, out=out, tags=wanted_tags, waves=wave_list, **conn)
