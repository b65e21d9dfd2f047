"""One transcript note per conversation, kept current in place (Enhanced Notes or classic Note).

For a batch of ``transcripts`` records: find each conversation's contact in the link records
(the contacts stream syncs first), render the note (``notes_render``), then create, update or
leave it: a note is written only when its content changed (its digest is kept in the link
record), note creates and updates go in sObject Collections, and with the state lost the note
is found again by its title and the record it is attached to, so there is never a second one.
A note's identity is the whole conversation id: a note found by its title (which shows only the
id's end) is taken only when its content names that conversation (``TextPreview``, or the classic
Note's body), and is left as it is when what Salesforce keeps about its content shows the note
just rendered (ContentNote ``ContentSize`` and ``TextPreview``, read in the same query; the
classic Note's ``Body``): a rerun with the state lost rewrites only the notes that changed.
A note deleted in Salesforce is made again and linked again; a note whose person got a new
Lead or Contact is linked to it (``reattach``). A contact whose link is not in the
state (evicted, or the state lost) is found in Salesforce by the field its key is mapped to,
one query per batch. A transcript whose contact is not synced yet is skipped with the reason
and retried at the end of the run and in later runs (through the dead-letter file) until the
contact syncs.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simple_salesforce import format_soql

from target_salesforce_aimdoc.notes_render import RenderedNote, clean_text, render_note
from target_salesforce_aimdoc.plan import Step
from target_salesforce_aimdoc.salesforce import chunk_in_values
from target_salesforce_aimdoc.writes import apply_steps

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_salesforce_aimdoc.links import Link, LinkStore
    from target_salesforce_aimdoc.salesforce import SalesforceClient
    from target_salesforce_aimdoc.settings import SyncSettings

LOGGER = logging.getLogger("target_salesforce_aimdoc.notes")
NOTE_OBJECT = {"content_note": "ContentNote", "note": "Note"}
# A note update answered with one of these: the note is gone from Salesforce, make it again.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND"})
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ID_LABEL = "Conversation ID:"
# The header labels that can follow the conversation id (notes_render._header).
_NEXT_LABELS = ("Started:", "Last activity:", "Status:", "Escalated:", "Buyer intent:",
                "Page:", "Referrer:", "UTM:", "Open in Aimdoc:", "Aimdoc link (as sent):",
                "Messages:", "Qualification", "Transcript")
_PREVIEW_LIMIT = 255


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

    def release_content(self) -> None:
        """Drop the note's content once written (kept: title, digest, ids, outcomes).

        A written batch waits for the run's thread to commit it while the next batches are
        read and written; without its content it takes a fraction of the memory.
        """
        self.note = self.note.without_content()
        for step in self.steps:
            step.fields.pop("Content", None)
            step.fields.pop("Body", None)


def contact_key_fields(sync: SyncSettings, settings: NoteSettings) -> dict[str, str]:
    """The Lead / Contact field each contact's key is written to (mapped from the key itself).

    E.g. ``Aimdoc_Id__c: id``: a contact with no link can then be found in Salesforce.
    """
    stream = sync.stream(settings.contact_stream)
    if stream is None:
        return {}
    key = stream.key.source.strip()
    found = {}
    for obj in stream.enabled_objects:
        for rule in obj.fields.values():
            if rule.expr is not None and rule.expr.source.strip() == key:
                found.setdefault(obj.sobject, rule.name)
    return found


def link_unlinked_contacts(client: SalesforceClient, settings: NoteSettings,
                           key_fields: dict[str, str], links: LinkStore,
                           contact_keys: Iterable[str]) -> int:
    """Find in Salesforce the Lead / Contact of contacts with no link; record them as links.

    Salesforce stays the authority: a contact's link evicted from the bounded state, or a
    state lost, must not leave its transcripts waiting for ever. One query per object for the
    whole batch (``key_fields``: the field each object holds the contact key in); returns how
    many contacts were found.
    """
    fields = {sobject: name for sobject, name in key_fields.items()
              if sobject in settings.attach_to and _FIELD_NAME.match(name)}
    missing = sorted({key for key in contact_keys
                      if key and links.get(settings.contact_stream, key) is None})
    if not missing or not fields:
        return 0
    found: dict[str, dict[str, str]] = {}
    for sobject, name in fields.items():
        extra = " AND IsConverted = false" if sobject == "Lead" else ""
        template = f"SELECT Id, {name} FROM {sobject} WHERE {name} IN {{}}{extra}"
        chunks = chunk_in_values(missing, template)
        for rows in client.query_many([format_soql(template, chunk) for chunk in chunks]):
            for row in rows:
                if row.get(name):
                    found.setdefault(str(row[name]), {}).setdefault(sobject, row["Id"])
    for key, ids in found.items():
        if key in missing:
            for sobject, record_id in ids.items():
                links.record(settings.contact_stream, key, sobject, record_id, None)
    LOGGER.info("Contacts with no link: %d of %d found in Salesforce", len(found), len(missing))
    return len(found)


def reattach_notes(client: SalesforceClient, settings: NoteSettings, links: LinkStore, *,
                   dry_run: bool = False) -> int:
    """Attach notes to the records that replaced the ones they were on (``links.moved``).

    A Lead deleted in Salesforce and made again by this run gets its person's notes at once,
    though their transcripts did not change (and so were not sent). A ContentNote gets a
    ContentDocumentLink; a classic Note is copied from its twin on the person's other record.
    Returns how many notes were attached.
    """
    moved = dict(links.moved)
    if not moved:
        return 0
    work: list[tuple[str, Link, list[str]]] = []  # conversation, its link, new records
    for key, link in links.items(settings.stream):
        notes = dict((link.meta or {}).get("notes") or {})
        new = [moved[old] for old in notes if old in moved and moved[old] not in notes]
        if new:
            work.append((key, link, new))
    if not work or dry_run:
        return 0
    if NOTE_OBJECT[settings.kind] == "ContentNote":
        steps = [Step("ContentDocumentLink", "create", [], key, fields={
            "ContentDocumentId": _note_of(link), "LinkedEntityId": record,
            "ShareType": "V", "Visibility": "AllUsers"})
            for key, link, new in work for record in new]
    else:
        steps = _copied_classic_notes(client, work, moved)
    apply_steps(client, steps)
    attached = 0
    by_key = {key: link for key, link, _ in work}
    for step in steps:
        if step.action == "fail" and not all(e.get("statusCode") == "DUPLICATE_VALUE"
                                              for e in step.errors):
            LOGGER.warning("Could not attach the note of conversation %s to %s: %s",
                           step.match_key, step.fields.get("LinkedEntityId")
                           or step.fields.get("ParentId"), step.errors)
            continue
        record = step.fields.get("LinkedEntityId") or step.fields["ParentId"]
        note = step.fields.get("ContentDocumentId") or step.record_id
        link = by_key[step.match_key]
        notes = {old: value for old, value in (link.meta or {}).get("notes", {}).items()
                 if old not in moved or moved[old] != record}
        links.record(settings.stream, step.match_key, "Note", link.ids.get("Note") or "",
                     None, notes={**notes, record: note})
        attached += 1
    LOGGER.info("%d notes attached to records made again", attached)
    return attached


def _note_of(link: Link) -> str:
    notes = (link.meta or {}).get("notes") or {}
    return link.ids.get("Note") or next(iter(notes.values()))


def _copied_classic_notes(client: SalesforceClient, work: list[tuple[str, Link, list[str]]],
                          moved: dict[str, str]) -> list[Step]:
    """Classic Notes for the new records, copied from each conversation's remaining note."""
    twins = {}
    for key, link, _ in work:
        notes = (link.meta or {}).get("notes") or {}
        left = [note for old, note in notes.items() if old not in moved]
        if left:
            twins[key] = left[0]
    template = "SELECT Id, Title, Body FROM Note WHERE Id IN {}"
    rows = {row["Id"]: row for chunk_rows in client.query_many(
        [format_soql(template, chunk) for chunk in chunk_in_values(
            sorted(set(twins.values())), template)]) for row in chunk_rows}
    steps = []
    for key, _, new in work:
        twin = rows.get(twins.get(key, ""))
        if twin is None:
            LOGGER.warning("The note of conversation %s has no copy left to attach again; "
                           "it is written again when the conversation changes", key)
            continue
        steps += [Step("Note", "create", [], key, fields={
            "Title": twin["Title"], "Body": twin["Body"], "ParentId": record}) for record in new]
    return steps


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

    def write(self, jobs: list[NoteJob], *, fresh: frozenset[str] = frozenset(),
              written: frozenset[str] = frozenset()) -> list[NoteJob]:
        """Plan and apply every job's note writes (creates and updates batched).

        A job with no note link is searched for in Salesforce (its note may have been made
        before the state was lost), unless every record it goes on is in ``fresh`` (made by
        this run, untouched by any other: ``fresh_records.py``) and its conversation is not in
        ``written`` (a note this run already wrote).
        """
        unknown = [job for job in jobs if not job.link_meta.get("notes") and (
            job.key in written or not job.targets or not set(job.targets) <= fresh)]
        self._find_existing(unknown)
        for job in jobs:
            job.note_ids = dict(job.link_meta.get("notes") or job.note_ids)
            job.steps = self._steps(job)
        self._apply([step for job in jobs for step in job.steps
                     if step.sobject == self.sobject])
        self._remake_gone(jobs)
        self._link_new_content_notes(jobs)
        return jobs

    def _remake_gone(self, jobs: list[NoteJob]) -> None:
        """Notes deleted in Salesforce (an update answered ENTITY_IS_DELETED...): again.

        Such a job is planned as if its link were lost: found by title and content (a note
        made by an earlier, ambiguous try is taken), else created, then linked to its records.
        """
        gone = [job for job in jobs if any(
            step.sobject == self.sobject and step.action == "fail" and step.record_id
            and step.errors and all(e.get("statusCode") in GONE_CODES for e in step.errors)
            for step in job.steps)]
        if not gone:
            return
        LOGGER.warning("%d notes were deleted in Salesforce; writing them again", len(gone))
        for job in gone:
            job.note_ids = {}
            job.link_meta = {k: v for k, v in job.link_meta.items()
                             if k not in {"notes", "digest"}}
        self._find_existing(gone)
        for job in gone:
            job.steps = self._steps(job)
        self._apply([step for job in gone for step in job.steps if step.sobject == self.sobject])

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
        """Notes made before whose link record is lost: by title, attached record and content.

        The title shows only the end of the conversation id, so a note with the right title is
        taken only when its content names the whole id (``names_conversation``).
        """
        if not jobs:
            return
        targets = sorted({target for job in jobs for target in job.targets
                          if not target.startswith("DRYRUN")})  # planned, not in Salesforce
        if not targets:
            return
        if self.sobject == "Note":
            self._find_classic_notes(jobs, targets)
            return
        self._find_content_notes(jobs)

    def _find_classic_notes(self, jobs: list[NoteJob], targets: list[str]) -> None:
        """Classic Notes by parent and title, told apart by the id in their body."""
        titles = {job.note.title for job in jobs}
        found: dict[tuple[str, str], list[str]] = {}  # (parent, title) -> note ids
        for row in self._query_in("SELECT Id, Title, ParentId FROM Note WHERE ParentId IN {} "
                                  "ORDER BY CreatedDate", targets):
            if row["Title"] in titles:
                found.setdefault((row["ParentId"], row["Title"]), []).append(row["Id"])
        bodies: dict[str, Any] = {}
        if found:
            ids = sorted({note for notes in found.values() for note in notes})
            for row in self._query_in("SELECT Id, Body FROM Note WHERE Id IN {}", ids):
                bodies[row["Id"]] = row.get("Body")
        taken: set[str] = set()
        for job in jobs:
            job.note_ids = {}
            for target in job.targets:
                candidates = found.get((target, job.note.title), [])
                note_id = _pick(candidates, bodies.get, job.key, taken)
                if note_id:
                    job.note_ids[target] = note_id
                    taken.add(note_id)
            found_bodies = [bodies.get(note) for note in job.note_ids.values()]
            if found_bodies and all(_same_text(body, job.note.text) for body in found_bodies):
                job.link_meta["digest"] = job.note.digest  # found as it is: no rewrite

    def _find_content_notes(self, jobs: list[NoteJob]) -> None:
        """Find ContentNotes by title and the id in their preview, then their records.

        This also finds a note left unattached by a run that stopped between the note and its
        links. Two conversations whose ids end alike share a title: each takes only the note
        whose ``TextPreview`` names its own id.
        """
        by_title: dict[str, list[str]] = {}
        previews: dict[str, Any] = {}
        sizes: dict[str, Any] = {}
        for row in self._query_in("SELECT Id, Title, TextPreview, ContentSize FROM ContentNote "
                                  "WHERE Title IN {} ORDER BY CreatedDate",
                                  sorted({j.note.title for j in jobs})):
            by_title.setdefault(row["Title"], []).append(row["Id"])  # oldest first
            previews[row["Id"]] = row.get("TextPreview")
            sizes[row["Id"]] = row.get("ContentSize")
        chosen: dict[str, str] = {}
        taken: set[str] = set()
        for sure in (True, False):  # notes that name their id first, then undecided ones
            for job in jobs:
                if job.key in chosen:
                    continue
                note_id = _pick(by_title.get(job.note.title, []), previews.get, job.key, taken,
                                sure_only=sure)
                if note_id:
                    chosen[job.key] = note_id
                    taken.add(note_id)
        attached: dict[str, set[str]] = {}
        if chosen:
            for row in self._query_in("SELECT ContentDocumentId, LinkedEntityId FROM "
                                      "ContentDocumentLink WHERE ContentDocumentId IN {}",
                                      sorted(set(chosen.values()))):
                attached.setdefault(row["ContentDocumentId"], set()).add(row["LinkedEntityId"])
        for job in jobs:
            note_id = chosen.get(job.key)
            if note_id:  # attached targets keep it; the rest get a link (``_link_new...``)
                job.note_ids = dict.fromkeys(attached.get(note_id, set()), note_id)
                job.note_ids.setdefault("", note_id)
                if job.note.stored_as(sizes.get(note_id), previews.get(note_id)):
                    job.link_meta["digest"] = job.note.digest  # found as it is: no rewrite

    def _query_in(self, template: str, values: list[str]) -> list[dict[str, Any]]:
        """One query per chunk of values, all in Composite calls."""
        chunks = chunk_in_values(values, template)
        results = self.client.query_many([format_soql(template, chunk) for chunk in chunks])
        return [row for rows in results for row in rows]


