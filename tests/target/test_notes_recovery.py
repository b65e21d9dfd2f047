"""Notes never lost or crossed: evicted links, deleted notes, conversation ids that end alike.

Each test drives the real target against the Salesforce emulator (issue 16, items 4, 6, 7).
"""

from __future__ import annotations

import json
from pathlib import Path

from target_salesforce_aimdoc.links import LinkStore
from target_salesforce_aimdoc.notes import names_conversation
from tests.target.singer import contact, run_target, target_config
from tests.target.test_notes import conversation, links_of, stream_text

KEY_MAPPING = {"streams": {"contacts": {"objects": {
    "Lead": {"fields": {"Aimdoc_Id__c": "id"}},
    "Contact": {"fields": {"Aimdoc_Id__c": "id"}}}}}}


def person_ids(emulator, email):
    """The Lead and Contact ids of a person, by e-mail."""
    return sorted(row["Id"] for sobject in ("Lead", "Contact")
                  for row in emulator.backend.all_records(sobject) if row.get("Email") == email)


def parked(config):
    """The keys of the transcripts parked, waiting for their contact."""
    folder = Path(config["dead_letter_path"]).parent
    keys = []
    for path in folder.glob("*.parked.jsonl"):
        keys += [json.loads(line)["key"] for line in path.read_text("utf-8").splitlines()]
    return sorted(set(keys))


# ------------------------------------------------------------------------ item 7: identity
TWIN_A, TWIN_B = "aaaa-0123456789ab", "bbbb-0123456789ab"  # the same last 12 characters


def test_two_conversations_ending_alike_get_a_note_each(salesforce_emulator):
    """Synced in two runs (the second has no link for the second conversation): the second
    conversation must not take over the first one's note."""
    config = target_config(salesforce_emulator, sync_contacts=True)
    people = [contact("c1", "one@acme.com"), contact("c2", "two@globex.com")]
    first = run_target(config, stream_text(people, [conversation(TWIN_A, "c1", 3)]))
    run_target(config, stream_text(people, [conversation(TWIN_B, "c2", 5)], first.states[-1]))
    notes = salesforce_emulator.backend.all_records("ContentNote")
    assert len(notes) == 2
    for note in notes:
        content = salesforce_emulator.backend.note_content(note["Id"]).decode()
        owner = ("one@acme.com", TWIN_A) if TWIN_A in content else ("two@globex.com", TWIN_B)
        assert f"Conversation ID:</b> {owner[1]}<" in content
        assert links_of(salesforce_emulator, note["Id"]) == person_ids(salesforce_emulator,
                                                                        owner[0])


def test_state_lost_conversations_ending_alike_keep_their_own_notes(salesforce_emulator):
    """With the state lost, each conversation finds its own note (same title) and updates it
    in place: no third note, no crossed content, each attached to its own person only."""
    config = target_config(salesforce_emulator, sync_contacts=True)
    people = [contact("c1", "one@acme.com"), contact("c2", "two@globex.com")]
    run_target(config, stream_text(people, [conversation(TWIN_A, "c1", 3),
                                            conversation(TWIN_B, "c2", 4)]))
    before = {n["Id"] for n in salesforce_emulator.backend.all_records("ContentNote")}
    run_target(config, stream_text(people, [conversation(TWIN_B, "c2", 9),
                                            conversation(TWIN_A, "c1", 7)]))  # no state
    notes = salesforce_emulator.backend.all_records("ContentNote")
    assert {n["Id"] for n in notes} == before
    for note in notes:
        content = salesforce_emulator.backend.note_content(note["Id"]).decode()
        if TWIN_A in content:
            assert TWIN_B not in content and "message 6<" in content
            assert links_of(salesforce_emulator, note["Id"]) == person_ids(
                salesforce_emulator, "one@acme.com")
        else:
            assert TWIN_B in content and "message 8<" in content
            assert links_of(salesforce_emulator, note["Id"]) == person_ids(
                salesforce_emulator, "two@globex.com")


def test_classic_notes_of_one_person_ending_alike_stay_apart(salesforce_emulator):
    """Classic Notes: one person's two conversations with the same title, the state lost."""
    config = target_config(salesforce_emulator, notes={"kind": "note"})
    people = [contact("c1", "one@acme.com")]
    run_target(config, stream_text(people, [conversation(TWIN_A, "c1", 3),
                                            conversation(TWIN_B, "c1", 4)]))
    run_target(config, stream_text(people, [conversation(TWIN_B, "c1", 9),
                                            conversation(TWIN_A, "c1", 7)]))  # no state
    notes = salesforce_emulator.backend.all_records("Note")
    assert len(notes) == 2
    bodies = sorted(note["Body"] for note in notes)
    assert f"Conversation ID: {TWIN_A}\n" in bodies[0] and bodies[0].endswith("message 6")
    assert f"Conversation ID: {TWIN_B}\n" in bodies[1] and bodies[1].endswith("message 8")


