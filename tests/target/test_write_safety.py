"""Write safety: concurrent runs, state of another org, damaged state, Bulk result rows, hangs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from target_salesforce_aimdoc.links import STATE_KEY, LinkStore
from target_salesforce_aimdoc.run_lock import OrgLock, RunLocked
from tests.target.singer import contact, messages, run_target, target_config


def _start(config: dict, text: str, folder: Path, name: str) -> subprocess.Popen:
    config_path, input_path = folder / f"{name}.json", folder / f"{name}.singer"
    config_path.write_text(json.dumps(config))
    input_path.write_text(text)
    return subprocess.Popen(
        [sys.executable, "-m", "target_salesforce_aimdoc", "--config", str(config_path),
         "--input", str(input_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_at_once_on_one_org_create_nothing_twice(salesforce_emulator, tmp_path):
    """Two processes (separate state, same input) are serialised: one record per person."""
    records = [contact(f"c{i}", f"p{i}@co{i % 9}.com", company=f"Co {i % 9}")
               for i in range(120)]
    text = messages(records)
    salesforce_emulator.set_faults({"latency_ms": 30})
    lock_dir = str(tmp_path / "locks")
    runs = [_start(target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                                 batch_size_rows=40, run_lock_dir=lock_dir),
                   text, tmp_path, f"run{n}") for n in range(2)]
    outputs = [run.communicate(timeout=240) for run in runs]
    salesforce_emulator.clear_faults()
    assert [run.returncode for run in runs] == [0, 0], [err[-800:] for _, err in outputs]
    assert any("Another run is writing to org" in err for _, err in outputs)
    for sobject, expected in (("Lead", 120), ("Contact", 120), ("Account", 9)):
        rows = salesforce_emulator.backend.all_records(sobject)
        keys = [r.get("Email") or r.get("Website") for r in rows]
        assert len(keys) == len(set(keys)) == expected, sobject


def test_a_lock_held_too_long_stops_before_any_write(tmp_path):
    """Another process holds the org's lock: wait, then stop naming the setting."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from target_salesforce_aimdoc.run_lock import OrgLock\n"
         f"OrgLock('00D000000000001', directory={str(tmp_path)!r}).acquire()\n"
         "print('held', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waiting = OrgLock("00D000000000001", wait_seconds=0.3, directory=str(tmp_path),
                          poll_seconds=0.05)
        with pytest.raises(RunLocked, match="run_lock_wait_seconds"):
            waiting.acquire()
        other = OrgLock("00D000000000002", wait_seconds=0.3, directory=str(tmp_path)).acquire()
        other.release()
    finally:
        holder.kill()
        holder.wait()
    OrgLock("00D000000000001", wait_seconds=5, directory=str(tmp_path)).acquire().release()


def test_links_of_another_org_are_not_used(salesforce_emulator):
    """A sandbox's state used against production: its links are ignored, records written."""
    first = run_target(target_config(salesforce_emulator),
                       messages([contact(f"c{i}", f"p{i}@acme.com") for i in range(5)]))
    state = first.states[-1]
    links = state[STATE_KEY]
    assert links["org_id"] and links["org_id"].startswith("00D")
    salesforce_emulator.reset()  # a different org: nothing of the first is there
    links["org_id"] = "00DSANDBOX00001"  # a sandbox's state: its org and login config
    links["origin"] = "sandbox-config"
    again = run_target(target_config(salesforce_emulator),
                       messages([contact(f"c{i}", f"p{i}@acme.com") for i in range(5)],
                                initial_state=state))
    assert salesforce_emulator.backend.count("Lead") == 5
    assert again.sync_run.report.count("created", "Lead") == 5


