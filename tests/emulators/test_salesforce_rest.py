"""sObject REST, upsert, Collections, Composite, query, describe and limits through the real client."""

from __future__ import annotations

import time

import pytest
from simple_salesforce import format_external_id, format_soql
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from tests.sf_clients import raw, soap_client


@pytest.fixture
def sf(salesforce_emulator):
    return soap_client(salesforce_emulator)


def lead(i: int, **extra):
    return {"attributes": {"type": "Lead"}, "LastName": f"Lead{i}", "Company": "Acme",
            "Email": f"lead{i}@acme.com", **extra}


def test_create_get_update_delete(sf, salesforce_emulator):
    created = sf.Lead.create({"FirstName": "Jane", "LastName": "Doe", "Company": "Acme",
                              "Email": "jane@acme.com"})
    assert created["success"] is True and created["errors"] == []
    lead_id = created["id"]
    assert len(lead_id) == 18 and lead_id.startswith("00Q")
    record = sf.Lead.get(lead_id)
    assert record["attributes"] == {"type": "Lead",
                                    "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}"}
    assert record["Name"] == "Jane Doe"
    assert record["Status"] == "Open - Not Contacted"
    assert record["IsConverted"] is False
    assert record["CreatedDate"].endswith("+0000")
    assert sf.Lead.get(lead_id[:15])["Id"] == lead_id
    assert sf.Lead.update(lead_id, {"Company": "Acme Corp"}) == 204
    assert sf.Lead.get(lead_id)["Company"] == "Acme Corp"
    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get(lead_id)
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 1
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_create_answers_201_with_location(sf, salesforce_emulator):
    response = raw(salesforce_emulator, "POST", "/services/data/v59.0/sobjects/Account/",
                   json={"Name": "Acme"}, headers={"Authorization": f"Bearer {sf.session_id}"})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"/services/data/v59.0/sobjects/Account/{body['id']}"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_unknown_record_and_object_are_404(sf):
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get("00Q5e0000000999AAA")
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Leadz.describe()


def test_upsert_by_external_id_201_200_300(sf, salesforce_emulator):
    path = format_external_id("Email", "o'brien+x@acme.com")
    created = sf.Lead.upsert(path, {"LastName": "O'Brien", "Company": "Acme"}, raw_response=True)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = sf.Lead.upsert(path, {"Title": "CTO"}, raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [],
                              "created": False}
    assert sf.Lead.get(created.json()["id"])["Email"] == "o'brien+x@acme.com"
    sf.Lead.create({"LastName": "Twin", "Company": "Acme", "Email": "O'BRIEN+X@acme.com"})
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Lead.upsert(path, {"Title": "CEO"})
    assert len(caught.value.content) == 2
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.upsert("LastName/x", {"Company": "A"})


def test_upsert_by_custom_external_id_field(sf):
    first = sf.Account.upsert("Domain__c/acme.com", {"Name": "Acme"}, raw_response=True)
    again = sf.Account.upsert("Domain__c/ACME.com", {"Name": "Acme Inc"}, raw_response=True)
    assert (first.status_code, again.status_code) == (201, 200)
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Acme Inc"


def test_collections_create_200_is_one_api_call(sf, salesforce_emulator):
    before = salesforce_emulator.stats()["api_calls"]
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": [lead(i) for i in range(200)]})
    assert len(results) == 200
    assert all(r["success"] and r["id"].startswith("00Q") for r in results)
    assert salesforce_emulator.stats()["api_calls"] - before == 1
    assert salesforce_emulator.backend.count("Lead") == 200


def test_collections_201_records_exceeds_id_limit(sf, salesforce_emulator):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST",
                   json={"allOrNone": False, "records": [lead(i) for i in range(201)]})
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert salesforce_emulator.backend.count("Lead") == 0


