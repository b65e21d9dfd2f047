"""TargetSalesforceAimdoc: config schema, one sink per stream, the run's report at the end."""

from __future__ import annotations

import gc
import io
import sys
from contextlib import contextmanager
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any

from singer_sdk import Target
from singer_sdk import typing as th

from target_salesforce_aimdoc.links import STATE_KEY, LinkStore
from target_salesforce_aimdoc.messages import LineNumberedReader
from target_salesforce_aimdoc.pipeline import SyncRun
from target_salesforce_aimdoc.settings import SETTINGS_PROPERTIES
from target_salesforce_aimdoc.sinks import SalesforceSink

if TYPE_CHECKING:
    from collections.abc import Iterator


def fewer_gc_passes() -> None:
    """Run the cyclic garbage collector far less often over what a run holds.

    A run keeps batches of records, payloads and rendered notes alive while Salesforce
    answers, and every pass of the collector walked them again only to find them alive:
    3.3 of a 10,000-contact run's 16 CPU-seconds. What is there once the run is set up
    (settings, describes, the SDK) is left out of later passes, and a pass starts after
    50,000 new objects instead of 700. Batches are freed by reference counting as before;
    the collector still finds cycles, only less often (peak memory was unchanged).
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@contextmanager
def singer_stdout() -> Iterator[IO[str]]:
    """``sys.stdout`` to write Singer lines to, flushed after.

    Where it writes straight to the file (``python -u`` or ``PYTHONUNBUFFERED``), a buffered
    stream on the same file instead: a text stream on an unbuffered file drops what a write
    leaves unwritten (python/cpython#85393), as a pipe write cut short by a signal does.
    """
    stdout = sys.stdout
    stdout.flush()
    if not isinstance(getattr(stdout, "buffer", None), io.RawIOBase):
        yield stdout
        stdout.flush()
        return
    with open(stdout.fileno(), "w", encoding=stdout.encoding, errors=stdout.errors,
              closefd=False) as buffered:
        yield buffered

AUTH_SETTINGS = th.PropertiesList(
    th.Property(
        "auth_flow",
        th.StringType(allowed_values=[
            "client_credentials", "jwt", "refresh_token", "session", "password", "soap",
        ]),
        description=(
            "How to log in. Inferred from the credentials given when omitted: client_credentials "
            "(client_id + client_secret), jwt (client_id + username + private key), refresh_token, "
            "session (session_id + instance_url), password (legacy username-password OAuth) or "
            "soap (username + password + security token; legacy)."
        ),
    ),
    th.Property(
        "login_url", th.StringType, default="https://login.salesforce.com",
        description=(
            "Where logins go: https://login.salesforce.com, https://test.salesforce.com "
            "(sandbox), your My Domain URL (required for client credentials), or the emulator."
        ),
    ),
    th.Property("instance_url", th.StringType,
                description="The org's instance URL; taken from the login response when omitted."),
    th.Property("api_version", th.StringType, default="59.0",
                description="Salesforce REST API version."),
    th.Property("client_id", th.StringType, description="Consumer key of the External Client App."),
    th.Property("client_secret", th.StringType, secret=True,
                description="Consumer secret of the External Client App."),
    th.Property("username", th.StringType,
                description="Salesforce username (JWT, password, soap)."),
    th.Property("password", th.StringType, secret=True, description="Password (legacy flows)."),
    th.Property("security_token", th.StringType, secret=True,
                description="Security token appended to the password (legacy flows)."),
    th.Property("private_key", th.StringType, secret=True,
                description="PEM private key for the JWT bearer flow (inline)."),
    th.Property("private_key_file", th.StringType,
                description="Path of the PEM private key for the JWT bearer flow."),
    th.Property("refresh_token", th.StringType, secret=True,
                description="OAuth refresh token (refresh_token flow)."),
    th.Property("session_id", th.StringType, secret=True,
                description="An existing session id (session flow; with instance_url)."),
    th.Property("ca_file", th.StringType,
                description="A CA bundle to trust (a corporate proxy, or the local emulator)."),
)


RUN_SETTINGS = th.PropertiesList(
    th.Property("dry_run", th.BooleanType, default=False,
                description="Read (describe, matching) but write nothing; report the plan."),
    th.Property("batch_size_rows", th.IntegerType, default=200,
                description="Records per batch (matching queries and writes happen per batch)."),
    th.Property("write_api", th.StringType(allowed_values=["auto", "rest", "bulk"]),
                default="auto",
                description=("How records are written: `auto` uses Bulk API 2.0 when a batch "
                             "holds `bulk_threshold` or more writes of one object (backfills "
                             "with a large `batch_size_rows`), Composite/Collections otherwise; "
                             "`rest` or `bulk` forces one.")),
    th.Property("bulk_threshold", th.IntegerType, default=2000,
                description="Writes of one object in a batch from which `auto` uses Bulk 2.0."),
    th.Property("max_concurrency", th.IntegerType, default=4,
                description=("Independent Salesforce calls of a batch (Composite groups) sent "
                             "at once; keep well under the org's concurrent-request limit.")),
    th.Property("link_state_max_records", th.IntegerType, default=50_000,
                description="Link records kept in Meltano state (the most recently synced)."),
    th.Property("dead_letter_path", th.StringType, default="output/salesforce/dead_letters.jsonl",
                description="JSONL file of rejected records; retried at the start of each run."),
    th.Property("report_dir", th.StringType, default="output/salesforce",
                description="Where run-report.json and run-report.html are written."),
    th.Property("max_error_rate", th.NumberType, default=0.1,
                description=("Largest share of a run's records that may fail; past it the "
                             "target exits non-zero after writing everything it could.")),
    th.Property("progress_interval_seconds", th.NumberType, default=30,
                description="How often long runs log progress."),
    th.Property("state_flush_minutes", th.NumberType, default=1.0,
                description=("Drain all batches and emit state at least this often, so a "
                             "stopped or killed run resumes close to where it was.")),
    th.Property("max_api_share", th.NumberType,
                description=("Largest share (0-1) of the org's daily API allocation one run may "
                             "use; the run stops cleanly before crossing it.")),
    th.Property("notes", th.ObjectType(
        th.Property("enabled", th.BooleanType,
                    description="Write transcript notes (default true)."),
        th.Property("stream", th.StringType,
                    description="The stream carrying transcripts (default `transcripts`)."),
        th.Property("contact_stream", th.StringType,
                    description="The stream of the people notes attach to (default `contacts`)."),
        th.Property("contact_key", th.StringType,
                    description="The transcript field naming its contact (default `contact_id`)."),
        th.Property("attach_to", th.ArrayType(th.StringType(
            allowed_values=["Lead", "Contact", "Account"])),
            description="The synced records a note is attached to (default Lead and Contact)."),
        th.Property("kind", th.StringType(allowed_values=["content_note", "note"]),
                    description="Enhanced Note (ContentNote, default) or classic Note."),
        th.Property("budget", th.IntegerType,
                    description="Largest ContentNote size in bytes (default 100,000)."),
        th.Property("aimdoc_app_url", th.StringType,
                    description="Base URL of the Aimdoc app, for conversation links."),
    ), description="One transcript note per conversation, kept current in place."),
    th.Property("links_webhook_url", th.StringType,
                description=("POST each run's new or changed link records (Salesforce ids and "
                             "URLs per source record) as JSON here; retried, never failing "
                             "the sync.")),
    th.Property("links_webhook_token", th.StringType, secret=True,
                description="Sent as `Authorization: Bearer <token>` to the links webhook."),
    th.Property("max_tries", th.IntegerType, default=6,
                description="Tries per Salesforce call on transient failures (503, row locks)."),
    th.Property("max_retry_seconds", th.NumberType, default=300,
                description="Longest total time spent retrying one call."),
)


def _config_schema() -> dict[str, Any]:
    schema = AUTH_SETTINGS.to_dict()
    schema["properties"].update(RUN_SETTINGS.to_dict()["properties"])
    schema["properties"].update(SETTINGS_PROPERTIES)
    return schema


class TargetSalesforceAimdoc(Target):
    """Upserts Accounts, Contacts and Leads (and transcript notes) into Salesforce."""

    name = "target-salesforce-aimdoc"
    package_name = "aimdoc-salesforce-sync"
    config_jsonschema = _config_schema()
    default_sink_class = SalesforceSink
    message_reader_class = LineNumberedReader

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_parallelism = 1  # objects are written in order; the org's API is the limit
        # Drain everything and emit state (with links) at least this often on long runs.
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("state_flush_minutes") or 1.0)

    @cached_property
    def links(self) -> LinkStore:
        """Link records, read from the first STATE message and added to every one emitted."""
        return LinkStore(int(self.config.get("link_state_max_records") or 50_000))

    @cached_property
    def sync_run(self) -> SyncRun:
        """The run: logged in, described and checked, then last run's dead letters retried."""
        run = SyncRun(dict(self.config), self.links)
        fewer_gc_passes()
        run.retry_dead_letters()
        return run

    def _process_state_message(self, message_dict: dict) -> None:
        """Read link records from the first state (the tap passes them through)."""
        self.links.load(message_dict.get("value") or {})
        super()._process_state_message(message_dict)

    def _write_state_message(self, state: dict) -> None:
        """Emit the tap's state with the link records added (nothing on a dry run).

        Only once every batch handed over is synced, so state never gets ahead of writes.
        """
        if "sync_run" in self.__dict__:
            self.sync_run.flush()
        if self.config.get("dry_run"):
            self.logger.info("Dry run: no state emitted, so the next real run sees the same input")
            return
        with singer_stdout() as out:
            self.links.write_state(state, out)  # as the SDK writes it, streamed

    def add_sink(self, stream_name: str, schema: dict, key_properties: Any = None) -> Any:
        """Start the run (login, describe, checks) with the first stream, before any record."""
        _ = self.sync_run
        return super().add_sink(stream_name, schema, key_properties)

    def drain_stream(self, stream_name: str) -> None:
        """Write a stream's pending batch now (used to write contacts before their notes)."""
        if self.sink_exists(stream_name):
            self.drain_one(self.get_sink(stream_name))

    def process_endofpipe(self) -> None:
        """Sync what is left, then emit state (with the links) and log the run's summary."""
        if "sync_run" in self.__dict__:
            for sink in [*self._sinks_to_clear, *self._sinks_active.values()]:
                self.drain_one(sink)
            self.sync_run.flush()
        if not self._latest_state and self.links.changed:
            self._latest_state = {STATE_KEY: {}}  # emit the links when the tap sent no state
        super().process_endofpipe()
        if "sync_run" in self.__dict__:
            self.sync_run.flush()
            self.sync_run.finish()


if __name__ == "__main__":
    TargetSalesforceAimdoc.cli()
