"""When a factory's signed metadata expires, and whether that is inside a warning window (pure).

Devices refuse metadata past its ``expires``; aktualizr (``TimeStamp::IsExpiredAt``)
treats a document as expired only when ``expires < now`` — the exact instant is
still valid; ``timefmt.is_expired`` is that one rule for the whole project — and
checks a root's expiry only for the last root of the chain it walks (bundle-spec.md
§10.1).  ``now`` is always a parameter: nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import VerificationError
from .timefmt import is_expired, parse_expires

DEFAULT_WINDOW_DAYS = 60
MAX_WINDOW_DAYS = 3660
DAY = timedelta(days=1)


@dataclass(frozen=True)
class ExpiryItem:
    """One signed document: ``kind`` is ``ci-root``, ``prod-root`` or ``prod-targets``; ``tag`` for targets."""

    kind: str
    version: int
    expires: str
    tag: str = ""

    @property
    def label(self) -> str:
        names = {"ci-root": "CI root", "prod-root": "production root", "prod-targets": "production targets"}
        name = names.get(self.kind, self.kind)
        return f"{name} ({self.tag})" if self.tag else name


@dataclass(frozen=True)
class ExpiryStatus:
    item: ExpiryItem
    expires_at: datetime
    now: datetime

    @property
    def remaining(self) -> timedelta:
        """expires - now, in whole seconds as aktualizr compares them; negative exactly when expired."""
        return self.expires_at - self.now.replace(microsecond=0)

    @property
    def expired(self) -> bool:
        return is_expired(self.expires_at, self.now)

    @property
    def days_left(self) -> int:
        """Whole days left, rounded down; -1 and below once expired."""
        return math.floor(self.remaining / DAY)

    def within(self, window_days: int) -> bool:
        return self.remaining <= window_days * DAY

    def describe(self) -> str:
        item = self.item
        if self.expired:
            ago = -self.days_left - 1
            when = "less than a day ago" if ago == 0 else f"{ago} day(s) ago"
            return f"{item.label} v{item.version} EXPIRED at {item.expires} ({when})"
        return f"{item.label} v{item.version} expires {item.expires} (in {self.days_left} day(s))"


def check_window(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_WINDOW_DAYS:
        raise VerificationError(f"the warning window must be 0 to {MAX_WINDOW_DAYS} days, not {days!r}")
    return days


def assess(items: Iterable[ExpiryItem], now: datetime) -> list[ExpiryStatus]:
    return [ExpiryStatus(item, parse_expires(item.expires), now) for item in items]


def crossing(statuses: Sequence[ExpiryStatus], window_days: int) -> list[ExpiryStatus]:
    """The documents inside the window, soonest first."""
    return sorted((s for s in statuses if s.within(window_days)), key=lambda s: s.remaining)


def warning_lines(statuses: Sequence[ExpiryStatus], window_days: int) -> list[str]:
    """One ``warning:`` line per document inside the window (empty when all is well)."""
    return [f"warning: {s.describe()}; re-sign it" for s in crossing(statuses, window_days)]


def report_json(statuses: Sequence[ExpiryStatus], window_days: int, now: datetime) -> dict[str, Any]:
    from .timefmt import format_expires

    return {
        "now": format_expires(now),
        "within_days": window_days,
        "within_window": bool(crossing(statuses, window_days)),
        "items": [
            {
                "kind": s.item.kind,
                **({"tag": s.item.tag} if s.item.tag else {}),
                "version": s.item.version,
                "expires": s.item.expires,
                "days_left": s.days_left,
                "expired": s.expired,
                "within_window": s.within(window_days),
            }
            for s in statuses
        ],
    }


def days_gained(old_expires: str, new_expires: str) -> int:
    """Whole days the new expiry adds over the old one (rounded down)."""
    return math.floor((parse_expires(new_expires) - parse_expires(old_expires)) / DAY)


def check_new_expiry(what: str, current_expires: str, new_expires: str, now: datetime) -> None:
    """A re-signed document must be valid now and outlive the one it replaces."""
    new_at, current_at = parse_expires(new_expires), parse_expires(current_expires)
    if new_at <= now:
        raise VerificationError(
            f"{what}: the new expiry {new_expires} is not in the future",
            hint="Ask for a longer validity (--validity-days) on the station and export again.",
        )
    if new_at <= current_at:
        raise VerificationError(
            f"{what}: the new expiry {new_expires} is not later than the current {current_expires}",
            hint="A re-sign must extend the validity; ask for a longer one on the station.",
        )
