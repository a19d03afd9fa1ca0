"""Create a sandbox factory on disk: the state folder and the owner's offline keys tarball."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from appliance.common.durable import write_durable
from appliance.core.errors import UsageError
from appliance.core.keys import ED25519, RSA_DEFAULT_BITS
from appliance.core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive
from appliance.core.privatekeys import RandomBytes

from ..client import check_token
from .factory import FactoryData, build_factory, check_factory_name, default_key_factory
from .state import SandboxState


@dataclass(frozen=True)
class ProvisionedFactory:
    data: FactoryData
    state_dir: Path
    keys_path: Path

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def token(self) -> str:
        return self.data.token

    @property
    def root_keyid(self) -> str:
        return self.data.root_keyid


def _verify_tarball(data: bytes) -> None:
    KeysArchive.from_bytes(data[: MAX_COMPRESSED_BYTES + 1])


def provision_factory(
    state_dir: Path,
    name: str,
    keys_out: Path,
    *,
    key_type: str = ED25519,
    rsa_bits: int = RSA_DEFAULT_BITS,
    token: str | None = None,
    offline_targets: bool = False,
    now: datetime | None = None,
    random_bytes: RandomBytes = os.urandom,
) -> ProvisionedFactory:
    """Build a factory, store it under ``state_dir`` and write the owner's tarball to ``keys_out``.

    Both outputs are checked before anything is written; if writing the tarball
    fails, the factory is removed again so that the command can simply be rerun.
    """
    state = SandboxState(Path(state_dir))
    _new_factory_checks(state, name, token)
    keys_out = Path(keys_out)
    if keys_out.exists():
        raise UsageError(f"{keys_out} already exists; refusing to overwrite it", hint="Choose a new --keys-out path.")
    if not keys_out.parent.is_dir():
        raise UsageError(f"directory {keys_out.parent} does not exist", hint="Create it or choose another --keys-out.")
    moment = now or datetime.now(UTC)
    data = build_factory(
        name,
        now=moment,
        random_bytes=random_bytes,
        key_type=key_type,
        new_key=default_key_factory(random_bytes, rsa_bits),
        token=token,
        offline_targets=offline_targets,
    )
    _store(state, data)
    assert data.archive is not None
    try:
        tarball = data.archive.to_bytes(mtime=int(moment.timestamp()))
        write_durable(keys_out, tarball, replace=False, verify=_verify_tarball, mode=0o600, label="keys")
    except BaseException:
        state.remove_factory(name)
        raise
    return ProvisionedFactory(data, state.directory, keys_out)


def _new_factory_checks(state: SandboxState, name: str, token: str | None) -> None:
    check_factory_name(name)
    if token is not None:
        check_token(token)
    if state.factory_dir(name).exists():
        raise UsageError(
            f"factory {name} already exists in {state.directory}",
            hint="Choose another --factory name or another --state-dir.",
        )


def _store(state: SandboxState, data: FactoryData) -> FactoryData:
    state.directory.mkdir(parents=True, exist_ok=True)
    state.add_factory(data)
    return data


def provision_first_time(
    state_dir: Path,
    name: str,
    *,
    key_type: str = ED25519,
    rsa_bits: int = RSA_DEFAULT_BITS,
    token: str | None = None,
    now: datetime | None = None,
    random_bytes: RandomBytes = os.urandom,
) -> FactoryData:
    """A factory whose root key is still the server's (served at first_root.sec); no tarball yet."""
    state = SandboxState(Path(state_dir))
    _new_factory_checks(state, name, token)
    data = build_factory(
        name,
        now=now or datetime.now(UTC),
        random_bytes=random_bytes,
        key_type=key_type,
        new_key=default_key_factory(random_bytes, rsa_bits),
        token=token,
        first_time=True,
    )
    return _store(state, data)


def provision_seeded(
    state_dir: Path,
    name: str,
    *,
    ci_roots: bytes,
    prod_roots: bytes,
    online_keys: bytes | None,
    first_root_sec: bytes | None = None,
    token: str | None = None,
    now: datetime | None = None,
    random_bytes: RandomBytes = os.urandom,
) -> FactoryData:
    """A factory holding a real factory's roots (download-roots tarballs) and, if given, its online keys."""
    from .seeding import parse_online_keys, read_roots_tarball, seed_factory

    state = SandboxState(Path(state_dir))
    _new_factory_checks(state, name, token)
    data = seed_factory(
        name,
        read_roots_tarball(ci_roots, "CI roots tarball"),
        read_roots_tarball(prod_roots, "production roots tarball"),
        online_keys=parse_online_keys(online_keys) if online_keys is not None else {},
        now=now or datetime.now(UTC),
        random_bytes=random_bytes,
        token=token,
        first_root_sec=first_root_sec,
    )
    return _store(state, data)
