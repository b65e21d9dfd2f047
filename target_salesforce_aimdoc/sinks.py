"""SalesforceSink: gathers a stream's records into batches and hands them to the pipeline."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import fastjsonschema
from singer_sdk.exceptions import ConfigValidationError, InvalidRecord
from singer_sdk.helpers._typing import get_datelike_property_type
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator

from target_salesforce_aimdoc.config_input import unsupported_settings


class CompiledValidator(BaseJSONSchemaValidator):
    """JSON Schema validation compiled to Python (an order of magnitude faster)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self._check = fastjsonschema.compile(schema, use_formats=False)

    def validate(self, record: dict[str, Any]) -> None:
        """Raise InvalidRecord naming the field when the record violates the schema."""
        try:
            self._check(record)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise InvalidRecord(exc.message, record) from exc


def shallow_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the item schemas of top-level arrays of objects relaxed."""
    properties = {}
    for name, prop in (schema.get("properties") or {}).items():
        items = prop.get("items") if isinstance(prop, dict) else None
        relaxed = isinstance(items, dict) and "object" in str(items.get("type"))
        properties[name] = {**prop, "items": {"type": ["object", "null"]}} if relaxed else prop
    return {**schema, "properties": properties}


FIRST_BATCH_ROWS = 200  # one sObject Collection: a trickle's batch
BATCH_BUDGET_BYTES = 52 * 1024 * 1024  # estimated memory the records of a batch may take
WRITE_CALL_ROWS = 1000  # one Composite call's five Collections of 200: a large batch's step
# A batched record's memory, measured (bench/target_memory.py, bench/run.py): about 5,000
# bytes, 4 times its JSON text, 600 bytes a top-level field (the parsed record, its mapped
# rows, payloads and answers, while one batch fills and the one before it is synced) and 100
# bytes a value nested in a list or object (a transcript's messages: parsed and rendered into
# one note, not mapped field by field). Measured on 10,000 contacts with their transcripts:
# about 21 KB a contact and 46 KB a transcript.
RECORD_BYTES, TEXT_FACTOR, FIELD_BYTES, NESTED_BYTES = 5000, 4, 600, 100
REJECTED = "__rejected_by_schema__"
IGNORED = "__stream_not_synced__"


def _leaves(value: Any) -> int:
    """Values nested in a list or object (0 for a scalar: it is a top-level field)."""
    if isinstance(value, dict):
        return sum(1 + _leaves(item) for item in value.values())
    if isinstance(value, list):
        return sum(1 + _leaves(item) for item in value)
    return 0


class BatchSizer:
    """How many records a stream's batch holds: adaptive, bounded by memory.

    Small while records trickle in, large in a backfill. A batch starts at ``first`` records
    (one sObject Collection: a webhook-triggered or one-minute run stays low-latency). When
    it is full while more input is already waiting (the reader's backlog) or the previous
    batch is still being synced, the input comes faster than it is synced: the batch grows
    instead of draining (to 1,000, then doubling: whole Composite calls of 1,000 writes), so a
    backfill gets a few large batches (fewer calls: matching, Composite and Bulk calls are per
    batch). When it fills with nothing waiting, it drains and the next batch starts small
    again. The ceiling is an estimate of memory: ``budget`` bytes of records (each sampled:
    ``RECORD_BYTES``, ``TEXT_FACTOR`` times its JSON size, ``FIELD_BYTES`` a top-level field,
    ``NESTED_BYTES`` a nested value), whatever their count; ``batch_size_rows``, when set,
    caps it too.
    """

    SAMPLE_EVERY = 16  # records between two size samples

    def __init__(self, cap: int | None, *, first: int = FIRST_BATCH_ROWS,
                 budget: int = BATCH_BUDGET_BYTES) -> None:
        self.cap = cap if cap and cap > 0 else None
        self.first = min(first, self.cap) if self.cap else first
        self.budget = budget
        self.limit = self.first
        self._sampled = self._sampled_bytes = self._json_bytes = 0
        self._seen = 0

    def observe(self, record: dict[str, Any]) -> None:
        """Sample the size of one record in ``SAMPLE_EVERY`` (see ``record_bytes``)."""
        self._seen += 1
        if self._seen % self.SAMPLE_EVERY == 1:
            text = json.dumps(record, default=str)
            self._sampled += 1
            self._json_bytes += len(text)
            self._sampled_bytes += (RECORD_BYTES + TEXT_FACTOR * len(text)
                                    + FIELD_BYTES * len(record)
                                    + NESTED_BYTES * sum(map(_leaves, record.values())))

    @property
    def record_bytes(self) -> float:
        """Estimated memory of a record while batched (4 KB before any sample)."""
        return self._sampled_bytes / self._sampled if self._sampled else 4096.0

    @property
    def json_bytes(self) -> float:
        """Mean size of a record's JSON text (1 KB before any sample)."""
        return self._json_bytes / self._sampled if self._sampled else 1024.0

    @property
    def ceiling(self) -> int:
        """The most records a batch may hold: the memory budget, and the user's cap."""
        rows = int(self.budget / max(self.record_bytes, 1.0))
        if rows >= WRITE_CALL_ROWS:
            rows -= rows % WRITE_CALL_ROWS  # whole write calls
        rows = max(self.first, rows)
        return min(rows, self.cap) if self.cap else rows

    def full(self, size: int, *, behind: bool) -> bool:
        """Whether a batch of ``size`` records drains now; grows the limit when ``behind``.

        ``behind``: more input waits, or the previous batch is still being synced.
        """
        if size < self.limit:
            return False
        if behind and self.limit < self.ceiling:
            grown = self.limit * 2 if self.limit >= WRITE_CALL_ROWS else WRITE_CALL_ROWS
            self.limit = min(grown, self.ceiling)
            return size >= self.limit
        if not behind:
            self.limit = self.first  # caught up: the next batch starts small again
        return True


class SalesforceSink(BatchSink):
    """One sink per incoming stream; no HTTP here, the pipeline does the Salesforce work."""

    def __init__(self, target: Any, stream_name: str, schema: dict, key_properties: Any) -> None:
        refused = unsupported_settings(target.config)
        if refused:  # before any record: flattened records would silently map to nothing
            raise ConfigValidationError("Config validation failed", errors=refused)
        self.sizer = BatchSizer(int(target.config.get("batch_size_rows") or 0) or None)
        self._datelike: tuple[dict, list[str]] | None = None  # schema -> its date-like fields
        super().__init__(target, stream_name, schema, key_properties)
        self.sync_target = target

    @property
    def max_size(self) -> int:
        """Records the current batch may hold (adaptive, see ``BatchSizer``)."""
        return self.sizer.limit

    @property
    def is_full(self) -> bool:
        """Whether the batch drains now; a backfill's batch grows instead (``BatchSizer``)."""
        return self.sizer.full(self.current_size, behind=self._behind())

    def _behind(self) -> bool:
        """Whether the input comes faster than it is synced (more waits, or still syncing)."""
        reader = getattr(self.sync_target.message_reader, "read_ahead", None)
        if reader is not None and reader.waiting >= self.sizer.json_bytes:
            return True  # about a record or more is read and waiting
        run = self.sync_target.__dict__.get("sync_run")
        return bool(run is not None and run.worker.busy)

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: Any) -> None:
        """The SDK's parsing of date-like fields, looking at those fields only.

        The SDK asks the schema about every field of every record; the date-like ones are
        found once per schema here. A record with a field its schema lacks goes the SDK's way
        (it warns about such fields).
        """
        properties = schema.get("properties") or {}
        if not record.keys() <= properties.keys():
            super()._parse_timestamps_in_record(record, schema, treatment)
            return
        if self._datelike is None or self._datelike[0] is not schema:
            self._datelike = (schema, [key for key, prop in properties.items()
                                       if get_datelike_property_type(prop)])
        part = {key: record[key] for key in self._datelike[1] if key in record}
        if part:
            super()._parse_timestamps_in_record(part, schema, treatment)
            record.update(part)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """A compiled validator of each record's own fields (fastjsonschema).

        Arrays of objects (a transcript's messages) are checked as arrays, not item by item.
        None with ``validate_records: false``: records then go to the mapping as they come.
        """
        if not self.validate_schema:
            return None
        return CompiledValidator(shallow_schema(self.schema))

    @cached_property
    def used(self) -> bool:
        """Whether the run syncs this stream at all (others are counted and dropped)."""
        return self.sync_target.sync_run.uses(self.stream_name)

    def _validate_and_parse(self, record: dict) -> dict:
        """A record that violates its schema goes to the dead letters; the rest goes on.

        The SDK ignores what this returns, so the record itself is marked (in place).
        """
        if not self.used:
            record[IGNORED] = True  # a stream the target does not sync: no validation cost
            return record
        try:
            return super()._validate_and_parse(record)
        except InvalidRecord as exc:
            cause = exc.__cause__
            path = list(getattr(cause, "path", None) or [])[1:]  # drop the leading "data"
            field = ".".join(str(part) for part in path) or None
            message = str(getattr(cause, "message", exc)).replace("data.", "", 1)
            run = self.sync_target.sync_run
            run.submit(run.reject, self.stream_name, dict(record), "INVALID_RECORD", message,
                       field)
            record[REJECTED] = True
            return record

    def process_record(self, record: dict, context: dict) -> None:
        """Batch the record unless its stream is not synced or its schema rejected it."""
        if record.get(IGNORED):
            self.sync_target.sync_run.ignore(self.stream_name)
        elif not record.get(REJECTED):
            self.sizer.observe(record)
            super().process_record(record, context)

    def _singer_validate_message(self, record: dict) -> None:
        """Key properties are checked only on records the target keeps.

        A record missing one is one bad record: a dead letter naming the property, and the
        run goes on (the SDK would abort the whole run, and every rerun, on it).
        """
        if record.get(IGNORED) or record.get(REJECTED):
            return
        missing = [name for name in self.key_properties or [] if record.get(name) in (None, "")]
        if missing:
            run = self.sync_target.sync_run
            run.submit(run.reject, self.stream_name, dict(record), "MISSING_KEY_PROPERTY",
                       f"the key property {missing[0]} is missing", missing[0])
            record[REJECTED] = True

    def process_batch(self, context: dict[str, Any]) -> None:
        """Sync the batch's records through the run's pipeline."""
        records = context.get("records", [])
        if not records:
            return
        run = self.sync_target.sync_run
        if run.notes is not None and self.stream_name == run.notes.stream:
            # A transcript is written after its contact's records exist: drain contacts first.
            self.sync_target.drain_stream(run.notes.contact_stream)
        # Mapped here while the worker syncs the previous batch; synced while reading goes on.
        run.submit(run.dispatch_batch, self.stream_name, records,
                   run.map_batch(self.stream_name, records))
