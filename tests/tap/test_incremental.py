"""Incremental runs against the emulator's time travel, under both date-filter semantics."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tests.tap.harness import config, run_tap, select_only

KEYS = {"contacts": "id", "conversations": "id", "messages": "id",
        "visitor_profiles": "visitor_id"}
SEMANTICS = [pytest.param(f, s, id=f"{f}-{'sorted' if s else 'unsorted'}")
             for f in ("created_at", "updated_at") for s in (True, False)]


def snapshot(backend):
    return {kind: {row[key]: copy.deepcopy(row) for row in backend.records(kind)}
            for kind, key in KEYS.items()}


def changed(before, after):
    return {kind: {key for key, row in after[kind].items() if before[kind].get(key) != row}
            for kind in after}


def prepare(emulator, *, date_filter="created_at", sorted_=True, contacts=80, seed=12):
    emulator.backend.configure(date_filter=date_filter, sorted=sorted_)
    emulator.backend.generate(seed=seed, contacts=contacts)


@pytest.mark.parametrize(("date_filter", "sorted_"), SEMANTICS)
def test_after_time_travel_a_run_emits_exactly_the_changes(aimdoc_emulator, date_filter,
                                                           sorted_):
    prepare(aimdoc_emulator, date_filter=date_filter, sorted_=sorted_)
    settings = config(aimdoc_emulator, page_size=20)
    first = run_tap(settings)
    assert first.error is None
    before = snapshot(aimdoc_emulator.backend)
    aimdoc_emulator.backend.advance(days=1)
    after = snapshot(aimdoc_emulator.backend)
    expected = changed(before, after)
    assert all(expected.values())

    second = run_tap(settings, first.state)
    assert second.error is None
    for stream, key in KEYS.items():
        ids = second.ids(stream, key)
        assert len(ids) == len(set(ids)), stream
        assert set(ids) == expected[stream], stream
        assert all(row == after[stream][row[key]] or stream == "visitor_profiles"
                   for row in second.records[stream])
    assert set(second.ids("transcripts", "conversation_id")) == expected["conversations"]

    third = run_tap(settings, second.state)
    assert third.error is None
    assert third.counts() == {}


def test_the_lookback_is_what_catches_old_records_under_created_at(aimdoc_emulator):
    """With date filters on created_at, an update to a contact created days before the
    bookmark is only returned because the tap asks for the days before it again."""
    prepare(aimdoc_emulator, date_filter="created_at", contacts=150)
    first = run_tap(config(aimdoc_emulator))
    aimdoc_emulator.backend.advance(days=1, enriched_contacts=10, new_contacts=0,
                                    conversations_with_new_messages=0,
                                    reactivated_conversations=0)
    changes = aimdoc_emulator.backend.records("contacts")
    enriched = {c["id"] for c in changes if c["updated_at"] > first.state["bookmarks"][
        "contacts"]["replication_key_value"]}
    blind = run_tap(config(aimdoc_emulator, lookback_days=0, reconcile_hours=0), first.state)
    looking = run_tap(config(aimdoc_emulator, reconcile_hours=0), first.state)
    assert set(looking.ids("contacts")) == enriched
    assert set(blind.ids("contacts")) < enriched


def test_requests_ask_from_the_bookmark_day_minus_the_lookback(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=20)
    first = run_tap(config(aimdoc_emulator))
    bookmark = first.state["bookmarks"]["contacts"]["replication_key_value"]
    aimdoc_emulator.backend.stats.log.clear()
    run_tap(config(aimdoc_emulator, lookback_days=3), first.state)
    asked = {entry["query"].get("start_date") for entry in aimdoc_emulator.backend.stats.log
             if entry["path"] == "/api/v1/contacts" and entry["query"]["per_page"] != "1"
             and "end_date" not in entry["query"]}  # not the probe of the filter's field
    assert asked == {(date.fromisoformat(bookmark[:10]) - timedelta(days=3)).isoformat()}


@pytest.mark.parametrize(("date_filter", "sorted_", "after", "recent_days"), [
    pytest.param("updated_at", True, 4, None, id="sorted-while-paging-contacts"),
    pytest.param("updated_at", True, 40, None, id="sorted-while-fetching-messages"),
    pytest.param("updated_at", False, 4, None, id="unsorted-while-paging-contacts"),
    pytest.param("created_at", True, 12, 5, id="created_at-while-paging-conversations"),
])
def test_changes_made_during_a_run_are_never_missed(aimdoc_emulator, date_filter, sorted_,
                                                    after, recent_days):
    """Records change while the tap pages through them; the run and the next one together
    emit the final version of every record, and a third run emits nothing."""
    prepare(aimdoc_emulator, date_filter=date_filter, sorted_=sorted_, seed=13, contacts=50)
    aimdoc_emulator.backend.schedule_advance(
        after, minutes=30, enriched_contacts=15, conversations_with_new_messages=10,
        reactivated_conversations=4, new_contacts=5, recent_days=recent_days)
    settings = config(aimdoc_emulator, page_size=8)
    first = run_tap(settings)
    assert aimdoc_emulator.backend.now.minute == 30  # the advance did happen mid-run
    second = run_tap(settings, first.state)
    third = run_tap(settings, second.state)
    assert (first.error, second.error, third.error) == (None, None, None)

    final = snapshot(aimdoc_emulator.backend)
    for stream, key in KEYS.items():
        latest = {row[key]: row for run in (first, second) for row in run.records[stream]}
        assert latest.keys() == final[stream].keys(), stream
        if stream != "visitor_profiles":
            stale = [k for k, row in latest.items() if row != final[stream][k]]
            assert not stale, (stream, stale[:3])
    transcripts = {row["conversation_id"]: row for run in (first, second)
                   for row in run.records["transcripts"]}
    for conversation_id, transcript in transcripts.items():
        assert transcript["updated_at"] == final["conversations"][conversation_id]["updated_at"]
    assert third.counts() == {}


def test_a_failed_run_resumes_from_its_last_state(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=50, seed=14)
    counts = aimdoc_emulator.backend.counts()
    aimdoc_emulator.backend.set_faults({"script": [
        {"status": 500, "path": "/api/v1/conversations", "after": 1, "times": 1000}]})
    settings = config(aimdoc_emulator, max_tries=2)
    failed = run_tap(settings)
    assert isinstance(failed.error, RetriableAPIError)
    assert failed.counts() == {"contacts": 50}
    assert "replication_key_value" in failed.state["bookmarks"]["contacts"]
    assert "replication_key_value" not in failed.state["bookmarks"].get("conversations", {})

    aimdoc_emulator.backend.set_faults(None)
    resumed = run_tap(settings, failed.state)
    assert resumed.error is None
    assert resumed.counts() == {"conversations": counts["conversations"],
                                "messages": counts["messages"],
                                "transcripts": counts["conversations"],
                                "visitor_profiles": counts["visitor_profiles"]}


def test_state_keeps_keys_that_belong_to_other_plugins(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=10)
    links = {"contacts": {"c-1": "003000000000001"}, "version": 2}
    result = run_tap(config(aimdoc_emulator), {"salesforce_links": links})
    assert result.states[0] == {"salesforce_links": links}
    assert all(state["salesforce_links"] == links for state in result.states)
    again = run_tap(config(aimdoc_emulator), result.state)
    assert again.states[0] == result.state
    assert again.state["salesforce_links"] == links


def test_start_date_bounds_the_first_run(aimdoc_emulator):
    prepare(aimdoc_emulator, date_filter="updated_at", contacts=60)
    contacts = aimdoc_emulator.backend.records("contacts")
    start = sorted(c["updated_at"] for c in contacts)[40]
    result = run_tap(config(aimdoc_emulator, start_date=start, lookback_days=2))
    assert set(result.ids("contacts")) == {c["id"] for c in contacts if c["updated_at"] >= start}
    asked = {entry["query"].get("start_date") for entry in aimdoc_emulator.backend.stats.log
             if entry["path"] == "/api/v1/contacts" and entry["query"]["per_page"] != "1"}
    assert asked == {(date.fromisoformat(start[:10]) - timedelta(days=2)).isoformat()}


def test_a_stream_selected_alone_keeps_its_own_bookmark(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=40)
    settings = config(aimdoc_emulator)
    catalog = select_only(settings, {"transcripts"})
    first = run_tap(settings, catalog=catalog)
    assert set(first.counts()) == {"transcripts"}
    assert first.counts()["transcripts"] == aimdoc_emulator.backend.counts()["conversations"]
    changes = aimdoc_emulator.backend.advance(hours=6)
    second = run_tap(settings, first.state, catalog=catalog)
    expected = set(changes["new_conversations"]) | set(
        changes["conversations_with_new_messages"]) | set(changes["reactivated_conversations"])
    assert set(second.ids("transcripts", "conversation_id")) == expected
    assert run_tap(settings, second.state, catalog=catalog).counts() == {}


def test_a_newly_selected_transcripts_stream_gets_its_history(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=30)
    settings = config(aimdoc_emulator)
    first = run_tap(settings, catalog=select_only(settings, {"contacts", "conversations"}))
    assert "transcripts" not in first.counts()
    second = run_tap(settings, first.state,
                     catalog=select_only(settings, {"conversations", "transcripts"}))
    conversations = aimdoc_emulator.backend.counts()["conversations"]
    assert second.counts()["transcripts"] == conversations
    third = run_tap(settings, second.state,
                    catalog=select_only(settings, {"conversations", "transcripts"}))
    assert third.counts() == {}
