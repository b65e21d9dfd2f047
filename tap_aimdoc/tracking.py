"""One stream's run: which records to emit, whether to read the whole listing, what to keep.

The API's ``start_date`` filters whole days on a field Aimdoc does not document: if it is
``created_at``, an update to a record created before the requested day never comes back in a
filtered listing. ``ChangeTracker`` therefore

- learns the field from the data: a record created before the requested day that comes back
  shows the filter is on ``updated_at`` (kept in state as ``start_date_field``); one whose own
  change time is before that day shows the filter is ignored (a warning: every run then reads
  the whole listing);
- learns it at the start of a run with one request, when a previous whole read found a
  *witness*: a record created on an earlier day than it last changed, on a day few enough
  records were created or changed on for one page to hold them all. Asked for that day
  alone, the API lists the witness if it filters on ``updated_at``, and only records created
  that day if on ``created_at``;
- until it is known to be ``updated_at``, reads the whole listing once every
  ``reconcile_hours`` (a *reconciliation*,
  costing one request per ``page_size`` records) and emits each record changed since the
  previous reconciliation that no run emitted yet (see ``changes.SeenTable``);
- without change times (``digest`` mode), emits a record when its digest changes and gives
  it the run's server time as ``updated_at`` (it changed between two runs; new records keep
  their ``created_at``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tap_aimdoc.changes import SeenTable, digest, id_key
from tap_aimdoc.incremental import Since
from tap_aimdoc.timestamps import parse_timestamp

if TYPE_CHECKING:
    import logging

UPDATED_AT = "updated_at"


@dataclass
class RunPlan:
    """What a tracked stream does this run."""

    mode: str  # "time" or "digest"
    full_read: bool  # no start_date: the whole listing
    reconciling: bool  # a full read because the filter's field is not known
    threshold: Since  # time mode: records changed after this are candidates
    start: Since  # start_date: records created before it are never emitted
    requested_day: date | None  # the start_date asked for (None: none)
    keep_emitted: bool  # time mode: remember emitted records for the next reconciliation


@dataclass
class ChangeTracker:
    """Admits the records of one run of a tracked stream and updates its state at the end."""

    stream_name: str
    plan: RunPlan
    table: SeenTable
    replication_key: str
    id_field: str
    change_fields: tuple[str, ...]
    signpost: str
    logger: logging.Logger
    new_table: SeenTable = field(init=False)
    evidence: str | None = None
    ignored: str | None = None
    emitted: int = 0
    latest: str = ""  # the newest change time admitted by time, emitted or already emitted
    page_size: int = 100
    created_days: Counter = field(default_factory=Counter)
    changed_days: Counter = field(default_factory=Counter)
    witnesses: dict = field(default_factory=dict)  # changed day -> id created before it

    def __post_init__(self) -> None:
        """Start a new table on a full read (what is not listed any more is dropped)."""
        self.new_table = SeenTable() if self.plan.full_read else self.table

    def admit(self, record: dict) -> dict | None:
        """The record if it is to be emitted (maybe with ``updated_at`` set), else None."""
        self.observe_filter(record)
        key = id_key(record.get(self.id_field))
        if self.plan.mode == "digest":
            return self._admit_by_digest(record, key)
        stamp = record.get(self.replication_key)
        if not self.plan.threshold.admits(stamp):
            return None
        if isinstance(stamp, str) and stamp > self.latest:
            self.latest = stamp
        value = digest(record)
        if not self.table.changed(key, value):
            return None
        # Kept for the next reconciliation, which looks at changes after this run's signpost
        # if this run reads everything, else after the previous reconciliation.
        if self.plan.keep_emitted and (not self.plan.full_read or str(stamp) > self.signpost):
            self.new_table.keep(key, value)
        self.emitted += 1
        return record

    def _admit_by_digest(self, record: dict, key: bytes) -> dict | None:
        value = digest(record)
        known, changed = self.table.known(key), self.table.changed(key, value)
        self.new_table.keep(key, value)
        if not changed or (not known and not self.plan.start.admits(record.get("created_at"))):
            return None
        if known:  # changed since the last run: newer than any record created before it
            record[self.replication_key] = self.signpost
        self.emitted += 1
        return record

    def observe_filter(self, record: dict) -> None:
        """Learn from a record of a filtered listing which field the filter is on.

        On a whole read, count records per day and note witnesses for the next run's probe.
        """
        day = self.plan.requested_day
        changed = next((record[name] for name in self.change_fields if record.get(name)), None)
        if day is None:
            if self.plan.full_read and self.plan.mode == "time":
                self._count_days(record, changed)
            return
        if self.evidence and self.ignored:
            return
        if self.plan.mode == "time" and changed and _day(changed) < day and not self.ignored:
            self.ignored = f"a record changed on {_day(changed)} came back for start_date {day}"
        created = record.get("created_at")
        if not self.evidence and created and _day(created) < day:
            self.evidence = f"a record created on {_day(created)} came back for start_date {day}"

    def _count_days(self, record: dict, changed: Any) -> None:
        created = record.get("created_at")
        if not created or not changed:
            return
        created_day, changed_day = _day(created), _day(changed)
        self.created_days[created_day] += 1
        self.changed_days[changed_day] += 1
        if created_day < changed_day and record.get(self.id_field) is not None:
            self.witnesses[changed_day] = str(record[self.id_field])

    def witness(self) -> dict | None:
        """The most recent witness whose day one page lists in full under either field."""
        fits = [day for day in self.witnesses if self.created_days[day] < self.page_size
                and self.changed_days[day] < self.page_size]
        if not fits:
            return None
        day = max(fits)
        return {"id": self.witnesses[day], "day": day.isoformat()}

    def finish(self, state: dict) -> None:
        """Keep what the next run needs in the stream's state."""
        if self.plan.full_read and self.plan.mode == "time" and \
                state.get("start_date_field") not in (UPDATED_AT, "ignored", "created_at"):
            state["witness"] = self.witness()
        if self.plan.full_read or "reconciled_at" not in state:  # the first run: a baseline
            state["reconciled_at"] = self.signpost
        if self.evidence and not self.ignored and state.get("start_date_field") != UPDATED_AT:
            state["start_date_field"] = UPDATED_AT
            self.logger.info("%s: start_date filters on updated_at (%s); no reconciliation "
                             "needed from now on.", self.stream_name, self.evidence)
        if self.ignored:
            state["start_date_field"] = "ignored"
            self.logger.warning("%s: the API ignores start_date (%s): every run reads the "
                                "whole listing, one request per page.", self.stream_name,
                                self.ignored)
        keep = self.plan.mode == "digest" or (self.plan.keep_emitted and
                                               state.get("start_date_field") != UPDATED_AT)
        state["seen_mode"] = self.plan.mode
        if keep:
            state["seen"] = self.new_table.encode()
        else:
            state.pop("seen", None)


