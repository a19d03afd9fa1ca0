"""Which roles a key holds: from root.json, or from its fioctl file name when there is no root."""

from __future__ import annotations

import re

from .keysarchive import KeyEntry
from .metadata import Root

# fioctl names key files fioctl-<role>-<keyid> (and the very first root key first-root...).
_FILE_ROLE = re.compile(r"(?:fioctl-([a-z]+)-|first-(root))")


def roles_of(root: Root | None, entry: KeyEntry) -> list[str]:
    """Roles of ``entry`` in ``root`` (root first, then by name); without a root, the file name's role."""
    if root is None:
        match = _FILE_ROLE.match(entry.base.rsplit("/", 1)[-1])
        return [next(g for g in match.groups() if g)] if match else []
    return [
        name
        for name, role in sorted(root.meta.roles.items(), key=lambda item: item[0] != "root")
        if any(root.meta.keys[k].same_key(entry.public) for k in role.keyids)
    ]
