"""Data replication: ``GET /sobjects/{Type}/updated`` and ``/deleted`` (``?start=&end=``).

As the real resources: records are picked by ``SystemModstamp`` (inserted or changed records
for ``updated``, records in the recycle bin for ``deleted``, the delete stamping the record);
seconds of ``start`` are ignored; ``latestDateCovered`` is the earlier of ``end`` and now, cut
to the minute (a replicating client starts its next call there, so a record changed in the
current minute can come back twice, never zero times). ``start`` more than 30 days ago, after
``end``, or unparseable answers 400 ``INVALID_REPLICATION_DATE``; a missing one 400
``MISSING_ARGUMENT``; more than 600,000 ids 400 ``EXCEEDED_ID_LIMIT``. ``earliestDateAvailable``
is 30 days ago (the emulator empties its recycle bin never; hard-deleted rows are gone).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import ApiError
from aimdoc_emulators.salesforce.validation import format_datetime, parse_datetime

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.models import SalesforceBackend

WINDOW_DAYS = 30
MAX_IDS = 600_000


def updated(backend: SalesforceBackend, sobject: str, params: dict[str, str]) -> dict[str, Any]:
    """``{"ids": [...], "latestDateCovered": ...}``."""
    obj, start, end, covered = _window(backend, sobject, params)
    rows = _select(backend, obj.name, 0, start, end)
    return {"ids": [row[0] for row in rows], "latestDateCovered": format_datetime(covered)}


def deleted(backend: SalesforceBackend, sobject: str, params: dict[str, str]) -> dict[str, Any]:
    """``{"deletedRecords": [{"id", "deletedDate"}], "earliestDateAvailable", ...}``."""
    obj, start, end, covered = _window(backend, sobject, params)
    rows = _select(backend, obj.name, 1, start, end)
    return {
        "deletedRecords": [{"id": row[0], "deletedDate": row[1]} for row in rows],
        "earliestDateAvailable": format_datetime(_earliest(backend.now())),
        "latestDateCovered": format_datetime(covered),
    }


def _select(
    backend: SalesforceBackend, table: str, is_deleted: int, start: dt.datetime, end: dt.datetime
) -> list[tuple[str, str]]:
    with backend.lock:
        rows = backend.conn.execute(
            f'SELECT "Id", "SystemModstamp" FROM "{table}" WHERE "IsDeleted" = ? '
            'AND "SystemModstamp" >= ? AND "SystemModstamp" <= ? '
            'ORDER BY "SystemModstamp", rowid LIMIT ?',
            (is_deleted, format_datetime(start), format_datetime(end), MAX_IDS + 1),
        ).fetchall()
    if len(rows) > MAX_IDS:
        raise ApiError.of(400, "EXCEEDED_ID_LIMIT",
                          f"more than {MAX_IDS} ids; choose a shorter time span")
    return [(row[0], row[1]) for row in rows]


def _window(
    backend: SalesforceBackend, sobject: str, params: dict[str, str]
) -> tuple[Any, dt.datetime, dt.datetime, dt.datetime]:
    obj = backend.sobject(sobject)
    now = backend.now()
    start = _minute(_parameter(params, "start"))
    end = _parameter(params, "end")
    if start > end:
        raise ApiError.of(400, "INVALID_REPLICATION_DATE",
                          "start date must chronologically precede end date")
    if start < _earliest(now):
        raise ApiError.of(400, "INVALID_REPLICATION_DATE",
                          f"start date cannot be more than {WINDOW_DAYS} days ago")
    return obj, start, end, _minute(min(end, now))


def _parameter(params: dict[str, str], name: str) -> dt.datetime:
    text = params.get(name)
    if not text:
        raise ApiError.of(400, "MISSING_ARGUMENT", f"{name} was not specified")
    # an unencoded "+00:00" arrives as " 00:00" once the query string is decoded
    parsed = parse_datetime(text.strip().replace(" ", "+"))
    if parsed is None:
        raise ApiError.of(400, "INVALID_REPLICATION_DATE",
                          f"{name}: unable to parse {text!r} as a dateTime")
    return parsed.astimezone(dt.UTC)


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _earliest(now: dt.datetime) -> dt.datetime:
    return _minute(now - dt.timedelta(days=WINDOW_DAYS))
