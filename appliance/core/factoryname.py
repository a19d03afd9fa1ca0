"""The one factory-name rule (bundles, the client, the sandbox, backup sheets).

Its own module so that commands that only need the rule (``backup print``) do not load
the bundle format and every operation with it.
"""

from __future__ import annotations

import re

from .errors import AirgapError, BundleError

FACTORY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # Foundries factory names; also safe in paths


def is_factory_name(name: str) -> bool:
    return FACTORY_NAME.fullmatch(name) is not None


def check_factory_name(name: str, *, error: type[AirgapError] = BundleError, what: str = "factory name") -> str:
    if not is_factory_name(name):
        raise error(f"{what} {name!r} is invalid", hint="Factory names are lower-case letters, digits and '-'.")
    return name
