"""A semantic diff of two roots, for the officer's review screen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .metadata import RootMeta


def _short(keyid: str) -> str:
    return keyid[:16]


def diff_roots(old: RootMeta, new: RootMeta) -> list[str]:
    lines: list[str] = []
    if old.version != new.version:
        lines.append(f"version: {old.version} -> {new.version}")
    if old.expires != new.expires:
        lines.append(f"expires: {old.expires} -> {new.expires}")
    for keyid in sorted(set(new.keys) - set(old.keys)):
        key = new.keys[keyid]
        lines.append(f"key added: {_short(keyid)} ({key.kind} {key.bits})")
    for keyid in sorted(set(old.keys) - set(new.keys)):
        lines.append(f"key removed: {_short(keyid)} ({old.keys[keyid].kind})")
    for name in sorted(set(old.roles) | set(new.roles)):
        before, after = old.roles.get(name), new.roles.get(name)
        if before is None or after is None:
            lines.append(f"role {name}: {'added' if before is None else 'removed'}")
            continue
        added = [k for k in after.keyids if k not in before.keyids]
        removed = [k for k in before.keyids if k not in after.keyids]
        if added or removed:
            parts = [f"+{_short(k)}" for k in added] + [f"-{_short(k)}" for k in removed]
            lines.append(f"role {name}: keys {' '.join(parts)}")
        if before.threshold != after.threshold:
            lines.append(f"role {name}: threshold {before.threshold} -> {after.threshold}")
    for field in sorted(set(old.extra) | set(new.extra)):
        if old.extra.get(field) != new.extra.get(field):
            lines.extend(changelog_fields(new.extra.get(field), field))
    return lines


def changelog_fields(value: object, prefix: str) -> list[str]:
    """A structured field (``x-changelog``...) as ``name.field: value`` lines, never as a Python repr."""
    if isinstance(value, Mapping):
        out: list[str] = []
        for key in sorted(value):
            out.extend(changelog_fields(value[key], f"{prefix}.{key}"))
        return out or [f"{prefix}: (empty)"]
    if isinstance(value, list):
        items: list[str] = []
        for index, item in enumerate(value):
            items.extend(changelog_fields(item, f"{prefix}[{index}]"))
        return items or [f"{prefix}: (empty)"]
    return [f"{prefix}: {_scalar(value)}"]


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
