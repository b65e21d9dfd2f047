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

from target_salesforce_aimdoc import crm_objects, error_rate, report_files, run_files
from target_salesforce_aimdoc.connection import OrgConnection
from target_salesforce_aimdoc.deadletters import DeadLetters
from target_salesforce_aimdoc.duplicates import settle as settle_duplicates
from target_salesforce_aimdoc.expressions import ExpressionError, captured_value
from target_salesforce_aimdoc.filters import skip_reason
from target_salesforce_aimdoc.links import Link, LinkStore
from target_salesforce_aimdoc.mapping import map_record, source_identity
from target_salesforce_aimdoc.matching import Matcher, Matches
from target_salesforce_aimdoc.notes import (
    NoteJob,
    NoteSettings,
    NoteWriter,
    compact_qualification,
    contact_key_fields,
    link_unlinked_contacts,
    reattach_notes,
    transcript_key,
)
from target_salesforce_aimdoc.parked import ParkedNotes
from target_salesforce_aimdoc.plan import Planner, Step
from target_salesforce_aimdoc.progress import Progress, quiet_sdk_metrics
from target_salesforce_aimdoc.report import Outcome, RunReport
from target_salesforce_aimdoc.salesforce import AmbiguousWrite, StopRun
from target_salesforce_aimdoc.settings import load_sync_settings
from target_salesforce_aimdoc.worker import ParallelLane, SerialWorker
from target_salesforce_aimdoc.writes import apply_steps

if TYPE_CHECKING:
    from collections.abc import Callable

    from target_salesforce_aimdoc.filters import Skip
    from target_salesforce_aimdoc.mapping import MappedRecord
    from target_salesforce_aimdoc.settings import StreamConfig

LOGGER = logging.getLogger("target_salesforce_aimdoc")
DEFAULT_OUTPUT = "output/salesforce"
AMBIGUOUS_TRIES = 3


@dataclass
class PreparedNotes:
    """A batch of transcripts ready to be written on another thread."""

    records: list[dict[str, Any]]
    transcripts: dict[str, dict[str, Any]]  # by conversation key
    links: LinkStore  # a copy of the links their notes need


@dataclass
class MappedRows:
    """A batch's records through the filtering rules and the mapping (pure, any thread)."""

    stream: StreamConfig
    rows: list[tuple[dict[str, Any], Skip | None, MappedRecord | None]]
    unchanged: list[tuple[str, Link]] = field(default_factory=list)  # key, link


@dataclass
class NotesResult:
    """What writing a batch of notes did, waiting to be committed to the run."""

    written: list[NoteJob]
    pending: list[dict[str, Any]]  # their contact is not synced yet
    anonymous: list[dict[str, Any]]  # no contact at all
    by_key: dict[str, dict[str, Any]]


class MaxErrorRateExceeded(RuntimeError):
    """More records failed than ``max_error_rate`` allows (raised after every write)."""


