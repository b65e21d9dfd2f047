"""SalesforceSink: gathers a stream's records into batches and hands them to the pipeline."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import fastjsonschema
from singer_sdk.exceptions import ConfigValidationError, InvalidRecord
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


REJECTED = "__rejected_by_schema__"
IGNORED = "__stream_not_synced__"


class SalesforceSink(BatchSink):
    """One sink per incoming stream; no HTTP here, the pipeline does the Salesforce work."""

    @property
    def max_size(self) -> int:
        """Records per batch: ``batch_size_rows`` (200 by default, one sObject Collection)."""
        return int(self.config.get("batch_size_rows") or 200)

    def __init__(self, target: Any, stream_name: str, schema: dict, key_properties: Any) -> None:
        refused = unsupported_settings(target.config)
        if refused:  # before any record: flattened records would silently map to nothing
            raise ConfigValidationError("Config validation failed", errors=refused)
        super().__init__(target, stream_name, schema, key_properties)
        self.sync_target = target

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
