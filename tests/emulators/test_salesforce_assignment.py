"""Lead assignment rules: Sforce-Auto-Assign on REST writes, assignmentRuleId on Bulk jobs."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from aimdoc_emulators.salesforce.ids import ADMIN_ID_18, USER_ID_18
from tests.sf_clients import raw, soap_client

NO_DUPLICATE_ALERTS = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}
WAIT = 0.01


@pytest.fixture
def sf(salesforce_emulator):
    return soap_client(salesforce_emulator)


def owner(sf, lead_id: str) -> str:
    return sf.Lead.get(lead_id)["OwnerId"]


def group_id(sf, name: str) -> str:
    (record,) = sf.query(f"SELECT Id FROM Group WHERE Name = '{name}'")["records"]
    return record["Id"]


def user_id(sf, username: str) -> str:
    (record,) = sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"]
    return record["Id"]


def lead(i: int, **extra) -> dict:
    return {"LastName": f"Lead{i}", "Company": "Acme", **extra}


def active_rule(sf) -> str:
    soql = "SELECT Id, Name, Active FROM AssignmentRule WHERE SobjectType = 'Lead'"
    (record,) = sf.query(soql)["records"]
    assert (record["Name"], record["Active"]) == ("Lead Routing", True)
    return record["Id"]


def test_the_default_rule_is_queryable_and_runs_on_create(sf):
    rule_id = active_rule(sf)
    assert rule_id.startswith("01Q") and len(rule_id) == 18
    emea, america = group_id(sf, "EMEA Leads"), group_id(sf, "North America Leads")
    assert emea.startswith("00G")
    assert owner(sf, sf.Lead.create(lead(1, Country="Germany"))["id"]) == emea
    assert owner(sf, sf.Lead.create(lead(2, Country="usa"))["id"]) == america
    big = sf.Lead.create(lead(3, Country="Germany", NumberOfEmployees=5000))["id"]
    assert owner(sf, big) == user_id(sf, "enterprise.ae@example.com")
    # no entry matches: the default lead owner (the org's admin)
    assert owner(sf, sf.Lead.create(lead(4, Country="Japan"))["id"]) == ADMIN_ID_18
    # an explicit OwnerId is overridden when the rule runs
    assert owner(sf, sf.Lead.create(lead(5, Country="Japan", OwnerId=USER_ID_18))["id"]) \
        == ADMIN_ID_18


def test_false_keeps_the_api_user_and_an_id_runs_that_rule(sf, salesforce_emulator):
    created = sf.Lead.create(lead(1, Country="Germany"), headers={"Sforce-Auto-Assign": "false"})
    assert owner(sf, created["id"]) == USER_ID_18
    rules = raw(salesforce_emulator, "POST", "/__emulator/assignment-rules", json={"rules": [
        {"name": "Everything to America", "active": False,
         "entries": [{"criteria": [], "assign_to": "North America Leads"}]}]}).json()
    inactive = next(r for r in rules["rules"] if r["name"] == "Everything to America")
    assert inactive["active"] is False
    for rule_id in (inactive["id"], inactive["id"][:15]):
        created = sf.Lead.create(lead(2, Country="Germany"),
                                 headers={"Sforce-Auto-Assign": rule_id})
        assert owner(sf, created["id"]) == group_id(sf, "North America Leads")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(lead(3), headers={"Sforce-Auto-Assign": "sometimes"})
    assert caught.value.content[0]["errorCode"] == "MALFORMED_ID"


def test_updates_reassign_unless_false(sf):
    lead_id = sf.Lead.create(lead(1, Country="Japan"), headers={"Sforce-Auto-Assign": "FALSE"})[
        "id"]
    sf.Lead.update(lead_id, {"Title": "CEO"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert owner(sf, lead_id) == USER_ID_18
    sf.Lead.update(lead_id, {"Country": "France"})  # no header: TRUE
    assert owner(sf, lead_id) == group_id(sf, "EMEA Leads")
    rule_id = active_rule(sf)
    sf.Lead.update(lead_id, {"Country": "Canada"}, headers={"Sforce-Auto-Assign": rule_id})
    assert owner(sf, lead_id) == group_id(sf, "EMEA Leads")  # an id runs on creates only


def test_collections_and_composite_honour_the_header(sf):
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, **lead(i, Country="Germany")} for i in range(2)]}
    kept = sf.restful("composite/sobjects", method="POST", json=body,
                      headers={"Sforce-Auto-Assign": "FALSE"})
    assigned = sf.restful("composite/sobjects", method="POST", json=body)
    assert {owner(sf, r["id"]) for r in kept} == {USER_ID_18}
    assert {owner(sf, r["id"]) for r in assigned} == {group_id(sf, "EMEA Leads")}
    update = {"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": kept[0]["id"], "Country": "Canada"}]}
    sf.restful("composite/sobjects", method="PATCH", json=update,
               headers={"Sforce-Auto-Assign": "FALSE"})
    assert owner(sf, kept[0]["id"]) == USER_ID_18
    upsert = {"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, **lead(9, Country="Canada", Aimdoc_Id__c="u-9")}]}
    (upserted,) = sf.restful("composite/sobjects/Lead/Aimdoc_Id__c", method="PATCH", json=upsert)
    assert owner(sf, upserted["id"]) == group_id(sf, "North America Leads")
    composite = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Lead", "referenceId": "own",
         "body": lead(10, Country="Germany"), "httpHeaders": {"Sforce-Auto-Assign": "TRUE"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Lead", "referenceId": "top",
         "body": lead(11, Country="Germany")}]}
    answers = sf.restful("composite", method="POST", json=composite,
                         headers={"Sforce-Auto-Assign": "FALSE"})["compositeResponse"]
    assert owner(sf, answers[0]["body"]["id"]) == group_id(sf, "EMEA Leads")
    assert owner(sf, answers[1]["body"]["id"]) == USER_ID_18


def test_bulk_runs_a_rule_only_when_the_job_names_it(sf, salesforce_emulator):
    records = [lead(i, Country="Germany") for i in range(3)]
    plain = sf.bulk2.Lead.insert(records=records, wait=WAIT)
    assert plain[0]["numberRecordsFailed"] == 0
    owners = {r["OwnerId"] for r in sf.query("SELECT OwnerId FROM Lead")["records"]}
    assert owners == {USER_ID_18}
    rule_id = active_rule(sf)
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    job = raw(salesforce_emulator, "POST", "/services/data/v59.0/jobs/ingest", headers=headers,
              json={"object": "Lead", "operation": "insert", "assignmentRuleId": rule_id[:15]})
    assert job.json()["assignmentRuleId"] == rule_id
    job_id = job.json()["id"]
    upload = raw(salesforce_emulator, "PUT",
                 f"/services/data/v59.0/jobs/ingest/{job_id}/batches",
                 headers={**headers, "Content-Type": "text/csv"},
                 data=b"LastName,Company,Country\nBulk,Acme,Canada\n")
    assert upload.status_code == 201
    raw(salesforce_emulator, "PATCH", f"/services/data/v59.0/jobs/ingest/{job_id}",
        headers=headers, json={"state": "UploadComplete"})
    (bulk_lead,) = sf.query("SELECT OwnerId FROM Lead WHERE LastName = 'Bulk'")["records"]
    assert bulk_lead["OwnerId"] == group_id(sf, "North America Leads")
    bad = raw(salesforce_emulator, "POST", "/services/data/v59.0/jobs/ingest", headers=headers,
              json={"object": "Lead", "operation": "insert", "assignmentRuleId": "nonsense"})
    assert bad.status_code == 400


def test_admin_and_seed_define_and_deactivate_rules(salesforce_emulator):
    sf = soap_client(salesforce_emulator)
    salesforce_emulator.seed({
        "records": {"Group": [{"Name": "APAC Leads", "Type": "Queue"}]},
        "assignment_rules": {"rules": [{"name": "APAC", "active": True, "entries": [
            {"criteria": [{"field": "Country", "operator": "equals", "value": "Japan,India"},
                          {"field": "LeadSource", "operator": "notEqual", "value": "Web"}],
             "assign_to": "APAC Leads"}]}], "default_owner": "demo@example.com"},
    })
    apac = group_id(sf, "APAC Leads")
    rules = sf.query("SELECT Name, Active FROM AssignmentRule ORDER BY Name")["records"]
    assert [(r["Name"], r["Active"]) for r in rules] == [("APAC", True), ("Lead Routing", False)]
    assert owner(sf, sf.Lead.create(lead(1, Country="japan"))["id"]) == apac
    assert owner(sf, sf.Lead.create(lead(2, Country="Japan", LeadSource="Web"))["id"]) \
        == USER_ID_18  # the default owner now
    salesforce_emulator.set_assignment_rules({"active": {"APAC": False}})
    assert owner(sf, sf.Lead.create(lead(3, Country="Japan"))["id"]) == USER_ID_18
    with pytest.raises(ValueError, match="no user or queue"):
        salesforce_emulator.set_assignment_rules({"rules": [{"name": "X", "entries": [
            {"criteria": [], "assign_to": "Nobody"}]}]})


def test_bare_org_runs_no_rule(bare_salesforce_emulator):
    sf = soap_client(bare_salesforce_emulator)
    soql = "SELECT Id FROM AssignmentRule WHERE SobjectType = 'Lead'"
    assert sf.query(soql)["totalSize"] == 0
    assert owner(sf, sf.Lead.create(lead(1, Country="Germany"))["id"]) == USER_ID_18
    assert bare_salesforce_emulator.assignment_rules()["rules"] == []
