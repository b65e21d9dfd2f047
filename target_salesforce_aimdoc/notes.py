"""One transcript note per conversation, kept current in place (Enhanced Notes or classic Note).

For a batch of ``transcripts`` records: find each conversation's contact in the link records
(the contacts stream syncs first), render the note (``notes_render``), then create, update or
leave it: a note is written only when its content changed (its digest is kept in the link
record), note creates and updates go in sObject Collections, and with the state lost the note
is found again by its title and the record it is attached to, so there is never a second one.
A transcript whose contact is not synced yet is skipped with the reason and retried at the end
of the run and in later runs (through the dead-letter file) until the contact syncs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simple_salesforce import format_soql

from target_salesforce_aimdoc.notes_render import RenderedNote, render_note
from target_salesforce_aimdoc.plan import Step
from target_salesforce_aimdoc.salesforce import chunk_in_values
from target_salesforce_aimdoc.writes import apply_steps

if TYPE_CHECKING:
    from target_salesforce_aimdoc.links import LinkStore
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.notes")
NOTE_OBJECT = {"content_note": "ContentNote", "note": "Note"}


@dataclass(frozen=True)
class NoteSettings:
    """Which stream carries transcripts and where their notes go."""

    stream: str = "transcripts"
    contact_stream: str = "contacts"
    contact_key: str = "contact_id"
    attach_to: tuple[str, ...] = ("Lead", "Contact")
    kind: str = "content_note"
    budget: int = 100_000
    aimdoc_app_url: str | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> NoteSettings | None:
        """The ``notes`` setting; None when notes are off."""
        raw = config.get("notes") or {}
        if raw.get("enabled") is False:
            return None
        defaults = cls()
        return cls(
            stream=raw.get("stream", defaults.stream),
            contact_stream=raw.get("contact_stream", defaults.contact_stream),
            contact_key=raw.get("contact_key", defaults.contact_key),
            attach_to=tuple(raw.get("attach_to", defaults.attach_to)),
            kind=raw.get("kind", defaults.kind),
            budget=int(raw.get("budget", defaults.budget)),
            aimdoc_app_url=raw.get("aimdoc_app_url"),
        )


@dataclass
class NoteJob:
    """One conversation's note: where it goes and what it says."""

    key: str
    note: RenderedNote
    targets: list[str]
    link_meta: dict[str, Any] = field(default_factory=dict)
    note_ids: dict[str, str] = field(default_factory=dict)  # target record -> note id
    steps: list[Step] = field(default_factory=list)


def transcript_key(transcript: dict[str, Any]) -> str:
    """A transcript's key: its conversation id."""
    return str(transcript.get("conversation_id") or transcript.get("id"))


def compact_qualification(value: Any) -> list[list[str]] | None:
    """Qualification answers small enough to keep in a link record."""
    if not isinstance(value, list):
        return None
    pairs = [[str(item.get("question") or item.get("question_id") or "")[:200],
              str(item.get("answer") if item.get("answer") is not None else "")[:300]]
             for item in value[:30] if isinstance(item, dict)]
    return pairs or None


