"""``TrackedStream``: the run of a stream whose changes are tracked (see ``tracking``).

Mixed into ``client.AimdocStream``: plans each run (filtered or whole read, by change time or
by digest), probes the date filter's field, and keeps the findings in the stream's state.
"""

from __future__ import annotations

from typing import Any

from tap_aimdoc.changes import SeenTable
from tap_aimdoc.incremental import Since
from tap_aimdoc.paging import page_of
from tap_aimdoc.timestamps import parse_timestamp
from tap_aimdoc.tracking import UPDATED_AT, ChangeTracker, RunPlan, plan_run, probe_answer


class TrackedStream:
    """Change tracking for a REST stream of the tap (``tracks_changes`` switches it on)."""

    tracks_changes = False
    tracker: ChangeTracker | None = None
    # Provided by the stream class this is mixed into.
    name: str
    path: str
    config: Any
    logger: Any
    page_size: int
    replication_key: str
    replication_method: str
    replication_fallbacks: tuple[str, ...]
    id_field: str
    stream_state: dict
    since: Since
    readings: Any
    _probe: Any
    _signpost: str | None

    def start_tracking(self) -> None:
        """Plan a tracked stream's run: full read or filtered, by time or by digest."""
        if not self.tracks_changes or self.replication_method == "FULL_TABLE":
            return
        state = self.stream_state
        mode = self.tracking_mode()
        if state.get("seen_mode") not in (None, mode):
            self.logger.warning("%s: records now %s a change time; changes are detected "
                                "afresh (some may be emitted again).", self.name,
                                "carry" if mode == "time" else "lack")
        table = SeenTable.decode(state.get("seen")) if state.get("seen_mode") == mode \
            else SeenTable()
        self.probe_date_filter(state)
        start = self.config.get("start_date")
        plan = plan_run(state, mode=mode, since=self.since,
                        start=Since(parse_timestamp(start)) if start else Since(),
                        signpost=self.get_replication_key_signpost(None),
                        reconcile_hours=float(self.config.get("reconcile_hours", 24)),
                        lookback_days=int(self.config.get("lookback_days", 7)))
        self.tracker = ChangeTracker(self.name, plan, table, self.replication_key,
                                     self.id_field, self.change_fields, self._signpost or "",
                                     self.logger, page_size=self.page_size)
        self.log_plan(plan, mode)

    def probe_date_filter(self, state: dict) -> None:
        """Ask for the witness's day alone (one request) to learn the filter's field."""
        witness = state.get("witness")
        if not witness or state.get("start_date_field") in (UPDATED_AT, "ignored",
                                                            "created_at"):
            return
        send = self.request_decorator(self._request)
        prepared = self.listing_request(self.get_url(None), {
            "page": 1, "per_page": self.page_size, "start_date": witness["day"],
            "end_date": witness["day"]})
        page = page_of(send(prepared, None))
        complete = page.has_more is False if page.has_more is not None else \
            len(page.records) < self.page_size
        answer = probe_answer(witness, page.records, complete=complete)
        if answer is None:
            return
        state["start_date_field"] = answer
        state.pop("witness", None)
        self.readings.note(f"{self.path.strip('/')}.start_date_field", answer,
                           "probed with the listing of " + witness["day"] + " alone" +
                           ("" if answer == UPDATED_AT else
                            "; updates to older records are found by reconciliation"))

    def log_plan(self, plan: RunPlan, mode: str) -> None:
        """Say how this run reads, and why when it costs more than a filtered read."""
        if mode == "digest":
            self.logger.info("%s: records carry no change time: a record is emitted when its "
                             "content digest changes.", self.name)
        if plan.reconciling:
            why = "start_date filters on created_at" if \
                self.stream_state.get("start_date_field") == "created_at" else \
                "start_date may filter on created_at (not yet seen filtering on updated_at)"
            self.logger.warning(
                "%s: reading the whole listing (a reconciliation, at most every %s h): %s, "
                "so an update to a record created more than lookback_days before the "
                "bookmark is only found this way.", self.name,
                self.config.get("reconcile_hours", 24), why)

    def tracking_mode(self) -> str:
        """``time`` if the probed record carries a change time, else ``digest``."""
        records = self._probe.records if self._probe is not None else []
        if not records:
            return self.stream_state.get("seen_mode") or "time"
        record = records[0]
        return "time" if any(record.get(name) for name in self.change_fields) else "digest"

    @property
    def change_fields(self) -> tuple[str, ...]:
        """Fields telling when a record last changed (``created_at`` does not)."""
        return tuple(name for name in (self.replication_key, *self.replication_fallbacks)
                     if name and name != "created_at")

    def finish_tracking(self) -> None:
        """Keep the tracker's findings, and never let the bookmark go back."""
        if self.tracker is None:
            return
        state = self.stream_state
        self.tracker.finish(state)
        # Records skipped as already emitted count as read: the bookmark moves past them
        # (the SDK caps it at the signpost); it never goes back.
        newest = max(str(state.get("replication_key_value") or ""), self.tracker.latest)
        markers = state.get("progress_markers")
        if newest and (markers is None or str(markers.get("replication_key_value") or "")
                       < newest):
            markers = state.setdefault("progress_markers", {})
            markers.update(replication_key=self.replication_key, replication_key_value=newest)

