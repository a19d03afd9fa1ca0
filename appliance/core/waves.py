"""A wave's production targets, built as ``fioctl waves init`` builds them (pure).

Facts (foundriesio/fioctl@9b0a6e7, subcommands/waves/init.go ``doInitWave``,
``pruneTargets``, ``replaceTags``, ``readExpiration``):

- the CI targets of the version (``GET /ota/factories/<f>/targets/?version=<v>``)
  must not be empty; the tag's current production targets, if any, are the base
  and the new version must be above their version;
- a CI target whose name is already in the production targets is an error
  (checked before the ``--source-tag`` filter); with ``--source-tag`` only CI
  targets carrying that tag are added; each added target's ``custom.tags``
  becomes ``[tag]``, every other custom field kept;
- ``--prune v1,v2`` removes every target whose ``custom.version`` equals one of
  them (string compare) and fails listing the versions that matched nothing;
  pruning the wave's own version is refused;
- ``signed`` is ``{"_type": "Targets", "expires", "targets", "version": int(version)}``,
  no other field; old signatures are dropped (the document is new);
- ``expires`` is now + days*24h (default 365) or ``--expires-at`` (RFC 3339, to UTC),
  rounded to the second, half up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import BundleError, MetadataError, UsageError, VerificationError
from .metadata import TARGETS_TYPE, Envelope
from .strictjson import JsonObject
from .targets import target_entry
from .timefmt import format_expires, parse_expires

# Wave and tag names as the sandbox accepts them; fullmatch, so no trailing newline passes.
WAVE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VERSION = re.compile(r"[0-9]{1,10}")
MAX_VERSION = 2**31 - 1  # fioctl parses the version with strconv.ParseInt(version, 10, 32)
DEFAULT_EXPIRES_DAYS = 365
MAX_EXPIRES_DAYS = 3650


def check_wave_name(name: object, what: str = "wave name") -> str:
    if not isinstance(name, str) or WAVE_NAME.fullmatch(name) is None:
        raise UsageError(f"{what} {name!r} is not valid", hint="Use 1-64 letters, digits, '.', '_' or '-'.")
    return name


def check_tag(tag: object, what: str = "tag") -> str:
    if not isinstance(tag, str) or TAG_NAME.fullmatch(tag) is None:
        raise UsageError(f"{what} {tag!r} is not valid", hint="Use 1-64 letters, digits, '.', '_' or '-'.")
    return tag


def parse_version(version: object) -> int:
    """The wave version as fioctl reads it: a decimal integer that fits 32 bits (digits only here)."""
    if not isinstance(version, str) or _VERSION.fullmatch(version) is None or not 0 < int(version) <= MAX_VERSION:
        raise UsageError(f"version {version!r} must be a positive integer", hint="Use the CI Target version number.")
    return int(version)


def wave_expiry(now: datetime, *, days: int | None = None, at: str | None = None) -> str:
    """``expires`` as fioctl's readExpiration sets it: ``at`` wins over ``days`` (default 365)."""
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as exc:
            raise UsageError(
                f"--expires-at {at!r} is not an RFC 3339 time", hint="Example: 2030-01-01T00:00:00Z"
            ) from exc
        if moment.tzinfo is None:
            raise UsageError(f"--expires-at {at!r} has no time zone", hint="End it with Z or an offset like +02:00.")
    else:
        count = DEFAULT_EXPIRES_DAYS if days is None else days
        if not 0 < count <= MAX_EXPIRES_DAYS:
            raise UsageError(
                f"--expires-days {count} is outside 1..{MAX_EXPIRES_DAYS}",
                hint="Production targets that expire at once would stop every device from updating.",
            )
        moment = now + timedelta(days=count)
    moment = moment.astimezone(UTC)
    if moment.microsecond >= 500_000:  # Go's Round(time.Second) rounds halves up
        moment += timedelta(seconds=1)
    expires = format_expires(moment)
    if parse_expires(expires) <= now:
        raise UsageError(f"the wave would expire at {expires}, which is not in the future")
    return expires


