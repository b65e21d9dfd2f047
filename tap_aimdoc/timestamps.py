"""Timestamps in one canonical form, ``2023-08-15T14:30:45.123Z``.

Strings in that form compare in time order, and the SDK compares bookmark values as strings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Strings of this shape are canonical already, or not a timestamp at all (e.g. month 13):
# either way ``canonical`` returns them unchanged.
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_CANONICAL_LINES = re.compile(rf"(?:{_CANONICAL.pattern}\n)*{_CANONICAL.pattern}")


def parse_timestamp(value: str | datetime) -> datetime:
    """A timezone-aware UTC datetime from ISO-8601 (``Z``, an offset, or naive = UTC)."""
    moment = value if isinstance(value, datetime) else \
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """The canonical form: UTC, milliseconds, ``Z``."""
    return parse_timestamp(moment).isoformat(timespec="milliseconds")[:-6] + "Z"


def canonical(value: object) -> object:
    """A timestamp string in canonical form; anything else (None, garbage) unchanged."""
    if not isinstance(value, str) or not value or _CANONICAL.fullmatch(value):
        return value
    try:
        return format_timestamp(parse_timestamp(value))
    except ValueError:
        return value


def is_canonical(value: object) -> bool:
    """Whether a value is a timestamp string in canonical form (comparable as a string)."""
    return isinstance(value, str) and _CANONICAL.fullmatch(value) is not None


def all_canonical(values: list) -> bool:
    """Whether every value is a timestamp string in canonical form (one match for all)."""
    return all(isinstance(value, str) for value in values) and \
        _CANONICAL_LINES.fullmatch("\n".join(values)) is not None


def parse_http_date(value: str | None) -> datetime | None:
    """The moment in an HTTP ``Date`` header, or None if absent or unreadable."""
    if not value:
        return None
    try:
        return parse_timestamp(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None
