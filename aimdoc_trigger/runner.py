"""When to run the sync command, and running it one at a time.

A hint (a webhook event) marks a run as wanted. The run starts ``debounce`` seconds after the
first hint of a burst, but never sooner than ``min_interval`` after the previous run started,
and never while one runs: every hint that arrives meanwhile is served by the one next run. Hints
are cleared when a run starts, so a change made while a run reads the API gets a run of its own.
With no hints, a run starts ``fallback_interval`` after the previous start (a lost event costs
at most that long). A failed run is tried again ``retry_interval`` s later, doubling with each
failure in a row (at most an hour), so a changed record does not wait for the fallback when
Salesforce or Aimdoc was briefly down. The command runs in its own process group, so a stop
reaches the whole pipeline (``meltano run`` and its plugins), and never through a shell.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("aimdoc_trigger")
TERM_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL to the command's process group
MAX_RETRY_WAIT = 3600.0  # seconds: the longest wait before trying a failed run again


@dataclass
class RunRecord:
    """One run of the command, as the last-run endpoint shows it."""

    reason: str
    hints: int
    started_at: str
    ended_at: str | None = None
    seconds: float | None = None
    exit_code: int | None = None
    stopped: str | None = None  # "timeout" or "shutdown" when the trigger ended it

    def to_json(self) -> dict:
        """JSON-ready."""
        return asdict(self)


class Runner:
    """Coalesces hints into runs of ``command``; ``start()``, ``hint()``, ``stop()``."""

    def __init__(self, command: Sequence[str], *, min_interval: float = 10.0,
                 debounce: float = 1.0, fallback_interval: float = 3600.0,
                 run_at_start: bool = True, run_timeout: float = 3600.0,
                 retry_interval: float = 30.0) -> None:
        self.command = list(command)
        self.min_interval, self.debounce = min_interval, debounce
        self.fallback_interval, self.run_timeout = fallback_interval, run_timeout
        self.retry_interval = retry_interval
        self._retry_at: float | None = None
        self.failures_in_row = 0
        self._cond = threading.Condition()
        self._pending_since: float | None = time.monotonic() if run_at_start else None
        self._pending_reason = "start-up" if run_at_start else "webhook"
        self._pending_hints = 0
        self._last_start: float | None = None
        self._created = time.monotonic()
        self._stopping = False
        self._grace = 0.0
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.failures = 0
        self.hints_received = 0
        self.last_hint_at: str | None = None
        self.last_run: RunRecord | None = None
        self.current: RunRecord | None = None

    # -- the public surface ----------------------------------------------------------------

    def start(self) -> Runner:
        """Schedule on a background thread."""
        self._thread = threading.Thread(target=self._loop, name="aimdoc-trigger-runner",
                                        daemon=True)
        self._thread.start()
        return self

    def hint(self) -> None:
        """Something changed at the source: run soon (coalesced with other hints)."""
        with self._cond:
            self.hints_received += 1
            self.last_hint_at = _now_iso()
            if self._pending_since is None:
                self._pending_since, self._pending_reason = time.monotonic(), "webhook"
            self._pending_hints += 1
            self._cond.notify_all()

    def status(self) -> dict:
        """Counters, the running and the last run (JSON-ready)."""
        with self._cond:
            return {"running": self.current.to_json() if self.current else None,
                    "pending": self._pending_since is not None,
                    "last_run": self.last_run.to_json() if self.last_run else None,
                    "runs": self.runs, "failures": self.failures,
                    "failures_in_row": self.failures_in_row,
                    "hints_received": self.hints_received, "last_hint_at": self.last_hint_at,
                    "next_run_in": _rounded(self._seconds_to_next(time.monotonic()))}

    def close(self, grace: float = 30.0) -> None:
        """Start no more runs (a running command goes on); ``stop()`` waits for it."""
        with self._cond:
            self._stopping, self._grace = True, grace
            self._cond.notify_all()

    def stop(self, grace: float = 30.0) -> None:
        """No more runs; a running command may finish for ``grace`` s, then gets SIGTERM."""
        self.close(grace)
        with self._cond:
            process = self._process
        if process is not None:
            logger.info("waiting up to %.0f s for the running command to finish", grace)
            _finish(process, grace)
        if self._thread is not None:
            self._thread.join(timeout=grace + TERM_TIMEOUT + 5)

    # -- the scheduling loop ---------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    wait = self._seconds_to_next(now)
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(timeout=wait)
                if self._stopping:
                    return
                record = self._begin()
            self._run(record)

    def _seconds_to_next(self, now: float) -> float | None:
        """Seconds until the next run may start (<= 0: now); None: no run is due."""
        if self.current is not None:
            return None
        due: list[float] = []
        earliest = self._last_start + self.min_interval if self._last_start is not None else now
        if self._pending_since is not None:
            debounced = self._pending_since + (self.debounce if self._pending_hints else 0)
            due.append(max(debounced, earliest))
        if self._retry_at is not None:
            due.append(max(self._retry_at, earliest))
        if self.fallback_interval > 0:
            since = self._created if self._last_start is None else self._last_start
            due.append(since + self.fallback_interval)
        return min(due) - now if due else None

    def _begin(self) -> RunRecord:
        """Take the pending hints (under the lock): later ones make the next run."""
        now = time.monotonic()
        if self._pending_since is not None:
            reason = self._pending_reason
        elif self._retry_at is not None and self._retry_at <= now:
            reason = "retry"
        else:
            reason = "fallback"
        record = RunRecord(reason=reason, hints=self._pending_hints, started_at=_now_iso())
        self._pending_since, self._pending_hints, self._retry_at = None, 0, None
        self._last_start = time.monotonic()
        self.current = record
        return record

    def _run(self, record: RunRecord) -> None:
        started = time.monotonic()
        logger.info("run started (reason %s, %d events)", record.reason, record.hints)
        exit_code: int | None = None
        try:
            process = subprocess.Popen(self.command, start_new_session=True)  # noqa: S603
        except OSError as exc:
            logger.error("the command could not start: %s", exc)
            exit_code = 127
        else:
            with self._cond:
                self._process = process
                stopping, grace = self._stopping, self._grace
            if stopping:  # stop() came before the process was known: give it the grace here
                exit_code = _finish(process, grace)
            else:
                try:
                    exit_code = process.wait(timeout=self.run_timeout)
                except subprocess.TimeoutExpired:
                    record.stopped = "timeout"
                    logger.error("the run took over %.0f s: stopping it", self.run_timeout)
                    exit_code = _finish(process, 0)
        with self._cond:
            if self._stopping and record.stopped is None and exit_code not in (0, None):
                record.stopped = "shutdown"
            record.ended_at = _now_iso()
            record.seconds = round(time.monotonic() - started, 3)
            record.exit_code = exit_code
            self.runs += 1
            self.failures += exit_code != 0
            self._after(exit_code)
            self.last_run, self.current, self._process = record, None, None
            self._cond.notify_all()
        log = logger.info if exit_code == 0 else logger.warning
        log("run finished: exit code %s in %.1f s", exit_code, record.seconds)


    def _after(self, exit_code: int | None) -> None:
        """Schedule a retry after a failure (under the lock); a success clears the count."""
        if exit_code == 0:
            self.failures_in_row = 0
            return
        self.failures_in_row += 1
        if self.retry_interval > 0 and not self._stopping:
            delay = min(self.retry_interval * 2 ** (self.failures_in_row - 1), MAX_RETRY_WAIT)
            self._retry_at = time.monotonic() + delay
            logger.info("trying again in %.0f s", delay)


def _finish(process: subprocess.Popen, grace: float) -> int:
    """Wait ``grace`` s for the process, then SIGTERM its group, then SIGKILL."""
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    for sig, wait in ((signal.SIGTERM, TERM_TIMEOUT), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            return process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(0.0, seconds), 3)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
