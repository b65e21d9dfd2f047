"""Transcripts: a top-level stream whose messages come from one scan of /messages or from one
listing per conversation; both give exactly the emulator's messages, in order, once each."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import date, timedelta

import pytest

from tap_aimdoc.spool import TranscriptSpool
from tests.tap.harness import SyncResult, config, run_tap, select_only

MESSAGES = "/api/v1/messages"
MESSAGE_KEYS = ("id", "role", "sender_name", "content", "created_at")
SWITCHES = [pytest.param(f, s, e, id=f"{f}-{'sorted' if s else 'unsorted'}-{e}")
            for f, s, e in itertools.product(("created_at", "updated_at"), (True, False),
                                             ("object", "data_only", "array"))]


def transcripts_only(emulator, **overrides):
    settings = config(emulator, **overrides)
    return settings, select_only(settings, {"transcripts"})


def message_requests(emulator):
    """(scan pages, per-conversation requests) the emulator answered on /messages."""
    asked = [entry["query"] for entry in emulator.backend.stats.log
             if entry["path"] == MESSAGES and entry["status"] == 200]
    return ([q for q in asked if "conversation_id" not in q],
            [q for q in asked if "conversation_id" in q])


def assert_exact(result, backend, conversation_ids=None):
    """Every transcript is the emulator's conversation with all its messages, in order."""
    conversations = {c["id"]: c for c in backend.records("conversations")}
    messages = defaultdict(list)
    for message in backend.records("messages"):
        messages[message["conversation_id"]].append({k: message[k] for k in MESSAGE_KEYS})
    emitted = result.ids("transcripts", "conversation_id")
    assert len(emitted) == len(set(emitted))
    assert set(emitted) == set(conversations if conversation_ids is None else conversation_ids)
    for transcript in result.records["transcripts"]:
        conversation = conversations[transcript["conversation_id"]]
        expected = sorted(messages[conversation["id"]], key=lambda m: (m["created_at"], m["id"]))
        assert transcript["messages"] == expected, conversation["id"]
        assert transcript["message_count"] == conversation["message_count"] == len(expected)
        header = {k: v for k, v in transcript.items()
                  if k not in ("conversation_id", "messages", "message_count")}
        assert header == {k: conversation[k] for k in header}


@pytest.mark.parametrize(("date_filter", "sorted_", "envelope"), SWITCHES)
def test_the_scan_and_per_conversation_fetches_give_the_same_transcripts(
        aimdoc_emulator, date_filter, sorted_, envelope):
    backend = aimdoc_emulator.backend
    backend.configure(date_filter=date_filter, sorted=sorted_, envelope=envelope)
    backend.generate(seed=21, contacts=40)
    settings, catalog = transcripts_only(aimdoc_emulator, page_size=15)
    first = run_tap(settings, catalog=catalog)
    changes = backend.advance(hours=6)
    changed = set(changes["new_conversations"]) | set(
        changes["conversations_with_new_messages"]) | set(changes["reactivated_conversations"])

    backend.stats.log.clear()
    scanned = run_tap(settings, catalog=catalog)  # a first sync: one scan
    scan, each = message_requests(aimdoc_emulator)
    assert scan
    assert not each
    backend.stats.log.clear()
    fetched = run_tap(settings, first.state, catalog=catalog)  # a few changes: one by one
    _, each = message_requests(aimdoc_emulator)
    assert {q["conversation_id"] for q in each} == changed

    assert (scanned.error, fetched.error) == (None, None)
    assert_exact(scanned, backend)
    assert_exact(fetched, backend, changed)
    by_scan = {t["conversation_id"]: t for t in scanned.records["transcripts"]}
    assert fetched.records["transcripts"] == [by_scan[t["conversation_id"]]
                                              for t in fetched.records["transcripts"]]


def test_a_first_sync_scans_with_far_fewer_requests(aimdoc_emulator):
    counts = aimdoc_emulator.backend.counts()
    settings, catalog = transcripts_only(aimdoc_emulator)
    result = run_tap(settings, catalog=catalog)
    assert result.error is None
    assert_exact(result, aimdoc_emulator.backend)
    scan, each = message_requests(aimdoc_emulator)
    assert not each
    assert len(scan) == math.ceil(counts["messages"] / 100)
    assert aimdoc_emulator.backend.stats.total < counts["conversations"] / 4


def test_a_scan_from_the_oldest_changed_conversation_minus_the_lookback(aimdoc_emulator):
    backend = aimdoc_emulator.backend
    backend.configure(date_filter="updated_at")
    backend.generate(seed=22, contacts=150)
    settings, catalog = transcripts_only(aimdoc_emulator, lookback_days=2)
    first = run_tap(settings, catalog=catalog)
    changes = backend.advance(days=1, conversations_with_new_messages=60, new_contacts=10,
                              reactivated_conversations=0, enriched_contacts=0)
    backend.stats.log.clear()
    second = run_tap(settings, first.state, catalog=catalog)
    scan, each = message_requests(aimdoc_emulator)
    assert scan
    assert not each
    changed = set(changes["new_conversations"]) | set(changes["conversations_with_new_messages"])
    assert_exact(second, backend, changed)
    oldest = min(c["created_at"] for c in backend.records("conversations") if c["id"] in changed)
    assert {q["start_date"] for q in scan} == {
        (date.fromisoformat(oldest[:10]) - timedelta(days=2)).isoformat()}


