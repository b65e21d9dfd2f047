"""Per-agent configuration through the whole target (needs the pipeline wiring)."""

from __future__ import annotations

import json

from tests.target.singer import contact, run_target, target_config
from tests.target.test_agents import SALES, SCHEMA, SUPPORT, agents, conversation, send


def test_an_agent_that_feeds_another_object_costs_nothing_when_unchanged(salesforce_emulator):
    config = target_config(salesforce_emulator, streams=agents(**{
        "a-sales": {"objects": {"Contact": {"enabled": True}, "Account": {"enabled": True}}}}))
    records = [contact("s1", "sam@gmail.com", **SALES)]  # free-mail: feeds no Account
    first = send(config, records)
    calls = salesforce_emulator.stats()["api_calls"]
    send(config, records, initial_state=first.states[-1])
    assert salesforce_emulator.stats()["api_calls"] == calls


def test_notes_per_agent_through_the_target(salesforce_emulator):
    config = target_config(salesforce_emulator,
                           streams=agents(**{"a-support": {"notes": {"enabled": False}}}))
    lines = [{"type": "SCHEMA", "stream": "contacts", "key_properties": ["id"], "schema": SCHEMA},
             {"type": "RECORD", "stream": "contacts",
              "record": contact("s1", "sam@acme.com", **SALES)},
             {"type": "RECORD", "stream": "contacts",
              "record": contact("u1", "uma@acme.com", **SUPPORT)},
             {"type": "SCHEMA", "stream": "transcripts", "key_properties": ["conversation_id"],
              "schema": {"type": "object", "additionalProperties": True, "properties": {
                  "conversation_id": {"type": "string"}}}}]
    lines += [{"type": "RECORD", "stream": "transcripts", "record": t}
              for t in (conversation("conv-s", "s1", SALES),
                        conversation("conv-u", "u1", SUPPORT))]
    lines.append({"type": "STATE", "value": {"bookmarks": {}}})
    target = run_target(config, "\n".join(json.dumps(line) for line in lines) + "\n")
    assert salesforce_emulator.backend.count("ContentNote") == 1
    assert target.sync_run.report.skipped_by_rule[("transcripts", "notes_disabled")] == 1
