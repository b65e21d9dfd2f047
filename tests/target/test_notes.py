"""Transcript notes kept current in place, through the real target and the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from aimdoc_emulators.salesforce.validation import note_content_is_valid
from tap_aimdoc.transcripts import transcript
from tests.target.singer import contact, run_target, target_config

TRANSCRIPT_SCHEMA = {"type": "object", "additionalProperties": True, "properties": {
    "conversation_id": {"type": "string"}, "contact_id": {"type": ["string", "null"]},
    "messages": {"type": "array", "items": {"type": "object", "additionalProperties": True}}}}
CONTACT_SCHEMA = {"type": "object", "additionalProperties": True, "properties": {
    "id": {"type": "string"}, "email": {"type": ["string", "null"]},
    "updated_at": {"type": "string", "format": "date-time"}}}


def conversation(key: str, contact_id: str, count: int, *, extra: list[str] = ()) -> dict:
    conv = {"id": key, "agent_id": "a1", "agent_name": "Ava", "contact_id": contact_id,
            "lead_id": contact_id, "status": "active", "created_at": "2026-11-01T10:00:00.000Z",
            "updated_at": f"2026-11-01T10:{count:02d}:00.000Z", "page_url": "https://x.io/p"}
    texts = [f"message {i}" for i in range(count)] + list(extra)
    messages = [{"id": f"{key}-m{i}", "conversation_id": key,
                 "role": "user" if i % 2 == 0 else "assistant", "content": text,
                 "created_at": f"2026-11-01T10:{i // 60:02d}:{i % 60:02d}.000Z"}
                for i, text in enumerate(texts)]
    return transcript(conv, messages)


def stream_text(contacts: list[dict], transcripts: list[dict], state: dict | None = None) -> str:
    lines = []
    if state is not None:
        lines.append({"type": "STATE", "value": state})
    lines.append({"type": "SCHEMA", "stream": "contacts", "key_properties": ["id"],
                  "schema": CONTACT_SCHEMA})
    lines += [{"type": "RECORD", "stream": "contacts", "record": c} for c in contacts]
    lines.append({"type": "SCHEMA", "stream": "transcripts", "key_properties": ["conversation_id"],
                  "schema": TRANSCRIPT_SCHEMA})
    lines += [{"type": "RECORD", "stream": "transcripts", "record": t} for t in transcripts]
    lines.append({"type": "STATE", "value": {"bookmarks": {"contacts": {}, "transcripts": {}}}})
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def notes_of(emulator):
    notes = emulator.backend.all_records("ContentNote")
    return {n["Title"]: emulator.backend.note_content(n["Id"]).decode() for n in notes}


def links_of(emulator, note_id):
    rows = emulator.backend.conn.execute(
        'SELECT "LinkedEntityId" FROM "ContentDocumentLink" WHERE "ContentDocumentId" = ?',
        (note_id,)).fetchall()
    return sorted(row[0] for row in rows)


def test_a_growing_conversation_keeps_one_note(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True)
    people = [contact("c1", "jane@acme.com", company="Acme",
                      qualification=[{"question_id": "q1", "question": "Budget?",
                                      "answer": "10k"}])]
    state = None
    for run, count in enumerate((3, 8, 15)):
        target = run_target(config, stream_text(people, [conversation("conv1", "c1", count)],
                                                state))
        state = target.states[-1]
        notes = notes_of(salesforce_emulator)
        assert len(notes) == 1, run
        (content,) = notes.values()
        assert f"message {count - 1}" in content
        assert "Budget?" in content and "10k" in content
    (note,) = salesforce_emulator.backend.all_records("ContentNote")
    lead = salesforce_emulator.backend.all_records("Lead")[0]
    person = salesforce_emulator.backend.all_records("Contact")[0]
    assert links_of(salesforce_emulator, note["Id"]) == sorted([lead["Id"], person["Id"]])
    writes_before = salesforce_emulator.stats()["records"]
    again = run_target(config, stream_text(people, [conversation("conv1", "c1", 15)], state))
    assert salesforce_emulator.stats()["records"] == writes_before  # nothing written
    assert again.sync_run.report.count("unchanged", "Note") == 1


def test_hostile_messages_are_inert_and_accepted(salesforce_emulator):
    config = target_config(salesforce_emulator)
    hostile = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
               "it's <b>bold</b> & 'quoted' 😀 中文 عربى", "line\nbreak\ttab\x07bell"]
    run_target(config, stream_text([contact("c1", "jane@acme.com")],
                                   [conversation("conv1", "c1", 2, extra=hostile)]))
    (content,) = notes_of(salesforce_emulator).values()
    assert note_content_is_valid(content)
    assert "<script>" not in content and "<img" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "😀 中文 عربى" in content


def test_a_5000_message_transcript_is_cut_to_the_budget(salesforce_emulator):
    config = target_config(salesforce_emulator, notes={"budget": 60_000})
    long_one = conversation("conv1", "c1", 5000)
    run_target(config, stream_text([contact("c1", "jane@acme.com")], [long_one]))
    (note,) = salesforce_emulator.backend.all_records("ContentNote")
    content = salesforce_emulator.backend.note_content(note["Id"])
    assert len(content) <= 60_000
    assert "earlier messages not shown (conversation has 5,000 messages)" in content.decode()
    assert "message 4999" in content.decode()


def test_state_lost_no_duplicate_note_or_record(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    people = [contact(f"c{i}", f"p{i}@co{i % 3}.com", company=f"Co{i % 3}") for i in range(6)]
    convs = [conversation(f"conv{i}", f"c{i % 6}", 4 + i) for i in range(9)]
    run_target(config, stream_text(people, convs))
    grown = [conversation(f"conv{i}", f"c{i % 6}", 10 + i) for i in range(9)]
    run_target(config, stream_text(people, grown))  # no state: found by title and link
    assert salesforce_emulator.backend.count("ContentNote") == 9
    assert salesforce_emulator.backend.count("Lead") == 6
    assert salesforce_emulator.backend.count("Contact") == 6
    assert salesforce_emulator.backend.count("Account") == 3
    for title, content in notes_of(salesforce_emulator).items():
        number = int(title.rsplit("conv", 1)[1])
        assert f"message {10 + number - 1}" in content


def test_note_waits_for_its_contact(salesforce_emulator):
    config = target_config(salesforce_emulator)
    first = run_target(config, stream_text([contact("c1", "a@acme.com", status="disqualified")],
                                           [conversation("conv1", "c1", 3)]))
    assert salesforce_emulator.backend.count("ContentNote") == 0
    skipped = [o for o in first.sync_run.report.outcomes if o.sobject == "Note"]
    assert [(o.outcome, o.reason) for o in skipped] == [
        ("skipped", "contact_filtered:not_disqualified")]
    run_target(config, stream_text([contact("c1", "a@acme.com", status="qualified")], [],
                                   first.states[-1]))
    assert salesforce_emulator.backend.count("ContentNote") == 1


def test_transcripts_before_the_contacts_batch_drains(salesforce_emulator):
    config = target_config(salesforce_emulator, batch_size_rows=5)
    people = [contact(f"c{i}", f"p{i}@acme.com") for i in range(3)]  # stays under a batch
    convs = [conversation(f"conv{i}", f"c{i % 3}", 2) for i in range(12)]  # fills batches
    run_target(config, stream_text(people, convs))
    assert salesforce_emulator.backend.count("ContentNote") == 12


def test_classic_notes(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True, notes={"kind": "note"})
    people = [contact("c1", "jane@acme.com")]
    first = run_target(config, stream_text(people, [conversation("conv1", "c1", 3)]))
    run_target(config, stream_text(people, [conversation("conv1", "c1", 6)], first.states[-1]))
    run_target(config, stream_text(people, [conversation("conv1", "c1", 9)]))  # state lost
    notes = salesforce_emulator.backend.all_records("Note")
    assert len(notes) == 2  # one per record: the Lead and the Contact
    assert all("message 8" in n["Body"] and len(n["Title"]) <= 80 for n in notes)


def test_dry_run_writes_no_note(salesforce_emulator):
    config = target_config(salesforce_emulator, dry_run=True)
    target = run_target(config, stream_text([contact("c1", "a@acme.com")],
                                            [conversation("conv1", "c1", 3)]))
    assert salesforce_emulator.backend.count("ContentNote") == 0
    assert target.sync_run.report.count("created", "Note") == 1


def test_a_conversation_in_several_batches_written_at_once_keeps_one_note(salesforce_emulator):
    """Note batches are written two at a time; the same conversation in two of them (a tap
    re-sending it) must still end with one note holding its newest messages."""
    config = target_config(salesforce_emulator, sync_contacts=True, batch_size_rows=3)
    people = [contact(f"c{n}", f"p{n}@acme{n}.com", company=f"Acme {n}") for n in range(6)]
    batches = [conversation(f"conv{n % 4}", f"c{n % 6}", 2 + n) for n in range(12)]
    newest = {}
    for item in batches:
        newest[item["conversation_id"]] = item  # the last one sent wins
    target = run_target(config, stream_text(people, batches))
    notes = notes_of(salesforce_emulator)
    assert len(notes) == 4
    for key, item in newest.items():
        [body] = [text for title, text in notes.items() if title.endswith(key)]
        assert f"message {item['message_count'] - 1}<" in body  # the newest message is shown
    assert target.sync_run.report.count("failed") == 0


def test_transcripts_before_their_contacts_are_written_at_the_end_of_the_run(salesforce_emulator):
    """Parked transcripts whose contact synced later in the run get their note at the end;
    one whose contact never synced stays parked in the dead letters."""
    config = target_config(salesforce_emulator, batch_size_rows=2)
    convs = [conversation("conv1", "c1", 3), conversation("conv2", "c2", 4),
             conversation("conv3", "c1", 2)]
    people = [contact("c1", "a@acme.com"), contact("c2", "b@acme.com", status="disqualified")]
    transcripts_first = stream_text([], convs).splitlines(keepends=True)[:-1]  # no STATE yet
    text = "".join(transcripts_first) + stream_text(people, [])
    target = run_target(config, text)
    assert sorted(t.rsplit("\u00b7 ", 1)[1] for t in notes_of(salesforce_emulator)) == [
        "conv1", "conv3"]
    notes = {o.key: (o.outcome, o.reason) for o in target.sync_run.report.outcomes
             if o.sobject == "Note"}
    assert notes == {"conv1": ("created", None), "conv3": ("created", None),
                     "conv2": ("skipped", "contact_filtered:not_disqualified")}
    folder = Path(config["dead_letter_path"]).parent  # waits there, not in the dead letters
    parked = [json.loads(line)["key"] for path in folder.glob("*.parked.jsonl")
              for line in path.read_text(encoding="utf-8").splitlines()]
    assert parked == ["conv2"]


def test_a_parked_transcript_written_later_in_the_run_is_not_rewritten_from_its_old_copy(
        salesforce_emulator):
    """Parked before its contact synced, then sent again (grown) after: the note keeps the
    newer messages, at the end of the run and in the next one, and nothing stays parked."""
    config = target_config(salesforce_emulator, batch_size_rows=1)
    early = stream_text([], [conversation("conv1", "c1", 3)]).splitlines(keepends=True)[:-1]
    later = stream_text([contact("c1", "a@acme.com")], [conversation("conv1", "c1", 6)])
    first = run_target(config, "".join(early) + later)
    [(title, body)] = notes_of(salesforce_emulator).items()
    assert "message 5<" in body
    assert not Path(config["dead_letter_path"]).exists()  # the parked copy is gone
    run_target(config, stream_text([contact("c1", "a@acme.com")], [], first.states[-1]))
    assert "message 5<" in notes_of(salesforce_emulator)[title]