# ------------------------------------------------------------------ item 6: deleted notes
def test_a_deleted_note_is_written_again_when_its_conversation_grows(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True)
    people = [contact("c1", "one@acme.com")]
    first = run_target(config, stream_text(people, [conversation("conv1", "c1", 3)]))
    (note,) = salesforce_emulator.backend.all_records("ContentNote")
    salesforce_emulator.backend.delete("ContentNote", note["Id"])
    second = run_target(config, stream_text(people, [conversation("conv1", "c1", 6)],
                                            first.states[-1]))
    assert second.sync_run.report.count("failed") == 0
    (again,) = salesforce_emulator.backend.all_records("ContentNote")
    assert again["Id"] != note["Id"]
    assert "message 5<" in salesforce_emulator.backend.note_content(again["Id"]).decode()
    assert links_of(salesforce_emulator, again["Id"]) == person_ids(salesforce_emulator,
                                                                      "one@acme.com")
    third = run_target(config, stream_text(people, [conversation("conv1", "c1", 8)],
                                           second.states[-1]))  # the new note's id is kept
    assert third.sync_run.report.count("updated", "Note") == 1
    assert [n["Id"] for n in salesforce_emulator.backend.all_records("ContentNote")] == [
        again["Id"]]


def test_a_deleted_classic_note_is_written_again(salesforce_emulator):
    config = target_config(salesforce_emulator, notes={"kind": "note"})
    people = [contact("c1", "one@acme.com")]
    first = run_target(config, stream_text(people, [conversation("conv1", "c1", 3)]))
    (note,) = salesforce_emulator.backend.all_records("Note")
    salesforce_emulator.backend.delete("Note", note["Id"])
    second = run_target(config, stream_text(people, [conversation("conv1", "c1", 6)],
                                            first.states[-1]))
    assert second.sync_run.report.count("failed") == 0
    (again,) = salesforce_emulator.backend.all_records("Note")
    assert "message 5" in again["Body"]


# ------------------------------------------------------------- item 4: evicted contacts
def test_contacts_beyond_the_link_limit_still_get_their_notes(salesforce_emulator):
    """A backfill larger than ``link_state_max_records``: every note is written in the run,
    nothing parked (the evicted links are kept until the run ends)."""
    config = target_config(salesforce_emulator, link_state_max_records=5, batch_size_rows=4)
    people = [contact(f"c{n}", f"p{n}@acme{n}.com") for n in range(14)]
    convs = [conversation(f"conv{n}", f"c{n}", 2 + n % 3) for n in range(14)]
    target = run_target(config, stream_text(people, convs))
    assert salesforce_emulator.backend.count("ContentNote") == 14
    assert target.sync_run.report.count("created", "Note") == 14
    assert parked(config) == []
    assert len(target.states[-1]["salesforce_links"]["records"]) == 5  # the state is bounded


def test_a_contact_whose_link_is_gone_is_found_by_its_key_field(salesforce_emulator):
    """Transcripts of contacts synced in an earlier run whose links are no longer in the
    state: found in Salesforce by the field the contact key is mapped to, one query per batch,
    and written, not parked."""
    config = target_config(salesforce_emulator, sync_contacts=True, batch_size_rows=50,
                           **KEY_MAPPING)
    people = [contact(f"c{n}", f"p{n}@acme{n}.com") for n in range(30)]
    run_target(config, stream_text(people, []))
    convs = [conversation(f"conv{n}", f"c{n}", 3) for n in range(30)]
    target = run_target(config, stream_text([], convs))  # no state: no link at all
    assert salesforce_emulator.backend.count("ContentNote") == 30
    assert parked(config) == []
    for note in salesforce_emulator.backend.all_records("ContentNote"):
        number = note["Title"].rsplit("conv", 1)[1]
        assert links_of(salesforce_emulator, note["Id"]) == person_ids(
            salesforce_emulator, f"p{number}@acme{number}.com")
    queries = target.sync_run.client.usage.by_kind.get("query", 0)
    assert queries <= 6  # contacts (Lead, Contact), notes by title, their links: batched


def test_a_note_is_told_by_the_whole_conversation_id_in_its_text():
    """``names_conversation`` on TextPreview / Body forms: sure, other id, cannot tell."""
    preview = f"Aimdoc conversation Agent: Ava Conversation ID: {TWIN_A} Started: 2026-11-01"
    assert names_conversation(preview, TWIN_A) is True
    assert names_conversation(preview, TWIN_B) is False
    assert names_conversation(preview, TWIN_A[:-1]) is False  # a shorter id is another one
    assert names_conversation(preview.replace(" Started", "Started"), TWIN_A) is True
    assert names_conversation(f"Agent: Ava\nConversation ID: {TWIN_A}\nStarted: x", TWIN_A)
    assert names_conversation(f"Conversation ID: {TWIN_A[:8]}", TWIN_A) is None  # cut
    assert names_conversation("Aimdoc conversation", TWIN_A) is None
    assert names_conversation(None, TWIN_A) is None
    assert names_conversation("Conversation ID: it&#39;s Status: x", "it's") is True


def test_an_evicted_link_is_kept_for_the_run_and_synced_again_whole():
    """Pushed out of the bounded store: still found this run, not in the state, and a record
    synced again keeps its other objects' ids."""
    store = LinkStore(max_records=2)
    store.record("contacts", "c1", "Lead", "00Q000000000001AAA", None)
    store.record("contacts", "c1", "Contact", "003000000000001AAA", None)
    store.record("contacts", "c2", "Lead", "00Q000000000002AAA", None)
    store.record("transcripts", "t1", "Note", "069000000000001AAA", None, digest="d")
    assert "contacts/c1" not in store.to_state()["records"]
    assert store.evicted == 1
    assert store.get("contacts", "c1").ids["Contact"] == "003000000000001AAA"
    store.record("contacts", "c1", "Lead", "00Q000000000003AAA", None)
    assert store.get("contacts", "c1").ids == {"Lead": "00Q000000000003AAA",
                                               "Contact": "003000000000001AAA"}
    assert store.moved == {"00Q000000000001AAA": "00Q000000000003AAA"}
