"""Aimdoc's timestamp format (ISO-8601 UTC with milliseconds) and the emulator's default clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

#: Where a new data set's clock stands: fixed, so the same seed gives the same data.
DEFAULT_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ZERO = timedelta(0)


def iso(moment: datetime) -> str:
    """Render a UTC moment as Aimdoc does, e.g. ``2023-08-15T14:30:45.123Z``."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


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