class NoteWriter:
    """Creates, updates or leaves the note of each transcript in a batch."""

    def __init__(self, client: SalesforceClient, settings: NoteSettings, links: LinkStore,
                 *, dry_run: bool = False) -> None:
        self.client = client
        self.settings = settings
        self.links = links
        self.dry_run = dry_run
        self.sobject = NOTE_OBJECT[settings.kind]

    # ---------------------------------------------------------------- the batch
    def jobs(self, transcripts: list[dict[str, Any]]
             ) -> tuple[list[NoteJob], list[dict], list[dict]]:
        """Split transcripts into note jobs, pending ones and anonymous ones.

        A job's contact is synced; a pending transcript waits for its contact; an anonymous
        conversation has no contact, so there is nothing to attach a note to.
        """
        jobs, pending, anonymous = [], [], []
        for transcript in transcripts:
            contact_key = transcript.get(self.settings.contact_key)
            if not contact_key:
                anonymous.append(transcript)
                continue
            contact = self.links.get(self.settings.contact_stream, str(contact_key))
            targets = [contact.ids[name] for name in self.settings.attach_to
                       if contact and contact.ids.get(name)] if contact else []
            if not targets:
                pending.append(transcript)
                continue
            qualification = [{"question": q, "answer": a}
                             for q, a in ((contact.meta or {}).get("q") or [])]
            note = render_note(transcript, qualification=qualification, kind=self.settings.kind,
                               budget=self.settings.budget,
                               aimdoc_app_url=self.settings.aimdoc_app_url)
            key = transcript_key(transcript)
            link = self.links.get(self.settings.stream, key)
            job = NoteJob(key, note, sorted(set(targets)), dict(link.meta or {}) if link else {})
            jobs.append(job)
        return jobs, pending, anonymous

    def write(self, jobs: list[NoteJob]) -> list[NoteJob]:
        """Plan and apply every job's note writes (creates and updates batched)."""
        unknown = [job for job in jobs if not job.link_meta.get("notes")]
        self._find_existing(unknown)
        for job in jobs:
            job.note_ids = dict(job.link_meta.get("notes") or job.note_ids)
            job.steps = self._steps(job)
        self._apply([step for job in jobs for step in job.steps
                     if step.sobject == self.sobject])
        self._link_new_content_notes(jobs)
        return jobs

    # ---------------------------------------------------------------- planning
    def _steps(self, job: NoteJob) -> list[Step]:
        unchanged = job.link_meta.get("digest") == job.note.digest
        if self.sobject == "ContentNote":
            note_id = next(iter(set(job.note_ids.values())), None)
            if note_id is None:
                fields = {"Title": job.note.title, "Content": job.note.content_base64()}
                return [Step("ContentNote", "create", [], job.key, fields=fields)]
            action = "unchanged" if unchanged else "update"
            fields = {} if unchanged else {"Content": job.note.content_base64()}
            return [Step("ContentNote", action, [], job.key, record_id=note_id, fields=fields)]
        steps = []
        for target in job.targets:  # classic Note: one per record it is attached to
            note_id = job.note_ids.get(target)
            body = {"Title": job.note.title, "Body": job.note.text}
            if note_id is None:
                steps.append(Step("Note", "create", [], target,
                                  fields={**body, "ParentId": target}))
            else:
                steps.append(Step("Note", "unchanged" if unchanged else "update", [], target,
                                  record_id=note_id, fields={} if unchanged else body))
        return steps

    def _apply(self, steps: list[Step]) -> None:
        if self.dry_run:
            for number, step in enumerate(steps, start=1):
                if step.action == "create":
                    step.record_id = f"DRYRUN{step.sobject}{number:09d}"
            return
        apply_steps(self.client, steps)

    def _link_new_content_notes(self, jobs: list[NoteJob]) -> None:
        """Attach each ContentNote to every target record it is not attached to yet."""
        if self.sobject != "ContentNote":
            for job in jobs:
                for step in job.steps:
                    if step.record_id and step.action != "fail":
                        job.note_ids[step.match_key] = step.record_id
            return
        links = []
        for job in jobs:
            step = job.steps[0]
            if not step.record_id or step.action == "fail":
                continue
            attached = {target for target, note in job.note_ids.items() if note == step.record_id}
            job.note_ids.pop("", None)  # the found-by-title marker
            for target in job.targets:
                job.note_ids[target] = step.record_id
                if target not in attached:
                    links.append(Step("ContentDocumentLink", "create", [], job.key, fields={
                        "ContentDocumentId": step.record_id, "LinkedEntityId": target,
                        "ShareType": "V", "Visibility": "AllUsers"}))
        self._apply(links)
        for link in links:  # linked already (a retried call that had gone through): fine
            if link.action == "fail" and all(e["statusCode"] == "DUPLICATE_VALUE"
                                              for e in link.errors):
                link.action, link.errors = "unchanged", []
        by_job: dict[str, list[Step]] = {}
        for link in links:
            by_job.setdefault(link.match_key, []).append(link)
        for job in jobs:
            job.steps += by_job.get(job.key, [])

    # ---------------------------------------------------------------- finding
    def _find_existing(self, jobs: list[NoteJob]) -> None:
        """Notes made before whose link record is lost: by title and attached record."""
        if not jobs:
            return
        targets = sorted({target for job in jobs for target in job.targets
                          if not target.startswith("DRYRUN")})  # planned, not in Salesforce
        if not targets:
            return
        if self.sobject == "Note":
            found: dict[tuple[str, str], str] = {}  # (parent, title) -> note id
            for row in self._query_in("SELECT Id, Title, ParentId FROM Note WHERE ParentId IN {}",
                                      targets):
                found[(row["ParentId"], row["Title"])] = row["Id"]
            for job in jobs:
                job.note_ids = {target: found[(target, job.note.title)] for target in job.targets
                                if (target, job.note.title) in found}
            return
        self._find_content_notes(jobs)

    def _find_content_notes(self, jobs: list[NoteJob]) -> None:
        """Find ContentNotes by title, then the records each is attached to.

        A title is unique (it ends with the conversation's id), so this also finds a note left
        unattached by a run that stopped between the note and its links.
        """
        by_title: dict[str, str] = {}
        for row in self._query_in("SELECT Id, Title FROM ContentNote WHERE Title IN {} "
                                  "ORDER BY CreatedDate", sorted({j.note.title for j in jobs})):
            by_title.setdefault(row["Title"], row["Id"])  # oldest first: CreatedDate order
        attached: dict[str, set[str]] = {}
        if by_title:
            for row in self._query_in("SELECT ContentDocumentId, LinkedEntityId FROM "
                                      "ContentDocumentLink WHERE ContentDocumentId IN {}",
                                      sorted(set(by_title.values()))):
                attached.setdefault(row["ContentDocumentId"], set()).add(row["LinkedEntityId"])
        for job in jobs:
            note_id = by_title.get(job.note.title)
            if note_id:  # attached targets keep it; the rest get a link (``_link_new...``)
                job.note_ids = dict.fromkeys(attached.get(note_id, set()), note_id)
                job.note_ids.setdefault("", note_id)

    def _query_in(self, template: str, values: list[str]) -> list[dict[str, Any]]:
        """One query per chunk of values, all in Composite calls."""
        chunks = chunk_in_values(values, template)
        results = self.client.query_many([format_soql(template, chunk) for chunk in chunks])
        return [row for rows in results for row in rows]
