"""SalesforceSink: gathers a stream's records into batches and hands them to the pipeline."""

from __future__ import annotations

from typing import Any

from singer_sdk.sinks import BatchSink

from target_salesforce_aimdoc.salesforce import StopRun


class SalesforceSink(BatchSink):
    """One sink per incoming stream; no HTTP here, the pipeline does the Salesforce work."""

    max_size = 200

    def __init__(self, target: Any, stream_name: str, schema: dict, key_properties: Any) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.sync_target = target

    def process_batch(self, context: dict[str, Any]) -> None:
        """Sync the batch's records through the run's pipeline."""
        records = context.get("records", [])
        if not records:
            return
        run = self.sync_target.sync_run
        try:
            run.run_batch(self.stream_name, records)
        except StopRun as stop:
            # Write the report and dead letters of what was done, then stop: the SDK emits no
            # state for this drain, so the next run starts from the last committed state.
            self.logger.error("%s", stop)
            run.finish(stopped=str(stop))
            raise
