"""Where an incremental stream starts, and which records it keeps.

The API filters ``start_date`` by whole UTC days and may filter on ``created_at`` rather than
``updated_at``, so a stream asks for everything from its bookmark's day minus ``lookback_days``
and then keeps only records whose own timestamp is newer than the bookmark.

Residual risk, by design of the API: when the API filters on ``created_at``, an update to a
record created more than ``lookback_days`` before the bookmark is not returned, so it is not
seen until a full refresh. A larger ``lookback_days`` narrows that window at the cost of
re-reading more records (they are filtered out, not emitted again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tap_aimdoc.timestamps import parse_timestamp


@dataclass(frozen=True)
class Since:
    """Keep records newer than ``moment`` (or at ``moment`` too, when ``inclusive``).

    A bookmark is exclusive (its record was emitted already); ``start_date`` is inclusive;
    no moment at all keeps everything.
    """

    moment: datetime | None = None
    inclusive: bool = True

    def admits(self, timestamp: str | None) -> bool:
        """Whether a record with this timestamp is new enough (none or unreadable: keep)."""
        if self.moment is None or not timestamp:
            return True
        try:
            moment = parse_timestamp(timestamp)
        except ValueError:
            return True
        return moment >= self.moment if self.inclusive else moment > self.moment

    def request_day(self, lookback_days: int) -> date | None:
        """The ``start_date`` to ask for: the starting point's day minus the lookback.

        Records created before the starting point may have changed after it.
        """
        if self.moment is None:
            return None
        return (self.moment - timedelta(days=lookback_days)).date()


def starting_point(stream_state: dict, replication_key: str, start_date: str | None) -> Since:
    """The bookmark in ``stream_state`` if it is set and not older than ``start_date``."""
    start = parse_timestamp(start_date) if start_date else None
    bookmark = stream_state.get("replication_key_value")
    if bookmark and stream_state.get("replication_key") == replication_key:
        moment = parse_timestamp(str(bookmark))
        if start is None or moment >= start:
            return Since(moment, inclusive=False)
    return Since(start, inclusive=True)

