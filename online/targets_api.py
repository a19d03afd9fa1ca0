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


def get_ci_targets(client: FactoryClient, version: str) -> dict[str, Any]:
    """``GET /ota/factories/<f>/targets/?version=<v>`` → {name: target} (fioctl ``TargetsList``)."""
    response = client.request(
        "GET",
        _factory_path(client, "targets/"),
        query={"version": version},
        what=f"fetching the CI targets of version {version} of factory {client.factory}",
    )
    return loads_object(response.body, what=f"CI targets of version {version}")


def get_wave(client: FactoryClient, wave: str, *, show_targets: bool = True) -> dict[str, Any]:
    """``GET /ota/factories/<f>/waves/<w>/[?show-targets=1]`` (fioctl ``FactoryGetWave``)."""
    response = client.request(
        "GET",
        _wave_path(client, wave, ""),
        query={"show-targets": "1"} if show_targets else None,
        what=f"fetching wave {wave} of factory {client.factory}",
    )
    return loads_object(response.body, what=f"wave {wave}")


def list_waves(client: FactoryClient, *, limit: int, page: int, status: str = "", tag: str = "") -> dict[str, Any]:
    """``GET /ota/factories/<f>/waves/?limit=&page=[&status=][&tag=]`` (fioctl ``FactoryListWaves``)."""
    query = {"limit": str(limit), "page": str(page)}
    query |= {"status": status} if status else {}
    query |= {"tag": tag} if tag else {}
    response = client.request(
        "GET", _factory_path(client, "waves/"), query=query, what=f"listing waves of factory {client.factory}"
    )
    return loads_object(response.body, what="wave list")


def _wave_path(client: FactoryClient, wave: str, action: str) -> str:
    return _factory_path(client, f"waves/{quote(wave, safe='')}/{action}")


def create_wave(client: FactoryClient, wave: str, version: str, tag: str, targets: dict[str, Any]) -> None:
    """``POST /ota/factories/<f>/waves/`` with ``{name, version, tag, targets: {signed, signatures}}``.

    The body fioctl ``waves init`` posts (client.WaveCreate): production targets built
    and signed offline; the version is the string the officer gave.
    """
    client.request(
        "POST",
        _factory_path(client, "waves/"),
        body=dumps_compact({"name": wave, "version": version, "tag": tag, "targets": targets}),
        what=f"creating wave {wave} of factory {client.factory}",
        hints={409: "A wave of that name exists, or the tag's production targets moved on; check `waves list`."},
    )


def sign_wave(client: FactoryClient, wave: str, signatures: list[dict[str, Any]]) -> None:
    """``POST /ota/factories/<f>/waves/<w>/sign/`` with ``{"signatures": [...]}`` (fioctl ``waves sign``)."""
    client.request(
        "POST",
        _wave_path(client, wave, "sign/"),
        body=dumps_compact({"signatures": signatures}),
        what=f"signing wave {wave} of factory {client.factory}",
    )


def rollout_wave(client: FactoryClient, wave: str, options: dict[str, Any]) -> dict[str, Any]:
    """``POST /ota/factories/<f>/waves/<w>/rollout/`` with fioctl's ``WaveRolloutOptions``."""
    response = client.request(
        "POST",
        _wave_path(client, wave, "rollout/"),
        body=dumps_compact(options),
        what=f"rolling out wave {wave} of factory {client.factory}",
    )
    return loads_object(response.body, what=f"rollout of wave {wave}")


def complete_wave(client: FactoryClient, wave: str) -> None:
    """``POST /ota/factories/<f>/waves/<w>/complete/``, no body, as fioctl sends it."""
    client.request(
        "POST", _wave_path(client, wave, "complete/"), what=f"completing wave {wave} of factory {client.factory}"
    )


def cancel_wave(client: FactoryClient, wave: str) -> None:
    """``POST /ota/factories/<f>/waves/<w>/cancel/``, no body, as fioctl sends it."""
    client.request(
        "POST", _wave_path(client, wave, "cancel/"), what=f"canceling wave {wave} of factory {client.factory}"
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
