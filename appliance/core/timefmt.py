"""The ``expires`` timestamp format: RFC 3339 UTC with a ``Z`` suffix.

fioctl writes Go ``time.Time`` rounded to whole seconds, which marshals as
``2025-01-31T12:00:00Z``.  aktualizr's ``TimeStamp`` accepts exactly that
20-character form, so fractional seconds are refused: a device would reject them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import MetadataError

# [0-9], not \d (which matches any Unicode digit), and fullmatch, since "$" also matches before a final "\n".
_EXPIRES = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")


def parse_expires(value: object) -> datetime:
    if not isinstance(value, str):
        raise MetadataError("expires must be a string")
    match = _EXPIRES.fullmatch(value)
    if match is None:
        raise MetadataError(f"expires {value!r} is not of the form YYYY-MM-DDTHH:MM:SSZ")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise MetadataError(f"expires {value!r} is not a real date") from None


def is_expired(expires: datetime, now: datetime) -> bool:
    """The project's one expiry rule, aktualizr's (``TimeStamp::IsExpiredAt``): expired iff
    ``expires < now``, both as whole-second timestamps, so the exact instant is still valid."""
    return expires < now.replace(microsecond=0)


def format_expires(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("expires needs an aware datetime")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_years(now: datetime, years: int) -> datetime:
    """Calendar years as Go's AddDate(years, 0, 0): Feb 29 rolls to Mar 1."""
    try:
        return now.replace(year=now.year + years)
    except ValueError:
        return now.replace(year=now.year + years, month=3, day=1)
