"""``tuf-online waves …``: fioctl's wave commands, with the offline signing done on the appliance.

``init`` and ``sign`` export requests (the signatures come back through ``import``);
``rollout``, ``complete``, ``cancel``, ``show`` and ``list`` call the server directly,
with the same endpoints and bodies as fioctl (subcommands/waves/*.go).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from appliance.common.identitycli import HOME_HELP
from appliance.core.safetext import MESSAGE_CAP, shown

from ..config import ConnectionOptions
from .options import connection_options

if TYPE_CHECKING:
    from ..api import FactoryClient

waves_app = typer.Typer(
    help="Production waves (fioctl waves), signed on the appliance.", no_args_is_help=True, rich_markup_mode=None
)
OUT_HELP = "Directory (the USB stick) to write the request to."
WAVE_HELP = "Wave name."


def register(app: typer.Typer) -> None:
    app.add_typer(waves_app, name="waves")


def _client(connection: ConnectionOptions) -> FactoryClient:
    return connection.resolve().client()


@waves_app.command("init")
@connection_options()
def init(
    wave: str = typer.Option(..., "--wave", help=WAVE_HELP),
    version: str = typer.Option(..., "--version", help="CI Target version the wave rolls out."),
    tag: str = typer.Option(..., "--tag", help="Device tag of the production targets."),
    prune: str = typer.Option("", "--prune", help="Comma-separated old versions to drop from production targets."),
    expires_days: int | None = typer.Option(None, "--expires-days", help="Targets validity in days (default 365)."),
    expires_at: str | None = typer.Option(None, "--expires-at", help="Expiry as RFC 3339; overrides --expires-days."),
    source_tag: str | None = typer.Option(None, "--source-tag", help="Only CI targets carrying this tag."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    connection: ConnectionOptions = ConnectionOptions(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Build the wave's production targets as fioctl waves init does and export them, unsigned."""
    from datetime import UTC, datetime

    from appliance.core.waves import WaveParameters, wave_expiry

    from ..exporting import export_request
    from ..wavestation import init_wave_request

    expires = wave_expiry(datetime.now(UTC), days=expires_days, at=expires_at)
    params = WaveParameters(wave, version, tag, expires, tuple(v for v in prune.split(",") if v), source_tag or None)
    export_request(lambda client: init_wave_request(client, params), out=out, connection=connection, home=home)