def test_collections_partial_failure_uses_status_code_key(sf):
    results = sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": False,
        "records": [lead(1), {"attributes": {"type": "Lead"}, "LastName": "NoCompany"}, lead(3)],
    })
    assert [r["success"] for r in results] == [True, False, True]
    assert "id" not in results[1] or results[1]["id"] is None
    assert results[1]["errors"] == [{"statusCode": "REQUIRED_FIELD_MISSING",
                                     "message": "Required fields are missing: [Company]",
                                     "fields": ["Company"]}]


def test_collections_all_or_none_rolls_back(sf, salesforce_emulator):
    results = sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": True,
        "records": [lead(1), {"attributes": {"type": "Lead"}, "LastName": "NoCompany"}, lead(3)],
    })
    assert [r["success"] for r in results] == [False, False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert salesforce_emulator.backend.count("Lead") == 0


def test_collections_unknown_field_rejects_the_whole_call(sf, salesforce_emulator):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST",
                   json={"allOrNone": False, "records": [lead(1), lead(2, Nope__c="x")]})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert salesforce_emulator.backend.count("Lead") == 0


def test_collections_update_upsert_retrieve_delete(sf, salesforce_emulator):
    created = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": [lead(1), lead(2)]})
    ids = [r["id"] for r in created]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": ids[0], "Title": "CEO"},
        {"attributes": {"type": "Lead"}, "id": "00Q5e0000000999AAA", "Title": "CFO"},
    ]})
    assert updated[0] == {"id": ids[0], "success": True, "errors": []}
    assert updated[1]["success"] is False
    upserted = sf.restful("composite/sobjects/Lead/Email", method="PATCH", json={
        "allOrNone": False,
        "records": [lead(2, Title="VP"), lead(9), lead(8), lead(8, Title="again")],
    })
    assert [r.get("created") for r in upserted[:2]] == [False, True]
    assert upserted[0]["id"] == ids[1]
    # The same key twice in one call fails both rows; neither is written.
    assert [r["errors"][0]["statusCode"] for r in upserted[2:]] == ["DUPLICATE_VALUE"] * 2
    fetched = sf.restful(f"composite/sobjects/Lead?ids={ids[0]},00Q5e0000000999AAA&fields=Id,Title")
    assert fetched[0]["Title"] == "CEO" and fetched[1] is None
    deleted = sf.restful(f"composite/sobjects?ids={ids[0]},{ids[1]}&allOrNone=false",
                         method="DELETE")
    assert [d["success"] for d in deleted] == [True, True]
    assert salesforce_emulator.backend.count("Lead") == 1


def test_collections_upsert_ambiguous_key(sf):
    sf.Lead.create({"LastName": "A", "Company": "X", "Email": "same@x.com"})
    sf.Lead.create({"LastName": "B", "Company": "X", "Email": "SAME@x.com"})
    result = sf.restful("composite/sobjects/Lead/Email", method="PATCH", json={
        "allOrNone": False, "records": [lead(0, Email="same@x.com")]})
    assert result[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"


def test_composite_chains_references(sf, salesforce_emulator):
    before = salesforce_emulator.stats()["api_calls"]
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Account",
         "referenceId": "acct", "body": {"Name": "Acme", "Website": "https://acme.com"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact",
         "referenceId": "contact", "body": {"LastName": "Doe", "AccountId": "@{acct.id}"}},
        {"method": "GET", "referenceId": "q",
         "url": "/services/data/v59.0/query/?q=SELECT+Id,Account.Name+FROM+Contact"},
        {"method": "PATCH", "referenceId": "upd",
         "url": "/services/data/v59.0/sobjects/Contact/@{q.records[0].Id}",
         "body": {"Title": "CEO"}},
    ]}
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [201, 201, 200, 204]
    account_id = result[0]["body"]["id"]
    assert result[0]["httpHeaders"]["Location"].endswith(account_id)
    assert result[2]["body"]["records"][0]["Account"]["Name"] == "Acme"
    contact = salesforce_emulator.backend.all_records("Contact")[0]
    assert contact["AccountId"] == account_id and contact["Title"] == "CEO"
    assert salesforce_emulator.stats()["api_calls"] - before == 1


