"""SalesforceSink: gathers a stream's records into batches and hands them to the pipeline."""

from __future__ import annotations

from typing import Any

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink

from target_salesforce_aimdoc.salesforce import StopRun

REJECTED = "__rejected_by_schema__"


class SalesforceSink(BatchSink):
    """One sink per incoming stream; no HTTP here, the pipeline does the Salesforce work."""

    @property
    def max_size(self) -> int:
        """Records per batch: ``batch_size_rows`` (200 by default, one sObject Collection)."""
        return int(self.config.get("batch_size_rows") or 200)

    def __init__(self, target: Any, stream_name: str, schema: dict, key_properties: Any) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.sync_target = target

    def _validate_and_parse(self, record: dict) -> dict:
        """A record that violates its schema goes to the dead letters; the rest goes on."""
        try:
            return super()._validate_and_parse(record)
        except InvalidRecord as exc:
            cause = exc.__cause__
            field = ".".join(str(p) for p in getattr(cause, "absolute_path", [])) or None
            self.sync_target.sync_run.reject(self.stream_name, record, "INVALID_RECORD",
                                             getattr(cause, "message", str(exc)), field)
            return {**record, REJECTED: True}

    def process_record(self, record: dict, context: dict) -> None:
        """Batch the record unless its schema validation rejected it."""
        if not record.get(REJECTED):
            super().process_record(record, context)

    def process_batch(self, context: dict[str, Any]) -> None:
        """Sync the batch's records through the run's pipeline."""
        records = context.get("records", [])
        if not records:
            return
        run = self.sync_target.sync_run
        if run.notes is not None and self.stream_name == run.notes.stream:
            # A transcript is written after its contact's records exist: drain contacts first.
            self.sync_target.drain_stream(run.notes.contact_stream)
        try:
            run.run_batch(self.stream_name, records)
        except StopRun as stop:
            # Write the report and dead letters of what was done, then stop: the SDK emits no
            # state for this drain, so the next run starts from the last committed state.
            self.logger.error("%s", stop)
            run.finish(stopped=str(stop))
            raise
