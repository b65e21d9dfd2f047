"""Adaptive batch sizes at default settings (issue 23, item 1).

Small batches while records trickle in, large ones in a backfill, bounded by an estimate of
memory; ``batch_size_rows`` caps them when set. The runs drive the real target against the
Salesforce emulator; the batch sizes are read from the SDK's "sink is full" log lines.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator

from target_salesforce_aimdoc.sinks import (
    BATCH_BUDGET_BYTES,
    FIELD_BYTES,
    NESTED_BYTES,
    RECORD_BYTES,
    TEXT_FACTOR,
    BatchSizer,
)
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc
from tests.target.singer import contact, messages, run_target, target_config

FULL = re.compile(r"Target sink for 'contacts' is full\. Current size is '(\d+)'")


def people(count: int, domain: str) -> list[dict]:
    """``count`` contacts at company domains of their own (new Leads)."""
    return [contact(f"{domain}-{n}", f"p{n}@{domain}{n % 40}.example", company=f"Co {n % 40}")
            for n in range(count)]


def drained_sizes(caplog) -> list[int]:
    """Sizes of the batches drained because they were full."""
    return [int(m.group(1)) for record in caplog.records
            if (m := FULL.search(record.getMessage()))]


def test_a_backfill_at_default_settings_gets_large_batches(salesforce_emulator, caplog):
    """2,400 new Leads at default settings: fewer calls than batches of 200 need to write."""
    before = salesforce_emulator.stats()["api_calls"]
    with caplog.at_level(logging.INFO):
        run_target(target_config(salesforce_emulator), messages(people(2400, "backfill")))
    calls = salesforce_emulator.stats()["api_calls"] - before
    sizes = drained_sizes(caplog)
    assert not sizes or max(sizes) > 200  # grew past a trickle's batch
    assert calls < 2400 // 200  # 12 batches of 200 would take 12 write calls, 12 matchings
    assert len(salesforce_emulator.backend.all_records("Lead")) == 2400


def test_batch_size_rows_caps_the_adaptive_batches(salesforce_emulator, caplog):
    with caplog.at_level(logging.INFO):
        run_target(target_config(salesforce_emulator, batch_size_rows=300),
                   messages(people(1500, "capped")))
    sizes = drained_sizes(caplog)
    assert sizes and max(sizes) == 300


class Trickle:
    """Singer lines given out as an iterator; after ``pause_after`` records it waits until
    ``resume`` is set (or 30 s), as a tap that has nothing more yet."""

    def __init__(self, text: str, pause_after: int) -> None:
        self.lines = text.splitlines(keepends=True)
        self.pause_after = pause_after
        self.resume = threading.Event()
        self.waited = 0.0

    def __iter__(self) -> Iterator[str]:
        records = 0
        for line in self.lines:
            yield line
            if '"type": "RECORD"' in line:
                records += 1
                if records == self.pause_after:
                    started = time.monotonic()
                    self.resume.wait(timeout=30)
                    self.waited = time.monotonic() - started


def test_a_trickle_is_written_without_waiting_for_more_input(salesforce_emulator):
    """200 records, then nothing for a while: those 200 are written at once."""
    source = Trickle(messages(people(260, "trickle")), pause_after=200)

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(salesforce_emulator.backend.all_records("Lead")) >= 200:
                source.resume.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    target = TargetSalesforceAimdoc(config=target_config(salesforce_emulator))
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(source)
    watcher.join()
    assert source.resume.is_set() and source.waited < 20
    assert len(salesforce_emulator.backend.all_records("Lead")) == 260


def test_the_sizer_grows_when_behind_and_starts_small_when_caught_up():
    sizer = BatchSizer(None)
    assert [sizer.full(size, behind=False) for size in (199, 200)] == [False, True]
    assert sizer.limit == 200
    assert sizer.full(200, behind=True) is False and sizer.limit == 1000
    assert sizer.full(1000, behind=True) is False and sizer.limit == 2000
    assert sizer.full(2000, behind=False) is True and sizer.limit == 200


def test_the_ceiling_is_memory_not_a_count():
    small, large = BatchSizer(None), BatchSizer(None)
    for n in range(64):
        small.observe({"id": n, "email": "p@x.io"})
        large.observe({"id": n, "body": "x" * 20_000})
    assert small.ceiling > 5_000  # tiny records: many per batch
    assert small.ceiling % 1000 == 0  # whole write calls
    assert large.ceiling == int(BATCH_BUDGET_BYTES / large.record_bytes) < 1000
    assert large.ceiling < small.ceiling / 10
    size = 200
    while not large.full(size, behind=True):
        size = large.limit
    assert size == large.ceiling  # grown to the memory bound, and no further
    assert BatchSizer(1000).ceiling == 1000 and BatchSizer(50).first == 50


def test_records_are_sampled_by_their_size_and_fields():
    sizer = BatchSizer(None)
    record = {"id": "c1", "note": "é" * 10}
    sizer.observe(record)
    text = json.dumps(record)
    assert sizer.json_bytes == len(text)
    assert sizer.record_bytes == RECORD_BYTES + TEXT_FACTOR * len(text) + 2 * FIELD_BYTES


def test_commas_in_text_are_not_fields_and_nested_values_are_counted_lightly():
    """A transcript's prose has commas; its messages are rendered into one note, not mapped."""
    sizer = BatchSizer(None)
    record = {"id": "t1", "messages": [{"role": "visitor", "text": "yes, no, maybe, so, " * 50}
                                       for _ in range(3)]}
    sizer.observe(record)
    text = json.dumps(record)
    assert sizer.record_bytes == (RECORD_BYTES + TEXT_FACTOR * len(text) + 2 * FIELD_BYTES
                                  + 9 * NESTED_BYTES)  # 3 messages + their 6 values


def test_date_like_fields_are_parsed_as_the_sdk_parses_them(salesforce_emulator):
    """Only the schema's date-like fields are looked at, with the SDK's own result."""
    import datetime as dt

    from singer_sdk.sinks import BatchSink

    target = TargetSalesforceAimdoc(config=target_config(salesforce_emulator))
    schema = {"type": "object", "properties": {
        "id": {"type": "string"}, "updated_at": {"type": "string", "format": "date-time"},
        "born": {"type": ["string", "null"], "format": "date"},
        "note": {"type": "string"}}}
    sink = target.get_sink("contacts", schema=schema, key_properties=["id"])
    record = {"id": "d1", "updated_at": "2026-11-20T10:00:00Z", "born": "1990-02-03",
              "note": "2026-11-20T10:00:00Z"}
    ours, theirs = dict(record), dict(record)
    sink._parse_timestamps_in_record(ours, sink.schema, sink.datetime_error_treatment)
    BatchSink._parse_timestamps_in_record(sink, theirs, sink.schema,
                                          sink.datetime_error_treatment)
    assert ours == theirs
    assert isinstance(ours["updated_at"], dt.datetime) and ours["note"] == record["note"]
