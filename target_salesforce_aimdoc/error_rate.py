"""``max_error_rate``: the share of the records a run tried to write to Salesforce that failed.

Only records the run sent to Salesforce, or that our own checks refused, count: not records a
filtering rule skipped, not records of streams the config does not sync, not records unchanged
since their last sync, not transcripts waiting for their contact, and not dead letters of other
pipelines (they are never read). A dead letter retried at the start of the run and the same
row in the live stream count once, as the later attempt went. Dead letters retried on their
own are reported apart (``retried``): a record that failed in an earlier run failed that run
already, and does not fail every later one while it waits to be fixed at the source; the
replay command (``count_retried``) counts them, as retrying them is all it does.

The rate is checked overall and per stream; a stream whose every write failed fails the run
whatever the other streams did, unless ``max_error_rate`` is 1 (never fail).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_salesforce_aimdoc.report import RunReport


@dataclass(frozen=True)
class Rate:
    """Failed and attempted records, of a stream or of the whole run."""

    failed: int
    attempted: int

    @property
    def share(self) -> float:
        """Failed / attempted (0 when nothing was attempted)."""
        return self.failed / self.attempted if self.attempted else 0.0

    def text(self) -> str:
        """``3 of 6 records (50.0%)``."""
        return f"{self.failed} of {self.attempted} records ({self.share:.1%})"


def rates(report: RunReport) -> tuple[Rate, dict[str, Rate]]:
    """The run's rate and each stream's, over the records it tried to write."""
    attempted: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for (stream, _), (_, did_fail, retried) in report.attempts.items():
        if retried and not report.count_retried:
            continue
        attempted[stream] += 1
        failed[stream] += did_fail
    per_stream = {stream: Rate(failed[stream], attempted[stream]) for stream in sorted(attempted)}
    overall = Rate(sum(failed.values()), sum(attempted.values()))
    return overall, per_stream


def retried(report: RunReport) -> Rate:
    """Dead letters retried on their own (not replaced by a live row): how many still fail."""
    outcomes = [did_fail for _, did_fail, was_retry in report.attempts.values() if was_retry]
    return Rate(sum(outcomes), len(outcomes))


def problem(report: RunReport, limit: float | None) -> str | None:
    """One line saying why the run fails, or None when it passes."""
    overall, per_stream = rates(report)
    if limit is not None and limit >= 1:
        return None
    for stream, rate in per_stream.items():
        if rate.attempted and rate.failed == rate.attempted:
            return (f"stream {stream}: all {rate.attempted} records the run tried to write to "
                    "Salesforce failed; the run fails whatever the other streams did")
    if limit is None:
        return None
    for stream, rate in per_stream.items():
        if rate.share > limit and len(per_stream) > 1:
            return (f"stream {stream}: {rate.text()} failed, above max_error_rate "
                    f"{limit:.1%}")
    if overall.share > limit:
        return (f"{overall.share:.1%} of records failed ({overall.failed} of "
                f"{overall.attempted} the run tried to write), above max_error_rate {limit:.1%}")
    return None