def probe_answer(witness: dict, records: list[dict], *, complete: bool) -> str | None:
    """What a listing of the witness's day alone says of the filter's field (None: unsure).

    ``complete``: the page holds every record of that day's listing.
    """
    day = date.fromisoformat(witness["day"])
    if any(str(r.get("id")) == witness["id"] or (r.get("created_at") and
                                                  _day(r["created_at"]) < day)
           for r in records):
        return UPDATED_AT
    if complete and all(r.get("created_at") and _day(r["created_at"]) == day for r in records):
        return "created_at"
    return None


def plan_run(state: dict, *, mode: str, since: Since, start: Since, signpost: str,
             reconcile_hours: float, lookback_days: int) -> RunPlan:
    """The plan of a tracked stream's run from its state and this run's server time."""
    field_known = state.get("start_date_field") in (UPDATED_AT, "ignored")  # no reconciling
    last = state.get("reconciled_at")
    due = reconcile_hours > 0 and not field_known and since.moment is not None and (
        bool(state.get("replication_key_value"))) and (
        not last or _hours_between(last, signpost) >= reconcile_hours)
    full_read = since.moment is None or due
    if mode == "time" and due and since.moment is not None:
        threshold = Since(parse_timestamp(last), inclusive=False) if last else since
    else:
        threshold = since
    requested = None if full_read else since.request_day(lookback_days)
    return RunPlan(mode=mode, full_read=full_read, reconciling=due and since.moment is not None,
                   threshold=threshold, start=start, requested_day=requested,
                   keep_emitted=not field_known and reconcile_hours > 0)


def _hours_between(earlier: str, later: str) -> float:
    try:
        return (parse_timestamp(later) - parse_timestamp(earlier)) / timedelta(hours=1)
    except ValueError:
        return float("inf")


def _day(value: Any) -> date:
    try:
        moment = value if isinstance(value, datetime) else parse_timestamp(str(value))
    except ValueError:
        return date.max
    return moment.date()
