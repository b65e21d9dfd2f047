"""Singer records -> the real target -> the Salesforce emulator: matching, order, replay."""

from __future__ import annotations

import pytest

from target_salesforce_aimdoc.settings import ConfigError
from tests.target.singer import contact, messages, run_target, target_config


def all_objects(config):
    return {**config, "sync_contacts": True, "sync_accounts": True}


def records_of(emulator, sobject):
    return emulator.backend.all_records(sobject)


def write_calls(emulator) -> int:
    kinds = emulator.stats()["calls_by_kind"]
    return sum(n for kind, n in kinds.items() if kind.startswith(("collections_", "create",
                                                                   "update", "upsert", "delete")))


def test_default_config_syncs_leads_only(salesforce_emulator):
    run_target(target_config(salesforce_emulator),
               messages([contact("c1", "jane@acme.com", company="Acme")]))
    leads = records_of(salesforce_emulator, "Lead")
    assert [(lead["Email"], lead["Company"]) for lead in leads] == [("jane@acme.com", "Acme")]
    assert records_of(salesforce_emulator, "Contact") == []
    assert records_of(salesforce_emulator, "Account") == []


def test_free_mail_never_makes_an_account(salesforce_emulator):
    config = all_objects(target_config(salesforce_emulator))
    run_target(config, messages([contact("c1", "a@gmail.com"), contact("c2", "b@outlook.com"),
                                 contact("c3", "c@mailinator.com")]))
    assert records_of(salesforce_emulator, "Account") == []
    contacts = records_of(salesforce_emulator, "Contact")
    assert len(contacts) == 3
    assert all(c["AccountId"] is None for c in contacts)


def test_existing_account_website_matched_by_subdomain_email(salesforce_emulator):
    seeded = salesforce_emulator.seed({"records": {"Account": [
        {"Name": "Acme", "Website": "https://www.acme.com/"},
        {"Name": "Not Acme", "Website": "https://notacme.com"},
    ]}})
    config = all_objects(target_config(salesforce_emulator))
    run_target(config, messages([contact("c1", "jane@sales.acme.com", company="Acme Sales")]))
    assert len(records_of(salesforce_emulator, "Account")) == 2
    (new_contact,) = records_of(salesforce_emulator, "Contact")
    assert new_contact["AccountId"] == seeded["Account"][0]


def test_contact_created_with_its_new_account(salesforce_emulator):
    config = all_objects(target_config(salesforce_emulator))
    run_target(config, messages([contact("c1", "ann@newco.io", company="NewCo"),
                                 contact("c2", "bo@newco.io", company="NewCo")]))
    (account,) = records_of(salesforce_emulator, "Account")
    assert account["Name"] == "NewCo"
    assert account["Website"] == "https://newco.io"
    contacts = records_of(salesforce_emulator, "Contact")
    assert {c["AccountId"] for c in contacts} == {account["Id"]}


def test_account_by_exact_domain_field(salesforce_emulator):
    seeded = salesforce_emulator.seed({"records": {"Account": [
        {"Name": "Acme", "Domain__c": "acme.com"}]}})
    config = all_objects(target_config(salesforce_emulator, account_match_field="Domain__c"))
    run_target(config, messages([contact("c1", "x@ACME.com"), contact("c2", "y@beta.org",
                                                                         company="Beta")]))
    accounts = {a["Domain__c"]: a for a in records_of(salesforce_emulator, "Account")}
    assert set(accounts) == {"acme.com", "beta.org"}
    assert accounts["acme.com"]["Id"] == seeded["Account"][0]


def test_two_records_with_one_email_make_one_lead(salesforce_emulator):
    run_target(target_config(salesforce_emulator), messages([
        contact("c1", "Jane@Acme.com", company="Acme", job_title="VP"),
        contact("c2", " jane@acme.com", company="Acme", phone="+1 555 0100"),
    ]))
    (lead,) = records_of(salesforce_emulator, "Lead")
    assert lead["Phone"] == "+1 555 0100"
    assert lead["Title"] == "VP"


