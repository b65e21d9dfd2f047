"""Issue 22: REST resources real clients use, driven through simple-salesforce or raw HTTP.

Versions list and version resource, identity URL, SOAP logout, OAuth revoke, describe's child
relationships, Composite Batch, ``sobjects/X/updated|deleted``, SOSL ``FIND``, and SOQL date
literals and parent-to-child subqueries end to end.
"""

from __future__ import annotations

import datetime as dt

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sf_clients import CLIENT_ID, CLIENT_SECRET, raw, soap_client, trusted_session

LOGOUT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>'
    '<SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{token}</sessionId>'
    '</SessionHeader></soapenv:Header><soapenv:Body><logout xmlns="urn:partner.soap.sforce.com"/>'
    "</soapenv:Body></soapenv:Envelope>"
)


@pytest.fixture
def sf(salesforce_emulator):
    salesforce_emulator.app.reset_extras()
    return soap_client(salesforce_emulator)


def bearer(sf) -> dict[str, str]:
    return {"Authorization": f"Bearer {sf.session_id}"}


def calls(emulator) -> int:
    return emulator.stats()["api_calls"]


# -- versions, resources, identity ------------------------------------------------------------
def test_versions_list_names_each_release(salesforce_emulator):
    versions = raw(salesforce_emulator, "GET", "/services/data/").json()
    by_number = {v["version"]: v for v in versions}
    assert by_number["59.0"] == {"label": "Winter '24", "url": "/services/data/v59.0",
                                 "version": "59.0"}
    assert by_number["60.0"]["label"] == "Spring '24"
    assert by_number["61.0"]["label"] == "Summer '24"
    assert by_number["20.0"]["label"] == "Winter '11"
    assert [v["version"] for v in versions] == sorted(by_number, key=float)


def test_version_resource_lists_identity_and_the_documented_keys(sf, salesforce_emulator):
    resources = sf.restful("")
    for key in ("sobjects", "query", "queryAll", "search", "composite", "limits", "jobs",
                "tooling", "recent", "identity"):
        assert key in resources, key
    assert resources["search"] == "/services/data/v59.0/search"
    assert resources["identity"].startswith(salesforce_emulator.url + "/id/00D")
    identity = trusted_session(salesforce_emulator).get(
        resources["identity"], headers=bearer(sf), timeout=30)
    assert identity.status_code == 200
    body = identity.json()
    assert body["id"] == resources["identity"]
    assert body["username"] == "demo@example.com"
    assert body["user_id"].startswith("005")
    assert body["organization_id"].startswith("00D")
    assert body["urls"]["rest"] == salesforce_emulator.url + "/services/data/v{version}/"
    assert body["urls"]["query"].endswith("/services/data/v{version}/query/")


