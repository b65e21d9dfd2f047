"""Progress a person sees on any run longer than a few seconds, and quiet SDK metrics.

Every ``progress_interval_seconds`` (default 5) and once at the end, one line: records done,
the rate, Salesforce API calls and, when the total is known (a replay of dead letters), the
ETA. The SDK's ``METRIC`` lines (one per batch and stream: 1,564 on a 5,000-contact run) are
logged at WARNING by default so the run's summary stays visible; a ``SINGER_SDK_LOG_CONFIG``
logging config or the ``sdk_metrics_log_level`` setting (e.g. ``INFO``) keeps them.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

LOGGER = logging.getLogger("target_salesforce_aimdoc")
DEFAULT_INTERVAL = 5.0
SDK_METRICS_LOGGER = "singer_sdk.metrics"  # singer_sdk.metrics.METRICS_LOGGER_NAME


def quiet_sdk_metrics(config: Mapping[str, Any],
                      environ: Mapping[str, str] | None = None) -> str | None:
    """Set the SDK metrics logger's level (WARNING unless the user configured it); return it.

    singer-sdk 0.54 sets that logger to the plugin's log level (INFO) when the target starts,
    and ``SINGER_SDK_LOG_CONFIG`` (a logging dictConfig) may configure it: then it is left as
    the user set it (None is returned).
    """
    env = os.environ if environ is None else environ
    if env.get("SINGER_SDK_LOG_CONFIG") and not config.get("sdk_metrics_log_level"):
        return None
    level = str(config.get("sdk_metrics_log_level") or "WARNING").upper()
    logging.getLogger(SDK_METRICS_LOGGER).setLevel(level)
    return level


class Progress:
    """Logs progress at most every ``interval`` seconds, and at the end."""

    def __init__(self, interval: float | None, calls: Callable[[], int]) -> None:
        self.interval = DEFAULT_INTERVAL if interval is None else float(interval)
        self.calls = calls
        self.started = time.monotonic()
        self.last = self.started
        self.total: int | None = None  # records the run will see, when known
        self.lines = 0

    def expect(self, total: int) -> None:
        """The run will see ``total`` records (ETA from then on)."""
        self.total = total

    def tick(self, done: int, *, final: bool = False) -> str | None:
        """Log a line when the interval has passed (or ``final`` on a run over it); return it."""
        now = time.monotonic()
        if not final and now - self.last < self.interval:
            return None
        if final and now - self.started < self.interval and self.lines == 0:
            return None  # a short run: the summary says it all
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        line = (f"Progress: {done:,} records in {elapsed:.0f} s, {rate:,.0f} records/s, "
                f"{self.calls():,} Salesforce API calls")
        if self.total and not final and rate > 0 and done < self.total:
            line += f", about {(self.total - done) / rate:.0f} s left of {self.total:,}"
        if final:
            line += " (done)"
        self.lines += 1
        LOGGER.info("%s", line)
        return line
