"""tap-aimdoc under each reading of what Aimdoc does not document (the emulator's switches)."""

from __future__ import annotations

import base64
import copy
import logging

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tap_aimdoc.changes import SeenTable, digest, id_key
from tests.tap.harness import config, run_tap, select_only


@pytest.fixture(autouse=True)
def _tap_info_logs(caplog):
    caplog.set_level(logging.INFO, logger="tap-aimdoc")


def contacts_by_id(backend):
    return {c["id"]: copy.deepcopy(c) for c in backend.records("contacts")}


def prepare(emulator, contacts=60, seed=21, **settings):
    emulator.backend.configure(**settings)
    emulator.backend.generate(seed=seed, contacts=contacts)


def enrich_old(emulator, count=8):
    """Enrich contacts of any age (not only the recent ones) a day later."""
    return emulator.backend.advance(days=1, enriched_contacts=count, new_contacts=2,
                                    conversations_with_new_messages=4,
                                    reactivated_conversations=0, recent_days=None)


@pytest.mark.parametrize("date_filter", ["created_at", "updated_at"])
def test_without_updated_at_changed_contacts_are_found_by_digest(aimdoc_emulator, date_filter,
                                                                  caplog):
    prepare(aimdoc_emulator, updated_at=False, date_filter=date_filter)
    settings = config(aimdoc_emulator, page_size=20)
    first = run_tap(settings)
    assert first.counts()["contacts"] == 60
    assert all(row["updated_at"] == row["created_at"] for row in first.records["contacts"])
    before = contacts_by_id(aimdoc_emulator.backend)
    changes = enrich_old(aimdoc_emulator)
    second = run_tap(settings, first.state)
    after = contacts_by_id(aimdoc_emulator.backend)
    visible = {key: {k: v for k, v in row.items() if k != "updated_at"}
               for key, row in {**before, **after}.items()}
    expected = {key for key in after if key not in before or visible[key] != {
        k: v for k, v in before[key].items() if k != "updated_at"}}
    assert expected >= set(changes["new_contacts"])
    assert len(expected) > len(changes["new_contacts"])
    assert set(second.ids("contacts")) == expected
    signpost = second.state["bookmarks"]["contacts"]["replication_key_value"]
    enriched = [r for r in second.records["contacts"] if r["id"] in changes["enriched_contacts"]]
    assert all(r["updated_at"] == signpost for r in enriched)  # observed at this run
    assert "content digest" in caplog.text
    third = run_tap(settings, second.state)
    assert third.counts().get("contacts", 0) == 0


def test_old_records_updated_under_a_created_at_filter_are_found_by_reconciliation(
        aimdoc_emulator, caplog):
    prepare(aimdoc_emulator, date_filter="created_at")
    settings = config(aimdoc_emulator, page_size=20, lookback_days=1)
    first = run_tap(settings)
    changes = enrich_old(aimdoc_emulator)
    blind = run_tap({**settings, "reconcile_hours": 0}, first.state)
    caplog.clear()
    second = run_tap(settings, first.state)
    enriched = set(changes["enriched_contacts"])
    assert not enriched <= set(blind.ids("contacts"))  # the filter hides some updates
    assert enriched <= set(second.ids("contacts"))  # the reconciliation finds them all
    assert set(second.ids("contacts")) == enriched | set(changes["new_contacts"])
    assert "reading the whole listing (a reconciliation" in caplog.text
    reactivated = set(changes["conversations_with_new_messages"])
    assert set(second.ids("conversations")) == reactivated | set(changes["new_conversations"])
    assert set(second.ids("transcripts", "conversation_id")) == set(
        second.ids("conversations"))
    # Within reconcile_hours the next run reads only the lookback window again.
    aimdoc_emulator.backend.advance(hours=2, enriched_contacts=0, new_contacts=1,
                                    conversations_with_new_messages=0,
                                    reactivated_conversations=0)
    aimdoc_emulator.backend.stats.log.clear()
    third = run_tap(settings, second.state)
    asked = {entry["query"].get("start_date") for entry in aimdoc_emulator.backend.stats.log
             if entry["path"] == "/api/v1/contacts" and entry["query"]["per_page"] != "1"}
    assert None not in asked
    assert len(third.ids("contacts")) == 1