def _pick(candidates: list[str], text_of: Any, key: str, taken: set[str], *,
          sure_only: bool = False) -> str | None:
    """The first candidate note whose text names conversation ``key``.

    Failing that (unless ``sure_only``), the first whose text cannot tell (a note written
    before, with a cut preview); never one that names another conversation.
    """
    undecided = None
    for note_id in candidates:
        if note_id in taken:
            continue
        named = names_conversation(text_of(note_id), key)
        if named:
            return note_id
        if named is None and undecided is None:
            undecided = note_id
    return None if sure_only else undecided


def _same_text(stored: Any, text: str) -> bool:
    """Whether a classic Note's stored ``Body`` is ``text`` (line ends aside)."""
    return isinstance(stored, str) and stored.replace("\r\n", "\n") == text


def names_conversation(text: Any, key: str) -> bool | None:
    """Whether a note's text (ContentNote ``TextPreview``, classic Note ``Body``) names ``key``.

    True when its header shows ``Conversation ID: <key>`` in full; False when it shows another
    id; None when it cannot tell (no such line, or the preview ends inside the id).
    """
    if not isinstance(text, str):
        return None
    wanted = " ".join(clean_text(key).split())
    answers = {_names(" ".join(form.split()), wanted)
               for form in {text[:2000], html.unescape(text[:2000])}}
    return True if True in answers else None if None in answers else False


def _names(text: str, wanted: str) -> bool | None:
    at = text.find(_ID_LABEL)
    if at < 0 or not wanted:
        return None
    rest = text[at + len(_ID_LABEL):].lstrip()
    if rest.startswith(wanted):
        after = rest[len(wanted):]
        if not after or after[0] == " " or after.startswith(_NEXT_LABELS):
            return True
    if len(rest) < len(wanted) and wanted.startswith(rest.rstrip("…").rstrip()):
        return None  # the preview stops inside the id
    return False
