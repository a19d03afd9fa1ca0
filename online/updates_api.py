"""Foundries root updates transaction endpoints, as fioctl calls them (bundle-spec.md §11.1).

Base ``/ota/repo/<f>/api/v1/user_repo/root/updates``: ``POST`` starts a transaction,
``GET`` reads it, ``PUT`` stages roots, ``POST …/apply`` with ``{"txid"}``, ``POST …/cancel``
with no body, ``POST …/gen-online-keys``.  The txid travels only in JSON bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Root
from appliance.core.strictjson import dumps_compact, loads_object
from appliance.core.txwire import UpdatesView, parse_updates, put_body

from .api import FactoryClient

ONE_TRANSACTION_HINT = "Only one TUF root updates transaction can be active at a time; review or cancel it first."
TXID_HINT = "Use the txid the officer who started the transaction shared: tuf-online updates join --txid TXID."
APPLY_HINTS: dict[int | str, str] = {
    404: "There are no TUF root updates in progress.",
    403: TXID_HINT,
    "txid-mismatch": TXID_HINT,
    422: "No changes were made: the staged roots lack signatures or are invalid; sign and apply again, or cancel.",
}


def _path(client: FactoryClient, rest: str = "") -> str:
    return f"/ota/repo/{quote(client.factory, safe='')}/api/v1/user_repo/root/updates{rest}"


def init_updates(client: FactoryClient, message: str, *, first_time: bool, shortcut: bool = False) -> dict[str, Any]:
    """Start a transaction: ``{"txid", "first_root.sec"?, "first_root.pub"?}``."""
    body = dumps_compact({"message": message, "first-time": first_time, "shortcut": shortcut})
    response = client.request(
        "POST",
        _path(client),
        body=body,
        what=f"starting TUF root updates for factory {client.factory}",
        hints={409: ONE_TRANSACTION_HINT, "transaction-active": ONE_TRANSACTION_HINT},
    )
    return loads_object(response.body, what="root updates init answer")


def get_updates(client: FactoryClient) -> UpdatesView:
    response = client.request("GET", _path(client), what=f"reading TUF root updates of factory {client.factory}")
    return parse_updates(response.body)


def put_updates(
    client: FactoryClient,
    txid: str,
    ci: Root,
    prod: Root,
    targets_signatures: Mapping[str, Sequence[SignatureEntry]] | None = None,
    waves_signatures: Mapping[str, Sequence[SignatureEntry]] | None = None,
) -> None:
    client.request(
        "PUT",
        _path(client),
        body=dumps_compact(put_body(txid, ci, prod, targets_signatures, waves_signatures)),
        what=f"staging TUF root updates for factory {client.factory}",
        hints={403: TXID_HINT, "txid-mismatch": TXID_HINT},
    )


def apply_updates(client: FactoryClient, txid: str) -> None:
    client.request(
        "POST",
        _path(client, "/apply"),
        body=dumps_compact({"txid": txid}),
        what=f"applying TUF root updates of factory {client.factory}",
        hints=APPLY_HINTS,
    )


def cancel_updates(client: FactoryClient) -> None:
    client.request("POST", _path(client, "/cancel"), what=f"canceling TUF root updates of factory {client.factory}")


def gen_online_keys(client: FactoryClient, txid: str, roles: Sequence[str], key_type: str) -> None:
    body: dict[str, Any] = {"txid": txid, "key-type": key_type}
    body.update({role: True for role in roles})
    client.request(
        "POST",
        _path(client, "/gen-online-keys"),
        body=dumps_compact(body),
        what=f"generating online keys for factory {client.factory}",
        hints={403: TXID_HINT, "txid-mismatch": TXID_HINT},
    )


def current_user(client: FactoryClient) -> dict[str, Any]:
    """``GET /ota/factories/<f>/users/self/``: ``{"polis-id", "name", ...}``."""
    response = client.request(
        "GET",
        f"/ota/factories/{quote(client.factory, safe='')}/users/self/",
        what=f"reading the current user of factory {client.factory}",
    )
    return loads_object(response.body, what="current user")
