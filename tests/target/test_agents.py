"""Per-agent configuration: a stream's ``agents`` / ``variants`` through the real target."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tap_aimdoc.transcripts import transcript
from target_salesforce_aimdoc.checks import check_settings
from target_salesforce_aimdoc.pipeline import SyncRun
from target_salesforce_aimdoc.settings import ConfigError, load_sync_settings
from tests.target import describes
from tests.target.singer import CONTACT_SCHEMA, contact, messages, run_target, target_config

SCHEMA = {**CONTACT_SCHEMA, "properties": {
    **CONTACT_SCHEMA["properties"], "agent_id": {"type": ["string", "null"]},
    "agent_name": {"type": ["string", "null"]}}}
SALES = {"agent_id": "a-sales", "agent_name": "Sales Bot"}
SUPPORT = {"agent_id": "a-support", "agent_name": "Support Bot"}


def send(config, records, **kw):
    return run_target(config, messages(records, schema=SCHEMA, **kw))


def by_email(emulator, sobject):
    return {r["Email"]: r for r in emulator.backend.all_records(sobject)}


def agents(**per_agent):
    return {"contacts": {"agents": per_agent}}


def test_two_agents_with_their_own_mappings_and_objects_in_one_run(salesforce_emulator):
    streams = {"contacts": {"agents": {
        "a-sales": {"objects": {"Lead": {"fields": {
            "Aimdoc_Score__c": "score", "Description": "'Sales Bot lead'"}}}},
        "Support Bot": {"objects": {
            "Lead": {"enabled": False},
            "Contact": {"enabled": True, "fields": {"Description": "'Support Bot contact'"}}}},
    }}}
    config = target_config(salesforce_emulator, streams=streams)
    target = send(config, [
        contact("s1", "sam@acme.com", score=88, **SALES),
        contact("u1", "uma@beta.org", score=40, **SUPPORT),
        contact("n1", "ned@gamma.io", score=70),  # no agent: the stream's own config
    ])
    leads = by_email(salesforce_emulator, "Lead")
    contacts = by_email(salesforce_emulator, "Contact")
    assert set(leads) == {"sam@acme.com", "ned@gamma.io"}
    assert leads["sam@acme.com"]["Aimdoc_Score__c"] == 88
    assert leads["sam@acme.com"]["Description"] == "Sales Bot lead"
    assert leads["ned@gamma.io"]["Aimdoc_Score__c"] is None
    assert set(contacts) == {"uma@beta.org"}
    assert contacts["uma@beta.org"]["Description"] == "Support Bot contact"
    assert target.sync_run.report.count("created") == 3
    # Unchanged next run: no call at all, whichever agent's config a record used.
    calls = salesforce_emulator.stats()["api_calls"]
    again = send(config, [contact("s1", "sam@acme.com", score=88, **SALES),
                          contact("u1", "uma@beta.org", score=40, **SUPPORT),
                          contact("n1", "ned@gamma.io", score=70)],
                 initial_state=target.states[-1])
    assert salesforce_emulator.stats()["api_calls"] == calls
    assert again.sync_run.report.count("unchanged") == 3


def test_a_batch_of_one_agent_costs_the_calls_of_no_agents(salesforce_emulator):
    plain = target_config(salesforce_emulator)
    start = salesforce_emulator.stats()["api_calls"]
    send(plain, [contact(f"p{i}", f"p{i}@acme{i}.com", **SALES) for i in range(5)])
    without = salesforce_emulator.stats()["api_calls"] - start
    config = target_config(salesforce_emulator, streams=agents(**{
        "a-sales": {"objects": {"Lead": {"fields": {"Description": "'Sales Bot'"}}}},
        "a-support": {"objects": {"Lead": {"enabled": False}, "Contact": {"enabled": True}}}}))
    start = salesforce_emulator.stats()["api_calls"]
    send(config, [contact(f"q{i}", f"q{i}@acme{i}.com", **SALES) for i in range(5)])
    assert salesforce_emulator.stats()["api_calls"] - start == without
    assert by_email(salesforce_emulator, "Lead")["q0@acme0.com"]["Description"] == "Sales Bot"


def test_objects_on_and_off_per_agent(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True, streams=agents(**{
        "a-support": {"objects": {"Lead": {"enabled": False}}},
        "a-sales": {"objects": {"Contact": {"enabled": False}}}}))
    send(config, [contact("s1", "sam@acme.com", **SALES),
                  contact("u1", "uma@acme.com", **SUPPORT)])
    assert set(by_email(salesforce_emulator, "Lead")) == {"sam@acme.com"}
    assert set(by_email(salesforce_emulator, "Contact")) == {"uma@acme.com"}


def test_field_mapping_per_agent(salesforce_emulator):
    config = target_config(salesforce_emulator, streams=agents(**{
        "Sales Bot": {"objects": {"Lead": {"fields": {"Title": "'Sales: ' + job_title",
                                                      "Phone": None}}}}}))
    send(config, [contact("s1", "sam@acme.com", job_title="CTO", phone="+1 555 0100", **SALES),
                  contact("u1", "uma@acme.com", job_title="CFO", phone="+1 555 0101",
                          **SUPPORT)])
    leads = by_email(salesforce_emulator, "Lead")
    assert (leads["sam@acme.com"]["Title"], leads["sam@acme.com"]["Phone"]) == ("Sales: CTO",
                                                                                 None)
    assert (leads["uma@acme.com"]["Title"], leads["uma@acme.com"]["Phone"]) == (
        "CFO", "+1 555 0101")


def test_defaults_per_agent(salesforce_emulator):
    config = target_config(salesforce_emulator, streams=agents(**{
        "a-sales": {"objects": {"Lead": {"defaults": {"Company": "Sales Bot prospect"}}}}}))
    send(config, [contact("s1", "sam@gmail.com", **SALES),
                  contact("u1", "uma@gmail.com", **SUPPORT)])
    leads = by_email(salesforce_emulator, "Lead")
    assert leads["sam@gmail.com"]["Company"] == "Sales Bot prospect"
    assert leads["uma@gmail.com"]["Company"] == "[not provided]"


def test_write_policy_per_agent(salesforce_emulator):
    salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": "A", "Company": "Acme", "Email": "sam@acme.com", "Title": "Rep's edit"},
        {"LastName": "B", "Company": "Acme", "Email": "uma@acme.com", "Title": "Rep's edit"}]}})
    config = target_config(salesforce_emulator, streams=agents(**{
        "a-sales": {"objects": {"Lead": {"fields": {"Title": {"expr": "job_title",
                                                              "policy": "always"}}}}}}))
    send(config, [contact("s1", "sam@acme.com", job_title="CTO", **SALES),
                  contact("u1", "uma@acme.com", job_title="CFO", **SUPPORT)])
    leads = by_email(salesforce_emulator, "Lead")
    assert leads["sam@acme.com"]["Title"] == "CTO"  # always: the agent's policy
    assert leads["uma@acme.com"]["Title"] == "Rep's edit"  # if_empty: the stream's


def test_filters_per_agent(salesforce_emulator):
    config = target_config(salesforce_emulator, streams=agents(**{
        "a-sales": {"filters": [{"name": "hot", "expr": "score >= 50"}, "bool(email)"]}}))
    target = send(config, [contact("s1", "sam@acme.com", score=20, **SALES),
                           contact("s2", "sue@acme.com", score=90, **SALES),
                           contact("u1", "uma@acme.com", score=20, **SUPPORT),
                           contact("u2", "udo@acme.com", score=90, status="disqualified",
                                   **SUPPORT)])
    assert set(by_email(salesforce_emulator, "Lead")) == {"sue@acme.com", "uma@acme.com"}
    assert target.sync_run.report.skipped_by_rule[("contacts", "hot")] == 1
    assert target.sync_run.report.skipped_by_rule[("contacts", "not_disqualified")] == 1


def test_account_match_field_per_agent(salesforce_emulator):
    seeded = salesforce_emulator.seed({"records": {"Account": [
        {"Name": "Acme by domain", "Domain__c": "acme.com"},
        {"Name": "Acme by website", "Website": "https://acme.com"}]}})
    by_domain, by_website = seeded["Account"]
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           streams=agents(**{"a-sales": {"account_match_field": "Domain__c"}}))
    send(config, [contact("s1", "sam@acme.com", **SALES),
                  contact("u1", "uma@acme.com", **SUPPORT)])
    contacts = by_email(salesforce_emulator, "Contact")
    assert contacts["sam@acme.com"]["AccountId"] == by_domain
    assert contacts["uma@acme.com"]["AccountId"] == by_website
    assert salesforce_emulator.backend.count("Account") == 2


def test_an_expression_chooses_the_variant(salesforce_emulator):
    config = target_config(salesforce_emulator, streams={"contacts": {"variants": [
        {"name": "hot", "when": "score >= 80",
         "objects": {"Lead": {"fields": {"Description": "'hot lead'"}}}}]}})
    send(config, [contact("h1", "hot@acme.com", score=95), contact("c1", "cold@acme.com",
                                                                   score=10)])
    leads = by_email(salesforce_emulator, "Lead")
    assert leads["hot@acme.com"]["Description"] == "hot lead"
    assert leads["cold@acme.com"]["Description"] is None


def conversation(key: str, contact_id: str, agent: dict, **context) -> dict:
    conv = {"id": key, **agent, "contact_id": contact_id, "lead_id": contact_id,
            "status": "ended", "created_at": "2026-11-01T10:00:00.000Z",
            "updated_at": "2026-11-01T10:05:00.000Z", **context}
    messages_ = [{"id": f"{key}-m{i}", "conversation_id": key, "role": "user",
                  "content": f"message {i}", "created_at": f"2026-11-01T10:0{i}:00.000Z"}
                 for i in range(2)]
    return transcript(conv, messages_)


def notes_run(emulator, streams):
    run = SyncRun(target_config(emulator, streams=streams))
    run.run_batch("contacts", [contact("s1", "sam@acme.com", **SALES),
                               contact("u1", "uma@acme.com", **SUPPORT)])
    return run


def test_notes_on_and_off_per_agent(salesforce_emulator):
    run = notes_run(salesforce_emulator, agents(**{"a-support": {"notes": {"enabled": False}}}))
    run.run_batch("transcripts", [conversation("conv-s", "s1", SALES),
                                  conversation("conv-u", "u1", SUPPORT)])
    assert salesforce_emulator.backend.count("ContentNote") == 1
    notes = {o.key: o.outcome for o in run.report.outcomes if o.stream == "transcripts"}
    assert notes == {"conv-s": "created", "conv-u": "skipped"}
    assert run.report.skipped_by_rule[("transcripts", "notes_disabled")] == 1


def test_notes_filtered_by_conversation_attributes(salesforce_emulator):
    streams = {"contacts": {"notes": {"filters": [
        {"name": "escalated_or_intent", "expr": "escalated or buyer_intent"}]},
        "agents": {"a-support": {"notes": {"filters": ["status == 'ended'"]}}}}}
    run = notes_run(salesforce_emulator, streams)
    run.run_batch("transcripts", [
        conversation("s-plain", "s1", SALES, escalated=False, buyer_intent=False),
        conversation("s-hot", "s1", SALES, escalated=False, buyer_intent=True),
        conversation("u-ended", "u1", SUPPORT),
        conversation("u-active", "u1", SUPPORT, status="active")])
    notes = {o.key: o.outcome for o in run.report.outcomes if o.stream == "transcripts"}
    assert notes == {"s-plain": "skipped", "s-hot": "created", "u-ended": "created",
                     "u-active": "skipped"}
    assert salesforce_emulator.backend.count("ContentNote") == 2


def test_a_variant_problem_names_its_path():
    settings = load_sync_settings({"streams": agents(**{
        "sales-bot": {"objects": {"Lead": {"fields": {"Nope__c": "score"}}}}})})
    problems = check_settings(settings, describes.standard())
    assert [str(p) for p in problems] == [
        "streams.contacts.agents.sales-bot.objects.Lead.fields.Nope__c: no such field on Lead"]
    with pytest.raises(ConfigError) as bad:
        load_sync_settings({"streams": {"contacts": {"variants": [
            {"when": "score >", "objects": {}}]}}})
    assert bad.value.path == "streams.contacts.variants[0].when"
    with pytest.raises(ConfigError) as unknown:
        load_sync_settings({"streams": agents(**{"sales-bot": {"key": "id"}})})
    assert unknown.value.path.startswith("streams.contacts.agents.sales-bot")


def test_an_inherited_problem_is_reported_once_under_the_stream():
    settings = load_sync_settings({"account_match_field": "Nope__c", "sync_accounts": True,
                                   "streams": {"contacts": {
                                       "objects": {"Lead": {"fields": {"Bad__c": "score"}}},
                                       "agents": {"x": {"account_match_field": "Region__c"}}}}})
    paths = sorted(p.path for p in check_settings(settings, describes.standard()))
    assert paths == ["account_match_field", "streams.contacts.agents.x.account_match_field",
                     "streams.contacts.objects.Lead.fields.Bad__c"]


def readme_examples() -> list[dict]:
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    part = text[text.index("### Per-agent configuration"):]
    part = part[:part.index("\n### ", 5)]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", part, re.S)]


def test_the_readme_examples_pass_the_start_up_checks(salesforce_emulator):
    examples = readme_examples()
    assert len(examples) == 2
    for example in examples:
        run = SyncRun(target_config(salesforce_emulator, **example))  # checks describes
        assert len(run.settings.stream("contacts").variants) in {1, 2}
    run = SyncRun(target_config(salesforce_emulator, **examples[0]))
    run.run_batch("contacts", [
        contact("s1", "sam@acme.com", score=70, agent_name="Sales Assistant"),
        contact("u1", "uma@acme.com", agent_name="Support Bot")])
    lead = by_email(salesforce_emulator, "Lead")["sam@acme.com"]
    assert (lead["LeadSource"], lead["Aimdoc_Score__c"]) == ("Chat", 70)
    assert by_email(salesforce_emulator, "Contact")["uma@acme.com"]["AccountId"]
    (account,) = salesforce_emulator.backend.all_records("Account")
    assert account["Domain__c"] == "acme.com"