def test_an_updated_at_filter_is_learnt_and_ends_reconciliation(aimdoc_emulator, caplog):
    prepare(aimdoc_emulator, date_filter="updated_at")
    settings = config(aimdoc_emulator, page_size=20, lookback_days=1)
    first = run_tap(settings)
    enrich_old(aimdoc_emulator)
    second = run_tap(settings, first.state)
    bookmarks = second.state["bookmarks"]
    assert bookmarks["contacts"]["start_date_field"] == "updated_at"
    assert "seen" not in bookmarks["contacts"]  # nothing to keep once the field is known
    assert "contacts.start_date_field = updated_at (probed with the listing of" in caplog.text
    enrich_old(aimdoc_emulator)
    aimdoc_emulator.backend.stats.log.clear()
    caplog.clear()
    run_tap(settings, second.state)
    assert "contacts: reading the whole listing" not in caplog.text
    asked = [entry["query"].get("start_date") for entry in aimdoc_emulator.backend.stats.log
             if entry["path"] == "/api/v1/contacts" and entry["query"]["per_page"] != "1"]
    assert asked
    assert None not in asked


@pytest.mark.parametrize("key", ["lead_id", "contact_id"])
def test_transcripts_carry_both_contact_keys_whichever_the_api_sends(aimdoc_emulator, key,
                                                                      caplog):
    prepare(aimdoc_emulator, contacts=20, conversation_key=key)
    result = run_tap(config(aimdoc_emulator))
    stored = {c["id"]: c["lead_id"] for c in aimdoc_emulator.backend.records("conversations")}
    for stream, id_field in (("transcripts", "conversation_id"), ("conversations", "id")):
        rows = result.records[stream]
        assert rows
        for row in rows:
            assert row["lead_id"] == row["contact_id"] == stored[row[id_field]]
    assert f"conversations.contact_key = {key}" in caplog.text


