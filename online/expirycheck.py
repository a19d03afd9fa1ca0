"""What of a factory expires when: CI root, production root, production targets per tag.

The arithmetic is in ``appliance.core.expiry``; this module only fetches and prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from appliance.common.plaintext import plain_console
from appliance.core.expiry import DEFAULT_WINDOW_DAYS, ExpiryItem, ExpiryStatus, warning_lines
from appliance.core.metadata import Envelope, Root

from .api import FactoryClient


def root_items(ci: Root, prod: Root) -> list[ExpiryItem]:
    return [
        ExpiryItem("ci-root", ci.version, ci.meta.expires),
        ExpiryItem("prod-root", prod.version, prod.meta.expires),
    ]


def targets_items(production_targets: Mapping[str, Envelope]) -> list[ExpiryItem]:
    items = []
    for tag, envelope in sorted(production_targets.items()):
        items.append(ExpiryItem("prod-targets", envelope.version, str(envelope.signed.get("expires")), tag))
    return items


def fetch_items(client: FactoryClient) -> list[ExpiryItem]:
    from .targets_api import get_production_targets

    ci = Root.from_bytes(client.get_root(), what="current CI root")
    prod = Root.from_bytes(client.get_root(production=True), what="current production root")
    found = get_production_targets(client)
    envelopes = {tag: Envelope.from_dict(raw, what=f"production targets {tag}") for tag, raw in found.items()}
    return root_items(ci, prod) + targets_items(envelopes)


def print_warnings(statuses: Sequence[ExpiryStatus], window_days: int = DEFAULT_WINDOW_DAYS) -> None:
    """The warning line(s) show-root and every export print when the window is crossed (stderr)."""
    err = plain_console(stderr=True)
    for line in warning_lines(statuses, window_days):
        err.print(line)