def test_composite_all_or_none_halts_and_rolls_back(sf, salesforce_emulator):
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Account",
         "referenceId": "acct", "body": {"Name": "Acme"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact",
         "referenceId": "bad", "body": {"FirstName": "NoLastName"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact",
         "referenceId": "after", "body": {"LastName": "Later"}},
    ]}
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [400, 400, 400]
    assert result[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert result[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert result[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert salesforce_emulator.backend.count("Account") == 0


def test_composite_dependent_subrequest_halts_without_all_or_none(sf, salesforce_emulator):
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Account",
         "referenceId": "acct", "body": {}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact",
         "referenceId": "c1", "body": {"LastName": "X", "AccountId": "@{acct.id}"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact",
         "referenceId": "c2", "body": {"LastName": "Independent"}},
    ]}
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [400, 400, 201]
    assert result[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert salesforce_emulator.backend.count("Contact") == 1


def test_composite_limits(sf):
    too_many = {"compositeRequest": [
        {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": f"r{i}"}
        for i in range(26)]}
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json=too_many)
    queries = {"compositeRequest": [
        {"method": "GET", "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+Lead",
         "referenceId": f"q{i}"} for i in range(6)]}
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json=queries)


def test_query_escaping_of_quotes(sf):
    sf.Lead.create({"LastName": "O'Brien", "Company": "Acme", "Email": "o'brien@acme.com"})
    sf.Lead.create({"LastName": "Other", "Company": "Acme", "Email": "other@acme.com"})
    soql = format_soql("SELECT Id, LastName FROM Lead WHERE LastName = {}", "O'Brien")
    assert [r["LastName"] for r in sf.query(soql)["records"]] == ["O'Brien"]
    injection = format_soql("SELECT Id FROM Lead WHERE Email IN {}", ["x' OR Email != '"])
    assert sf.query(injection)["totalSize"] == 0
    case = format_soql("SELECT Id FROM Lead WHERE Email = {}", "O'BRIEN@ACME.COM")
    assert sf.query(case)["totalSize"] == 1


def test_query_pages_of_2000_and_query_all(sf, salesforce_emulator):
    salesforce_emulator.seed({"records": {"Lead": [
        {"LastName": f"L{i}", "Company": "C"} for i in range(2500)]}})
    first = sf.query("SELECT Id FROM Lead")
    assert first["totalSize"] == 2500 and first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["done"] is True and len(second["records"]) == 500
    assert len(sf.query_all("SELECT Id FROM Lead")["records"]) == 2500


def test_malformed_and_invalid_queries(sf):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Lead GROUP BY Company")
    assert caught.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Nope FROM Lead")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Leadz")
    assert caught.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_uri_over_16384_bytes_is_414(sf, salesforce_emulator):
    emails = [f"person{i}@example-company-domain.com" for i in range(600)]
    response = raw(salesforce_emulator, "GET", "/services/data/v59.0/query/",
                   params={"q": format_soql("SELECT Id FROM Lead WHERE Email IN {}", emails)},
                   headers={"Authorization": f"Bearer {sf.session_id}"})
    assert response.status_code == 414


def test_describe_global_and_objects(sf):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Contact", "Account", "Note", "ContentNote", "ContentDocument",
            "ContentDocumentLink", "Task", "User"} <= names
    lead_fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    required = {n for n, f in lead_fields.items()
                if f["createable"] and not f["nillable"] and not f["defaultedOnCreate"]}
    assert required == {"LastName", "Company"}
    status = lead_fields["Status"]
    assert status["restrictedPicklist"] is True
    assert status["picklistValues"][0]["value"] == "Open - Not Contacted"
    assert lead_fields["Email"]["idLookup"] is True and lead_fields["Email"]["length"] == 80
    assert lead_fields["IsConverted"]["updateable"] is False
    assert lead_fields["ConvertedContactId"]["createable"] is False
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert account["Domain__c"]["externalId"] is True and account["Domain__c"]["custom"] is True
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["AccountId"]["referenceTo"] == ["Account"]
    assert contact["AccountId"]["relationshipName"] == "Account"


