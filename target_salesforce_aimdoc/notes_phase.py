"""The notes phase of a run: one note per conversation, parked until its contact syncs.

Transcripts are written in batches on the notes lane and settled at the end of the run.

``NotesPhase`` is a part of ``SyncRun`` (``pipeline.py``): it uses the run's settings,
connection, links, report, parked store and dead letters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.notes import (
    NoteJob,
    NoteWriter,
    contact_key_fields,
    link_unlinked_contacts,
    transcript_key,
)
from target_salesforce_aimdoc.report import Outcome
from target_salesforce_aimdoc.salesforce import AmbiguousWrite

if TYPE_CHECKING:
    from target_salesforce_aimdoc.fresh_records import FreshRecords
    from target_salesforce_aimdoc.links import LinkStore

LOGGER = logging.getLogger("target_salesforce_aimdoc")
AMBIGUOUS_TRIES = 3


@dataclass
class PreparedNotes:
    """A batch of transcripts ready to be written on another thread."""

    records: list[dict[str, Any]]
    transcripts: dict[str, dict[str, Any]]  # by conversation key
    links: LinkStore  # a copy of the links their notes need


@dataclass
class NotesResult:
    """What writing a batch of notes did, waiting to be committed to the run."""

    written: list[NoteJob]
    pending: list[dict[str, Any]]  # their contact is not synced yet
    anonymous: list[dict[str, Any]]  # no contact at all
    by_key: dict[str, dict[str, Any]]


class NotesPhase:
    """Notes of a run (mixed into ``SyncRun``)."""

    notes: Any
    settings: Any
    links: LinkStore
    fresh: FreshRecords

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
        with self.connection.exclusive() as generation:  # find and write: no other run
            self.fresh.held(generation)
            fresh = self.fresh.usable(generation)
            jobs, pending, anonymous = writer.jobs(transcripts)
            for attempt in range(1, AMBIGUOUS_TRIES + 1):
                try:
                    # after an ambiguous try a fresh record may hold its note: search
                    written = writer.write(jobs, fresh=fresh if attempt == 1 else frozenset(),
                                           written=self.fresh.notes_written())
                    self.fresh.wrote_notes(job.key for job in jobs)
                    break
                except AmbiguousWrite as exc:
                    if attempt == AMBIGUOUS_TRIES:
                        raise
                    LOGGER.warning("%s; finding the batch's notes again so none is made twice",
                                   exc)
                    jobs = writer.jobs(transcripts)[0]
        return NotesResult(written, pending, anonymous, self._slim(written, by_key))

    def _slim(self, written: list[NoteJob], by_key: dict[str, dict[str, Any]]
              ) -> dict[str, dict[str, Any]]:
        """Written notes without their content; transcripts kept whole only where they failed.

        The rest keep their contact key (the report's person): a written batch waiting to be
        committed holds little memory.
        """
        assert self.notes is not None
        contact_key = self.notes.contact_key
        failed = {job.key for job in written if any(s.action == "fail" for s in job.steps)}
        for job in written:
            job.release_content()
        done = {job.key for job in written} - failed
        return {key: {contact_key: transcript.get(contact_key)} if key in done else transcript
                for key, transcript in by_key.items()}

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