def test_converted_lead_updates_its_contact(salesforce_emulator):
    ids = salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.com"}]}})
    converted = salesforce_emulator.backend.convert_lead(ids["Lead"][0])
    run_target(target_config(salesforce_emulator),
               messages([contact("c1", "jd@acme.com", job_title="CTO", company="Acme")]))
    assert len(records_of(salesforce_emulator, "Lead")) == 1
    contact_row = salesforce_emulator.backend.get("Contact", converted["contact_id"])
    assert contact_row["Title"] == "CTO"


def test_converted_lead_policy_skip(salesforce_emulator):
    ids = salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.com"}]}})
    converted = salesforce_emulator.backend.convert_lead(ids["Lead"][0])
    target = run_target(target_config(salesforce_emulator, converted_lead_policy="skip"),
                        messages([contact("c1", "jd@acme.com", job_title="CTO")]))
    assert salesforce_emulator.backend.get("Contact", converted["contact_id"])["Title"] is None
    assert target.sync_run.report.count("skipped", "Lead") == 1


def test_lead_not_created_for_an_existing_contact_unless_configured(salesforce_emulator):
    salesforce_emulator.seed({"records": {"Contact": [{"LastName": "Known",
                                                       "Email": "known@acme.com"}]}})
    target = run_target(target_config(salesforce_emulator),
                        messages([contact("c1", "known@acme.com", company="Acme")]))
    assert records_of(salesforce_emulator, "Lead") == []
    assert target.sync_run.report.outcomes[0].reason == "contact_exists"
    run_target(target_config(salesforce_emulator, lead_when_contact_exists=True),
               messages([contact("c1", "known@acme.com", company="Acme")]))
    assert len(records_of(salesforce_emulator, "Lead")) == 1


@pytest.mark.parametrize("email", ["x'OR'1'='1@acme.com", "o'brien@acme.com",
                                   "x%_\\@acme.com"])
def test_quoted_emails_match_only_themselves(salesforce_emulator, email):
    salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": "Other", "Company": "Acme", "Email": "other@acme.com"}]}})
    target = run_target(target_config(salesforce_emulator),
                        messages([contact("c1", email, company="Acme")]))
    leads = {lead["Email"]: lead for lead in records_of(salesforce_emulator, "Lead")}
    if target.sync_run.report.count("failed"):
        assert set(leads) == {"other@acme.com"}  # refused as an invalid address, nothing else
    else:
        assert set(leads) == {"other@acme.com", email.lower()}
        assert leads["other@acme.com"]["LastName"] == "Other"


def test_injection_string_breaks_nothing(salesforce_emulator):
    salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": "Other", "Company": "Acme", "Email": "other@acme.com"}]}})
    target = run_target(target_config(salesforce_emulator), messages([
        contact("c1", "x' OR Name != '@acme.com"), contact("c2", 'o\'brien\\"x@acme.com'),
        contact("c3", "fine@acme.com", company="Acme")]))
    leads = {lead["Email"] for lead in records_of(salesforce_emulator, "Lead")}
    assert leads == {"other@acme.com", "fine@acme.com"}
    failed = [o for o in target.sync_run.report.outcomes if o.outcome == "failed"]
    assert {o.key for o in failed} == {"c1", "c2"}
    assert {o.errors[0]["statusCode"] for o in failed} == {"INVALID_EMAIL_ADDRESS"}


def test_replay_creates_nothing_and_writes_nothing(salesforce_emulator):
    config = all_objects(target_config(salesforce_emulator))
    batch = messages([contact(f"c{i}", f"p{i}@co{i % 3}.com", company=f"Co {i % 3}")
                      for i in range(12)] + [contact("g", "me@gmail.com")])
    run_target(config, batch)
    created = salesforce_emulator.stats()["records"]["created"]
    assert created == 3 + 13 + 13
    writes_before = write_calls(salesforce_emulator)
    target = run_target(config, batch)
    assert salesforce_emulator.stats()["records"]["created"] == created
    assert salesforce_emulator.stats()["records"]["updated"] == 0
    assert write_calls(salesforce_emulator) == writes_before
    report = target.sync_run.report
    assert report.count("created") == report.count("updated") == 0