@pytest.mark.parametrize("damaged", [
    "not an object",
    {STATE_KEY: ["a", "list"]},
    {STATE_KEY: {"records": "nope"}},
    {STATE_KEY: {"records": {"contacts/c1": {"Lead": 42, "updated_at": ["x"], "meta": 3},
                             "contacts/c2": "text"}}},
])
def test_damaged_link_state_is_ignored_and_matching_takes_over(salesforce_emulator, damaged,
                                                               caplog):
    records = [contact("c1", "p1@acme.com"), contact("c2", "p2@acme.com")]
    run_target(target_config(salesforce_emulator), messages(records))
    target = run_target(target_config(salesforce_emulator),
                        messages(records, initial_state=damaged))
    assert salesforce_emulator.backend.count("Lead") == 2
    assert target.sync_run.report.count("failed") == 0


def test_link_store_reads_what_it_can():
    store = LinkStore()
    store.load({STATE_KEY: {"records": {
        "contacts/a": {"Lead": "00Q000000000001AAA", "updated_at": "2026-01-01T00:00:00Z"},
        "contacts/b": {"Lead": None, "Contact": "bad id with spaces"},
        "contacts/c": 7}}})
    assert store.get("contacts", "a").ids == {"Lead": "00Q000000000001AAA"}
    assert store.get("contacts", "b").ids == {}
    assert store.get("contacts", "c") is None


def test_bulk_rows_with_non_ascii_and_na_text_end_as_rest_does(salesforce_emulator):
    """Bulk result rows are UTF-8: names with accents match back; "#N/A" stays text."""
    names = ["Zoë", "José", "Łukasz", "Søren", "李", "Ünal"]
    records = [contact(f"c{i}", f"p{i}@co{i % 3}.com", first_name=names[i % len(names)],
                       last_name=f"Ñandú {i}", company=f"Straße {i % 3}") for i in range(60)]
    records[7]["company"] = "#N/A"
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           write_api="bulk")
    target = run_target(config, messages(records))
    assert target.sync_run.report.count("failed") == 0
    leads = salesforce_emulator.backend.all_records("Lead")
    assert len(leads) == 60
    assert {lead["FirstName"] for lead in leads} == set(names)
    assert any(lead["Company"] == "#N/A" for lead in leads)
    contacts = salesforce_emulator.backend.all_records("Contact")
    assert len(contacts) == 60 and all(c["AccountId"] for c in contacts)


