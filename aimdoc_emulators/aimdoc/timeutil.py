"""Aimdoc's timestamp format (ISO-8601 UTC with milliseconds) and the emulator's default clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

#: Where a new data set's clock stands: fixed, so the same seed gives the same data.
DEFAULT_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ZERO = timedelta(0)
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """Render a UTC moment as Aimdoc does, e.g. ``2023-08-15T14:30:45.123Z``."""
    if moment.tzinfo is not UTC and moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since 1970 (the part of ``moment`` that ``iso`` shows)."""
    return (moment - _EPOCH) // _MS


def iso_ms(milliseconds: int) -> str:
    """``iso`` of the moment ``milliseconds`` after 1970, without making a datetime."""
    seconds, millis = divmod(milliseconds, 1000)
    hours, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return f"{_hour(hours)}{minute:02d}:{second:02d}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _hour(hours: int) -> str:
    """``YYYY-MM-DDTHH:`` of the hour ``hours`` after 1970."""
    return (_EPOCH + timedelta(hours=hours)).isoformat()[:14]


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or an offset); naive values are taken as UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_day(value: str) -> date:
    """Parse a ``YYYY-MM-DD`` query value strictly; raise ValueError otherwise."""
    if len(value) != 10:
        msg = f"expected YYYY-MM-DD, got {value!r}"
        raise ValueError(msg)
    return date.fromisoformat(value)