def test_an_ignored_conversation_filter_costs_one_scan_and_a_warning(aimdoc_emulator, caplog):
    """A lookback so long that a scan looks dearer than a request per conversation; when each
    such request lists every message, the tap reads the listing once instead (and says so)."""
    costs = {}
    for honoured in (True, False):
        aimdoc_emulator.backend.reset()
        prepare(aimdoc_emulator, messages_conversation_filter=honoured)
        settings = config(aimdoc_emulator, lookback_days=90)
        catalog = select_only(settings, {"transcripts"})
        first = run_tap(settings, catalog=catalog)
        changes = aimdoc_emulator.backend.advance(days=1, new_contacts=0, enriched_contacts=0,
                                                  conversations_with_new_messages=3,
                                                  reactivated_conversations=0)
        before = aimdoc_emulator.backend.stats.count("messages")
        caplog.clear()
        second = run_tap(settings, first.state, catalog=catalog)
        costs[honoured] = aimdoc_emulator.backend.stats.count("messages") - before
        assert set(second.ids("transcripts", "conversation_id")) == set(
            changes["conversations_with_new_messages"])
        stored = {c["id"]: c for c in aimdoc_emulator.backend.records("conversations")}
        for transcript in second.records["transcripts"]:
            assert len(transcript["messages"]) == stored[transcript["conversation_id"]][
                "message_count"]
        warned = "ignores conversation_id on /messages" in caplog.text
        assert warned is not honoured
    listing = -(-aimdoc_emulator.backend.counts()["messages"] // 100)
    print(f"/messages requests: filter honoured {costs[True]}, ignored {costs[False]} "
          f"(a listing of {listing} pages; once per conversation: {3 * listing})")
    assert costs[True] <= 6
    assert costs[False] <= listing + 3  # one scan, not one per conversation


@pytest.mark.parametrize("body", ["empty", "null_data", "error", "malformed"])
def test_a_broken_page_is_retried_then_fails_naming_it(aimdoc_emulator, body):
    prepare(aimdoc_emulator, contacts=60)
    settings = config(aimdoc_emulator, page_size=20)
    catalog = select_only(settings, {"contacts"})
    aimdoc_emulator.backend.set_faults({"script": [
        {"path": "/api/v1/contacts", "page": 2, "body": body, "times": 1}]})
    healed = run_tap(settings, catalog=catalog)
    assert healed.error is None
    assert healed.counts() == {"contacts": 60}  # retried once, nothing skipped

    aimdoc_emulator.backend.set_faults({"script": [
        {"path": "/api/v1/contacts", "page": 2, "body": body, "times": 1000}]})
    broken = run_tap({**settings, "max_tries": 3}, catalog=catalog)
    assert isinstance(broken.error, RetriableAPIError)
    message = str(broken.error)
    assert "page 2 of /api/v1/contacts" in message
    assert "page=2" in message  # the URL
    assert aimdoc_emulator.backend.stats.faults[body] == 1 + 3
    assert broken.counts() == {}  # nothing emitted from a listing not read through
    assert all("replication_key_value" not in state["bookmarks"].get("contacts", {})
               for state in broken.states)


def test_after_a_broken_page_the_next_run_recovers_everything(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=60)
    settings = config(aimdoc_emulator, page_size=20, max_tries=2)
    first = run_tap(settings)
    changes = enrich_old(aimdoc_emulator, count=20)
    aimdoc_emulator.backend.set_faults({"script": [
        {"path": "/api/v1/contacts", "page": 2, "body": "empty", "times": 1000}]})
    failed = run_tap(settings, first.state)
    assert failed.error is not None
    aimdoc_emulator.backend.set_faults(None)
    recovered = run_tap(settings, failed.state)
    assert recovered.error is None
    assert set(recovered.ids("contacts")) == set(changes["enriched_contacts"]) | set(
        changes["new_contacts"])


def test_contacts_come_out_oldest_change_first_whatever_the_page_order(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=80, envelope="array", sorted=False)
    result = run_tap(config(aimdoc_emulator, page_size=15),
                     catalog=select_only(config(aimdoc_emulator), {"contacts"}))
    stamps = [(row["updated_at"], row["id"]) for row in result.records["contacts"]]
    assert len(stamps) == 80
    assert stamps == sorted(stamps)
    by_email = {}
    for row in result.records["contacts"]:
        if row.get("email"):
            by_email.setdefault(row["email"].lower(), []).append(row["updated_at"])
    duplicates = [stamps for stamps in by_email.values() if len(stamps) > 1]
    assert duplicates  # the data set has people with one email twice
    assert all(stamps == sorted(stamps) for stamps in duplicates)


def test_the_seen_table_stays_compact_at_100k_contacts():
    table = SeenTable()
    for number in range(100_000):
        record = {"id": f"{number:08d}-0000-4000-8000-000000000000", "email": f"p{number}@x.io"}
        table.keep(id_key(record["id"]), digest(record))
    text = table.encode()
    print(f"seen table: 100,000 contacts -> {len(text):,} characters of state")
    assert len(text) == 1_333_336  # base64 of 1,000,000 bytes
    assert len(base64.b64decode(text)) == 1_000_000  # 10 bytes a contact
    again = SeenTable.decode(text)
    assert again.entries == table.entries


def test_captured_fields_only_in_attributes_are_copied_up(aimdoc_emulator):
    prepare(aimdoc_emulator, contacts=20, captured="attributes")
    stored = {c["id"]: c for c in aimdoc_emulator.backend.records("contacts")}
    result = run_tap(config(aimdoc_emulator),
                     catalog=select_only(config(aimdoc_emulator), {"contacts"}))
    for row in result.records["contacts"]:
        original = stored[row["id"]]
        assert (row["status"], row["score"], row["qualification"]) == (
            original["status"], original["score"], original["qualification"])
        assert row["attributes"]["status"] == original["status"]  # kept as sent
        assert "data_capture" not in row  # not told apart from other attributes
