"""Rehearsal scenarios: how the sandbox factory of a rehearsal comes to be.

A registry (name -> Scenario) so further scenarios can be added by registering a function;
``tuf-online rehearse --scenario NAME`` picks one, ``--scenario all`` runs each in turn.
A scenario builds the factory under ``state_dir`` and says where the owner's tarball is
(it may not exist yet: a first-time takeover starts without one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.core.errors import UsageError

ZOO = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "factories"


@dataclass(frozen=True)
class Setup:
    token: str
    keys: Path  # the owner's offline keys tarball (absent for a first-time takeover)
    first_time: bool = False
    key_type: str | None = None  # key type the ceremonies should create (None: the rehearsal's)
    description: str = ""


SetupFunction = Callable[[Path, str, Path, str], Setup]  # state_dir, factory, keys path, key type


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    setup: SetupFunction


SCENARIOS: dict[str, Scenario] = {}


def register(name: str, summary: str) -> Callable[[SetupFunction], SetupFunction]:
    def add(function: SetupFunction) -> SetupFunction:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name} is registered twice")
        SCENARIOS[name] = Scenario(name, summary, function)
        return function

    return add


def scenario(name: str) -> Scenario:
    found = SCENARIOS.get(name)
    if found is None:
        raise UsageError(f"no rehearsal scenario {name!r}", hint=f"Known scenarios: {', '.join(sorted(SCENARIOS))}.")
    return found


@register("default", "a factory as after today's `fioctl keys rotate-root --initial`")
def _default(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
    from .sandbox.provision import provision_factory

    made = provision_factory(state_dir, factory, keys, key_type=key_type)
    return Setup(made.token, keys, description="sandbox factory with a first-root tarball")


@register("first-time", "a new factory whose root key is still Foundries' (rotate-root --first-time)")
def _first_time(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
    from .sandbox.provision import provision_first_time

    data = provision_first_time(state_dir, factory, key_type=key_type)
    return Setup(data.token, keys, first_time=True, description="first-time factory, no tarball yet")


def zoo_setup(era: Path) -> SetupFunction:
    """A factory of the zoo (tests/vectors/factories/<era>/): its public roots and online keys
    seed the sandbox, and its keys tarball is copied as the owner's."""

    def setup(state_dir: Path, factory: str, keys: Path, key_type: str) -> Setup:
        from appliance.common.durable import write_durable

        from .sandbox.provision import provision_seeded

        online = era / "online-keys.json"
        data = provision_seeded(
            state_dir,
            factory,
            ci_roots=(era / "ci-roots.tgz").read_bytes(),
            prod_roots=(era / "prod-roots.tgz").read_bytes(),
            online_keys=online.read_bytes() if online.exists() else None,
        )
        tarball = era / "offline-creds.tgz"
        if tarball.exists():
            write_durable(keys, tarball.read_bytes(), replace=False, mode=0o600, label="keys")
        return Setup(data.token, keys, first_time=not tarball.exists(), description=f"zoo factory {era.name}")

    return setup


def _register_zoo() -> None:
    if not ZOO.is_dir():
        return
    for era in sorted(p for p in ZOO.iterdir() if (p / "ci-roots.tgz").is_file()):
        register(era.name, f"real factory of the {era.name} era (tests/vectors/factories/{era.name})")(zoo_setup(era))


_register_zoo()