@dataclass(frozen=True)
class WaveParameters:
    """What the officer asked for: ``waves init --wave --version --tag [--prune] [--source-tag]``."""

    name: str
    version: str
    tag: str
    expires: str
    prune: tuple[str, ...] = ()
    source_tag: str | None = None

    def __post_init__(self) -> None:
        check_wave_name(self.name)
        parse_version(self.version)
        check_tag(self.tag)
        parse_expires(self.expires)
        if self.source_tag is not None:
            check_tag(self.source_tag, "source tag")
        for v in self.prune:
            parse_version(v)
        if self.version in self.prune:
            raise UsageError("Cannot prune current version", hint=f"Remove {self.version} from --prune.")

    @property
    def int_version(self) -> int:
        return parse_version(self.version)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaveParameters:
        allowed = {"wave", "version", "tag", "expires", "prune", "source_tag"}
        if set(data) - allowed:
            raise BundleError(f"wave parameters have unknown fields {sorted(set(data) - allowed)}")
        prune = data.get("prune", [])
        source = data.get("source_tag")
        if not isinstance(prune, list) or not all(isinstance(p, str) for p in prune):
            raise BundleError("wave parameter prune must be a list of version strings")
        if source is not None and not isinstance(source, str):
            raise BundleError("wave parameter source_tag must be a string")
        fields = [data.get(k) for k in ("wave", "version", "tag", "expires")]
        if not all(isinstance(f, str) for f in fields):
            raise BundleError("wave parameters need wave, version, tag and expires strings")
        name, version, tag, expires = (str(f) for f in fields)
        try:
            return cls(name, version, tag, expires, tuple(prune), source)
        except (UsageError, MetadataError) as exc:
            raise BundleError(f"wave parameters: {exc.message}") from exc

    def to_dict(self) -> JsonObject:
        out: JsonObject = {
            "wave": self.name,
            "version": self.version,
            "tag": self.tag,
            "expires": self.expires,
            "prune": list(self.prune),
        }
        if self.source_tag is not None:
            out["source_tag"] = self.source_tag
        return out


def _custom(name: str, meta: object, what: str) -> dict[str, Any]:
    if not isinstance(meta, Mapping):
        raise MetadataError(f"{what} target {name!r} is not an object")
    custom = meta.get("custom")
    if not isinstance(custom, Mapping):
        raise MetadataError(f"Malformed {what} Target custom field {name}: custom must be an object")
    return dict(custom)


def _custom_version(name: str, meta: object) -> str | None:
    value = _custom(name, meta, "production").get("version")
    if value is not None and not isinstance(value, str):
        raise MetadataError(f"target {name!r} has a custom.version that is not a string")
    return value


@dataclass(frozen=True)
class BuiltWave:
    signed: JsonObject
    lacks_delta_stats: bool  # fioctl warns: static deltas are recommended for production targets


def build_wave_targets(params: WaveParameters, ci_targets: Mapping[str, Any], current: Envelope | None) -> BuiltWave:
    """The wave's ``signed`` targets object, unsigned; raises with fioctl's rule on every refusal."""
    if not ci_targets:
        raise VerificationError(
            f"No targets found for version {params.version}",
            hint="Check the version: it must be a Target version CI has built for this factory.",
        )
    version = params.int_version
    targets: dict[str, Any] = {}
    if current is not None:
        base = current.signed.get("targets")
        if not isinstance(base, Mapping):
            raise MetadataError(f"production targets for tag {params.tag} have no targets object")
        targets = dict(base)
        if version <= current.version:
            raise VerificationError(
                "Cannot create a Wave for a version lower than or equal to production Targets for the same tag",
                hint=f"Production targets for {params.tag} are at version {current.version}.",
            )
    for name in sorted(ci_targets):
        meta = ci_targets[name]
        if name in targets:
            raise VerificationError(f"Target {name} already exists in production Targets for tag {params.tag}")
        custom = _custom(name, meta, "CI")
        if params.source_tag is not None:
            tags = custom.get("tags")
            if not isinstance(tags, list) or params.source_tag not in tags:
                continue
        custom["tags"] = [params.tag]
        targets[name] = {**meta, "custom": custom}
    if params.prune:
        missing = []
        for pruned in params.prune:
            hits = [name for name, meta in targets.items() if _custom_version(name, meta) == pruned]
            for name in hits:
                del targets[name]
            if not hits:
                missing.append(pruned)
        if missing:
            raise VerificationError(f"Unable to prune the following versions: {','.join(missing)}")
    signed: JsonObject = {"_type": TARGETS_TYPE, "expires": params.expires, "targets": targets, "version": version}
    lacks = any("delta-stats" not in _custom(n, m, "CI") for n, m in ci_targets.items())
    return BuiltWave(signed, lacks)


@dataclass(frozen=True)
class TargetRow:
    """What the review shows for one target."""

    name: str
    version: str
    hardware_ids: tuple[str, ...]
    length: int
    sha256: str


def target_rows(targets: Mapping[str, Any]) -> list[TargetRow]:
    rows = []
    for name in sorted(targets):
        entry = target_entry(name, targets[name])
        sha = entry.hashes.get("sha256")
        if not isinstance(sha, str):
            raise MetadataError(f"target {name!r} has no sha256 hash")
        rows.append(TargetRow(name, entry.version, entry.hardware_ids, entry.length, sha))
    return rows


@dataclass(frozen=True)
class TargetsDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]  # same name, different length, hashes or custom

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_targets(old: Mapping[str, Any], new: Mapping[str, Any]) -> TargetsDiff:
    return TargetsDiff(
        tuple(sorted(set(new) - set(old))),
        tuple(sorted(set(old) - set(new))),
        tuple(sorted(n for n in set(old) & set(new) if old[n] != new[n])),
    )


def targets_of(envelope: Envelope | None) -> Mapping[str, Any]:
    if envelope is None:
        return {}
    value = envelope.signed.get("targets")
    if not isinstance(value, Mapping):
        raise MetadataError("targets metadata has no targets object")
    return value
