"""Build, sign and write a request bundle from the factory's current roots."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from appliance.common.durable import write_durable
from appliance.common.render import console, root_table
from appliance.core.bundle import seal
from appliance.core.context import make_operation_request
from appliance.core.errors import RemoteError, UsageError
from appliance.core.keys import PublicKey, parse_public_key_file
from appliance.core.metadata import Envelope, Root
from appliance.core.operations import (
    AnyRequest,
    Histories,
    ResignTargetsRequest,
    RotateTargetsRequest,
)
from appliance.core.resign import ResignParameters
from appliance.core.rootpair import RootPair
from appliance.core.rotation import RotationParameters

from .api import FactoryClient
from .config import Connection, ConnectionOptions
from .station import Station

RequestBuilder = Callable[[FactoryClient], AnyRequest]


def fetch_history(client: FactoryClient, production: bool) -> tuple[Root, ...]:
    """Every root version from 1 to the current one, as the server serves them."""
    label = "production" if production else "CI"
    current = Root.from_bytes(client.get_root(production=production), what=f"current {label} root")
    chain = [
        Root.from_bytes(client.get_root(production=production, version=v), what=f"{label} root v{v}")
        for v in range(1, current.version)
    ]
    chain.append(current)
    return tuple(chain)


def export_request(build: RequestBuilder, *, out: Path, connection: ConnectionOptions, home: Path | None) -> Path:
    """Fetch both histories, add what ``build`` fetches for the operation, sign, write to ``out``."""
    if not out.is_dir():
        raise UsageError(f"output directory {out} does not exist", hint="Mount the stick and pass its directory.")
    station = Station(home)
    identity = station.identity()
    station.appliance()  # refuse to export before pairing
    conn: Connection = connection.resolve()
    client = conn.client()
    histories = Histories(fetch_history(client, production=False), fetch_history(client, production=True))
    # Check here too so a bad server state is caught before anyone walks to the appliance.
    pair = histories.verify()
    body = build(client)
    _warn_expiry(pair, body)
    request = make_operation_request(
        conn.factory,
        body,
        histories,
        sequence=station.next_sequence(),
        now=datetime.now(UTC),
        random_bytes=os.urandom,
    )
    data = seal(request.body(), identity)
    station.remember_request(request.request_id, data)
    path = out / f"request-{request.request_id}.json"
    write_durable(path, data, replace=False, mode=0o644, label="request")
    shown = console()
    shown.print(root_table(pair.ci, f"{conn.factory} CI root"))
    shown.print(f"{request.operation} request {request.request_id} (sequence {request.sequence}) written to {path}")
    return path


def _warn_expiry(pair: RootPair, body: AnyRequest) -> None:
    """Every export says so when a root (or production targets it carries) is inside the warning window."""
    from appliance.core.expiry import assess

    from .expirycheck import print_warnings, root_items, targets_items

    carried = body.production_targets if isinstance(body, RotateTargetsRequest | ResignTargetsRequest) else {}
    items = root_items(pair.ci, pair.prod) + targets_items(carried)
    print_warnings(assess(items, datetime.now(UTC)))


def online_key(client: FactoryClient) -> PublicKey:
    return parse_public_key_file(client.get_ci_targets_key(), what="online CI targets key")


def rotate_targets_request(client: FactoryClient, params: RotationParameters, tags: list[str]) -> AnyRequest:
    """rotate-targets also needs the online CI targets key and the production targets to re-sign."""
    from .targets_api import get_production_targets

    found = get_production_targets(client, *tags)
    envelopes = {tag: Envelope.from_dict(env, what=f"production targets {tag}") for tag, env in found.items()}
    return RotateTargetsRequest(params, online_key(client), envelopes)


def resign_targets_request(client: FactoryClient, params: ResignParameters, tags: list[str]) -> AnyRequest:
    """resign-targets needs the tags' current production targets (every tag when none is named)."""
    from .targets_api import get_production_targets

    found = get_production_targets(client, *tags)
    missing = [t for t in tags if t not in found]
    if not found or missing:
        raise RemoteError(
            f"no production targets for {', '.join(missing) or 'any tag'} in factory {client.factory}",
            hint="Production targets exist once a wave has completed; check the tag names.",
        )
    envelopes = {tag: Envelope.from_dict(env, what=f"production targets {tag}") for tag, env in found.items()}
    return ResignTargetsRequest(params, envelopes)