def test_if_empty_keeps_a_reps_edit_and_always_updates(salesforce_emulator):
    config = target_config(salesforce_emulator)
    run_target(config, messages([contact("c1", "jane@acme.com", company="Acme",
                                         job_title="Engineer")]))
    (lead,) = records_of(salesforce_emulator, "Lead")
    salesforce_emulator.backend.update("Lead", lead["Id"], {"Company": "Acme Corporation"})
    run_target(config, messages([contact("c1", "jane@acme.com", company="Acme",
                                         job_title="Engineer", phone="+44 20 0000")]))
    (lead,) = records_of(salesforce_emulator, "Lead")
    assert lead["Company"] == "Acme Corporation"
    assert lead["Phone"] == "+44 20 0000"


def test_tie_break_uses_the_most_recently_modified(salesforce_emulator):
    ids = salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": "Old", "Company": "A", "Email": "dup@acme.com",
         "LastModifiedDate": "2020-01-01T00:00:00.000+0000"},
        {"LastName": "New", "Company": "A", "Email": "dup@acme.com",
         "LastModifiedDate": "2025-01-01T00:00:00.000+0000"},
    ]}})
    run_target(target_config(salesforce_emulator),
               messages([contact("c1", "dup@acme.com", phone="123")]))
    phones = {r["Id"]: r["Phone"] for r in records_of(salesforce_emulator, "Lead")}
    assert phones == {ids["Lead"][0]: None, ids["Lead"][1]: "123"}


def test_filters_skip_and_count_per_rule(salesforce_emulator):
    target = run_target(target_config(salesforce_emulator), messages([
        contact("c1", "a@acme.com", status="disqualified"),
        contact("c2", None), contact("c3", "ok@acme.com")]))
    assert [lead["Email"] for lead in records_of(salesforce_emulator, "Lead")] == ["ok@acme.com"]
    assert sum(target.sync_run.report.skipped_by_rule.values()) == 2


def test_one_query_per_object_per_batch(salesforce_emulator):
    config = all_objects(target_config(salesforce_emulator))
    run_target(config, messages([contact(f"c{i}", f"person{i}@company{i}.com",
                                         company=f"Company {i}") for i in range(200)]))
    queries = [entry for entry in salesforce_emulator.app.request_log if entry["kind"] == "query"]
    assert len(queries) <= 3 * 2  # Lead, Contact, Account; the URI limit may split one in two
    assert salesforce_emulator.backend.count("Account") == 200
    assert salesforce_emulator.stats()["api_calls"] <= 3 + 6 + 3


def test_unknown_field_fails_before_any_write(salesforce_emulator):
    config = target_config(salesforce_emulator, streams={"contacts": {"objects": {"Lead": {
        "fields": {"Nope__c": "email"}}}}})
    with pytest.raises(ConfigError) as caught:
        run_target(config, messages([contact("c1", "a@acme.com")]))
    assert "streams.contacts.objects.Lead.fields.Nope__c" in str(caught.value)
    assert write_calls(salesforce_emulator) == 0


def test_restricted_picklist_value_fails_that_record_only(salesforce_emulator):
    config = target_config(salesforce_emulator, streams={"contacts": {"objects": {"Lead": {
        "fields": {"Status": {"expr": "status", "policy": "always"}}}}}})
    target = run_target(config, messages([
        contact("c1", "a@acme.com", status="Working - Contacted"),
        contact("c2", "b@acme.com", status="qualified")]))
    assert [lead["Email"] for lead in records_of(salesforce_emulator, "Lead")] == ["a@acme.com"]
    (failed,) = [o for o in target.sync_run.report.outcomes if o.outcome == "failed"]
    assert failed.errors[0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_another_taps_stream_by_config_alone(salesforce_emulator):
    schema = {"type": "object", "properties": {
        "attendee_id": {"type": "integer"}, "mail": {"type": "string"},
        "surname": {"type": "string"}, "org": {"type": "string"}}}
    config = target_config(salesforce_emulator, streams={"event_leads": {
        "key": "attendee_id", "email": "mail",
        "objects": {"Lead": {"enabled": True, "fields": {
            "LastName": "surname", "Company": "org", "Email": "mail",
            "LeadSource": "'Other'"}}}}})
    text = messages([{"attendee_id": 7, "mail": "z@fair.org", "surname": "Zed", "org": "Fair"}],
                    stream="event_leads", schema=schema, key="attendee_id")
    run_target(config, text)
    (lead,) = records_of(salesforce_emulator, "Lead")
    assert (lead["LastName"], lead["Company"], lead["LeadSource"]) == ("Zed", "Fair", "Other")
