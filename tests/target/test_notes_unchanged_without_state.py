"""A note is recognised as unchanged without the link state (issue 23, item 2).

With the state lost, each note is found again by its title and the id in its preview; what
Salesforce keeps about its content (ContentNote ``ContentSize`` and ``TextPreview``, the
classic Note's ``Body``) tells an unchanged note from a changed one, so only changed notes are
written again. Each test drives the real target against the Salesforce emulator.
"""

from __future__ import annotations

from aimdoc_emulators.salesforce.validation import note_text_preview
from target_salesforce_aimdoc.notes_render import render_note
from tests.target.singer import contact, run_target, target_config
from tests.target.test_notes import conversation, stream_text

PEOPLE = [contact("c1", "one@acme.com"), contact("c2", "two@globex.com"),
          contact("c3", "three@initech.com")]


def _writes(emulator) -> dict[str, dict[str, int]]:
    """Records created / updated so far, per object."""
    return {name: dict(counts) for name, counts in
            emulator.stats()["records"]["by_object"].items()}


def _delta(before: dict, after: dict, sobject: str, kind: str) -> int:
    return after.get(sobject, {}).get(kind, 0) - before.get(sobject, {}).get(kind, 0)


def _created(before: dict, after: dict) -> int:
    return sum(_delta(before, after, name, "created") for name in after)


def test_a_rerun_without_state_writes_no_unchanged_note(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True)
    chats = [conversation("conv-1", "c1", 3), conversation("conv-2", "c2", 40),
             conversation("conv-3", "c3", 7, extra=["Ça coûte <5 € & \"plus\""])]
    run_target(config, stream_text(PEOPLE, chats))
    before = _writes(salesforce_emulator)
    run_target(config, stream_text(PEOPLE, chats))  # the same messages, no state
    after = _writes(salesforce_emulator)
    assert _delta(before, after, "ContentNote", "updated") == 0
    assert _created(before, after) == 0
    assert len(salesforce_emulator.backend.all_records("ContentNote")) == 3


def test_without_state_only_the_changed_note_is_rewritten(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True)
    run_target(config, stream_text(PEOPLE, [conversation("conv-1", "c1", 3),
                                            conversation("conv-2", "c2", 4)]))
    before = _writes(salesforce_emulator)
    grown = conversation("conv-2", "c2", 5)
    run_target(config, stream_text(PEOPLE, [conversation("conv-1", "c1", 3), grown]))
    after = _writes(salesforce_emulator)
    assert _delta(before, after, "ContentNote", "updated") == 1
    assert _created(before, after) == 0
    contents = [salesforce_emulator.backend.note_content(note["Id"]).decode()
                for note in salesforce_emulator.backend.all_records("ContentNote")]
    assert sum("message 4<" in content for content in contents) == 1


def test_a_change_past_the_preview_is_still_written(salesforce_emulator):
    """A message edited far past the 255-character preview: the size tells it."""
    config = target_config(salesforce_emulator, sync_contacts=True)
    run_target(config, stream_text(PEOPLE[:1], [conversation("conv-1", "c1", 3,
                                                             extra=["price is 10"])]))
    before = _writes(salesforce_emulator)
    run_target(config, stream_text(PEOPLE[:1], [conversation("conv-1", "c1", 3,
                                                             extra=["price is 100"])]))
    after = _writes(salesforce_emulator)
    assert _delta(before, after, "ContentNote", "updated") == 1


def test_classic_notes_without_state_are_left_when_unchanged(salesforce_emulator):
    config = target_config(salesforce_emulator, notes={"kind": "note"})
    chats = [conversation("conv-1", "c1", 3), conversation("conv-2", "c2", 6)]
    run_target(config, stream_text(PEOPLE[:2], chats))
    before = _writes(salesforce_emulator)
    run_target(config, stream_text(PEOPLE[:2], [chats[0], conversation("conv-2", "c2", 7)]))
    after = _writes(salesforce_emulator)
    assert _delta(before, after, "Note", "updated") == 1  # only the grown conversation
    assert _created(before, after) == 0


def test_stored_size_and_preview_tell_the_note():
    note = render_note(conversation("conv-9", "c9", 4, extra=["a < b & 'c'"]))
    size = len(note.html.encode("utf-8"))
    preview = salesforce_like_preview(note.html)
    assert note.stored_as(size, preview)
    assert not note.stored_as(size + 1, preview)
    assert not note.stored_as(size, preview.replace("conv-9", "conv-8"))
    assert not note.stored_as(None, preview) and not note.stored_as(size, None)
    assert not note.stored_as(size, "")


def salesforce_like_preview(html: str) -> str:
    """The emulator's TextPreview, computed the way it is stored."""
    return note_text_preview(html)
