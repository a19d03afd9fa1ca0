"""Build, sign and write a request bundle from the factory's current roots."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.common.durable import write_durable
from appliance.common.render import console, root_table
from appliance.core.bundle import make_request, seal
from appliance.core.errors import UsageError
from appliance.core.metadata import Root
from appliance.core.rootpair import RootPair, check_pair, verify_history

from .config import make_client, resolve_factory
from .station import Station


def fetch_history(client: Any, production: bool) -> list[Root]:
    """Every root version from 1 to the current one, as the server serves them."""
    label = "production" if production else "CI"
    current = Root.from_bytes(client.get_root(production=production), what=f"current {label} root")
    chain = [
        Root.from_bytes(client.get_root(production=production, version=v), what=f"{label} root v{v}")
        for v in range(1, current.version)
    ]
    chain.append(current)
    return chain


def export_request(
    operation: str,
    parameters: dict[str, Any],
    *,
    out: Path,
    factory: str | None,
    server: str | None,
    token: str | None,
    token_file: Path | None,
    home: Path | None,
    extra_payload: Callable[[Any], dict[str, Any]] | None = None,
    insecure_http: bool = False,
) -> Path:
    if not out.is_dir():
        raise UsageError(f"output directory {out} does not exist", hint="Mount the stick and pass its directory.")
    station = Station(home)
    identity = station.identity()
    station.appliance()  # refuse to export before pairing
    name = resolve_factory(factory)
    client = make_client(server, token, token_file, name, insecure_http=insecure_http)
    ci_chain = fetch_history(client, production=False)
    prod_chain = fetch_history(client, production=True)
    # Check here too so a bad server state is caught before anyone walks to the appliance.
    pair = RootPair(
        verify_history(ci_chain, None, "CI root history"), verify_history(prod_chain, None, "production root history")
    )
    check_pair(pair)
    payload: dict[str, Any] = {
        "ci_roots": [r.to_dict() for r in ci_chain],
        "prod_roots": [r.to_dict() for r in prod_chain],
    }
    if extra_payload is not None:
        payload.update(extra_payload(client))
    request = make_request(
        factory=name,
        operation=operation,
        parameters=parameters,
        payload=payload,
        sequence=station.next_sequence(),
        now=datetime.now(UTC),
        random_bytes=os.urandom,
    )
    data = seal(request.body(), identity)
    station.remember_request(request.request_id, data)
    path = out / f"request-{request.request_id}.json"
    write_durable(path, data, replace=False, mode=0o644, label="request")
    shown = console()
    shown.print(root_table(pair.ci, f"{name} CI root"))
    shown.print(f"{operation} request {request.request_id} (sequence {request.sequence}) written to {path}")
    return path


def _online_key(client: Any) -> dict[str, Any]:
    from appliance.core.keys import parse_public_key_file

    return parse_public_key_file(client.get_ci_targets_key(), what="online CI targets key").to_dict()


def targets_payload(client: Any, tags: list[str]) -> dict[str, Any]:
    """rotate-targets also needs the online CI targets key and the production targets to re-sign."""
    from .targets_api import get_production_targets

    return {"online_targets_key": _online_key(client), "production_targets": get_production_targets(client, *tags)}


def wave_payload(client: Any, wave: str) -> dict[str, Any]:
    from appliance.core.errors import RemoteError

    from .targets_api import get_wave

    data = get_wave(client, wave)
    if not isinstance(data.get("targets"), dict):
        raise RemoteError(f"wave {wave} has no targets", hint="Create the wave first.")
    picked = {k: data[k] for k in ("name", "version", "tag", "targets") if k in data}
    return {"online_targets_key": _online_key(client), "wave": picked}
