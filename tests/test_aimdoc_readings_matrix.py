"""Issue 18 acceptance: one Aimdoc history under every reading of the undocumented API.

The Aimdoc emulator serves the same synthetic history under a covering design (all pairs) of
its switches for the guessed ([C]) parts of the contract; tap-aimdoc | target-salesforce-aimdoc
run three times with the clock advanced between runs (old records enriched, new contacts,
conversations growing). Every reading must end in the same Salesforce state (Leads, Contacts,
Accounts, notes and their content), and no run may cost more than twice the requests of the
best reading's same run without a warning naming why.

Without ``updated_at`` the tap cannot know which of two same-email contacts changed last on
its first run and takes the later created (see docs/aimdoc-readings.md); the seed is one whose
history has no such pair changed in an order different from its creation.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging

import pytest

from target_salesforce_aimdoc.settings import DEFAULT_STREAMS
from tests.tap.harness import config, run_tap
from tests.target.singer import contact, messages, run_target, target_config

SWITCHES = {
    "date_filter": ("created_at", "updated_at"),
    "updated_at": (True, False),
    "conversation_key": ("both", "lead_id", "contact_id"),
    "messages_conversation_filter": (True, False),
    "envelope": ("object", "data_only", "array"),
    "sorted": (True, False),
    "captured": ("fields", "attributes"),
}
BASELINE = {name: values[0] for name, values in SWITCHES.items()}
SEED, CONTACTS, RUNS = 5, 24, 3
ADVANCE = {"days": 1, "enriched_contacts": 4, "new_contacts": 2,
           "conversations_with_new_messages": 3, "reactivated_conversations": 1,
           "recent_days": None}
WHY = ("reading the whole listing", "ignores conversation_id", "ignores start_date")
# The shipped default mapping reads either place of captured data
# (see target_salesforce_aimdoc.expressions.captured_value).
CAPTURED_EXPRESSIONS = ("qualification_text(captured('qualification'))",
                        "captured('status') != 'disqualified'")


def all_pairs(switches: dict[str, tuple]) -> list[dict]:
    """A small set of combinations covering every pair of values of any two switches."""
    names = list(switches)
    uncovered = {(a, va, b, vb) for a, b in itertools.combinations(names, 2)
                 for va in switches[a] for vb in switches[b]}
    rows = [dict(BASELINE)]
    uncovered -= pairs_of(rows[0], names)
    while uncovered:
        best, gain = None, -1
        for values in itertools.product(*switches.values()):
            row = dict(zip(names, values, strict=True))
            covered = len(pairs_of(row, names) & uncovered)
            if covered > gain:
                best, gain = row, covered
        rows.append(best)
        uncovered -= pairs_of(best, names)
    return rows


def pairs_of(row: dict, names: list[str]) -> set[tuple]:
    return {(a, row[a], b, row[b]) for a, b in itertools.combinations(names, 2)}


def streams_config() -> dict:
    """The shipped default itself (no override): it must read captured data anywhere."""
    text = json.dumps(DEFAULT_STREAMS)
    assert all(expression in text for expression in CAPTURED_EXPRESSIONS)
    return {}


def salesforce_state(salesforce) -> dict:
    backend = salesforce.backend
    person = ("FirstName", "LastName", "Email", "Phone", "Title", "Company", "Description",
              "LeadSource", "Website")
    leads = sorted(tuple(str(r.get(f)) for f in person) for r in backend.all_records("Lead"))
    contacts = sorted((tuple(str(r.get(f)) for f in person),
                       next((a["Name"] for a in backend.all_records("Account")
                             if a["Id"] == r.get("AccountId")), None))
                      for r in backend.all_records("Contact"))
    accounts = sorted((r.get("Name"), r.get("Website")) for r in backend.all_records("Account"))
    notes = sorted((note["Title"], backend.note_content(note["Id"]).decode())
                   for note in backend.all_records("ContentNote"))
    return {"Lead": leads, "Contact": contacts, "Account": accounts, "ContentNote": notes}


def run_history(aimdoc, salesforce, switches: dict, caplog) -> tuple[dict, list[int], list]:
    """Three tap | target runs with clock advances; the end state, requests and warnings."""
    aimdoc.backend.reset()
    aimdoc.backend.configure(**switches)
    aimdoc.backend.generate(seed=SEED, contacts=CONTACTS)
    salesforce.reset(org="bare")
    tap_settings = config(aimdoc, page_size=10)
    target_settings = target_config(salesforce, sync_contacts=True, sync_accounts=True,
                                    streams=streams_config())
    state: dict = {}
    requests, warnings = [], []
    for run in range(RUNS):
        before = aimdoc.backend.stats.total
        caplog.clear()
        tapped = run_tap(tap_settings, state)
        assert tapped.error is None, (switches, run, tapped.error)
        requests.append(aimdoc.backend.stats.total - before)
        warnings.append([r.getMessage() for r in caplog.records
                         if r.levelno >= logging.WARNING and r.name.startswith("tap-aimdoc")])
        target = run_target(target_settings, tapped.output)
        state = target.states[-1]
        if run < RUNS - 1:
            aimdoc.backend.advance(**ADVANCE)
    return salesforce_state(salesforce), requests, warnings


def test_every_reading_ends_in_the_same_salesforce_state(aimdoc_emulator,
                                                          make_salesforce_emulator, caplog):
    combinations = all_pairs(SWITCHES)
    assert len(combinations) <= 12
    results = [(switches, *run_history(aimdoc_emulator, make_salesforce_emulator, switches,
                                       caplog)) for switches in combinations]
    baseline_state = results[0][1]
    assert baseline_state["Lead"] and baseline_state["Contact"] and baseline_state["Account"]
    assert baseline_state["ContentNote"]
    best = [min(requests[run] for _, _, requests, _ in results) for run in range(RUNS)]
    print("\nrequests per run by reading (best:", best, ")")
    for switches, end_state, requests, warnings in results:
        changed = {k: v for k, v in switches.items() if BASELINE[k] != v} or "baseline"
        print(f"  {requests} {changed}")
        for kind in end_state:
            assert end_state[kind] == baseline_state[kind], (kind, switches)
        for run in range(RUNS):
            if requests[run] > 2 * best[run]:
                assert any(why in text for text in warnings[run] for why in WHY), (
                    switches, run, requests[run], best[run], warnings[run])


def test_the_covering_design_covers_every_pair():
    rows = all_pairs(SWITCHES)
    names = list(SWITCHES)
    covered = set().union(*(pairs_of(row, names) for row in rows))
    assert all((a, va, b, vb) in covered for a, b in itertools.combinations(names, 2)
               for va in SWITCHES[a] for vb in SWITCHES[b])


@pytest.mark.parametrize("captured", ["fields", "attributes"])
def test_target_defaults_read_captured_data_from_either_place(salesforce_emulator, captured):
    """Singer records in either reading, through the target with the replacement strings."""
    qualification = [{"question_id": "q1", "question": "Team size?", "answer": "50"}]
    fields = {"status": "disqualified", "qualification": qualification}
    rows = [contact("c1", "ann@acme.io", **copy.deepcopy(fields)),
            contact("c2", "bo@beta.io", status="qualified", qualification=qualification)]
    if captured == "attributes":
        for row in rows:
            row["attributes"] = {name: row.pop(name) for name in ("status", "qualification")}
    schema = {"type": "object", "additionalProperties": True, "properties": {
        "id": {"type": "string"}, "email": {"type": ["string", "null"]},
        "updated_at": {"type": "string", "format": "date-time"}}}
    run_target(target_config(salesforce_emulator, streams=streams_config()),
               messages(rows, schema=schema))
    (lead,) = salesforce_emulator.backend.all_records("Lead")
    assert lead["Email"] == "bo@beta.io"  # the disqualified contact is filtered out
    assert lead["Description"] == "Q: Team size?\nA: 50"
