"""Notes on records this run created need no search; anything else is still searched for."""

from __future__ import annotations

from tests.target.singer import contact, run_target, target_config
from tests.target.test_notes import conversation, stream_text


def people_and_chats(count: int) -> tuple[list[dict], list[dict]]:
    people = [contact(f"c{i}", f"p{i}@co{i % 3}.com", company=f"Co{i % 3}") for i in range(count)]
    return people, [conversation(f"conv{i}", f"c{i}", 3 + i) for i in range(count)]


def test_a_first_sync_writes_notes_on_new_records_without_searching(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    people, chats = people_and_chats(5)
    target = run_target(config, stream_text(people, chats))
    assert salesforce_emulator.backend.count("ContentNote") == 5
    kinds = target.sync_run.client.usage.by_kind
    assert kinds.get("composite_query") == 1  # the contacts' matching, no search for notes


def test_records_found_rather_than_created_are_searched_for_notes(salesforce_emulator):
    """State lost: the upserts answer ``created: false``, so earlier notes are found."""
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    people, chats = people_and_chats(5)
    run_target(config, stream_text(people, chats))
    notes = salesforce_emulator.stats()["records"]["by_object"]["ContentNote"]
    again = run_target(config, stream_text(people, chats))  # no state
    assert salesforce_emulator.stats()["records"]["by_object"]["ContentNote"] == notes
    assert salesforce_emulator.backend.count("ContentNote") == 5
    assert again.sync_run.client.usage.by_kind.get("composite_query", 0) >= 2


def test_after_an_ambiguous_note_create_on_new_records_the_notes_are_searched(
        salesforce_emulator):
    """The connection is cut after the notes were made: found, not made twice."""
    salesforce_emulator.set_faults({"rules": [{"error": "DROP_CONNECTION", "phase": "after",
                                               "times": 1, "body_contains": "ContentNote"}]})
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           max_retry_wait_seconds=0.05)
    people, chats = people_and_chats(4)
    run_target(config, stream_text(people, chats))
    assert salesforce_emulator.stats()["faults_injected"] == 1
    salesforce_emulator.clear_faults()
    assert salesforce_emulator.backend.count("ContentNote") == 4
    assert salesforce_emulator.backend.count("Lead") == 4


def test_an_id_is_fresh_only_while_no_other_run_held_the_lock():
    from target_salesforce_aimdoc.fresh_records import FreshRecords
    from target_salesforce_aimdoc.plan import Step

    fresh = FreshRecords(enabled=True)
    fresh.held(5)
    fresh.add_steps([Step("Lead", "create", [], "k1", record_id="00Q1", fresh=True),
                     Step("Lead", "create", [], "k2", record_id="00Q2")], 5)
    fresh.held(6)
    assert fresh.usable(6) == {"00Q1"}  # only this run held the lock since: untouched
    fresh.held(8)  # generation 7 was another run's
    assert fresh.usable(8) == frozenset()
    fresh.add_steps([Step("Lead", "create", [], "k3", record_id="00Q3", fresh=True)], 8)
    assert fresh.usable(8) == {"00Q3"}
    assert fresh.usable(None) == frozenset()  # a dry run holds no lock: nothing is fresh
    assert FreshRecords(enabled=False).usable(8) == frozenset()


def test_every_holding_of_the_org_lock_gets_the_next_generation(tmp_path):
    import subprocess
    import sys

    from target_salesforce_aimdoc.run_lock import OrgLock

    lock = OrgLock("00Dorg", directory=str(tmp_path)).acquire()
    first = lock.generation
    lock.release()
    other_process = ("from target_salesforce_aimdoc.run_lock import OrgLock; "
                     f"OrgLock('00Dorg', directory={str(tmp_path)!r}).acquire().release()")
    subprocess.run([sys.executable, "-c", other_process], check=True, timeout=60)
    again = OrgLock("00Dorg", directory=str(tmp_path)).acquire()
    try:
        assert again.generation == first + 2
        nested = OrgLock("00Dorg", directory=str(tmp_path)).acquire()  # same process: shared
        assert nested.generation == first + 3
        nested.release()
    finally:
        again.release()