class SyncRun:
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
        objects = [obj.sobject for obj in stream.enabled_objects]
        for record in records:
            skip = skip_reason(record, stream, self.settings)
            if skip is None:
                key, updated_at = source_identity(record, stream, self.settings)
                link = key and self.links.unchanged(stream.name, key, updated_at, objects)
                if link and not (self.connection.ready or self.links.trusted_before_login()):
                    self.connection.ensure()  # links of another config: check the org first
                    link = self.links.unchanged(stream.name, key, updated_at, objects)
                if link:  # synced before, not changed since: no mapping, no call
                    unchanged.append((key, link))
                    continue
                if key:  # a record with no key or a bad e-mail fails before any describe
                    self.connection.ensure()
            mapped = None if skip else map_record(record, stream, self.settings, self.describes)
            rows.append((record, skip, mapped))
        return MappedRows(stream, rows, unchanged)

    def run_batch(self, stream_name: str, records: list[dict[str, Any]],
                  mapped: MappedRows | None = None) -> list[Step]:
        """Sync one batch of a stream's records; returns the steps (for tests and reports).

        ``mapped`` is the batch through ``map_batch`` when that was done already.
        """
        if self.notes is not None and stream_name == self.notes.stream:
            self.run_notes(records)
            return []
        stream = self.settings.stream(stream_name)
        if stream is None:
            self._warn_unconfigured(stream_name, len(records))
            return []
        first_outcome = len(self.report.outcomes)
        batch = self._mapped(mapped or self.map_batch(stream_name, records))
        objects = {obj.sobject for obj in stream.enabled_objects}
        batch = self._skip_unchanged(batch, objects)
        for attempt in range(1, AMBIGUOUS_TRIES + 1):
            try:
                with self.connection.exclusive():
                    steps = self._match_plan_write(stream, batch, objects)
                break
            except AmbiguousWrite as exc:
                if attempt == AMBIGUOUS_TRIES:
                    raise
                LOGGER.warning("%s; matching the batch again so nothing is created twice", exc)
        self._remember(steps, batch, records)
        for step in steps:
            self.report.add_step(step)
        self._dead_letters(stream, records, batch, first_outcome)
        self._progress()
        return steps

    def _match_plan_write(self, stream: StreamConfig, batch: list[MappedRecord],
                          objects: set[str]) -> list[Step]:
        """Match, then plan and write Accounts, Contacts and Leads in that order."""
        matches = self._overlay(self.matcher.find(batch, objects, self._linked(batch)))
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
        for key, link in rows.unchanged:
            self.report.records_seen[stream.name] += 1
            for obj in stream.enabled_objects:
                if link.ids.get(obj.sobject):  # "" marks an object this record does not feed
                    self.report.add(Outcome(stream.name, key, obj.sobject, "unchanged",
                                            link.ids[obj.sobject],
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
            for obj in stream.enabled_objects if stream else []:
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
        prepared = self._prepare_notes(records)
        for result in self.notes_lane.submit(set(prepared.transcripts), self._write_notes,
                                             prepared):
            self._commit_notes(result, park=True)

    def _drain_notes(self) -> None:
        for result in self.notes_lane.drain():
            self._commit_notes(result, park=True)

    def run_notes(self, transcripts: list[dict[str, Any]], *, park: bool = True) -> set[str]:
        """Keep one note per conversation current; return the keys whose contact is unsynced.

        Those transcripts are parked in the dead letters (on disk before the state moves
        past them) unless ``park`` is false (they are there already).
        """
        return self._commit_notes(self._write_notes(self._prepare_notes(transcripts)),
                                  park=park)

    def _prepare_notes(self, transcripts: list[dict[str, Any]]) -> PreparedNotes:
        """The transcripts by key, and a copy of the links their notes need (this thread).

        Contacts with no link (evicted, or the state lost) are found in Salesforce first, by
        the field their key is mapped to: one query per object for the batch.
        """
        assert self.notes is not None
        by_key = {transcript_key(t): t for t in transcripts}
        wanted = [(self.notes.stream, key) for key in by_key]
        contacts = [str(t.get(self.notes.contact_key)) for t in transcripts
                    if t.get(self.notes.contact_key)]
        key_fields = contact_key_fields(self.settings, self.notes)
        if key_fields and any(self.links.get(self.notes.contact_stream, c) is None
                              for c in contacts):
            self.connection.ensure()  # contacts with no link: found in Salesforce, one query
            link_unlinked_contacts(self.client, self.notes, key_fields, self.links, contacts)
        wanted += [(self.notes.contact_stream, contact) for contact in contacts]
        return PreparedNotes(transcripts, by_key, self.links.snapshot(wanted))

    def _write_notes(self, prepared: PreparedNotes) -> NotesResult:
        """Render and write the notes of prepared transcripts (any thread: no shared state)."""
        assert self.notes is not None
        writer = NoteWriter(self.client, self.notes, prepared.links, dry_run=self.dry_run)
        transcripts, by_key = prepared.records, prepared.transcripts
        with self.connection.exclusive():  # find and write: no other run in between
            jobs, pending, anonymous = writer.jobs(transcripts)
            for attempt in range(1, AMBIGUOUS_TRIES + 1):
                try:
                    written = writer.write(jobs)
                    break
                except AmbiguousWrite as exc:
                    if attempt == AMBIGUOUS_TRIES:
                        raise
                    LOGGER.warning("%s; finding the batch's notes again so none is made twice",
                                   exc)
                    jobs = writer.jobs(transcripts)[0]
        return NotesResult(written, pending, anonymous, by_key)

    def _commit_notes(self, result: NotesResult, *, park: bool) -> set[str]:
        """Outcomes, links and dead letters of written notes (on the run's own thread).

        Transcripts whose contact is not synced yet are parked (``parked``; on disk before
        the state moves past them, never dead letters) unless ``park`` is false.
        """
        assert self.notes is not None
        stream = self.notes.stream
        self.report.begin_attempt()
        waiting = {transcript_key(t): t for t in result.pending}
        contact_of = {key: str(t.get(self.notes.contact_key)) for key, t in waiting.items()}
        self.pending_notes.update(contact_of)
        if park:
            self.parked.park([(key, contact_of[key], transcript)
                              for key, transcript in waiting.items()])
        for transcript in result.anonymous:
            self.report.records_seen[stream] += 1
            self.report.add(Outcome(stream, transcript_key(transcript), "Note", "skipped",
                                    reason="no_contact"))
        failed, done = [], set()
        for job in result.written:
            outcome = _note_outcome(stream, job)
            contact = (result.by_key.get(job.key) or {}).get(self.notes.contact_key)
            person = self.report.people.get((self.notes.contact_stream, str(contact)))
            if person:  # the report shows the person beside the note
                self.report.person(stream, job.key, *person)
            self.report.records_seen[stream] += 1
            self.report.add(outcome, attempted=True)
            if outcome.outcome in {"created", "updated", "failed"}:
                self.report.add_salesforce(stream, "Note", outcome.outcome, outcome.record_id)
            if outcome.outcome == "failed":
                failed.append((outcome, result.by_key.get(job.key), None))
            else:
                meta = {"contact": str(contact)} if contact else {}
                self.links.record(stream, job.key, "Note", outcome.record_id or "",
                                  None, notes=job.note_ids, digest=job.note.digest, **meta)
                done.add(job.key)
        # A conversation parked earlier and written since: its older parked copy is dropped,
        # so neither the end of this run nor the next one writes that older transcript over it.
        for key in done:
            self.pending_notes.pop(key, None)
        self.parked.drop(done | {outcome.key for outcome, _, _ in failed})
        self.dead_letters.resolve(stream, done)
        self.dead_letters.add_many(failed)
        self._progress()
        return set(waiting)

    def _skip_note(self, key: str, reason: str) -> None:
        """A transcript given up (parked longer than ``parked_max_days``): a skip."""
        assert self.notes is not None
        self.pending_notes.pop(key, None)
        self.parked.drop({key})
        self.report.records_seen[self.notes.stream] += 1
        self.report.add(Outcome(self.notes.stream, key, "Note", "skipped", reason=reason))

    def _settle_pending_notes(self) -> None:
        """At the end of a run (every contact drained): notes whose contact synced meanwhile.

        Parked transcripts (this run's and earlier runs') whose contact has synced are
        written; those parked past ``parked_max_days`` are given up; the rest stay parked.
        Each is a skip, counted with its reason: ``contact_filtered:<rule>`` when a filtering
        rule skipped its contact in this run, else ``contact_not_synced``.
        """
        if self.notes is None or not self.pending_notes:
            return
        stream = self.notes.stream
        key_fields = contact_key_fields(self.settings, self.notes)
        if key_fields:  # contacts with no link (evicted, synced by another pipeline)
            self.connection.ensure()
            link_unlinked_contacts(self.client, self.notes, key_fields, self.links,
                                   set(self.pending_notes.values()))
        ready = {key for key, contact in self.pending_notes.items() if self._synced(contact)}
        for key in self.parked.expired() - ready:
            self._skip_note(key, "contact_not_synced_expired")
        self.pending_notes = {key: contact for key, contact in self.pending_notes.items()
                              if key not in ready}
        records = self.parked.records(ready)  # dropped once written (or failed: a letter)
        for start in range(0, len(records), self.batch_size):
            self.run_notes(records[start:start + self.batch_size], park=False)
        for key, contact in self.pending_notes.items():
            rule = self._filtered_contacts.get(contact)
            self.report.records_seen[stream] += 1
            self.report.add(Outcome(stream, key, "Note", "skipped", reason=(
                f"contact_filtered:{rule}" if rule else "contact_not_synced")))

    def _synced(self, contact_key: str) -> bool:
        """Whether a contact has a record its notes attach to (as ``NoteWriter.jobs`` asks)."""
        assert self.notes is not None
        link = self.links.get(self.notes.contact_stream, contact_key)
        return bool(link and any(link.ids.get(name) for name in self.notes.attach_to))

    def _dead_letters(self, stream: StreamConfig, records: list[dict[str, Any]],
                      batch: list[MappedRecord], first_outcome: int) -> None:
        """Every failed record and object of the batch goes to the dead letters.

        The batch's other records retire their earlier letters (a later success, or a newer
        version filtered out or unchanged).
        """
        sources: dict[str, dict[str, Any]] = {}
        for record in records:
            with contextlib.suppress(ExpressionError):  # already reported by mapping
                sources[str(stream.key.evaluate(record))] = record
        mapped = {m.key: m for m in batch}
        entries = []
        for outcome in self.report.outcomes[first_outcome:]:
            if outcome.outcome != "failed" or outcome.stream != stream.name:
                continue
            payload = mapped.get(outcome.key)
            fields = payload.payloads.get(outcome.sobject or "", {}) if payload else {}
            entries.append((outcome, sources.get(outcome.key),
                            {name: value for name, (value, _) in fields.items()}))
        failed = {outcome.key for outcome, _, _ in entries}
        self.dead_letters.resolve(stream.name, set(sources) - failed)
        self.dead_letters.add_many(entries)

    def reject(self, stream_name: str, record: dict[str, Any], code: str, message: str,
               field: str | None) -> None:
        """A record refused before mapping (e.g. it violates its schema): report, dead letter."""
        stream = self.settings.stream(stream_name)
        key = self._key(stream, record) if stream is not None else str(record.get("id", "?"))
        where = f" field {field}" if field else ""
        error = {"statusCode": code, "fields": [field] if field else [],
                 "message": f"stream {stream_name} record {key}{where}: {message}"}
        outcome = Outcome(stream_name, key, None, "failed", errors=[error])
        self.report.begin_attempt()
        self.report.records_seen[stream_name] += 1
        self.report.add(outcome)
        self.report.person_of(stream_name, key, record)
        self.dead_letters.add(outcome, record)
        LOGGER.warning("%s", error["message"])

    def retry_dead_letters(self) -> int:
        """Run this pipeline's dead letters again (at the start of a run); return how many.

        Only letters of streams this run syncs are taken (the others stay in the file);
        letters whose record was synced since in a newer version are retired unretried.
        Transcripts parked by earlier runs wait for their contact again (``parked``).
        """
        self.pending_notes.update(self.parked.load())
        pending = self.dead_letters.pending(self.uses, self._synced_since)
        total = sum(len(records) for records in pending.values())
        if total:
            self._progress_meter.expect(total)
        self.report.retrying = True
        try:
            for stream, records in pending.items():
                LOGGER.info("Retrying %d dead letters of %s", len(records), stream)
                for record in records:
                    key, updated_at = self._letter_time(stream, record)
                    if key and updated_at:
                        self._letter_times[(stream, key)] = updated_at
                for start in range(0, len(records), self.batch_size):
                    self.run_batch(stream, records[start:start + self.batch_size])
        finally:
            self.report.retrying = False
        return total

    def _letter_time(self, stream_name: str, record: dict[str, Any]) -> tuple[str | None, Any]:
        """A dead letter's record key and ``updated_at`` (None when unknown)."""
        stream = self.settings.stream(stream_name)
        with contextlib.suppress(ExpressionError, ValueError, TypeError, AttributeError):
            if stream is not None:
                return source_identity(record, stream, self.settings)
        return None, None

    def _synced_since(self, stream_name: str, record: dict[str, Any]) -> bool:
        """Whether a newer version of a dead letter's record was synced since it failed."""
        key, updated_at = self._letter_time(stream_name, record)
        link = self.links.get(stream_name, key) if key else None
        return bool(link and link.updated_at and updated_at and link.updated_at > updated_at)

    def _retire_stale_letters(self) -> None:
        """Drop retried letters whose record a newer version synced before this run.

        The links (read from the tap's state, which may come after the retry) say so; the
        retried outcome of such a letter no longer counts.
        """
        for (stream, key), updated_at in self._letter_times.items():
            link = self.links.get(stream, key)
            if link and link.updated_at and link.updated_at > updated_at:
                if self.report.retire(stream, key):
                    self.dead_letters.retired += 1
                self.dead_letters.resolve(stream, {key})

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
        crm_objects.publish(url, crm_objects.changed_links(self.links), headers=headers)

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


def _note_outcome(stream: str, job: NoteJob) -> Outcome:
    """One outcome per conversation from its note steps (the note, its links)."""
    note_steps = [step for step in job.steps if step.sobject != "ContentDocumentLink"]
    failed = [step for step in job.steps if step.action == "fail"]
    actions = {step.action for step in note_steps}
    if failed:
        outcome, errors = "failed", [e for step in failed for e in step.errors]
    else:
        errors = []
        outcome = ("created" if "create" in actions else "updated"
                   if "update" in actions or len(job.steps) > len(note_steps) else "unchanged")
    record_id = next((step.record_id for step in note_steps if step.record_id), None)
    return Outcome(stream, job.key, "Note", outcome, record_id, None, errors)
