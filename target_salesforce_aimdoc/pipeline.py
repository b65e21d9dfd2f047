"""SyncRun.run_batch: the data path of a batch, one line per step.

records -> filters -> mapping -> matching -> plan (Account -> Contact -> Lead) -> writes
-> links, outcomes and dead letters
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc import error_rate, links_webhook, report_files, run_files
from target_salesforce_aimdoc.connection import OrgConnection
from target_salesforce_aimdoc.deadletters import DeadLetters
from target_salesforce_aimdoc.duplicates import settle as settle_duplicates
from target_salesforce_aimdoc.expressions import ExpressionError, captured_value
from target_salesforce_aimdoc.filters import skip_reason
from target_salesforce_aimdoc.fresh_records import FreshRecords
from target_salesforce_aimdoc.letters_phase import LettersPhase
from target_salesforce_aimdoc.links import Link, LinkStore
from target_salesforce_aimdoc.mapping import map_record, source_identity
from target_salesforce_aimdoc.matching import Matcher, Matches
from target_salesforce_aimdoc.notes import NoteSettings, compact_qualification, reattach_notes
from target_salesforce_aimdoc.notes_phase import AMBIGUOUS_TRIES, NotesPhase
from target_salesforce_aimdoc.parked import ParkedNotes
from target_salesforce_aimdoc.plan import Planner, Step
from target_salesforce_aimdoc.progress import Progress, quiet_sdk_metrics
from target_salesforce_aimdoc.report import Outcome, RunReport
from target_salesforce_aimdoc.salesforce import AmbiguousWrite, StopRun
from target_salesforce_aimdoc.settings import OBJECT_ORDER, load_sync_settings
from target_salesforce_aimdoc.variants import by_variant, skip_notes
from target_salesforce_aimdoc.variants import choose as choose_variant
from target_salesforce_aimdoc.worker import ParallelLane, SerialWorker
from target_salesforce_aimdoc.writes import apply_steps

if TYPE_CHECKING:
    from collections.abc import Callable

    from target_salesforce_aimdoc.filters import Skip
    from target_salesforce_aimdoc.mapping import MappedRecord
    from target_salesforce_aimdoc.settings import StreamConfig

LOGGER = logging.getLogger("target_salesforce_aimdoc")
DEFAULT_OUTPUT = "output/salesforce"


@dataclass
class MappedRows:
    """A batch's records through the filtering rules and the mapping (pure, any thread)."""

    stream: StreamConfig
    rows: list[tuple[dict[str, Any], Skip | None, MappedRecord | None]]
    unchanged: list[tuple[str, Link]] = field(default_factory=list)  # key, link


class MaxErrorRateExceeded(RuntimeError):
    """More records failed than ``max_error_rate`` allows (raised after every write)."""


