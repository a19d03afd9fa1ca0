"""A sandbox factory seeded from a real factory's public data, and the download-roots layout.

``fioctl keys tuf download-roots OUT.tgz [--prod]`` (fioctl 9b0a6e7,
subcommands/keys/tuf_download_roots.go) fetches versions 1, 2, … until the first 404 and
writes each as tar member ``<N>.root.json`` (mode 0644) in a gzip tar, each the canonical
JSON of the root.  The same naming is what aktualizr-lite imports from
``/usr/lib/sota/tuf/{ci,prod}/``.  We read such tarballs with the keys tarball's hostile-
input rules and write them the same way (keeping every field of the root, where fioctl's Go
structs would drop unknown ones).

Pure: bytes in, FactoryData or bytes out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from appliance.core.errors import UsageError, VerificationError
from appliance.core.keysarchive import plain_tarball, read_members
from appliance.core.metadata import Root
from appliance.core.privatekeys import PrivateKey, RandomBytes, parse_secret_key_file
from appliance.core.rootpair import RootPair, check_pair, verify_history
from appliance.core.strictjson import canonical, loads_object
from appliance.core.timefmt import format_expires

from .factory import ONLINE_ROLES, FactoryData, check_factory_name, ci_targets, new_token, owner_polis_id

_MEMBER = re.compile(r"([1-9][0-9]{0,8})\.root\.json")


def read_roots_tarball(data: bytes, what: str) -> list[Root]:
    """The roots of a download-roots tarball, in version order, checked to run 1, 2, … N."""
    members = read_members(data)
    found: dict[int, Root] = {}
    for name, content in members.items():
        match = _MEMBER.fullmatch(name)
        if match is None:
            raise UsageError(f"{what}: unexpected member {name!r}; expected N.root.json (fioctl download-roots)")
        root = Root.from_bytes(content, what=f"{what}:{name}")
        if root.version != int(match.group(1)):
            raise VerificationError(f"{what}: {name} holds root version {root.version}")
        found[root.version] = root
    if not found:
        raise UsageError(f"{what}: no N.root.json members")
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise VerificationError(f"{what}: versions {versions} do not run 1..{len(versions)}")
    return [found[v] for v in versions]


def roots_tarball(roots: Sequence[Root]) -> bytes:
    """The download-roots layout: ``<N>.root.json`` members, canonical JSON, mode 0644."""
    return plain_tarball({f"{root.version}.root.json": canonical(root.to_dict()) for root in roots}, mode=0o644)


def parse_online_keys(data: bytes) -> dict[str, PrivateKey]:
    """Either ``{"targets"|"snapshot"|"timestamp": <.sec key object>}`` (the sandbox's online-keys.json)
    or ``{"online-keys": {role: {"keytype", "private", ...}}, ...}`` (the zoo's server-online-keys.json,
    whose ``root`` entry, a first-time factory's root key, is not an online key and is skipped)."""
    from appliance.core.strictjson import dumps_compact

    obj = loads_object(data, what="online keys file")
    nested = obj.get("online-keys")
    if isinstance(nested, dict):
        obj = {
            role: {"keytype": entry.get("keytype"), "keyval": {"private": entry.get("private")}}
            for role, entry in nested.items()
            if role != "root" and isinstance(entry, dict)
        }
    out: dict[str, PrivateKey] = {}
    for role, entry in obj.items():
        if role not in ONLINE_ROLES:
            raise UsageError(f"online keys file: unknown role {role!r}; expected {', '.join(ONLINE_ROLES)}")
        out[role] = parse_secret_key_file(dumps_compact(entry), what=f"online {role} key")
    return out


def _check_online(ci: Root, online: Mapping[str, PrivateKey]) -> None:
    meta = ci.meta
    for role, key in online.items():
        if not any(meta.keys[k].same_key(key.public_key) for k in meta.roles[role].keyids):
            raise VerificationError(f"the online {role} key is not a {role} key of CI root v{ci.version}")


def seed_factory(
    name: str,
    ci_roots: Sequence[Root],
    prod_roots: Sequence[Root],
    *,
    online_keys: Mapping[str, PrivateKey],
    now: datetime,
    random_bytes: RandomBytes,
    token: str | None = None,
    first_root_sec: bytes | None = None,
) -> FactoryData:
    """A factory whose roots are a real factory's: both histories verified link by link as a
    device walks them, CI and production paired version by version.  ``first_root_sec``: a
    first-time factory's root key as the server hands it out at first_root.sec."""
    check_factory_name(name)
    ci = verify_history(ci_roots, None, "CI roots")
    prod = verify_history(prod_roots, None, "production roots")
    if len(ci_roots) != len(prod_roots):
        raise VerificationError(f"CI roots reach v{ci.version} but production roots v{prod.version}")
    for ci_root, prod_root in zip(ci_roots, prod_roots, strict=True):
        check_pair(RootPair(ci_root, prod_root))
    _check_online(ci, online_keys)
    targets = ci_targets(online_keys["targets"], now) if "targets" in online_keys else None
    return FactoryData(
        name=name,
        token=token if token is not None else new_token(random_bytes),
        created=format_expires(now),
        ci_roots=tuple(ci_roots),
        prod_roots=tuple(prod_roots),
        online_keys=dict(online_keys),
        targets=targets,
        archive=None,
        root_key=None,
        offline_targets_key=None,
        first_root_sec=first_root_sec,
        polis_id=owner_polis_id(name),
    )
