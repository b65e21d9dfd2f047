"""Notes settled at the end of a run: a re-made Lead gets its notes, parked transcripts whose
contact's link is gone are written (issue 16, items 4 and 6).

These need ``SyncRun`` to call ``notes.link_unlinked_contacts`` and ``notes.reattach_notes``
at the end of the run (see ``_settle_pending_notes`` and ``finish``).
"""

from __future__ import annotations

from tests.target.singer import contact, run_target, target_config
from tests.target.test_notes import conversation, links_of, stream_text
from tests.target.test_notes_recovery import KEY_MAPPING, parked, person_ids


def test_a_lead_made_again_gets_its_note_though_the_transcript_did_not_change(
        salesforce_emulator):
    """The Lead a note was on is deleted in Salesforce; the next run makes it again for the
    changed contact. The note (its transcript unchanged, so not sent) is attached to it."""
    config = target_config(salesforce_emulator, sync_contacts=True)
    first = run_target(config, stream_text([contact("c1", "one@acme.com")],
                                           [conversation("conv1", "c1", 3)]))
    (lead,) = salesforce_emulator.backend.all_records("Lead")
    salesforce_emulator.backend.delete("Lead", lead["Id"])
    changed = contact("c1", "one@acme.com", updated_at="2026-11-21T10:00:00Z")
    second = run_target(config, stream_text([changed], [], first.states[-1]))
    (new_lead,) = salesforce_emulator.backend.all_records("Lead")
    assert new_lead["Id"] != lead["Id"]
    (note,) = salesforce_emulator.backend.all_records("ContentNote")
    assert new_lead["Id"] in links_of(salesforce_emulator, note["Id"])
    calls = salesforce_emulator.stats()["records"]
    run_target(config, stream_text([changed], [], second.states[-1]))  # nothing left to do
    assert salesforce_emulator.stats()["records"] == calls


def test_parked_transcripts_of_a_contact_with_no_link_are_written_by_a_later_run(
        salesforce_emulator):
    """Transcripts parked ("contact not synced") whose contact was synced since by another
    pipeline (so its link is in no state of ours): the next run finds it in Salesforce by
    the field its key is mapped to, and writes the note."""
    config = target_config(salesforce_emulator, **KEY_MAPPING)
    first = run_target(config, stream_text([], [conversation("conv1", "c1", 3)]))
    assert parked(config) == ["conv1"]
    other = target_config(salesforce_emulator, **KEY_MAPPING)  # its own output and state
    run_target(other, stream_text([contact("c1", "a@acme.com")], []))
    run_target(config, stream_text([], [], first.states[-1]))
    (note,) = salesforce_emulator.backend.all_records("ContentNote")
    assert links_of(salesforce_emulator, note["Id"]) == person_ids(salesforce_emulator,
                                                                    "a@acme.com")
    assert parked(config) == []