@pytest.mark.parametrize("late", [False, True], ids=["early", "late"])
@pytest.mark.parametrize("sorted_", [True, False], ids=["sorted", "unsorted"])
def test_messages_added_during_the_scan_are_neither_doubled_nor_lost(aimdoc_emulator,
                                                                     sorted_, late):
    """New messages land in the listing while it is scanned (unsorted: in the middle,
    shifting the pages behind them): each transcript still has every message of before the
    change, once and in order, and the next run brings the changed conversations whole.
    Late in a sorted scan, some changed conversations are out already, without them."""
    backend = aimdoc_emulator.backend
    backend.configure(sorted=sorted_, envelope="data_only", date_filter="updated_at")
    backend.generate(seed=23, contacts=50)
    before = {m["id"] for m in backend.records("messages")}
    settings, catalog = transcripts_only(aimdoc_emulator, page_size=10)
    after = int(0.8 * len(before) / 10) if late else 20
    backend.schedule_advance(after, minutes=30, conversations_with_new_messages=15,
                             new_contacts=3, reactivated_conversations=3, recent_days=None)
    first = run_tap(settings, catalog=catalog)
    assert backend.now.minute == 30  # the advance did happen mid-run
    scan, _ = message_requests(aimdoc_emulator)
    assert len(scan) > 20
    final = {m["id"]: m for m in backend.records("messages")}
    for transcript in first.records["transcripts"]:
        ids = [m["id"] for m in transcript["messages"]]
        assert len(ids) == len(set(ids))
        assert transcript["messages"] == sorted(transcript["messages"],
                                                key=lambda m: (m["created_at"], m["id"]))
        mine = {i for i, m in final.items() if m["conversation_id"] == transcript[
            "conversation_id"]}
        assert mine & before <= set(ids) <= mine
    out_before_their_change = [t for t in first.records["transcripts"] if len(
        t["messages"]) < sum(m["conversation_id"] == t["conversation_id"] for m in final.values())]
    assert out_before_their_change or not (late and sorted_)
    second = run_tap(settings, first.state, catalog=catalog)
    latest = {t["conversation_id"]: t for run in (first, second)
              for t in run.records["transcripts"]}
    assert_exact(SyncResult(records={"transcripts": list(latest.values())}), backend)
    assert run_tap(settings, second.state, catalog=catalog).counts() == {}


def test_a_bookmark_written_when_transcripts_were_a_child_stream_is_honoured(
        aimdoc_emulator):
    backend = aimdoc_emulator.backend
    backend.generate(seed=24, contacts=40)
    settings, catalog = transcripts_only(aimdoc_emulator)
    newest = max(c["updated_at"] for c in backend.records("conversations"))
    state = {"bookmarks": {"conversations": {}, "transcripts": {
        "replication_key": "updated_at", "replication_key_value": newest}}}
    assert run_tap(settings, state, catalog=catalog).counts() == {}
    changes = backend.advance(hours=3)
    result = run_tap(settings, state, catalog=catalog)
    expected = set(changes["new_conversations"]) | set(
        changes["conversations_with_new_messages"]) | set(changes["reactivated_conversations"])
    assert_exact(result, backend, expected)


def test_conversations_and_transcripts_keep_separate_bookmarks(aimdoc_emulator):
    backend = aimdoc_emulator.backend
    backend.generate(seed=25, contacts=30)
    settings = config(aimdoc_emulator)
    both = select_only(settings, {"conversations", "transcripts"})
    alone = run_tap(settings, catalog=select_only(settings, {"conversations"}))
    assert set(alone.counts()) == {"conversations"}
    assert "replication_key_value" not in alone.state["bookmarks"].get("transcripts", {})
    changes = backend.advance(hours=3)
    result = run_tap(settings, alone.state, catalog=both)
    changed = set(changes["new_conversations"]) | set(
        changes["conversations_with_new_messages"]) | set(changes["reactivated_conversations"])
    assert set(result.ids("conversations")) == changed
    assert_exact(result, backend)  # transcripts had no bookmark: all of them


def test_the_spool_orders_deduplicates_and_finds_short_conversations():
    fields = ("id", "created_at")
    with TranscriptSpool(fields) as spool:
        spool.add_conversation("b", {"conversation_id": "b"}, created_day="2026-01-02",
                               pages=1, expected=3)
        spool.add_conversation("a", {"conversation_id": "a"}, created_day=None, pages=2,
                               expected=None)
        spool.add_conversation("b", {"conversation_id": "b", "v": 2}, created_day="2026-01-01",
                               pages=1, expected=2)
        assert (spool.count(), spool.pages(), spool.earliest_day()) == (2, 3, None)
        assert spool.wanted(["a", "x", "a"]) == {"a": 2}
        seq = spool.wanted(["b"])["b"]
        stamps = ["2026-01-01T00:00:02.000Z", "2026-01-01T00:00:01.000Z", None]
        spool.add_messages((seq, {"id": f"m{i}", "created_at": s, "conversation_id": "b"})
                           for i, s in enumerate(stamps))
        spool.add_messages([(seq, {"id": "m0", "created_at": stamps[0]})])
        assert list(spool.short_conversations()) == []
        spool.forget_messages()
        spool.add_messages([(seq, {"id": "m0", "created_at": stamps[0]})] * 2)
        assert list(spool.short_conversations()) == [(seq, "b")]
        assert list(spool.transcripts()) == [
            ({"conversation_id": "b", "v": 2}, [("m0", stamps[0])]),
            ({"conversation_id": "a"}, [])]
