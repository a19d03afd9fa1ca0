"""How a rehearsal's sandbox factory comes to be: today's, first-time, or a real factory of the zoo.

A ``FactorySetup`` builds the factory under ``state_dir`` and says where the owner's tarball
is (absent for a first-time takeover, which starts without one).  ``online/scenarios.py``
turns each into a rehearsal scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ZOO = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "factories"


@dataclass(frozen=True)
class Setup:
    token: str
    keys: Path  # the owner's offline keys tarball (absent for a first-time takeover)
    first_time: bool = False
    description: str = ""


FactorySetup = Callable[[Path, str, Path, str], Setup]  # state_dir, factory, keys path, key type


def default_setup(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
    """A factory as after today's `fioctl keys rotate-root --initial`, with its first-root tarball."""
    from .sandbox.provision import provision_factory

    made = provision_factory(state_dir, factory, keys, key_type=key_type)
    return Setup(made.token, keys, description="factory: sandbox factory with a first-root tarball")


def targets_key_setup(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
    """Today's sandbox factory that already has an offline targets key (for a wave alone)."""
    from .sandbox.provision import provision_factory

    made = provision_factory(state_dir, factory, keys, key_type=key_type, offline_targets=True)
    return Setup(made.token, keys, description="factory: sandbox factory with an offline targets key")


def first_time_setup(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
    """A new factory whose root key is still Foundries' (served at first_root.sec); no tarball."""
    from .sandbox.provision import provision_first_time

    data = provision_first_time(state_dir, factory, key_type=key_type)
    return Setup(data.token, keys, first_time=True, description="factory: first-time, root key still on the server")


def zoo_setup(era: Path) -> FactorySetup:
    """A factory of the zoo (tests/vectors/factories/<era>/): its public roots and online keys seed
    the sandbox, and its keys tarball (if any) becomes the owner's."""

    def setup(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
        from appliance.common.durable import write_durable

        from .sandbox.provision import provision_seeded

        online = era / "server-online-keys.json"
        first_root = era / "first_root.sec.json"
        data = provision_seeded(
            state_dir,
            factory,
            ci_roots=(era / "ci-roots.tgz").read_bytes(),
            prod_roots=(era / "prod-roots.tgz").read_bytes(),
            online_keys=online.read_bytes() if online.exists() else None,
            first_root_sec=first_root.read_bytes() if first_root.exists() else None,
        )
        if first_root.exists():  # the takeover starts without a tarball, as the ceremony allows
            return Setup(data.token, keys, first_time=True, description=f"factory: zoo era {era.name} (first-time)")
        write_durable(keys, (era / "offline-creds.tgz").read_bytes(), replace=False, mode=0o600, label="keys")
        return Setup(data.token, keys, description=f"factory: zoo era {era.name}")

    return setup


def zoo_eras() -> list[Path]:
    if not ZOO.is_dir():
        return []
    return sorted(p for p in ZOO.iterdir() if (p / "ci-roots.tgz").is_file())