def test_limits_endpoint_matches_header(sf, salesforce_emulator):
    sf.query("SELECT COUNT() FROM Lead")
    limits = sf.limits()
    used = limits["DailyApiRequests"]["Max"] - limits["DailyApiRequests"]["Remaining"]
    assert used == salesforce_emulator.stats()["api_calls"]
    assert sf.api_usage["api-usage"].used == used
    assert sf.api_usage["api-usage"].total == 15000


def test_record_page_renders(sf, salesforce_emulator):
    lead_id = sf.Lead.create({"LastName": "<b>Page</b>", "Company": "Acme"})["id"]
    page = raw(salesforce_emulator, "GET", f"/lightning/r/Lead/{lead_id}/view")
    assert page.status_code == 200
    assert "&lt;b&gt;Page&lt;/b&gt;" in page.text


def test_built_in_users_carry_audit_fields(sf):
    soql = ("SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp, CreatedById, "
            "LastModifiedById, IsDeleted FROM User WHERE SystemModstamp > 2000-01-01T00:00:00Z")
    users = sf.query(soql)["records"]
    assert len(users) >= 2
    for user in users:
        assert all(user[key] is not None for key in user if key != "attributes")
        assert user["IsDeleted"] is False


def test_delete_bumps_the_modstamps(sf):
    lead_id = sf.Lead.create({"LastName": "Gone", "Company": "Acme"})["id"]
    before = sf.Lead.get(lead_id)
    time.sleep(0.01)
    sf.Lead.delete(lead_id)
    soql = f"SELECT SystemModstamp, LastModifiedDate, IsDeleted FROM Lead WHERE Id = '{lead_id}'"
    (after,) = sf.query_all(soql, include_deleted=True)["records"]
    assert after["IsDeleted"] is True
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] > before["LastModifiedDate"]


@pytest.mark.parametrize("version", ["60.0", "61.0"])
def test_urls_carry_the_requested_version(sf, salesforce_emulator, version):
    headers = {"Authorization": f"Bearer {sf.session_id}", "Sforce-Query-Options": "batchSize=200"}
    base = f"/services/data/v{version}"
    for start in (0, 200):
        body = {"allOrNone": False, "records": [lead(i) for i in range(start, start + 200)]}
        raw(salesforce_emulator, "POST", f"{base}/composite/sobjects", headers=headers, json=body)
    page = raw(salesforce_emulator, "GET", f"{base}/query", headers=headers,
               params={"q": "SELECT Id FROM Lead"}).json()
    assert page["nextRecordsUrl"].startswith(f"{base}/query/01g")
    assert page["records"][0]["attributes"]["url"].startswith(f"{base}/sobjects/Lead/")
    more = raw(salesforce_emulator, "GET", page["nextRecordsUrl"], headers=headers).json()
    assert more["records"][0]["attributes"]["url"].startswith(f"{base}/sobjects/Lead/")
    record_id = page["records"][0]["Id"]
    record = raw(salesforce_emulator, "GET", f"{base}/sobjects/Lead/{record_id}",
                 headers=headers).json()
    assert record["attributes"]["url"] == f"{base}/sobjects/Lead/{record_id}"
    describe = raw(salesforce_emulator, "GET", f"{base}/sobjects/Lead/describe",
                   headers=headers).json()
    assert describe["urls"]["describe"] == f"{base}/sobjects/Lead/describe"
    listing = raw(salesforce_emulator, "GET", f"{base}/sobjects", headers=headers).json()
    assert listing["sobjects"][0]["urls"]["sobject"].startswith(f"{base}/sobjects/")