class SyncRun(NotesPhase, LettersPhase):
    """One run of the target: settings, the Salesforce connection, describes, the report."""

    def __init__(self, config: dict[str, Any], links: LinkStore | None = None, *,
                 lazy: bool = False) -> None:
        """Validate config; log in, describe and check the mapping before any write.

        ``lazy``: connect only when the first record needs Salesforce (an idle run makes no
        call); otherwise at once.
        """
        self.started = time.monotonic()
        self.started_at = dt.datetime.now(dt.UTC)
        self.config = config
        self.settings = load_sync_settings(config)
        self.dry_run = bool(config.get("dry_run", False))
        self.batch_size = int(config.get("batch_size_rows") or 200)
        write_api = config.get("write_api") or "auto"
        self.bulk_threshold = {"rest": None, "bulk": 1}.get(
            write_api, int(config.get("bulk_threshold") or 2000))
        self.links = links or LinkStore()
        self.connection = OrgConnection(config, self.settings, self.links,
                                        self._objects_needed(), dry_run=self.dry_run)
        self.client = self.connection.client
        self.describes = self.connection.describes
        self.matcher = Matcher(self.client, self.settings, self.describes,
                               self.connection.external_ids)
        self.report = RunReport(max_outcomes=int(config.get("report_max_outcomes") or 10_000))
        if not lazy:
            self.connection.ensure()
        self.pipeline = run_files.pipeline_name(config)  # its own letters, parked notes, reports
        letters = run_files.dead_letter_path(config, self.pipeline)
        self.dead_letters = DeadLetters(letters, durable=not self.dry_run)
        self.parked = ParkedNotes(run_files.parked_path(letters), durable=not self.dry_run,
                                  max_records=int(config.get("parked_max_records") or 10_000),
                                  max_age_days=float(config.get("parked_max_days") or 14))
        self._filtered_contacts: dict[str, str] = {}  # contact key -> the rule that skipped it
        self._letter_times: dict[tuple[str, str], Any] = {}  # retried letter -> its updated_at
        self.notes = NoteSettings.from_config(config)
        self.fresh = FreshRecords(enabled=self.notes is not None)  # records made by this run
        # Conversation key -> its contact's key, of transcripts waiting on disk for the contact.
        self.pending_notes: dict[str, str] = {}
        self.virtual: dict[str, dict[str, dict[str, Any]]] = {}  # dry run: planned creates
        self._fake_ids = itertools.count(1)
        self._warned_streams: set[str] = set()
        self._progress_meter = Progress(config.get("progress_interval_seconds"),
                                        lambda: self.client.usage.calls)
        quiet_sdk_metrics(config)
        self.worker = SerialWorker(depth=1)  # one batch waits while one is synced
        self.notes_lane = ParallelLane(2 if self.client.max_concurrency > 1 else 1)
        self.ignored: Counter[str] = Counter()  # records of unsynced streams (reader thread)
        self.stopped: str | None = None

    # ---------------------------------------------------------------- handing over
    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        """Run ``call(*args)`` on the worker, after what was submitted before.

        A batch is synced there while the next one is read; a StopRun from an earlier
        batch writes the report and is raised here.
        """
        self._stopping(self.worker.submit, call, *args)

    def flush(self) -> None:
        """Wait until everything submitted is synced (before state is emitted)."""
        self._stopping(self.worker.submit, self._drain_notes)
        self._stopping(self.worker.flush)

    def _stopping(self, call: Callable[..., Any], *args: Any) -> None:
        try:
            call(*args)
        except StopRun as stop:
            # Report and dead letters of what was done; the SDK emits no state for this
            # drain, so the next run starts from the last committed state.
            if self.stopped is None:
                self.stopped = str(stop)
                LOGGER.error("%s", stop)
                self.finish(stopped=str(stop))
            raise

    def _objects_needed(self) -> list[str]:
        objects = set(self.settings.sobjects)
        if objects & {"Lead", "Contact"}:
            objects |= {"Lead", "Contact"}  # converted Leads and existing Contacts
        return [name for name in ("Account", "Contact", "Lead") if name in objects]

    # ---------------------------------------------------------------- batches
    def map_batch(self, stream_name: str, records: list[dict[str, Any]]) -> MappedRows | None:
        """Filter and map a batch (no shared state: done while the previous one is synced).

        None for the notes stream and for streams the config does not sync.
        """
        stream = self.settings.stream(stream_name)
        if stream is None or (self.notes is not None and stream_name == self.notes.stream):
            return None
        rows: list[tuple[dict[str, Any], Skip | None, MappedRecord | None]] = []
        unchanged: list[tuple[str, Link]] = []
        objects = {config.variant: [obj.sobject for obj in config.enabled_objects]
                   for config in stream.configs}
        for record in records:
            config = choose_variant(stream, record, self.settings)  # per-agent config
            wanted = objects[config.variant]
            skip = skip_reason(record, config, self.settings)
            if skip is None:
                key, updated_at = source_identity(record, config, self.settings)
                link = key and self.links.unchanged(stream.name, key, updated_at, wanted)
                if link and not (self.connection.ready or self.links.trusted_before_login()):
                    self.connection.ensure()  # links of another config: check the org first
                    link = self.links.unchanged(stream.name, key, updated_at, wanted)
                if link:  # synced before, not changed since: no mapping, no call
                    unchanged.append((key, link))
                    continue
                if key:  # a record with no key or a bad e-mail fails before any describe
                    self.connection.ensure()
            mapped = None if skip else map_record(record, config, self.settings, self.describes)
            rows.append((record, skip, mapped))
        return MappedRows(stream, rows, unchanged)

    def run_batch(self, stream_name: str, records: list[dict[str, Any]],
                  mapped: MappedRows | None = None) -> list[Step]:
        """Sync one batch of a stream's records; returns the steps (for tests and reports).

        ``mapped`` is the batch through ``map_batch`` when that was done already.
        """
        if self.notes is not None and stream_name == self.notes.stream:
            self.run_notes(skip_notes(records, self.settings, self.notes, self.report))
            return []
        stream = self.settings.stream(stream_name)
        if stream is None:
            self._warn_unconfigured(stream_name, len(records))
            return []
        first_outcome = len(self.report.outcomes)
        batch: list[MappedRecord] = []
        steps: list[Step] = []
        # Records of each per-agent config (variant) are matched and written with it; a
        # batch of one config is one group, as many calls as without variants.
        for config, rows in by_variant(stream, self._mapped(
                mapped or self.map_batch(stream_name, records))):
            objects = {obj.sobject for obj in config.enabled_objects}
            group = self._skip_unchanged(rows, objects)
            batch += group
            for attempt in range(1, AMBIGUOUS_TRIES + 1):
                try:
                    with self.connection.exclusive() as generation:
                        self.fresh.held(generation)
                        written = self._match_plan_write(config, group, objects)
                        self.fresh.add_steps(written, generation)
                        steps += written
                    break
                except AmbiguousWrite as exc:
                    if attempt == AMBIGUOUS_TRIES:
                        raise
                    LOGGER.warning("%s; matching the batch again so nothing is created twice",
                                   exc)
        self._remember(steps, batch, records)
        for step in steps:
            self.report.add_step(step)
        self._dead_letters(stream, records, batch, first_outcome)
        self._progress()
        return steps

    def _match_plan_write(self, stream: StreamConfig, batch: list[MappedRecord],
                          objects: set[str]) -> list[Step]:
        """Match, then plan and write Accounts, Contacts and Leads in that order.

        ``stream`` is the config (the stream's or an agent's variant) the batch was mapped with.
        """
        matches = self._overlay(self.matcher.find(batch, objects, self._linked(batch),
                                                  self.settings.match_field(stream)))
        planner = Planner(stream, self.settings, self.describes, self.links,
                          user_id=self.client.user_id,
                          external_ids=self.connection.external_ids)
        accounts = self._write(planner.accounts(batch, matches), planner)
        account_ids = self._account_ids(accounts, matches)
        contacts = self._write(planner.contacts(batch, matches, account_ids), planner)
        leads = self._write(planner.leads(batch, matches), planner)
        return accounts + contacts + leads

    def _linked(self, batch: list[MappedRecord]) -> dict[str, dict[str, str]]:
        """Email -> the Lead and Contact ids the batch's records were synced to before."""
        linked: dict[str, dict[str, str]] = {}
        for mapped in batch:
            link = self.links.get(mapped.stream, mapped.key)
            if link is not None and mapped.email:
                ids = {name: link.ids[name] for name in ("Lead", "Contact")
                       if link.ids.get(name)}
                if ids:
                    linked.setdefault(mapped.email, {}).update(ids)
        return linked

    def _mapped(self, rows: MappedRows | None) -> list[MappedRecord]:
        """The mapped records worth writing; skips, warnings and issues go to the report.

        A new attempt for the error rate; each record's person (name, email) is noted for the
        report; contacts a filtering rule skipped are remembered (their transcripts are skips).
        """
        assert rows is not None
        stream, batch = rows.stream, []
        self.report.begin_attempt()
        contacts = self.notes is not None and stream.name == self.notes.contact_stream
        enabled = {obj.sobject for config in stream.configs for obj in config.enabled_objects}
        for key, link in rows.unchanged:
            self.report.records_seen[stream.name] += 1
            for name in OBJECT_ORDER:  # the objects of any of the stream's per-agent configs
                if name in enabled and link.ids.get(name):  # "" marks an object not fed
                    self.report.add(Outcome(stream.name, key, name, "unchanged",
                                            link.ids[name],
                                            "not changed since the last sync"))
        for record, skip, mapped in rows.rows:
            self.report.records_seen[stream.name] += 1
            if skip is not None:  # filtered out: only its key is needed, not a mapping
                key = self._key(stream, record)
                self.report.add_skip(stream.name, key, skip.rule)
                self.report.person_of(stream.name, key, record)
                if contacts:
                    self._filtered_contacts[key] = skip.rule
                continue
            assert mapped is not None
            self.report.person_of(stream.name, mapped.key, record, mapped)
            for warning in mapped.warnings:
                LOGGER.warning(warning)
            for issue in mapped.issues:
                self.report.add_issue(mapped, issue)
            if mapped.ok and mapped.payloads:
                batch.append(mapped)
        return batch

    @staticmethod
    def _key(stream: StreamConfig, record: dict[str, Any]) -> str:
        with contextlib.suppress(ExpressionError):
            return str(stream.key.evaluate(record))
        return "?"

    def _skip_unchanged(self, batch: list[MappedRecord], objects: set[str]) -> list[MappedRecord]:
        """Records synced before and not changed since: no query, no write."""
        kept = []
        for mapped in batch:
            wanted = [name for name in objects if name in mapped.payloads]
            link = self.links.unchanged(mapped.stream, mapped.key, mapped.updated_at, wanted)
            if link is None:
                kept.append(mapped)
                continue
            for name in wanted:
                self.report.add(Outcome(mapped.stream, mapped.key, name, "unchanged",
                                        link.ids.get(name) or None,
                                        "not changed since the last sync"))
        return kept

    def _write(self, steps: list[Step], planner: Planner) -> list[Step]:
        if self.dry_run:
            self._plan_only(steps)
        else:
            rules = self.settings.org_rules
            apply_steps(self.client, steps, self.bulk_threshold, rules)
            settle_duplicates(self.client, steps, planner, self.matcher, rules)
        return steps

    def _plan_only(self, steps: list[Step]) -> None:
        """Dry run: planned creates get a placeholder id and stand in for later batches.

        So the plan counts exactly what the real run will do.
        """
        for step in steps:
            if step.action == "create":
                step.record_id = f"DRYRUN{step.sobject}{next(self._fake_ids):09d}"
            if step.action in {"create", "update"} and step.record_id:
                row = self.virtual.setdefault(step.sobject, {}).get(step.match_key, {})
                row = {**row, **step.fields, "Id": step.record_id,
                       "LastModifiedDate": dt.datetime.now(dt.UTC).isoformat()}
                self.virtual[step.sobject][step.match_key] = row

    def _overlay(self, matches: Matches) -> Matches:
        """Dry run: planned records stand in for the ones the real run would have created."""
        for sobject, rows in self.virtual.items():
            target = {"Lead": matches.leads, "Contact": matches.contacts,
                      "Account": matches.accounts}[sobject]
            for key, row in rows.items():
                found = target.setdefault(key, [])
                if not any(r["Id"] == row["Id"] for r in found):
                    found.append(row)
                    if sobject == "Contact":
                        matches.contacts_by_id[row["Id"]] = row
        return matches

    @staticmethod
    def _account_ids(steps: list[Step], matches: Matches) -> dict[str, str]:
        ids = {domain: rows[0]["Id"] for domain, rows in matches.accounts.items() if rows}
        ids.update({step.match_key: step.record_id for step in steps if step.record_id})
        return ids

    def _remember(self, steps: list[Step], batch: list[MappedRecord],
                  records: list[dict[str, Any]]) -> None:
        """Keep link records for every source record now tied to a Salesforce record.

        A contact's link also keeps its qualification answers, which its notes show.
        """
        times = {(m.stream, m.key): m.updated_at for m in batch}
        answers = {str(r.get("id")): compact_qualification(captured_value(r, "qualification"))
                   for r in records if captured_value(r, "qualification")}
        for step in steps:
            if step.action == "fail" or (step.record_id is None and step.action != "skip"):
                continue
            # A deliberate skip (e.g. a Lead for a known Contact) is remembered with no id.
            for stream, key in step.sources:
                meta = {"q": answers[key]} if key in answers else {}
                self.links.record(stream, key, step.sobject, step.record_id or "",
                                  times.get((stream, key)), **meta)
        self._remember_absent(batch, steps)

    def _remember_absent(self, batch: list[MappedRecord], steps: list[Step]) -> None:
        """Remember, with no id, each enabled object a synced record does not feed.

        (No company domain, no Account.) So the unchanged record costs nothing next run.
        """
        synced = {source for step in steps if step.action != "fail" for source in step.sources}
        for mapped in batch:
            source = (mapped.stream, mapped.key)
            if source not in synced:
                continue
            stream = self.settings.stream(mapped.stream)
            config = stream.config_named(mapped.variant) if stream else None  # its agent's
            for obj in config.enabled_objects if config else []:
                if obj.sobject not in mapped.payloads:
                    self.links.record(mapped.stream, mapped.key, obj.sobject, "",
                                      mapped.updated_at)

    def dispatch_batch(self, stream_name: str, records: list[dict[str, Any]],
                       mapped: MappedRows | None = None) -> None:
        """``run_batch`` on the worker thread; a notes batch goes to the notes lane.

        Notes of different conversations need no order, so a few batches of them are
        rendered and written at once; their outcomes are committed here, on this thread.
        """
        if self.notes is None or stream_name != self.notes.stream:
            self.run_batch(stream_name, records, mapped)
            return
        prepared = self._prepare_notes(skip_notes(records, self.settings, self.notes,
                                                  self.report))  # per-agent notes rules
        for result in self.notes_lane.submit(set(prepared.transcripts), self._write_notes,
                                             prepared):
            self._commit_notes(result, park=True)

    def uses(self, stream_name: str) -> bool:
        """Whether a stream feeds Salesforce (a configured stream or the notes stream)."""
        notes = self.notes.stream if self.notes is not None else None
        return self.settings.stream(stream_name) is not None or stream_name == notes

    def ignore(self, stream_name: str) -> None:
        """Count a record of a stream the target does not sync (on the reader's thread)."""
        self._warn_once(stream_name)
        self.ignored[stream_name] += 1

    def _warn_unconfigured(self, stream_name: str, count: int) -> None:
        self._warn_once(stream_name)
        self.report.records_seen[stream_name] += count

    def _warn_once(self, stream_name: str) -> None:
        if stream_name not in self._warned_streams:
            self._warned_streams.add(stream_name)
            LOGGER.warning("Stream %r is not in the `streams` setting; its records are ignored",
                           stream_name)

    def _progress(self, *, final: bool = False) -> None:
        """A progress line every ``progress_interval_seconds`` (``progress``), and at the end."""
        self._progress_meter.tick(sum(self.report.records_seen.values()), final=final)

    # ---------------------------------------------------------------- the end
    def error_rate(self) -> float:
        """Share of the records the run tried to write to Salesforce that failed."""
        return error_rate.rates(self.report)[0].share

    def finish(self, stopped: str | None = None) -> dict[str, Any]:
        """Write dead letters, parked notes and the report, log the summary.

        Raise past max_error_rate (overall, per stream, or a stream whose every write failed).
        """
        self.report.records_seen.update(self.ignored)
        self.ignored.clear()
        if stopped is None:
            self._settle_pending_notes()
            if self.notes is not None:  # notes of records made again (a deleted Lead)
                reattach_notes(self.client, self.notes, self.links, dry_run=self.dry_run)
        self._retire_stale_letters()
        if not self.dry_run:
            self.dead_letters.write()
            self.parked.write()
        overall, per_stream = error_rate.rates(self.report)
        data = report_files.build(
            self.report, self.client.usage, self.links,
            mode="dry_run" if self.dry_run else "applied", started_at=self.started_at,
            duration=time.monotonic() - self.started)
        data["stopped"] = stopped
        data["pipeline"] = self.pipeline
        again = error_rate.retried(self.report)
        data["error_rate"] = {"failed": overall.failed, "attempted": overall.attempted,
                              "streams": {name: {"failed": rate.failed,
                                                 "attempted": rate.attempted}
                                          for name, rate in per_stream.items()},
                              "retried": {"failed": again.failed, "attempted": again.attempted}}
        letters = self.dead_letters.path
        data["dead_letters"] = str(letters) if letters and letters.exists() else None
        data["parked"] = {"path": str(self.parked.path), "waiting": len(self.parked.items)}
        folder = run_files.report_folder(self.config, self.pipeline)
        _, html_path = report_files.write(
            data, folder, keep=int(self.config.get("report_keep_runs") or 30))
        self._progress(final=True)
        self._log_summary(data, html_path)
        self._publish_links()
        limit = self.config.get("max_error_rate")
        problem = error_rate.problem(self.report, None if limit is None else float(limit))
        if stopped is None and problem is not None:
            raise MaxErrorRateExceeded(f"{problem}; see {html_path} and the dead letters "
                                       f"in {self.dead_letters.path}")
        return data

    def _publish_links(self) -> None:
        url = self.config.get("links_webhook_url")
        if not url or self.dry_run or not self.links.changed:
            return
        token = self.config.get("links_webhook_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        links_webhook.publish(url, links_webhook.changed_links(self.links), headers=headers)

    def _log_summary(self, data: dict[str, Any], html_path: Any) -> None:
        usage = self.client.usage
        LOGGER.info("Run summary (%s%s):", "dry run, nothing written" if self.dry_run else
                    "applied", f", pipeline {self.pipeline}" if self.pipeline else "")
        for line in self.report.summary_lines():
            LOGGER.info("  %s", line)
        rate = data["error_rate"]
        LOGGER.info("  Failed: %d of %d records the run tried to write; skipped by rules: %d",
                    rate["failed"], rate["attempted"], sum(self.report.skipped_by_rule.values()))
        if rate["retried"]["attempted"]:
            LOGGER.info("  Dead letters of earlier runs retried: %d, still failing: %d",
                        rate["retried"]["attempted"], rate["retried"]["failed"])
        LOGGER.info("  Salesforce API calls: %d %s; org daily allocation remaining: %s; %.1f s",
                    usage.calls, dict(sorted(usage.by_kind.items())), usage.remaining,
                    data["duration_seconds"])
        if self.parked.items:
            LOGGER.info("  Transcripts waiting for their contact: %d (%s)",
                        len(self.parked.items), self.parked.path)
        LOGGER.info("  Report: %s", html_path)


