"""The default org's duplicate rules, as a new Salesforce org ships them, on every write path."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from aimdoc_emulators.salesforce import matching
from aimdoc_emulators.salesforce.cli import build_parser
from tests.sf_clients import raw, soap_client

ALLOW = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}
WAIT = 0.01


@pytest.fixture
def sf(salesforce_emulator):
    return soap_client(salesforce_emulator)


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        call(*args, **kwargs)
    return caught.value.content[0]


def person(first: str | None, last: str, **extra) -> dict:
    record = {"LastName": last, **extra}
    if first is not None:
        record["FirstName"] = first
    return record


def lead(first: str | None, last: str, **extra) -> dict:
    return person(first, last, Company=extra.pop("Company", "Acme"), **extra)


def collection(type_name: str, *records: dict) -> dict:
    return {"allOrNone": False,
            "records": [{"attributes": {"type": type_name}, **r} for r in records]}


# ---------------------------------------------------------------------------- matching methods
@pytest.mark.parametrize(("left", "right", "same"), [
    ("john", "john", True), ("j", "john", True), ("bob", "robert", True),
    ("jon", "jonathan", True), ("jon", "john", True), ("mary", "john", False),
    ("robert", "roberta", True), ("anne", "bob", False),
])
def test_fuzzy_first_name(left, right, same):
    assert (matching.first_name_score(left, right) >= 85) is same


@pytest.mark.parametrize(("left", "right", "same"), [
    ("Acme", "Acme Inc", True), ("Acme, Inc.", "ACME Corporation", True),
    ("Acme Ltd", "acme.com", True), ("The Acme Group LLC", "Acme", True),
    ("IBM", "International Business Machines", True), ("Acme", "Apex", False),
    ("Globex", "Initech", False),
])
def test_fuzzy_company_name(left, right, same):
    score = matching.company_score(matching.company_name(left), matching.company_name(right))
    assert (score >= 70) is same


def test_phone_sections_and_zip_and_names():
    parts = matching.phone_parts
    assert matching.phone_score(parts("1-415-555-1234"), parts("(415) 555-5678")) == 90
    assert matching.phone_score(parts("415-555-1234"), parts("415-666-1234")) == 70
    assert matching.zip_code("94105-1234") == "94105"
    assert matching.zip_code("WT15 7TB") is None  # non-US codes never match fuzzily
    assert matching.last_name_score("johnson", "jonson") >= 90
    assert matching.last_name_score("smith", "jones") < 90
    assert matching.fold("Zoë  O'Brien") == "zoe o brien"


# ---------------------------------------------------------------------------- single record
def test_allow_rule_refuses_without_the_header_and_saves_with_it(sf, salesforce_emulator):
    first = sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"))["id"]
    error = error_of(sf.Lead.create, lead("Jane", "Doe", Email="JANE@acme.com"))
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    assert error["message"] == "Use one of these records?"
    assert "fields" not in error
    result = error["duplicateResut"]
    assert result["allowSave"] is True
    assert result["duplicateRule"] == "Standard_Lead_Duplicate_Rule"
    assert result["duplicateRuleEntityType"] == "Lead"
    (match,) = result["matchResults"]
    assert match["entityType"] == "Lead"
    assert match["rule"] == "Standard_Lead_Match_Rule_v1_0"
    assert match["matchEngine"] == "FuzzyMatchEngine"
    assert match["size"] == 1 and match["success"] is True
    assert match["matchRecords"][0]["record"] == {
        "attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{first}"},
        "Id": first}
    assert salesforce_emulator.backend.count("Lead") == 1
    assert sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"), headers=ALLOW)["success"]
    assert salesforce_emulator.backend.count("Lead") == 2


def test_cross_object_lead_and_contact(sf):
    contact = sf.Contact.create(person("Maria", "Garcia", Email="maria@globex.com"))["id"]
    error = error_of(sf.Lead.create, lead("Maria", "Garcia", Email="maria@globex.com"))
    (match,) = error["duplicateResut"]["matchResults"]
    assert (match["entityType"], match["rule"]) == ("Contact", "Standard_Contact_Match_Rule_v1_1")
    assert match["matchRecords"][0]["record"]["Id"] == contact
    sf.Lead.create(lead("Li", "Wei", Email="li.wei@initech.com"), headers=ALLOW)
    error = error_of(sf.Contact.create, person("Li", "Wei", Email="li.wei@initech.com"))
    assert error["duplicateResut"]["duplicateRule"] == "Standard_Contact_Duplicate_Rule"
    assert error["message"] == ("You're creating a duplicate record. We recommend you use an "
                                "existing record instead.")
    assert error["duplicateResut"]["matchResults"][0]["entityType"] == "Lead"


def test_fuzzy_names_transposition_and_blank_first_names(sf):
    sf.Contact.create(person("Robert", "Smith", Email="rsmith@acme.com", Phone="415-555-0100"))
    # nickname + same email; names transposed + same phone area/exchange (last four differ)
    assert error_of(sf.Lead.create, lead("Bob", "Smith", Email="rsmith@acme.com"))
    assert error_of(sf.Lead.create, lead("Smith", "Robert", Phone="(415) 555-0199"))
    # blank first name: ignored in the Email group only
    assert error_of(sf.Lead.create, lead(None, "Smith", Email="RSMITH@acme.com"))
    assert sf.Lead.create(lead(None, "Smith", Phone="415-555-0100"))["success"]
    # same email, another person: the standard rule needs the names too
    assert sf.Lead.create(lead("Alice", "Jones", Email="rsmith@acme.com"))["success"]


def test_company_and_title_group(sf):
    sf.Contact.create(person("Jane", "Roe", Title="Vice President Sales",
                             AccountId=sf.Account.create({"Name": "Acme"})["id"]))
    error = error_of(sf.Lead.create, lead("Jane", "Roe", Title="VP Sales", Company="ACME, Inc."))
    assert error["duplicateResut"]["matchResults"][0]["entityType"] == "Contact"
    assert sf.Lead.create(lead("Jane", "Roe", Title="VP Sales", Company="Globex"))["success"]


def test_account_rule_name_and_phone(sf):
    account = sf.Account.create({"Name": "Acme Corporation", "Phone": "+1 212 555 0100"})["id"]
    error = error_of(sf.Account.create, {"Name": "Acme, Inc.", "Phone": "212-555-0100"})
    result = error["duplicateResut"]
    assert result["duplicateRule"] == "Standard_Account_Duplicate_Rule"
    assert result["matchResults"][0]["matchRecords"][0]["record"]["Id"] == account
    assert sf.Account.create({"Name": "Acme Inc"})["success"]  # a name alone is no match


def test_edit_reports_only_and_never_matches_itself(sf, salesforce_emulator):
    one = sf.Lead.create(lead("Ann", "Lee", Email="ann@acme.com"))["id"]
    other = sf.Lead.create(lead("Tom", "Kim", Email="tom@acme.com"))["id"]
    assert sf.Lead.update(one, {"Title": "CEO"}) == 204
    # the standard rules only report on edit: a duplicate made by an update is saved
    assert sf.Lead.update(other, {"FirstName": "Ann", "LastName": "Lee",
                                  "Email": "ann@acme.com"}) == 204
    salesforce_emulator.set_duplicate_rules({"Lead": {"alert_on_update": True}})
    error = error_of(sf.Lead.update, other, {"Title": "CTO"})
    assert error["duplicateResut"]["matchResults"][0]["matchRecords"][0]["record"]["Id"] == one
    assert sf.Lead.update(other, {"Title": "CTO"}, headers=ALLOW) == 204
    sf.Lead.delete(one)
    assert sf.Lead.update(other, {"Title": "COO"}) == 204  # a deleted record is no candidate


def test_block_rule_blocks_whatever_the_header(sf, salesforce_emulator):
    sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"))
    salesforce_emulator.set_duplicate_rules({"Standard_Lead_Duplicate_Rule": {"action": "block"}})
    error = error_of(sf.Lead.create, lead("Jane", "Doe", Email="jane@acme.com"), headers=ALLOW)
    assert error["duplicateResut"]["allowSave"] is False
    assert salesforce_emulator.backend.count("Lead") == 1


def test_upsert_by_external_id_runs_the_rules_on_insert(sf):
    sf.Contact.create(person("Jane", "Doe", Email="jane@acme.com"))
    path = "sobjects/Lead/Aimdoc_Id__c/a-1"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(path, method="PATCH", json=lead("Jane", "Doe", Email="jane@acme.com"))
    assert caught.value.content[0]["errorCode"] == "DUPLICATES_DETECTED"
    created = sf.restful(path, method="PATCH", headers=ALLOW,
                         json=lead("Jane", "Doe", Email="jane@acme.com"))
    assert created["created"] is True


def test_record_details_key_spelling_and_requested_version(sf, salesforce_emulator):
    contact = sf.Contact.create(person("Jane", "Doe", Email="jane@acme.com"))["id"]
    salesforce_emulator.configure(duplicate_key="duplicateResult")
    response = raw(salesforce_emulator, "POST", "/services/data/v61.0/sobjects/Lead",
                   headers={"Authorization": f"Bearer {sf.session_id}",
                            "Sforce-Duplicate-Rule-Header": "includeRecordDetails=true"},
                   json=lead("Jane", "Doe", Email="jane@acme.com"))
    assert response.status_code == 400
    record = response.json()[0]["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]
    assert record["attributes"]["url"] == f"/services/data/v61.0/sobjects/Contact/{contact}"
    assert record["Email"] == "jane@acme.com" and record["LastName"] == "Doe"


# ---------------------------------------------------------------------------- collections
def test_collections_per_record_errors_and_one_save(sf, salesforce_emulator):
    sf.Contact.create(person("Jane", "Doe", Email="jane@acme.com"))
    results = sf.restful("composite/sobjects", method="POST", json=collection(
        "Lead", lead("Jane", "Doe", Email="jane@acme.com"), lead("Ravi", "Patel", Email="r@x.com"),
        lead("Ravi", "Patel", Email="r@x.com")))
    assert results[0] == {"success": False, "errors": [{
        "statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?",
        "fields": []}]}
    # records of one call are compared with the org, not with each other
    assert results[1]["success"] and results[2]["success"]
    again = sf.restful("composite/sobjects", method="POST",
                       json=collection("Lead", lead("Ravi", "Patel", Email="r@x.com")))
    assert again[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    saved = sf.restful("composite/sobjects", method="POST", headers=ALLOW,
                       json=collection("Lead", lead("Ravi", "Patel", Email="r@x.com")))
    assert saved[0]["success"] is True


def test_collections_update_and_upsert(sf, salesforce_emulator):
    salesforce_emulator.set_duplicate_rules({"Lead": {"alert_on_update": True}})
    sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"))
    other = sf.Lead.create(lead("Tom", "Kim", Email="tom@acme.com"))["id"]
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "id": other,
                                             "FirstName": "Jane", "LastName": "Doe",
                                             "Email": "jane@acme.com"}]}
    updated = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert updated[0]["id"] == other
    assert updated[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    upserted = sf.restful("composite/sobjects/Lead/Aimdoc_Id__c", method="PATCH", json=collection(
        "Lead", lead("Jane", "Doe", Email="jane@acme.com", Aimdoc_Id__c="x-1")))
    assert upserted[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"


def test_rolled_back_records_are_no_candidates(sf, salesforce_emulator):
    body = collection("Lead", lead("Ravi", "Patel", Email="r@x.com"), {"LastName": "NoCompany"})
    body["allOrNone"] = True
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in results] == [False, False]
    assert sf.Lead.create(lead("Ravi", "Patel", Email="r@x.com"))["success"]


# ---------------------------------------------------------------------------- composite
def _composite(sf, *subrequests, headers=None):
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Lead", "referenceId": f"r{i}",
         **sub} for i, sub in enumerate(subrequests)]}
    return sf.restful("composite", method="POST", json=body,
                      headers=headers or {})["compositeResponse"]


def test_composite_subrequest_and_top_level_headers(sf):
    sf.Contact.create(person("Jane", "Doe", Email="jane@acme.com"))
    jane = lead("Jane", "Doe", Email="jane@acme.com")
    plain, own = _composite(sf, {"body": jane}, {"body": jane, "httpHeaders": ALLOW})
    assert plain["httpStatusCode"] == 400
    assert plain["body"][0]["errorCode"] == "DUPLICATES_DETECTED"
    assert plain["body"][0]["duplicateResut"]["allowSave"] is True
    assert own["httpStatusCode"] == 201
    (inherited,) = _composite(sf, {"body": jane}, headers=ALLOW)
    assert inherited["httpStatusCode"] == 201
    (overridden,) = _composite(sf, {"body": jane, "httpHeaders": {
        "sforce-duplicate-rule-header": "allowSave=false"}}, headers=ALLOW)
    assert overridden["httpStatusCode"] == 400


# ---------------------------------------------------------------------------- bulk
def test_bulk_rows_fail_with_the_duplicate_error(sf, salesforce_emulator):
    sf.Contact.create(person("Jane", "Doe", Email="jane@acme.com"))
    result = sf.bulk2.Lead.insert(records=[lead("Jane", "Doe", Email="jane@acme.com"),
                                           lead("Sam", "Fox", Email="sam@acme.com")], wait=WAIT)
    assert result[0]["numberRecordsFailed"] == 1
    failed = list(csv.DictReader(io.StringIO(
        sf.bulk2.Lead.get_failed_records(result[0]["job_id"]))))
    assert failed[0]["sf__Error"] == "DUPLICATES_DETECTED:Use one of these records?:--"
    assert failed[0]["Email"] == "jane@acme.com"
    # rows of one 200-row chunk are one save: not compared with each other, only with the org
    twins = [lead("Kim", "Park", Email="kim@acme.com")] * 2
    assert sf.bulk2.Lead.insert(records=twins, wait=WAIT)[0]["numberRecordsFailed"] == 0
    assert sf.bulk2.Lead.insert(records=twins[:1], wait=WAIT)[0]["numberRecordsFailed"] == 1


# ---------------------------------------------------------------------------- configuration
def test_bare_org_has_no_rules(bare_salesforce_emulator):
    sf = soap_client(bare_salesforce_emulator)
    sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"))
    assert sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"))["success"]
    assert bare_salesforce_emulator.duplicate_rules() == []


def test_org_switches_by_admin_call_seed_and_cli(salesforce_emulator):
    answer = raw(salesforce_emulator, "POST", "/__emulator/reset", json={"org": "bare"})
    assert answer.json() == {"status": "ok", "org": "bare"}
    assert raw(salesforce_emulator, "GET", "/__emulator/duplicate-rules").json() == []
    salesforce_emulator.seed({"org": "default"})
    names = [r["name"] for r in salesforce_emulator.duplicate_rules()]
    assert names == ["Standard_Account_Duplicate_Rule", "Standard_Contact_Duplicate_Rule",
                     "Standard_Lead_Duplicate_Rule"]
    assert build_parser().parse_args(["--org", "bare"]).org == "bare"
    assert raw(salesforce_emulator, "POST", "/__emulator/reset",
               json={"org": "nonsense"}).status_code == 400


def test_admin_adds_deactivates_and_narrows_rules(sf, salesforce_emulator):
    listing = raw(salesforce_emulator, "POST", "/__emulator/duplicate-rules", json={
        "Standard_Lead_Duplicate_Rule": {"active": False},
        "add": [{"name": "Lead_Same_Email", "object": "Lead", "action": "block",
                 "fields": [{"field": "Email", "method": "exact"}],
                 "match_objects": ["Lead", "Contact"]}],
    }).json()
    added = next(r for r in listing if r["name"] == "Lead_Same_Email")
    assert added["action_on_insert"] == "block"
    assert [m["object"] for m in added["matching_rules"]] == ["Lead", "Contact"]
    sf.Contact.create(person("Jane", "Doe", Email="shared@acme.com"))
    error = error_of(sf.Lead.create, lead("Other", "Person", Email="shared@acme.com"),
                     headers=ALLOW)
    assert error["duplicateResut"]["duplicateRule"] == "Lead_Same_Email"
    assert error["duplicateResut"]["matchResults"][0]["matchEngine"] == "ExactMatchEngine"
    salesforce_emulator.set_duplicate_rules({"remove": ["Lead_Same_Email"],
                                             "Lead": {"active": True, "match_objects": ["Lead"]}})
    assert sf.Lead.create(lead("Jane", "Doe", Email="shared@acme.com"))["success"]


def test_seed_file_rules(salesforce_emulator):
    salesforce_emulator.seed({"duplicate_rules": {"Contact": {"action": "block"}},
                              "records": {"Contact": [person("Jane", "Doe", Email="j@a.com")]}})
    sf = soap_client(salesforce_emulator)
    error = error_of(sf.Contact.create, person("Jane", "Doe", Email="j@a.com"), headers=ALLOW)
    assert error["duplicateResut"]["allowSave"] is False
    with pytest.raises(ValueError, match="allow or block"):
        salesforce_emulator.set_duplicate_rules({"Lead": {"action": "maybe"}})


def test_custom_cross_object_rule_maps_company_to_account_name(bare_salesforce_emulator):
    emulator = bare_salesforce_emulator
    emulator.set_duplicate_rules({"add": [{
        "name": "Lead_Company_And_Name", "object": "Lead", "match_objects": ["Contact"],
        "fields": [{"field": "Company", "method": "company"}, "LastName"]}]})
    sf = soap_client(emulator)
    account = sf.Account.create({"Name": "Acme Inc"})["id"]
    sf.Contact.create({"LastName": "Doe", "AccountId": account})
    error = error_of(sf.Lead.create, {"LastName": "doe", "Company": "ACME"})
    assert error["duplicateResut"]["duplicateRule"] == "Lead_Company_And_Name"
    assert sf.Lead.create({"LastName": "Doe", "Company": "Globex"})["success"]


def test_a_seed_file_can_ask_for_a_bare_org(tmp_path):
    from aimdoc_emulators.salesforce.models import SalesforceBackend

    seed = tmp_path / "seed.json"
    seed.write_text('{"org": "bare", "records": {"Lead": [{"LastName": "Doe", '
                    '"Company": "Acme", "Email": "d@acme.com"}]}}', encoding="utf-8")
    backend = SalesforceBackend(seed_file=seed)
    assert backend.org == "bare" and backend.dupes.rules == []
    assert backend.assignment.active_rule() is None
    assert backend.count("Lead") == 1
    backend.reset()  # the seed file's profile holds on later resets
    assert backend.org == "bare" and backend.count("Lead") == 1
    backend.create("Lead", {"LastName": "Doe", "Company": "Acme", "Email": "d@acme.com"})


def test_a_rolled_back_composite_leaves_no_candidates(sf):
    composite = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact", "referenceId": "c",
         "body": person("Jane", "Doe", Email="jane@acme.com")},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Lead", "referenceId": "l",
         "body": lead("Jane", "Doe", Email="jane@acme.com"), "httpHeaders": ALLOW},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Lead", "referenceId": "bad",
         "body": {"LastName": "NoCompany"}}]}
    answers = sf.restful("composite", method="POST", json=composite)["compositeResponse"]
    assert answers[2]["httpStatusCode"] == 400
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    assert sf.Lead.create(lead("Jane", "Doe", Email="jane@acme.com"))["success"]
    assert sf.Contact.create(person("Jane", "Doe", Email="jane2@acme.com"))["success"]
