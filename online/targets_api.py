"""Foundries production-targets and wave endpoints (as fioctl calls them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from appliance.core.errors import HTTPStatusError
from appliance.core.metadata import Envelope
from appliance.core.strictjson import dumps_compact, loads_object

from .api import FactoryClient


def _factory_path(client: FactoryClient, rest: str) -> str:
    return f"/ota/factories/{quote(client.factory, safe='')}/{rest}"


def get_production_targets(client: FactoryClient, *tags: str) -> dict[str, Any]:
    """``GET /ota/factories/<f>/prod-targets/?tag=a,b`` → {tag: targets envelope}; none yet → {}."""
    try:
        response = client.request(
            "GET",
            _factory_path(client, "prod-targets/"),
            query={"tag": ",".join(tags)},
            what=f"fetching production targets of factory {client.factory}",
        )
    except HTTPStatusError as exc:
        if exc.status == 404:
            return {}
        raise
    return loads_object(response.body, what="production targets")


def get_wave(client: FactoryClient, wave: str) -> dict[str, Any]:
    """``GET /ota/factories/<f>/waves/<w>/?show-targets=1``."""
    response = client.request(
        "GET",
        _factory_path(client, f"waves/{quote(wave, safe='')}/"),
        query={"show-targets": "1"},
        what=f"fetching wave {wave} of factory {client.factory}",
    )
    return loads_object(response.body, what=f"wave {wave}")


def sign_wave(client: FactoryClient, wave: str, signatures: list[dict[str, Any]]) -> None:
    """``POST /ota/factories/<f>/waves/<w>/sign/`` with ``{"signatures": [...]}`` (fioctl ``waves sign``)."""
    client.request(
        "POST",
        _factory_path(client, f"waves/{quote(wave, safe='')}/sign/"),
        body=dumps_compact({"signatures": signatures}),
        what=f"signing wave {wave} of factory {client.factory}",
    )


def create_wave(client: FactoryClient, wave: str, version: int, tag: str) -> None:
    """Sandbox form of ``POST /ota/factories/<f>/waves/``: the server builds and online-signs the targets.

    (fioctl's ``waves init`` instead posts targets it signed offline; with the offline key
    behind an air gap the server proposes and the appliance adds the offline signature.)
    """
    client.request(
        "POST",
        _factory_path(client, "waves/"),
        body=dumps_compact({"name": wave, "version": str(version), "tag": tag}),
        what=f"creating wave {wave} of factory {client.factory}",
    )


def complete_wave(client: FactoryClient, wave: str) -> None:
    """``POST /ota/factories/<f>/waves/<w>/complete/``: publish the wave's targets to production."""
    client.request(
        "POST",
        _factory_path(client, f"waves/{quote(wave, safe='')}/complete/"),
        body=b"{}",
        what=f"completing wave {wave} of factory {client.factory}",
    )


def resign_production_targets(client: FactoryClient, tag: str, document: Envelope) -> None:
    """Sandbox ``POST /ota/factories/<f>/prod-targets/<tag>/resign/`` with ``{"signed", "signatures"}``.

    The offline-signed document differs from the tag's current production targets only in
    ``expires``; the server adds its online signature.  How the real server takes an offline
    expiry refresh is not known (bundle-spec.md §10.4), so this endpoint is the sandbox's.
    """
    client.request(
        "POST",
        _factory_path(client, f"prod-targets/{quote(tag, safe='')}/resign/"),
        body=dumps_compact({"signed": document.signed, "signatures": [s.to_dict() for s in document.signatures]}),
        what=f"re-signing production targets {tag} of factory {client.factory}",
    )
