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

from target_salesforce_aimdoc import redaction
from target_salesforce_aimdoc.auth import SalesforceAuthError
from target_salesforce_aimdoc.config_input import MeltanoEnvConfig
from target_salesforce_aimdoc.links import STATE_KEY, LinkStore
from target_salesforce_aimdoc.messages import LineNumberedReader
from target_salesforce_aimdoc.pipeline import MaxErrorRateExceeded, SyncRun
from target_salesforce_aimdoc.salesforce import StopRun, describe_failure
from target_salesforce_aimdoc.settings import SETTINGS_PROPERTIES, ConfigError
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
                description=("A CA bundle to trust (a corporate proxy, or the local emulator); "
                             "HTTPS_PROXY and NO_PROXY are still honoured.")),
    th.Property("jwt_audience", th.StringType,
                description=("Audience of the JWT bearer assertion; default from login_url: "
                             "https://login.salesforce.com, https://test.salesforce.com for a "
                             "sandbox, else the login URL.")),
)


RUN_SETTINGS = th.PropertiesList(
    th.Property("dry_run", th.BooleanType, default=False,
                description="Read (describe, matching) but write nothing; report the plan."),
    th.Property("batch_size_rows", th.IntegerType,
                description=("Most records per batch (matching queries and writes happen per "
                             "batch). Unset (the default): adaptive, 200 while records trickle "
                             "in, growing while input waits (a backfill) up to an estimate of "
                             "memory (about 52 MB of records); a value caps it.")),
    th.Property("write_api", th.StringType(allowed_values=["auto", "rest", "bulk"]),
                default="auto",
                description=("How records are written: `auto` uses Bulk API 2.0 when a batch "
                             "holds `bulk_threshold` or more writes of one object (backfills), "
                             "Composite/Collections otherwise; "
                             "`rest` or `bulk` forces one.")),
    th.Property("bulk_threshold", th.IntegerType, default=2000,
                description="Writes of one object in a batch from which `auto` uses Bulk 2.0."),
    th.Property("max_concurrency", th.IntegerType, default=4,
                description=("Independent Salesforce calls of a batch (Composite groups) sent "
                             "at once; keep well under the org's concurrent-request limit.")),
    th.Property("link_state_max_records", th.IntegerType, default=50_000,
                description="Link records kept in Meltano state (the most recently synced)."),
    th.Property("dead_letter_path", th.StringType, default="output/salesforce/dead_letters.jsonl",
                description=("JSONL file of rejected records (a named pipeline's name is added: "
                             "dead_letters.<pipeline>.jsonl); retried at the start of each "
                             "run.")),
    th.Property("report_dir", th.StringType, default="output/salesforce",
                description=("Where run reports go: run-report-<time>.json/.html per run and "
                             "run-report.json/.html for the latest, in a folder per "
                             "pipeline.")),
    th.Property("max_error_rate", th.NumberType, default=0.1,
                description=("Largest share of the records a run tried to write to Salesforce "
                             "that may fail, overall and per stream; a stream whose every "
                             "write failed fails the run unless this is 1. Past it the target "
                             "exits non-zero after writing everything it could.")),
    th.Property("progress_interval_seconds", th.NumberType, default=5,
                description=("How often runs log progress (records, rate, API calls, ETA when "
                             "known), and once at the end.")),
    th.Property("pipeline_name", th.StringType,
                description=("Name of this pipeline: its dead letters, parked transcripts and "
                             "reports are kept apart. Default: MELTANO_STATE_ID, else Meltano's "
                             "state id (environment:tap-to-target[:suffix]), else none (paths "
                             "as configured).")),
    th.Property("sdk_metrics_log_level", th.StringType,
                description=("Level of the SDK's METRIC lines (default WARNING, keeping the "
                             "summary visible; INFO shows them). A SINGER_SDK_LOG_CONFIG config "
                             "is left as it is.")),
    th.Property("parked_max_days", th.NumberType, default=14,
                description="Days a transcript waits for its contact before it is given up."),
    th.Property("parked_max_records", th.IntegerType, default=10000,
                description=("Most transcripts waiting for their contact (the longest-waiting "
                             "go first).")),
    th.Property("report_keep_runs", th.IntegerType, default=30,
                description="Run reports kept per pipeline."),
    th.Property("report_max_outcomes", th.IntegerType, default=10000,
                description=("Outcomes listed in a report (every failure is listed; counts are "
                             "always complete).")),
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
    th.Property("http_timeout_seconds", th.NumberType,
                description=("Read timeout of every Salesforce call, in seconds (default 180 "
                             "between bytes; 15 s to connect). A call that times out after "
                             "it was sent is ambiguous: creates are resolved by matching "
                             "again, never re-sent blindly.")),
    th.Property("run_lock_wait_seconds", th.NumberType, default=3600,
                description=("How long a batch waits for another run writing to the same org "
                             "on this machine before the run stops (nothing written). Runs "
                             "against one org match and write one batch at a time.")),
    th.Property("describe_cache_minutes", th.NumberType, default=0,
                description=("Keep each object's describe this many minutes across runs "
                             "(saves the describe call, one Composite call for every object, "
                             "of frequent, webhook-triggered runs; 0: describe in every run "
                             "that writes).")),
    th.Property("describe_cache_dir", th.StringType,
                description="Folder of the describe cache (default: the system temp folder)."),
    th.Property("run_lock_dir", th.StringType,
                description=("Folder of the per-org lock files (default: the system temp "
                             "folder, or TARGET_SALESFORCE_AIMDOC_LOCK_DIR).")),
)