@waves_app.command("sign")
@connection_options()
def sign(
    wave: str = typer.Option(..., "--wave", help=WAVE_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    connection: ConnectionOptions = ConnectionOptions(),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Export an existing wave for one more offline targets signature (fioctl waves sign)."""
    from ..exporting import export_request
    from ..wavestation import sign_targets_request

    export_request(lambda client: sign_targets_request(client, wave), out=out, connection=connection, home=home)


def parse_limit(limit: str) -> tuple[int, int]:
    """fioctl ``--limit``: ``N`` devices or ``N%`` of them → (limit, percentage)."""
    from appliance.core.errors import UsageError

    text = limit.strip()
    number = text[:-1] if text.endswith("%") else text
    if not number.isdigit() or int(number) < 1 or (text.endswith("%") and int(number) > 100):
        raise UsageError(f"--limit {limit!r} must be a positive number or a percentage 1%..100%")
    return (0, int(number)) if text.endswith("%") else (int(number), 0)


def parse_uuids(value: str) -> list[str]:
    """fioctl ``--uuids``: ``a,b`` or ``@file``; separators , ; | and whitespace."""
    import re

    from appliance.common.durable import read_capped
    from appliance.core.errors import UsageError

    text = value
    if value.startswith("@"):
        text = read_capped(Path(value[1:]), 1024 * 1024, what="uuids file").decode("utf-8", "replace")
    uuids = [u for u in re.split(r"[,;|\s]+", text) if u]
    if len(uuids) > 10_000 or any(len(u) > 60 for u in uuids):
        raise UsageError("--uuids takes at most 10000 device uuids of at most 60 characters each")
    return uuids


@waves_app.command("rollout")
@connection_options()
def rollout(
    wave: str = typer.Option(..., "--wave", help=WAVE_HELP),
    group: str = typer.Option("", "--group", help="Device group to roll out to."),
    limit: str = typer.Option("", "--limit", help="Number of devices (N) or a percentage (N%)."),
    uuids: str = typer.Option("", "--uuids", help="Device uuids, comma-separated, or @file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show which devices would be updated."),
    print_uuids: bool = typer.Option(False, "--print-uuids", help="Print the uuids of the devices."),
    print_names: bool = typer.Option(False, "--print-names", help="Print the names of the devices."),
    connection: ConnectionOptions = ConnectionOptions(),
) -> None:
    """Roll out a wave to a subset of production devices (fioctl waves rollout)."""
    from appliance.common.plaintext import plain_console
    from appliance.core.errors import UsageError

    from ..targets_api import rollout_wave

    count, percentage = parse_limit(limit) if limit else (0, 0)
    devices = parse_uuids(uuids) if uuids else []
    if not (group or count or percentage or devices):
        raise UsageError("One of the following flags must be set: --group, --limit, --uuids")
    options: dict[str, Any] = {"dry-run": dry_run, "return-uuids": print_uuids, "return-names": print_names}
    options |= {"group": group} if group else {}
    options |= {"limit": count} if count else {}
    options |= {"percentage": percentage} if percentage else {}
    options |= {"uuids": devices} if devices else {}
    result = rollout_wave(_client(connection), wave, options)
    out = plain_console()
    where = f'in group "{group}"' if group else "in the factory"
    verb = "would be" if dry_run else "is being"
    out.print(shown(f"wave {wave} {verb} rolled out to {result.get('device-num', 0)} devices {where}", MESSAGE_CAP))
    for key in ("device-uuids", "device-names"):
        for item in result.get(key) or []:
            out.print(shown(f"  {item}"))


@waves_app.command("complete")
@connection_options()
def complete(
    wave: str = typer.Option(..., "--wave", help=WAVE_HELP),
    connection: ConnectionOptions = ConnectionOptions(),
) -> None:
    """Make the wave's targets the tag's production targets for every device (fioctl waves complete)."""
    from appliance.common.plaintext import plain_console

    from ..targets_api import complete_wave

    complete_wave(_client(connection), wave)
    plain_console().print(f"wave {wave} complete")


@waves_app.command("cancel")
@connection_options()
def cancel(
    wave: str = typer.Option(..., "--wave", help=WAVE_HELP),
    connection: ConnectionOptions = ConnectionOptions(),
) -> None:
    """Stop offering the wave to production devices (fioctl waves cancel)."""
    from appliance.common.plaintext import plain_console

    from ..targets_api import cancel_wave

    cancel_wave(_client(connection), wave)
    plain_console().print(f"wave {wave} canceled")


@waves_app.command("show")
@connection_options()
def show(
    wave: str = typer.Option(..., "--wave", help=WAVE_HELP),
    show_targets: bool = typer.Option(False, "--show-targets", help="Also print the wave's targets."),
    connection: ConnectionOptions = ConnectionOptions(),
) -> None:
    """Show one wave (fioctl waves show)."""
    from appliance.common.render import console
    from appliance.core.strictjson import dumps_pretty

    from ..targets_api import get_wave

    data = get_wave(_client(connection), wave, show_targets=show_targets)
    out = console()
    meta = data.get("change-meta") if isinstance(data.get("change-meta"), dict) else {}
    assert isinstance(meta, dict)
    for label, value in (
        ("Name", data.get("name")),
        ("Version", data.get("version")),
        ("Tag", data.get("tag")),
        ("Status", data.get("status")),
        ("Created At", meta.get("created-at")),
        ("Created By", meta.get("created-by")),
        ("Finished At", meta.get("updated-at")),
        ("Finished By", meta.get("updated-by")),
    ):
        if value:
            out.print(shown(f"{label}: {value}", MESSAGE_CAP))
    history = data.get("rollout-history") or []
    if history:
        out.print("Rollout history:")
    for entry in history:
        if isinstance(entry, dict):
            who = entry.get("group-name") or ("the factory" if entry.get("is-factory-wide") else "<deleted group>")
            line = f"  {entry.get('rollout-at')}: rollout of {entry.get('num-devices')} devices in {who}"
            out.print(shown(line + (f" by {entry['rollout-by']}" if entry.get("rollout-by") else ""), MESSAGE_CAP))
    if show_targets:
        out.print("Targets:")
        out.print_json(dumps_pretty(data.get("targets")).decode())  # the console shows every string literally


@waves_app.command("list")
@connection_options()
def list_(
    limit: int = typer.Option(20, "--limit", min=1, help="Waves per page."),
    page: int = typer.Option(1, "--page", min=1, help="Page to show."),
    status: str = typer.Option("", "--status", help="Only waves with this status: active, complete, canceled."),
    tag: str = typer.Option("", "--tag", help="Only waves with this tag."),
    connection: ConnectionOptions = ConnectionOptions(),
) -> None:
    """List waves (fioctl waves list)."""
    from appliance.common.plaintext import Column, PlainTable, plain_console

    from ..targets_api import list_waves

    data = list_waves(_client(connection), limit=limit, page=page, status=status, tag=tag)
    columns = ("name", "version", "tag", "status", "created at", "finished at")
    table = PlainTable(f"waves (page {page}, {data.get('total', 0)} in all)", tuple(Column(c) for c in columns))
    for wave in data.get("waves") or []:
        meta = wave.get("change-meta") or {}
        values = (wave.get("name"), wave.get("version"), wave.get("tag"), wave.get("status"))
        dates = (meta.get("created-at"), meta.get("updated-at"))
        table.add_row(*(shown(str(v or "")) for v in (*values, *dates)))
    out = plain_console()
    out.print(table)
    if data.get("next"):
        out.print(f"more: --page {page + 1}")
