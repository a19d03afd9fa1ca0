"""Resolve server, token and factory from options and environment into a client."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.core.bundle import check_factory_name
from appliance.core.errors import UsageError
from appliance.shell.durable import read_capped


def resolve_factory(factory: str | None) -> str:
    name = factory or os.environ.get("TUF_ONLINE_FACTORY")
    if not name:
        raise UsageError("no factory given", hint="Pass --factory or set TUF_ONLINE_FACTORY.")
    return check_factory_name(name)


def make_client(server: str | None, token: str | None, token_file: Path | None, factory: str):  # type: ignore[no-untyped-def]
    from .client import FactoryClient

    url = server or os.environ.get("TUF_ONLINE_SERVER")
    if not url:
        raise UsageError("no factory server given", hint="Pass --server or set TUF_ONLINE_SERVER.")
    secret = token
    if token_file is not None:
        secret = read_capped(token_file, 4096, what="token file").decode("utf-8", "replace").strip()
    secret = secret or os.environ.get("TUF_ONLINE_TOKEN")
    if not secret:
        raise UsageError("no API token given", hint="Pass --token-file, --token or set TUF_ONLINE_TOKEN.")
    return FactoryClient(url, secret, factory)
