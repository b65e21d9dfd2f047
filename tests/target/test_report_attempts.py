"""The error rate's per-record attempts: the latest attempt of each record counts, kept small."""

from __future__ import annotations

from target_salesforce_aimdoc import error_rate
from target_salesforce_aimdoc.report import Outcome, RunReport


def test_the_latest_attempt_of_each_record_counts_across_many_batches():
    report = RunReport()
    for batch in range(300):  # attempt numbers past what a small int holds
        report.begin_attempt()
        report.add(Outcome("contacts", f"c{batch}", "Lead", "created"), attempted=True)
        report.add(Outcome("contacts", "again", "Lead",
                           "failed" if batch % 2 else "updated"), attempted=True)
    report.begin_attempt()
    report.add(Outcome("contacts", "c7", "Lead", "created"), attempted=True)
    report.add(Outcome("contacts", "c7", "Contact", "failed"), attempted=True)  # same attempt
    report.add(Outcome("contacts", "c7", "Account", "updated"), attempted=True)
    report.retrying = True
    report.begin_attempt()
    report.add(Outcome("people", "p", "Lead", "failed"))
    overall, per_stream = error_rate.rates(report)
    assert (overall.failed, overall.attempted) == (2, 301)  # "again" last failed; c7 failed
    assert list(per_stream) == ["contacts"]  # a retried letter counts apart
    assert report.attempts.get(("contacts", "c7")) == (301, True, False)
    assert report.attempts.get(("people", "p")) == (302, True, True)
    assert (error_rate.retried(report).failed, error_rate.retried(report).attempted) == (1, 1)
    assert report.attempts.pop(("contacts", "c7")) == (301, True, False)
    assert report.attempts.get(("contacts", "c7")) is None and len(report.attempts) == 301
