"""Sandbox test helpers: raw HTTP calls (independent of online.client) and root successors."""

from __future__ import annotations

import http.client
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from appliance.core.metadata import Root, sign_root
from appliance.core.privatekeys import PrivateKey
from appliance.core.timefmt import add_years, format_expires


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    split = urlsplit(base_url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    try:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["OSF-TOKEN"] = token
        conn.request(method, path, body=body, headers=all_headers)
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def repo(factory: str, name: str) -> str:
    return f"/ota/repo/{factory}/api/v1/user_repo/{name}"


def next_root(
    prev: Root,
    *,
    signers: Sequence[PrivateKey],
    root_keys: Sequence[PrivateKey] | None = None,
    extra_keys: Sequence[PrivateKey] = (),
    version: int | None = None,
    expires: str | None = None,
    targets: tuple[Sequence[str], int] | None = None,
) -> Root:
    """The successor of ``prev`` (version + 1, expiry a year ahead), signed by ``signers``.

    ``root_keys`` replaces the root role (threshold 1); ``targets`` = (keyids, threshold)
    replaces the targets role; ``extra_keys`` are added to ``keys`` (for ``targets``);
    the old root keys stay in ``keys`` as fioctl keeps them.
    """
    meta = prev.meta
    keys = dict(meta.keys)
    for key in [*(root_keys or ()), *extra_keys]:
        keys[key.keyid] = key.public_key
    meta = replace(
        meta,
        version=prev.version + 1 if version is None else version,
        expires=expires or format_expires(add_years(datetime.now(UTC), 1)),
        keys=keys,
    )
    if root_keys is not None:
        meta = meta.with_role("root", [k.keyid for k in root_keys], 1)
    if targets is not None:
        meta = meta.with_role("targets", targets[0], targets[1])
    return sign_root(meta, list(signers))


def with_targets_threshold(root: Root, threshold: int, signers: Sequence[PrivateKey]) -> Root:
    """The same root with another targets threshold (as the production twin), re-signed."""
    meta = root.meta.with_role("targets", root.meta.roles["targets"].keyids, threshold)
    return sign_root(meta, list(signers))