def test_identity_url_refuses_a_bad_token_and_a_wrong_user(sf, salesforce_emulator):
    url = sf.restful("")["identity"]
    session = trusted_session(salesforce_emulator)
    refused = session.get(url, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert (refused.status_code, refused.text) == (403, "Bad_OAuth_Token")
    by_param = session.get(url, params={"oauth_token": sf.session_id}, timeout=30)
    assert by_param.status_code == 200
    other = url.rsplit("/", 1)[0] + "/0055e000000ZZZZAAA"
    assert session.get(other, headers=bearer(sf), timeout=30).status_code == 404
    userinfo = session.get(salesforce_emulator.url + "/services/oauth2/userinfo",
                           headers=bearer(sf), timeout=30).json()
    assert userinfo["preferred_username"] == "demo@example.com"
    assert userinfo["sub"] == url


def test_identity_and_versions_are_not_counted(sf, salesforce_emulator):
    url = sf.restful("")["identity"]
    before = calls(salesforce_emulator)
    trusted_session(salesforce_emulator).get(url, headers=bearer(sf), timeout=30)
    raw(salesforce_emulator, "GET", "/services/data")
    assert calls(salesforce_emulator) == before


# -- SOAP logout, OAuth revoke ----------------------------------------------------------------
def test_soap_logout_ends_the_session(sf, salesforce_emulator):
    token = sf.session_id
    path = "/services/Soap/u/59.0"
    response = raw(salesforce_emulator, "POST", path, data=LOGOUT.format(token=token),
                   headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    assert response.status_code == 200
    assert "<logoutResponse/>" in response.text
    after = raw(salesforce_emulator, "GET", "/services/data/v59.0/limits",
                headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    again = raw(salesforce_emulator, "POST", path + "/00D5e000000EMUL",
                data=LOGOUT.format(token=token), headers={"SOAPAction": '""'})
    assert again.status_code == 500
    assert "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in again.text
    assert "sf:UnexpectedErrorFault" in again.text


def test_other_soap_calls_are_a_client_fault_not_a_login_fault(salesforce_emulator):
    body = LOGOUT.format(token="x").replace("<logout ", "<getServerTimestamp ")
    response = raw(salesforce_emulator, "POST", "/services/Soap/u/59.0", data=body)
    assert response.status_code == 500
    assert "soapenv:Client" in response.text
    assert "getServerTimestamp" in response.text
    assert "INVALID_LOGIN" not in response.text


def test_oauth_revoke_an_access_token(sf, salesforce_emulator):
    token = sf.session_id
    revoked = raw(salesforce_emulator, "POST", "/services/oauth2/revoke", data={"token": token})
    assert (revoked.status_code, revoked.content) == (200, b"")
    after = raw(salesforce_emulator, "GET", "/services/data/v59.0/limits",
                headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    again = raw(salesforce_emulator, "POST", "/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"
    missing = raw(salesforce_emulator, "GET", "/services/oauth2/revoke")
    assert missing.json()["error"] == "unsupported_token_type"


def test_oauth_revoke_a_refresh_token_ends_its_sessions(salesforce_emulator):
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "refresh_token": "demo-refresh-token"}
    token = raw(salesforce_emulator, "POST", "/services/oauth2/token", data=form).json()
    try:
        revoked = raw(salesforce_emulator, "GET", "/services/oauth2/revoke",
                      params={"token": "demo-refresh-token"})
        assert revoked.status_code == 200
        call = raw(salesforce_emulator, "GET", "/services/data/v59.0/limits",
                   headers={"Authorization": f"Bearer {token['access_token']}"})
        assert call.status_code == 401
        refused = raw(salesforce_emulator, "POST", "/services/oauth2/token", data=form)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
    finally:
        salesforce_emulator.auth.revoked_refresh_tokens.clear()


# -- describe ---------------------------------------------------------------------------------
def test_account_describe_lists_its_child_relationships(sf):
    children = {(c["childSObject"], c["field"]): c
                for c in sf.Account.describe()["childRelationships"]}
    contacts = children[("Contact", "AccountId")]
    assert contacts["relationshipName"] == "Contacts"
    assert set(contacts) >= {"cascadeDelete", "childSObject", "deprecatedAndHidden", "field",
                             "junctionIdListNames", "junctionReferenceTo", "relationshipName",
                             "restrictedDelete"}
    assert children[("Note", "ParentId")]["relationshipName"] == "Notes"
    assert children[("Task", "WhatId")]["relationshipName"] == "Tasks"
    assert children[("Lead", "ConvertedAccountId")]["relationshipName"] is None
    lead_children = {c["relationshipName"] for c in sf.Lead.describe()["childRelationships"]}
    assert {"Notes", "Tasks"} <= lead_children


# -- SOQL through the REST API --------------------------------------------------------------
def test_parent_to_child_subquery_through_the_client(sf, salesforce_emulator):
    acme = sf.Account.create({"Name": "Acme"})["id"]
    sf.Account.create({"Name": "Zeta"})
    for name in ("Ann", "Bob"):
        sf.Contact.create({"LastName": name, "AccountId": acme})
    records = sf.query_all(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
        "ORDER BY Name")["records"]
    assert [r["Name"] for r in records] == ["Acme", "Zeta"]
    nested = records[0]["Contacts"]
    assert (nested["totalSize"], nested["done"]) == (2, True)
    assert [c["LastName"] for c in nested["records"]] == ["Ann", "Bob"]
    assert nested["records"][0]["attributes"]["type"] == "Contact"
    assert records[1]["Contacts"] is None


def test_date_literals_through_the_client(sf):
    sf.Lead.create({"LastName": "Now", "Company": "Acme"})
    for literal in ("THIS_MONTH", "THIS_QUARTER", "THIS_YEAR", "THIS_WEEK", "LAST_N_DAYS:1",
                    "THIS_FISCAL_YEAR", "N_MONTHS_AGO:0"):
        assert sf.query(f"SELECT COUNT() FROM Lead WHERE CreatedDate = {literal}")[
            "totalSize"] == 1, literal
    for literal in ("LAST_MONTH", "NEXT_MONTH", "LAST_QUARTER", "NEXT_YEAR", "LAST_YEAR",
                    "LAST_N_MONTHS:3", "N_YEARS_AGO:1", "LAST_WEEK", "NEXT_WEEK"):
        assert sf.query(f"SELECT COUNT() FROM Lead WHERE CreatedDate = {literal}")[
            "totalSize"] == 0, literal


# -- Composite Batch --------------------------------------------------------------------------
def test_composite_batch_runs_independent_subrequests_as_one_call(sf, salesforce_emulator):
    acme = sf.Account.create({"Name": "Acme"})["id"]
    before = calls(salesforce_emulator)
    result = sf.restful("composite/batch", method="POST", json={"batchRequests": [
        {"method": "PATCH", "url": f"v59.0/sobjects/Account/{acme}",
         "richInput": {"Name": "Acme 2"}},
        {"method": "GET", "url": f"v59.0/sobjects/Account/{acme}?fields=Name"},
        {"method": "GET", "url": "v59.0/query/?q=SELECT+Name+FROM+Account"},
        {"method": "POST", "url": "v59.0/sobjects/Contact", "richInput": {"FirstName": "x"}},
        {"method": "GET", "url": "/services/data/v59.0/limits"},
    ]})
    assert calls(salesforce_emulator) == before + 1
    assert result["hasErrors"] is True
    statuses = [r["statusCode"] for r in result["results"]]
    assert statuses == [204, 200, 200, 400, 200]
    assert result["results"][0]["result"] is None
    assert result["results"][1]["result"]["Name"] == "Acme 2"
    assert result["results"][2]["result"]["records"][0]["Name"] == "Acme 2"
    assert result["results"][3]["result"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_composite_batch_halt_on_error_and_limits(sf):
    result = sf.restful("composite/batch", method="POST", json={"haltOnError": True,
                                                               "batchRequests": [
        {"method": "GET", "url": "v59.0/sobjects/Account/001000000000000AAA"},
        {"method": "GET", "url": "v59.0/limits"},
    ]})
    assert [r["statusCode"] for r in result["results"]] == [404, 412]
    assert result["results"][1]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    too_many = [{"method": "GET", "url": "v59.0/limits"}] * 26
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/batch", method="POST", json={"batchRequests": too_many})
    nested = sf.restful("composite/batch", method="POST", json={"batchRequests": [
        {"method": "POST", "url": "v59.0/composite/batch", "richInput": {}}]})
    assert nested["results"][0]["statusCode"] == 400


# -- replication ------------------------------------------------------------------------------
def test_updated_and_deleted_through_the_client(sf, salesforce_emulator):
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    kept = sf.Contact.create({"LastName": "Kept"})["id"]
    gone = sf.Contact.create({"LastName": "Gone"})["id"]
    sf.Contact.delete(gone)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    updated = sf.Contact.updated(start, end)
    assert updated["ids"] == [kept]
    covered = dt.datetime.strptime(updated["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert covered <= dt.datetime.now(dt.UTC)
    assert covered.second == 0
    deleted = sf.Contact.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert deleted["deletedRecords"][0]["deletedDate"].endswith("+0000")
    assert "earliestDateAvailable" in deleted
    assert sf.Lead.updated(start, end)["ids"] == []
    before = calls(salesforce_emulator)
    sf.Account.updated(start, end)
    assert calls(salesforce_emulator) == before + 1
    assert salesforce_emulator.stats()["calls_by_kind"]["sobject_updated"] >= 1


def test_replication_window_errors(sf):
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Contact.updated(now, now - dt.timedelta(hours=1))
    assert caught.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Contact.deleted(now - dt.timedelta(days=31), now)
    assert caught.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("sobjects/Contact/updated/", params={"start": "2024-01-01T00:00:00Z"})
    assert caught.value.content[0]["errorCode"] == "MISSING_ARGUMENT"


# -- SOSL -------------------------------------------------------------------------------------
@pytest.fixture
def people(sf):
    acme = sf.Account.create({"Name": "Acme Corp", "Website": "acme.com"})["id"]
    ids = {
        "jane": sf.Contact.create({"FirstName": "Jane", "LastName": "Smith",
                                   "Email": "jane@acme.com", "AccountId": acme})["id"],
        "bob": sf.Contact.create({"FirstName": "Bob", "LastName": "Acme-Jones",
                                  "Email": "bob@other.org"})["id"],
        "lead": sf.Lead.create({"LastName": "Roe", "Company": "Globex",
                                "Email": "roe@acme.com"})["id"],
        "acme": acme,
    }
    return ids


def found(result) -> list[tuple[str, str]]:
    return [(r["attributes"]["type"], r["Id"]) for r in result["searchRecords"]]


def test_sosl_find_in_all_fields_returning(sf, people):
    result = sf.search("FIND {acme} IN ALL FIELDS RETURNING Lead(Id, Name), "
                       "Contact(Id, Email ORDER BY Email), Account(Id, Name)")
    assert found(result) == [("Lead", people["lead"]), ("Contact", people["bob"]),
                             ("Contact", people["jane"]), ("Account", people["acme"])]
    lead = result["searchRecords"][0]
    assert lead["Name"] == "Roe"
    assert lead["attributes"]["url"].endswith(people["lead"])


def test_sosl_scopes_wildcards_operators_and_filters(sf, people):
    assert found(sf.search("FIND {acme} IN NAME FIELDS RETURNING Contact, Account")) == [
        ("Contact", people["bob"]), ("Account", people["acme"])]
    assert found(sf.search("FIND {acme.com} IN EMAIL FIELDS RETURNING Contact, Lead")) == [
        ("Contact", people["jane"]), ("Lead", people["lead"])]
    assert found(sf.search("find {jan*} returning contact")) == [("Contact", people["jane"])]
    assert found(sf.search("FIND {acme AND NOT jane} RETURNING Contact")) == [
        ("Contact", people["bob"])]
    assert found(sf.search('FIND {"jane smith" OR roe} RETURNING Contact(Id), Lead(Id)')) == [
        ("Contact", people["jane"]), ("Lead", people["lead"])]
    filtered = sf.search("FIND {acme} RETURNING Contact(Email WHERE LastName = 'Smith')")
    assert [r["Email"] for r in filtered["searchRecords"]] == ["jane@acme.com"]
    limited = sf.search("FIND {acme} RETURNING Contact(Id LIMIT 1), Lead(Id) LIMIT 2")
    assert len(limited["searchRecords"]) == 2
    assert sf.quick_search("nobody") == {"searchRecords": []}
    everywhere = {t for t, _ in found(sf.search("FIND {acme}"))}
    assert everywhere == {"Account", "Contact", "Lead"}


@pytest.mark.parametrize("text", ["acme", "FIND acme", "FIND {a}", "FIND {acme} IN FOO FIELDS",
                                  "FIND {acme} RETURNING Contact(Id", "FIND {acme} garbage"])
def test_malformed_sosl(sf, text):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.search(text)
    assert caught.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


def test_sosl_bad_returning_field_is_invalid_field(sf, people):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.search("FIND {acme} RETURNING Contact(Nope)")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
