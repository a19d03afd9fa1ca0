"""Building a fresh sandbox factory: pure, given a clock reading and a source of randomness.

The result mirrors a new Foundries factory right after the owner's first
``fioctl keys rotate-root --initial`` download: CI and production root v1 with
one offline root key (``first-root``) and one online key each for targets,
snapshot and timestamp, all thresholds 1, signed by the root key.  With
``offline_targets`` it continues as ``fioctl keys rotate-targets`` does: root v2
whose targets role lists the online CI targets key and a new offline targets
key, threshold 1 in the CI root and 2 in the production root.

Nothing here touches the disk, the clock or the OS random source: callers pass
``now``, ``random_bytes`` and optionally a key factory, and write the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from appliance.core.errors import UsageError
from appliance.core.factoryname import is_factory_name
from appliance.core.keys import ED25519, RSA_DEFAULT_BITS, normalize_keytype, public_key_file
from appliance.core.keysarchive import KEYS_DIR, KeysArchive
from appliance.core.metadata import TARGETS_TYPE, Envelope, RoleKeys, Root, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey, RandomBytes, generate_key, secret_key_file
from appliance.core.strictjson import canonical, dumps_pretty
from appliance.core.timefmt import add_years, format_expires

KeyFactory = Callable[[str], PrivateKey]

ONLINE_ROLES = ("targets", "snapshot", "timestamp")
FIRST_ROOT_BASE = f"{KEYS_DIR}first-root"
ROOT_COPY = "tufrepo/roles/root.json"
TOKEN_BYTES = 20


def check_factory_name(name: str) -> str:
    """Foundries factory names: lower-case letters, digits and dashes (also safe as a path component)."""
    if not is_factory_name(name):
        raise UsageError(
            f"factory name {name!r} is not valid",
            hint="Use 1-63 lower-case letters, digits and dashes, starting with a letter or digit.",
        )
    return name


@dataclass(frozen=True)
class FactoryData:
    """Everything a new sandbox factory consists of; secrets are in ``online_keys`` and ``archive``."""

    name: str
    token: str
    created: str
    ci_roots: tuple[Root, ...]
    prod_roots: tuple[Root, ...]
    online_keys: Mapping[str, PrivateKey]  # held by the server, as a real factory holds them online
    targets: Envelope | None  # CI targets.json signed by the online targets key (None: no online key known)
    archive: KeysArchive | None  # the owner's offline keys tarball content (None: the owner has none yet)
    root_key: PrivateKey | None  # None for a factory seeded from public data
    offline_targets_key: PrivateKey | None
    # The first root key file the server keeps: handed out by first_root.sec and updates init
    # --first-time while that key is still a root key (None: a seeded factory whose key is not known).
    first_root_sec: bytes | None = None
    polis_id: str = ""  # the owner's user id, served at users/self

    @property
    def root_keyid(self) -> str:
        return self.ci_roots[-1].meta.roles["root"].keyids[0]


def owner_polis_id(factory: str) -> str:
    """The sandbox's user id for a factory's owner."""
    return f"sandbox-owner-{factory}"


def new_token(random_bytes: RandomBytes) -> str:
    return random_bytes(TOKEN_BYTES).hex()


def default_key_factory(random_bytes: RandomBytes, rsa_bits: int = RSA_DEFAULT_BITS) -> KeyFactory:
    def make(keytype: str) -> PrivateKey:
        return generate_key(keytype, random_bytes, rsa_bits=rsa_bits)

    return make


def initial_root_meta(root_key: PrivateKey, online: Mapping[str, PrivateKey], now: datetime) -> RootMeta:
    """CI root v1 as a new factory has it: every role has one key and threshold 1."""
    keys = {root_key.keyid: root_key.public_key}
    roles = {"root": RoleKeys((root_key.keyid,), 1)}
    for role in ONLINE_ROLES:
        key = online[role]
        keys.setdefault(key.keyid, key.public_key)
        roles[role] = RoleKeys((key.keyid,), 1)
    return RootMeta(
        type="Root",
        version=1,
        expires=format_expires(add_years(now, 1)),
        keys=keys,
        roles=roles,
        consistent_snapshot=False,
    )


def offline_targets_meta(
    current: RootMeta, online_targets: PrivateKey, offline_targets: PrivateKey, now: datetime, *, production: bool
) -> RootMeta:
    """The next root after fioctl rotate-targets: targets = [online CI key, offline key]."""
    keys = dict(current.keys)
    keys[offline_targets.keyid] = offline_targets.public_key
    meta = RootMeta(
        type=current.type,
        version=current.version + 1,
        expires=format_expires(add_years(now, 1)),
        keys=keys,
        roles=current.roles,
        consistent_snapshot=current.consistent_snapshot,
        extra=current.extra,
    )
    threshold = 2 if production else 1
    return meta.with_role("targets", (online_targets.keyid, offline_targets.keyid), threshold)


def ci_targets(online_targets: PrivateKey, now: datetime, version: int = 1) -> Envelope:
    """An empty CI targets.json signed by the online targets key."""
    signed = {
        "_type": TARGETS_TYPE,
        "version": version,
        "expires": format_expires(add_years(now, 1)),
        "targets": {},
    }
    return Envelope(signed, (online_targets.sign(canonical(signed)),))


def build_archive(root: Root, root_key: PrivateKey, offline_targets: PrivateKey | None) -> KeysArchive:
    """The owner's tarball: fioctl's ``--initial`` names, plus the offline targets pair if any."""
    files = {
        f"{FIRST_ROOT_BASE}.pub": public_key_file(root_key.public_key),
        f"{FIRST_ROOT_BASE}.sec": secret_key_file(root_key),
        ROOT_COPY: dumps_pretty(root.to_dict()),
    }
    archive = KeysArchive.from_files(files)
    if offline_targets is not None:
        archive = archive.with_key("targets", offline_targets)
    return archive


def build_factory(
    name: str,
    *,
    now: datetime,
    random_bytes: RandomBytes,
    key_type: str = ED25519,
    online_key_type: str = ED25519,
    new_key: KeyFactory | None = None,
    token: str | None = None,
    offline_targets: bool = False,
    first_time: bool = False,
) -> FactoryData:
    """Make a factory.  ``new_key(keytype)`` defaults to ``generate_key`` drawing from ``random_bytes``.

    ``first_time``: the factory as Foundries creates it, before the owner took the root key
    (fioctl ``rotate-root --initial``): the server keeps the first root key and serves it at
    ``first_root.sec``; the owner has no tarball yet."""
    check_factory_name(name)
    make = new_key or default_key_factory(random_bytes)
    root_key = make(normalize_keytype(key_type))
    online = {role: make(normalize_keytype(online_key_type)) for role in ONLINE_ROLES}
    meta = initial_root_meta(root_key, online, now)
    ci = [sign_root(meta, [root_key])]
    prod = [sign_root(meta, [root_key])]
    targets_key: PrivateKey | None = None
    if offline_targets:
        targets_key = make(normalize_keytype(key_type))
        for production, chain in ((False, ci), (True, prod)):
            nxt = offline_targets_meta(chain[-1].meta, online["targets"], targets_key, now, production=production)
            chain.append(sign_root(nxt, [root_key]))
    return FactoryData(
        name=name,
        token=token if token is not None else new_token(random_bytes),
        created=format_expires(now),
        ci_roots=tuple(ci),
        prod_roots=tuple(prod),
        online_keys=online,
        targets=ci_targets(online["targets"], now),
        archive=None if first_time else build_archive(ci[-1], root_key, targets_key),
        root_key=root_key,
        offline_targets_key=targets_key,
        first_root_sec=secret_key_file(root_key),
        polis_id=owner_polis_id(name),
    )
