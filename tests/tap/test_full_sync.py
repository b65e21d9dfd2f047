"""A full sync of the 200-contact emulator: everything it holds, exactly, and transcripts."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.tap.harness import config, run_tap

STREAM_OF = {"contacts": "contacts", "conversations": "conversations", "messages": "messages",
             "visitor_profiles": "visitor_profiles"}


@pytest.fixture(scope="module")
def synced(make_aimdoc_emulator):
    """One full sync, shared by the tests of this module (read-only)."""
    make_aimdoc_emulator.backend.reset()
    result = run_tap(config(make_aimdoc_emulator))
    assert result.error is None, result.error
    return result, make_aimdoc_emulator.backend


def by_id(rows, key="id"):
    return {row[key]: row for row in rows}


def test_counts_equal_what_the_emulator_holds(synced):
    result, backend = synced
    counts = backend.counts()
    assert counts["contacts"] == 200
    assert result.counts() == {**counts, "transcripts": counts["conversations"]}


@pytest.mark.parametrize("stream", ["contacts", "conversations", "messages"])
def test_records_equal_the_emulators_records(synced, stream):
    result, backend = synced
    emitted = by_id(result.records[stream])
    assert len(emitted) == len(result.records[stream])
    assert emitted == by_id(backend.records(stream))


def test_visitor_profiles_equal_and_carry_updated_at(synced):
    result, backend = synced
    emitted = by_id(result.records["visitor_profiles"], "visitor_id")
    for visitor_id, profile in by_id(backend.records("visitor_profiles"), "visitor_id").items():
        record = dict(emitted[visitor_id])
        assert record.pop("updated_at") == profile["last_seen_at"]
        assert record == profile


def test_one_transcript_per_conversation_with_the_messages_streams_content(synced):
    result, _ = synced
    messages = defaultdict(list)
    for message in result.records["messages"]:
        stripped = {k: v for k, v in message.items() if k != "conversation_id"}
        messages[message["conversation_id"]].append(stripped)
    transcripts = by_id(result.records["transcripts"], "conversation_id")
    conversations = by_id(result.records["conversations"])
    assert transcripts.keys() == conversations.keys()
    for conversation_id, transcript in transcripts.items():
        expected = sorted(messages[conversation_id], key=lambda m: (m["created_at"], m["id"]))
        assert transcript["messages"] == expected
        assert transcript["message_count"] == conversations[conversation_id]["message_count"]
        for field in ("agent_name", "contact_id", "visitor_id", "session_url", "updated_at",
                      "escalation_reason", "buyer_intent_reason", "utm"):
            assert transcript[field] == conversations[conversation_id][field]


def test_transcripts_are_in_conversation_order(synced):
    result, _ = synced
    for transcript in result.records["transcripts"]:
        stamps = [m["created_at"] for m in transcript["messages"]]
        assert stamps == sorted(stamps)
        assert stamps[-1] == transcript["last_message_at"]


def test_untrusted_text_arrives_byte_for_byte(synced):
    result, backend = synced
    stored = {m["id"]: m["content"] for m in backend.records("messages")}
    risky = [m for m in result.records["messages"]
             if any(s in m["content"] for s in ("<script>", "onerror", "\\", "🚀", "\u200b"))]
    assert len(risky) >= 5
    assert all(m["content"] == stored[m["id"]] for m in risky)


def test_final_state_bookmarks_the_newest_records(synced):
    result, backend = synced
    bookmarks = result.state["bookmarks"]
    assert set(bookmarks) == {"contacts", "conversations", "messages", "transcripts",
                              "visitor_profiles"}
    newest = {"contacts": max(c["updated_at"] for c in backend.records("contacts")),
              "conversations": max(c["updated_at"] for c in backend.records("conversations")),
              "messages": max(m["created_at"] for m in backend.records("messages"))}
    for stream, value in newest.items():
        assert bookmarks[stream]["replication_key_value"] == value
    assert bookmarks["transcripts"] == bookmarks["conversations"]
    tracking = {"reconciled_at", "seen", "seen_mode", "witness"}  # see tap_aimdoc.tracking
    for stream, bookmark in bookmarks.items():
        extra = tracking if stream in ("contacts", "conversations", "transcripts") else set()
        assert {"replication_key", "replication_key_value"} <= set(bookmark) <= {
            "replication_key", "replication_key_value", *extra}


def test_nothing_secret_in_the_output(synced, make_aimdoc_emulator):
    result, _ = synced
    assert make_aimdoc_emulator.api_key not in result.output