def _config_schema() -> dict[str, Any]:
    schema = AUTH_SETTINGS.to_dict()
    schema["properties"].update(RUN_SETTINGS.to_dict()["properties"])
    schema["properties"].update(SETTINGS_PROPERTIES)
    return schema


class TargetSalesforceAimdoc(MeltanoEnvConfig, Target):
    """Upserts Accounts, Contacts and Leads (and transcript notes) into Salesforce."""

    name = "target-salesforce-aimdoc"
    package_name = "aimdoc-salesforce-sync"
    config_jsonschema = _config_schema()
    default_sink_class = SalesforceSink
    message_reader_class = LineNumberedReader

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        redaction.protect(self.config)  # before anything can print a secret
        self.max_parallelism = 1  # objects are written in order; the org's API is the limit
        # Drain everything and emit state (with links) at least this often on long runs.
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("state_flush_minutes") or 1.0)

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Run the target; a failed login is one line on stderr and exit 1, no traceback."""
        try:
            super().invoke(*args, **kwargs)
        except SalesforceAuthError as problem:
            cls.logger.error("Salesforce login failed: %s", problem)
            sys.exit(1)
        except MaxErrorRateExceeded as problem:
            cls.logger.error("%s", problem)
            sys.exit(1)
        except (StopRun, ConfigError) as problem:
            cls.logger.error("%s", problem)
            sys.exit(1)
        except Exception as problem:  # one clear line; the traceback only at debug level
            cls.logger.debug("The run stopped", exc_info=True)
            cls.logger.error("The run stopped: %s. Salesforce holds what was written up to the "
                             "last saved state; run again to go on (set the log level to DEBUG "
                             "for the traceback).", describe_failure(problem))
            sys.exit(1)

    @cached_property
    def links(self) -> LinkStore:
        """Link records, read from the first STATE message and added to every one emitted."""
        return LinkStore(int(self.config.get("link_state_max_records") or 50_000))

    @cached_property
    def sync_run(self) -> SyncRun:
        """The run: logged in, described and checked, then last run's dead letters retried."""
        run = SyncRun(dict(self.config), self.links, lazy=True)
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
            # as the SDK writes it, streamed; secrets scrubbed
            self.links.write_state(state, redaction.ScrubbingWriter(out))

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
