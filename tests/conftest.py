"""Shared fixtures.

Sandbox factory fixtures (online/sandbox), each function-scoped so a test may
upload roots without affecting another:

``sandbox_state`` -> SandboxFactory
    A fresh state directory (tmp_path) holding factory ``acme`` created as by
    ``tuf-online sandbox create-factory --key-type ED25519``: CI and production
    root v1, all thresholds 1.  Attributes: ``state_dir``, ``factory``, ``token``,
    ``keys_path`` (the owner's offline-creds.tgz, mode 0600), ``token_file``
    (a file holding the token), ``data`` (online.sandbox.factory.FactoryData:
    roots and private keys, for building test uploads), ``root_key``
    (the first-root PrivateKey), ``ci_root`` / ``prod_root`` (current roots).
    Keys are derived from a fixed seed, so key ids repeat between runs.

``sandbox_server`` -> SandboxHandle
    ``sandbox_state`` served by SandboxServer on 127.0.0.1 (free port), stopped
    after the test.  Adds ``url``, ``server`` (the SandboxServer: ``.state``,
    ``.inject_faults(fail_prod_uploads=N)``) and ``client()`` (an
    online.client.HttpFactoryClient for the factory with its token).

``sandbox_server_targets`` -> SandboxHandle
    Like ``sandbox_server`` but the factory was created with ``--offline-targets``:
    CI and production root v2 with targets keys [online, offline], targets
    threshold 1 in CI and 2 in production; ``data.offline_targets_key`` holds the
    offline targets key.

``make_sandbox`` -> callable(name="acme", offline_targets=False, seed=1) -> SandboxFactory
    Builds further factories (in the same state directory as ``sandbox_state``
    when both are used).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from appliance.core.metadata import Root
from appliance.core.privatekeys import PrivateKey
from online.sandbox.factory import FactoryData
from tests.helpers_token import sessions_closed, softhsm  # noqa: F401  (SoftHSM2 fixtures)


def seeded_random(seed: int) -> Callable[[int], bytes]:
    """Deterministic bytes for reproducible test keys (never for real keys)."""
    rng = random.Random(seed)
    return rng.randbytes


@dataclass
class SandboxFactory:
    state_dir: Path
    factory: str
    token: str = field(repr=False)
    keys_path: Path
    token_file: Path
    data: FactoryData = field(repr=False)

    @property
    def root_key(self) -> PrivateKey:
        return self.data.root_key

    @property
    def ci_root(self) -> Root:
        return self.data.ci_roots[-1]

    @property
    def prod_root(self) -> Root:
        return self.data.prod_roots[-1]


@dataclass
class SandboxHandle(SandboxFactory):
    url: str = ""
    server: Any = field(default=None, repr=False)

    def client(self, **kwargs: Any) -> Any:
        from online.client import HttpFactoryClient

        return HttpFactoryClient(self.url, self.token, self.factory, **kwargs)


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Callable[..., SandboxFactory]:
    from online.sandbox.provision import provision_factory

    state_dir = tmp_path / "sandbox-state"

    def make(name: str = "acme", *, offline_targets: bool = False, seed: int = 1) -> SandboxFactory:
        keys_path = tmp_path / f"{name}-offline-creds.tgz"
        made = provision_factory(
            state_dir, name, keys_path, offline_targets=offline_targets, random_bytes=seeded_random(seed)
        )
        token_file = tmp_path / f"{name}-token.txt"
        token_file.write_text(made.token + "\n")
        return SandboxFactory(state_dir, name, made.token, keys_path, token_file, made.data)

    return make


@pytest.fixture
def sandbox_state(make_sandbox: Callable[..., SandboxFactory]) -> SandboxFactory:
    return make_sandbox("acme")


def _serve(made: SandboxFactory) -> Iterator[SandboxHandle]:
    from online.sandbox.server import SandboxServer

    with SandboxServer(made.state_dir) as server:
        yield SandboxHandle(
            made.state_dir, made.factory, made.token, made.keys_path, made.token_file, made.data, server.url, server
        )


@pytest.fixture
def sandbox_server(sandbox_state: SandboxFactory) -> Iterator[SandboxHandle]:
    yield from _serve(sandbox_state)


@pytest.fixture
def sandbox_server_targets(make_sandbox: Callable[..., SandboxFactory]) -> Iterator[SandboxHandle]:
    yield from _serve(make_sandbox("acme", offline_targets=True, seed=2))