def test_a_response_that_never_completes_times_out(salesforce_emulator, tmp_path):
    """A server that accepts and never answers: the call times out, the run fails clearly."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        config = target_config(salesforce_emulator, login_url=f"http://127.0.0.1:"
                               f"{silent.getsockname()[1]}", http_timeout_seconds=1,
                               max_tries=1)
        started = time.monotonic()
        config_path, input_path = tmp_path / "c.json", tmp_path / "i.singer"
        config_path.write_text(json.dumps(config))
        input_path.write_text(messages([contact("c1", "p1@acme.com")]))
        result = subprocess.run(
            [sys.executable, "-m", "target_salesforce_aimdoc", "--config", str(config_path),
             "--input", str(input_path)], capture_output=True, text=True, timeout=60,
            check=False)
        assert result.returncode != 0
        assert time.monotonic() - started < 30
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        silent.close()


def test_a_changed_email_keeps_the_linked_lead_and_contact(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True)
    first = run_target(config, messages([contact("c1", "old@acme.com"),
                                         contact("c2", "two@acme.com")]))
    changed = contact("c1", "new@acme.com", updated_at="2026-11-21T10:00:00Z")
    run_target(config, messages([changed], initial_state=first.states[-1]))
    for sobject in ("Lead", "Contact"):
        rows = salesforce_emulator.backend.all_records(sobject)
        assert len(rows) == 2, sobject


def test_session_flow_recognises_the_contacts_it_wrote(salesforce_emulator):
    """A run that stopped after its Contacts: the session-id flow still creates the Leads."""
    from tests.target.test_resilience import base, flows

    config = {**base(salesforce_emulator), **flows(salesforce_emulator)["session"],
              "sync_contacts": True}
    contacts_only = {**config, "sync_leads": False}
    records = [contact(f"s{i}", f"s{i}@acme.com") for i in range(3)]
    run_target(contacts_only, messages(records))
    assert salesforce_emulator.backend.count("Contact") == 3
    assert salesforce_emulator.backend.count("Lead") == 0
    run_target(config, messages(records))
    assert salesforce_emulator.backend.count("Lead") == 3
    assert salesforce_emulator.backend.count("Contact") == 3


def test_a_record_without_its_key_is_one_dead_letter_not_an_aborted_run(salesforce_emulator):
    records = [contact("k1", "k1@acme.com"), contact("k2", "k2@acme.com"),
               contact("k3", "k3@acme.com")]
    del records[1]["id"]
    target = run_target(target_config(salesforce_emulator), messages(records))
    assert salesforce_emulator.backend.count("Lead") == 2
    failed = [o for o in target.sync_run.report.outcomes if o.outcome == "failed"]
    assert len(failed) == 1 and failed[0].errors[0]["statusCode"] == "MISSING_KEY_PROPERTY"
    assert "id" in failed[0].errors[0]["message"]


def test_unicode_the_org_refuses_is_made_valid(salesforce_emulator):
    records = [contact("u1", "u1@acme.com", first_name="Bad\ud800Surrogate",
                       last_name="Con\x01trol", company="Acme\x00 Inc")]
    target = run_target(target_config(salesforce_emulator), messages(records))
    assert target.sync_run.report.count("failed") == 0
    lead = salesforce_emulator.backend.all_records("Lead")[0]
    assert lead["FirstName"] == "Bad\ufffdSurrogate" and lead["LastName"] == "Control"
    assert lead["Company"] == "Acme Inc"


def test_two_machines_at_once_upsert_by_external_id(salesforce_emulator, tmp_path):
    """No shared lock (two machines): the external-id upsert still makes one record each."""
    records = [contact(f"m{i}", f"m{i}@acme{i % 4}.com") for i in range(80)]
    text = messages(records)
    salesforce_emulator.set_faults({"latency_ms": 20})
    runs = [_start(target_config(salesforce_emulator, sync_contacts=True, batch_size_rows=20,
                                 run_lock_dir=str(tmp_path / f"machine{n}")),
                   text, tmp_path, f"machine{n}") for n in range(2)]
    outputs = [run.communicate(timeout=240) for run in runs]
    salesforce_emulator.clear_faults()
    assert [run.returncode for run in runs] == [0, 0], [err[-800:] for _, err in outputs]
    for sobject in ("Lead", "Contact"):
        keys = [r["Aimdoc_Id__c"] for r in salesforce_emulator.backend.all_records(sobject)]
        assert sorted(keys) == sorted(f"m{i}" for i in range(80)), sobject


def test_lost_state_and_a_changed_email_keep_the_records(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True)
    run_target(config, messages([contact("e1", "old@acme.com")]))
    run_target(config, messages([contact("e1", "new@acme.com",
                                         updated_at="2026-11-23T10:00:00Z")]))  # no state
    for sobject in ("Lead", "Contact"):
        assert salesforce_emulator.backend.count(sobject) == 1, sobject


@pytest.mark.parametrize("external_ids", ["off", "on"])
def test_a_subrequest_answering_500_after_its_commit_duplicates_nothing(salesforce_emulator,
                                                                      external_ids):
    """450 contacts in one batch: three Collections in one Composite call; the second one's
    answer is a 500 although it committed (ambiguous)."""
    kind = "insert" if external_ids == "off" else "upsert"
    salesforce_emulator.add_fault({"error": "UNKNOWN_EXCEPTION", "scope": "subrequest",
                                   "match": kind, "times": 1, "after": 1})
    off = {"external_id_fields": {"Lead": None, "Contact": None}} if external_ids == "off" else {}
    config = target_config(salesforce_emulator, sync_contacts=True, batch_size_rows=450, **off)
    records = [contact(f"s{i}", f"s{i}@co{i % 30}.com") for i in range(450)]
    target = run_target(config, messages(records))
    assert salesforce_emulator.stats()["faults_injected"] == 1
    for sobject in ("Lead", "Contact"):
        emails = [r["Email"] for r in salesforce_emulator.backend.all_records(sobject)]
        assert len(emails) == len(set(emails)) == 450, sobject
    assert target.sync_run.report.count("failed") == 0


def test_a_schema_violating_record_is_not_written(salesforce_emulator):
    records = [contact("v1", "v1@acme.com"), contact("v2", "v2@acme.com", score="high")]
    target = run_target(target_config(salesforce_emulator), messages(records))
    assert [r["Email"] for r in salesforce_emulator.backend.all_records("Lead")] == [
        "v1@acme.com"]
    failed = [o for o in target.sync_run.report.outcomes if o.outcome == "failed"]
    assert [(o.key, o.errors[0]["statusCode"]) for o in failed] == [("v2", "INVALID_RECORD")]


def test_a_dead_letter_with_a_lone_surrogate_is_written(salesforce_emulator):
    records = [contact("w1", "not an email \ud800"), contact("w2", "w2@acme.com")]
    config = target_config(salesforce_emulator)
    target = run_target(config, messages(records))
    assert salesforce_emulator.backend.count("Lead") == 1
    letters = Path(target.sync_run.dead_letters.path).read_text(encoding="utf-8")
    assert '"w1"' in letters


@pytest.mark.parametrize("fault", [
    {"error": "HTML_200", "probability": 0.3},
    {"error": "HTML_200", "probability": 0.3, "phase": "after"},
    {"error": "TRUNCATED_JSON", "probability": 0.3},
    {"error": "TRUNCATED_JSON", "probability": 0.3, "phase": "after"},
    {"error": "INVALID_SESSION_ID", "probability": 0.5},
])
def test_broken_answers_are_classified_and_nothing_duplicates(salesforce_emulator, fault):
    salesforce_emulator.set_faults({"seed": 5, "rules": [fault]})
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           max_retry_wait_seconds=0.05, max_tries=12,
                           batch_size_rows=10)  # four batches: enough calls for the faults
    records = [contact(f"b{i}", f"b{i}@co{i % 5}.com") for i in range(40)]
    target = run_target(config, messages(records))
    assert salesforce_emulator.stats()["faults_injected"] > 0
    salesforce_emulator.clear_faults()
    for sobject, expected in (("Lead", 40), ("Contact", 40), ("Account", 5)):
        rows = salesforce_emulator.backend.all_records(sobject)
        keys = [r.get("Email") or r.get("Website") for r in rows]
        assert len(keys) == len(set(keys)) == expected, sobject
    assert target.sync_run.report.count("failed") == 0


def test_a_proxy_page_on_every_call_ends_in_one_clear_line(salesforce_emulator, tmp_path):
    salesforce_emulator.set_faults({"rules": [{"error": "HTML_200"}]})
    config = target_config(salesforce_emulator, max_retry_wait_seconds=0.01, max_tries=2)
    config_path, input_path = tmp_path / "c.json", tmp_path / "i.singer"
    config_path.write_text(json.dumps(config))
    input_path.write_text(messages([contact("p1", "p1@acme.com")]))
    result = subprocess.run(
        [sys.executable, "-m", "target_salesforce_aimdoc", "--config", str(config_path),
         "--input", str(input_path)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "not the JSON it sends" in result.stderr
    assert salesforce_emulator.backend.count("Lead") == 0


def test_a_control_character_in_agent_id_with_an_app_url_is_written(salesforce_emulator):
    from tests.target.test_notes import conversation, notes_of, stream_text

    chat = conversation("conv-ctl", "k1", 3)
    chat["agent_id"] = "agent\x01\x07one"
    config = target_config(salesforce_emulator,
                           notes={"aimdoc_app_url": "https://app.aimdoc.ai"})
    target = run_target(config, stream_text([contact("k1", "k1@acme.com")], [chat]))
    assert target.sync_run.report.count("failed") == 0
    (content,) = notes_of(salesforce_emulator).values()
    assert "\x01" not in content and "\x07" not in content
    again = run_target(config, stream_text([contact("k1", "k1@acme.com")], [chat],
                                           target.states[-1]))
    assert again.sync_run.report.count("failed") == 0
