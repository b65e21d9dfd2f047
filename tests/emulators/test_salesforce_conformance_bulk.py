"""Issue 22: Bulk API 2.0 query jobs and Bulk API 1.0 jobs, as clients drive them.

simple-salesforce's ``sf.bulk2.<Type>.query`` and ``sf.bulk.<Type>.<op>`` (JSON), and raw HTTP
for the CSV and XML flavours of Bulk API 1.0 that Salesforce taps use.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from tests.sf_clients import soap_client, trusted_session

NS = {"a": "http://www.force.com/2009/06/asyncapi/dataload"}


@pytest.fixture
def sf(salesforce_emulator):
    salesforce_emulator.app.reset_extras()
    return soap_client(salesforce_emulator)


def http(emulator, sf, method: str, path: str, **kwargs):
    headers = {"Authorization": f"Bearer {sf.session_id}", **kwargs.pop("headers", {})}
    return trusted_session(emulator).request(method, f"{emulator.url}{path}", headers=headers,
                                             timeout=120, **kwargs)


def async_call(emulator, sf, method: str, path: str, **kwargs):
    headers = {"X-SFDC-Session": sf.session_id, **kwargs.pop("headers", {})}
    return trusted_session(emulator).request(
        method, f"{emulator.url}/services/async/59.0/{path}", headers=headers, timeout=300,
        **kwargs)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def seed_accounts(emulator, n: int) -> list[str]:
    records = [{"Name": f"Account {i:05d}", "NumberOfEmployees": i} for i in range(n)]
    return emulator.seed({"records": {"Account": records}})["Account"]


# -- Bulk API 2.0 query -----------------------------------------------------------------------
def test_bulk2_query_through_the_client(sf, salesforce_emulator):
    acme = sf.Account.create({"Name": 'Acme "Quoted", Inc'})["id"]
    sf.Contact.create({"LastName": "Doe", "Email": "jd@acme.com", "AccountId": acme})
    sf.Contact.create({"LastName": "Roe"})
    pages = list(sf.bulk2.Contact.query(
        "SELECT Id, LastName, Email, Account.Name, HasOptedOutOfEmail, CreatedDate "
        "FROM Contact ORDER BY LastName", wait=0.01))
    assert len(pages) == 1
    lines = pages[0].splitlines()
    assert lines[0] == '"Id","LastName","Email","Account.Name","HasOptedOutOfEmail","CreatedDate"'
    doe, roe = rows(pages[0])
    assert doe["Account.Name"] == 'Acme "Quoted", Inc'
    assert doe["HasOptedOutOfEmail"] == "false"
    assert doe["CreatedDate"].endswith("Z")
    assert (roe["Email"], roe["Account.Name"]) == ("", "")


def test_bulk2_query_of_12000_rows_pages_by_locator(sf, salesforce_emulator):
    seed_accounts(salesforce_emulator, 12_000)
    pages = list(sf.bulk2.Account.query("SELECT Id, Name FROM Account ORDER BY Name",
                                        max_records=5000, wait=0.01))
    assert [len(rows(page)) for page in pages] == [5000, 5000, 2000]
    names = [row["Name"] for page in pages for row in rows(page)]
    assert names == [f"Account {i:05d}" for i in range(12_000)]
    jobs = http(salesforce_emulator, sf, "GET", "/services/data/v59.0/jobs/query").json()
    job_id = jobs["records"][-1]["id"]
    info = http(salesforce_emulator, sf, "GET", f"/services/data/v59.0/jobs/query/{job_id}")
    assert info.json()["numberRecordsProcessed"] == 12_000
    assert info.json()["jobType"] == "V2Query"
    url = f"/services/data/v59.0/jobs/query/{job_id}/results"
    first = http(salesforce_emulator, sf, "GET", url, params={"maxRecords": 5000},
                 headers={"Accept": "text/csv"})
    assert first.headers["Sforce-NumberOfRecords"] == "5000"
    locator = first.headers["Sforce-Locator"]
    second = http(salesforce_emulator, sf, "GET", url,
                  params={"maxRecords": 5000, "locator": locator})
    again = http(salesforce_emulator, sf, "GET", url,
                 params={"maxRecords": 5000, "locator": locator})
    assert second.text == again.text  # a locator can be read again while the job exists
    assert rows(second.text)[0]["Name"] == "Account 05000"
    last = http(salesforce_emulator, sf, "GET", url,
                params={"maxRecords": 5000, "locator": second.headers["Sforce-Locator"]})
    assert last.headers["Sforce-Locator"] == "null"
    assert last.headers["Sforce-NumberOfRecords"] == "2000"
    bad = http(salesforce_emulator, sf, "GET", url, params={"locator": "!!"})
    assert bad.status_code == 400


def test_bulk2_query_job_lifecycle(sf, salesforce_emulator):
    sf.Lead.create({"LastName": "Gone", "Company": "X"})
    gone = sf.query("SELECT Id FROM Lead")["records"][0]["Id"]
    sf.Lead.delete(gone)
    base = "/services/data/v59.0/jobs/query"
    created = http(salesforce_emulator, sf, "POST", base, json={
        "operation": "queryAll", "query": "SELECT Id, IsDeleted FROM Lead",
        "columnDelimiter": "PIPE", "lineEnding": "CRLF"})
    assert created.status_code == 200
    job = created.json()
    assert (job["state"], job["operation"], job["object"]) == ("UploadComplete", "queryAll",
                                                              "Lead")
    assert job["id"].startswith("750")
    results = http(salesforce_emulator, sf, "GET", f"{base}/{job['id']}/results")
    assert results.text == f'"Id"|"IsDeleted"\r\n"{gone}"|"true"\r\n'
    aborted = http(salesforce_emulator, sf, "PATCH", f"{base}/{job['id']}",
                   json={"state": "Aborted"})
    assert aborted.status_code == 400
    assert aborted.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert http(salesforce_emulator, sf, "DELETE", f"{base}/{job['id']}").status_code == 204
    assert http(salesforce_emulator, sf, "GET", f"{base}/{job['id']}").status_code == 404


def test_bulk2_query_abort_while_in_progress(sf, salesforce_emulator):
    salesforce_emulator.app.bulk_query.in_progress_polls = 2
    try:
        base = "/services/data/v59.0/jobs/query"
        job = http(salesforce_emulator, sf, "POST", base, json={
            "operation": "query", "query": "SELECT Id FROM Account"}).json()
        polled = http(salesforce_emulator, sf, "GET", f"{base}/{job['id']}").json()
        assert polled["state"] == "InProgress"
        aborted = http(salesforce_emulator, sf, "PATCH", f"{base}/{job['id']}",
                       json={"state": "Aborted"}).json()
        assert aborted["state"] == "Aborted"
        refused = http(salesforce_emulator, sf, "GET", f"{base}/{job['id']}/results")
        assert refused.status_code == 400
        assert refused.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    finally:
        salesforce_emulator.app.bulk_query.in_progress_polls = 0


@pytest.mark.parametrize(("query", "code"), [
    ("SELECT Nope FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Nope", "INVALID_TYPE"),
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELECT COUNT() FROM Account", "FEATURENOTENABLED"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "FEATURENOTENABLED"),
])
def test_bulk2_query_is_checked_when_the_job_is_created(sf, salesforce_emulator, query, code):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        list(sf.bulk2.Account.query(query, wait=0.01))
    assert caught.value.content[0]["errorCode"] == code


def test_bulk2_query_calls_are_counted_by_kind(sf, salesforce_emulator):
    before = salesforce_emulator.stats()
    list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0.01))
    after = salesforce_emulator.stats()
    assert after["api_calls"] - before["api_calls"] == 3  # create, poll, results
    kinds = after["calls_by_kind"]
    assert kinds["bulk_query_create"] == 1
    assert kinds["bulk_query_job"] == 1
    assert kinds["bulk_query_results"] == 1


# -- Bulk API 1.0 through simple-salesforce (JSON) --------------------------------------------
def test_bulk1_insert_upsert_update_delete_with_the_client(sf, salesforce_emulator):
    inserted = sf.bulk.Contact.insert([
        {"LastName": "Ann", "Email": "ann@x.com"},
        {"Email": "no-name@x.com"},
        {"LastName": "Bob", "Email": "bob@x.com", "Birthdate": "1990-05-01"},
    ])
    assert [r["success"] for r in inserted] == [True, False, True]
    assert inserted[0]["created"] is True
    assert inserted[1]["id"] is None
    assert inserted[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ann, bob = inserted[0]["id"], inserted[2]["id"]
    upserted = sf.bulk.Contact.upsert([
        {"Email": "ann@x.com", "LastName": "Ann 2"},
        {"Email": "cat@x.com", "LastName": "Cat"},
    ], "Email")
    assert [(r["id"] == ann, r["created"]) for r in upserted] == [(True, False), (False, True)]
    updated = sf.bulk.Contact.update([{"Id": bob, "Title": "CTO"}, {"Title": "no id"}])
    assert [r["success"] for r in updated] == [True, False]
    assert updated[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert sf.Contact.get(bob)["Title"] == "CTO"
    assert sf.Contact.get(ann)["LastName"] == "Ann 2"
    deleted = sf.bulk.Contact.delete([{"Id": bob}])
    assert deleted == [{"success": True, "created": False, "id": bob, "errors": []}]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 2


def test_bulk1_query_with_the_client(sf, salesforce_emulator):
    acme = sf.Account.create({"Name": "Acme"})["id"]
    sf.Contact.create({"LastName": "Doe", "AccountId": acme, "Birthdate": "1990-05-01"})
    records = list(sf.bulk.Contact.query(
        "SELECT Id, LastName, Birthdate, CreatedDate, Account.Name FROM Contact"))
    flat = [record for batch in records for record in
            (batch if isinstance(batch, list) else [batch])]
    (doe,) = flat
    assert doe["attributes"]["type"] == "Contact"
    assert doe["Account"]["Name"] == "Acme"
    assert doe["Birthdate"] == 641520000000  # epoch milliseconds, as Bulk 1.0 JSON has them
    assert isinstance(doe["CreatedDate"], int)
    with pytest.raises(SalesforceGeneralError):
        list(sf.bulk.Contact.query("SELECT Nope FROM Contact"))


def test_bulk1_needs_a_session(salesforce_emulator):
    response = trusted_session(salesforce_emulator).post(
        f"{salesforce_emulator.url}/services/async/59.0/job", data=b"<jobInfo/>",
        headers={"X-SFDC-Session": "expired", "Content-Type": "application/xml"}, timeout=30)
    assert response.status_code == 400
    error = ET.fromstring(response.content)
    assert error.findtext("a:exceptionCode", namespaces=NS) == "InvalidSessionId"
    as_json = trusted_session(salesforce_emulator).post(
        f"{salesforce_emulator.url}/services/async/59.0/job", json={},
        headers={"X-SFDC-Session": "expired"}, timeout=30)
    assert as_json.json() == {"exceptionCode": "InvalidSessionId",
                              "exceptionMessage": "Invalid session id"}


# -- Bulk API 1.0 CSV and XML by raw HTTP -----------------------------------------------------
def job_xml(operation: str, sobject: str, content_type: str, extra: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS["a"]}">'
            f"<operation>{operation}</operation><object>{sobject}</object>{extra}"
            f"<contentType>{content_type}</contentType></jobInfo>")


def create_job(emulator, sf, operation: str, sobject: str, content_type: str,
               extra: str = "") -> str:
    response = async_call(emulator, sf, "POST", "job",
                          data=job_xml(operation, sobject, content_type, extra),
                          headers={"Content-Type": "application/xml; charset=UTF-8"})
    assert response.status_code == 201, response.text
    info = ET.fromstring(response.content)
    assert info.findtext("a:state", namespaces=NS) == "Open"
    return info.findtext("a:id", namespaces=NS)


def close_job(emulator, sf, job_id: str) -> ET.Element:
    body = f'<jobInfo xmlns="{NS["a"]}"><state>Closed</state></jobInfo>'
    response = async_call(emulator, sf, "POST", f"job/{job_id}", data=body,
                          headers={"Content-Type": "application/xml"})
    assert response.status_code == 200
    return ET.fromstring(response.content)


def test_bulk1_csv_job_of_10000_rows_completes_with_per_row_results(sf, salesforce_emulator):
    job_id = create_job(salesforce_emulator, sf, "insert", "Lead", "CSV")
    lines = ["LastName,Company,Email,NumberOfEmployees"]
    for i in range(10_000):
        company = "" if i % 1000 == 999 else f"Co {i}"  # every 1,000th row lacks Company
        lines.append(f"Lead {i},{company},lead{i}@example.com,{i}")
    batch = async_call(salesforce_emulator, sf, "POST", f"job/{job_id}/batch",
                       data="\n".join(lines).encode(), headers={"Content-Type": "text/csv"})
    assert batch.status_code == 201
    info = ET.fromstring(batch.content)
    batch_id = info.findtext("a:id", namespaces=NS)
    assert info.findtext("a:state", namespaces=NS) == "Queued"
    closed = close_job(salesforce_emulator, sf, job_id)
    assert closed.findtext("a:state", namespaces=NS) == "Closed"
    polled = ET.fromstring(async_call(salesforce_emulator, sf, "GET",
                                      f"job/{job_id}/batch/{batch_id}").content)
    assert polled.findtext("a:state", namespaces=NS) == "Completed"
    assert polled.findtext("a:numberRecordsProcessed", namespaces=NS) == "10000"
    assert polled.findtext("a:numberRecordsFailed", namespaces=NS) == "10"
    result = async_call(salesforce_emulator, sf, "GET", f"job/{job_id}/batch/{batch_id}/result")
    assert result.text.splitlines()[0] == '"Id","Success","Created","Error"'
    results = rows(result.text)
    assert len(results) == 10_000
    failed = [i for i, row in enumerate(results) if row["Success"] == "false"]
    assert failed == list(range(999, 10_000, 1000))
    assert results[999]["Error"] == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --")
    assert results[0]["Id"].startswith("00Q")
    assert results[0]["Created"] == "true"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 9_990
    job = ET.fromstring(async_call(salesforce_emulator, sf, "GET", f"job/{job_id}").content)
    assert job.findtext("a:numberBatchesCompleted", namespaces=NS) == "1"
    assert job.findtext("a:numberRecordsProcessed", namespaces=NS) == "10000"
    assert job.findtext("a:numberRecordsFailed", namespaces=NS) == "10"
    request = async_call(salesforce_emulator, sf, "GET",
                         f"job/{job_id}/batch/{batch_id}/request")
    assert request.text.splitlines()[1] == "Lead 0,Co 0,lead0@example.com,0"


def test_bulk1_csv_upsert_with_null_marker_and_relationship_column(sf, salesforce_emulator):
    sf.Account.create({"Name": "Acme", "Domain__c": "acme.com"})
    doe = sf.Contact.create({"LastName": "Doe", "Email": "jd@acme.com", "Title": "CEO"})["id"]
    job_id = create_job(salesforce_emulator, sf, "upsert", "Contact", "CSV",
                        "<externalIdFieldName>Email</externalIdFieldName>")
    data = ("Email,LastName,Title,Account.Domain__c\n"
            "jd@acme.com,Doe,#N/A,acme.com\n"
            "new@acme.com,New,,nowhere.com\n")
    batch = async_call(salesforce_emulator, sf, "POST", f"job/{job_id}/batch", data=data,
                       headers={"Content-Type": "text/csv"})
    batch_id = ET.fromstring(batch.content).findtext("a:id", namespaces=NS)
    results = rows(async_call(salesforce_emulator, sf, "GET",
                              f"job/{job_id}/batch/{batch_id}/result").text)
    assert (results[0]["Id"], results[0]["Success"], results[0]["Created"]) == (
        doe, "true", "false")
    assert results[1]["Success"] == "false"
    assert "Foreign key external ID: nowhere.com not found" in results[1]["Error"]
    record = sf.Contact.get(doe)
    assert record["Title"] is None
    assert record["AccountId"].startswith("001")


def test_bulk1_bad_csv_header_fails_the_batch(sf, salesforce_emulator):
    job_id = create_job(salesforce_emulator, sf, "insert", "Lead", "CSV")
    batch = async_call(salesforce_emulator, sf, "POST", f"job/{job_id}/batch",
                       data="LastName,Nope\nx,y\n", headers={"Content-Type": "text/csv"})
    batch_id = ET.fromstring(batch.content).findtext("a:id", namespaces=NS)
    info = ET.fromstring(async_call(salesforce_emulator, sf, "GET",
                                    f"job/{job_id}/batch/{batch_id}").content)
    assert info.findtext("a:state", namespaces=NS) == "Failed"
    assert "Field name not found : Nope" in info.findtext("a:stateMessage", namespaces=NS)
    close_job(salesforce_emulator, sf, job_id)
    refused = async_call(salesforce_emulator, sf, "POST", f"job/{job_id}/batch",
                         data="LastName\nx\n", headers={"Content-Type": "text/csv"})
    assert refused.status_code == 400
    code = ET.fromstring(refused.content).findtext("a:exceptionCode", namespaces=NS)
    assert code == "InvalidJobState"


def test_bulk1_xml_ingest_and_results(sf, salesforce_emulator):
    job_id = create_job(salesforce_emulator, sf, "insert", "Account", "XML")
    data = (f'<sObjects xmlns="{NS["a"]}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<sObject><Name>Acme</Name><NumberOfEmployees>12</NumberOfEmployees>"
            '<Website xsi:nil="true"/></sObject>'
            "<sObject><NumberOfEmployees>many</NumberOfEmployees></sObject></sObjects>")
    batch = async_call(salesforce_emulator, sf, "POST", f"job/{job_id}/batch", data=data,
                       headers={"Content-Type": "application/xml"})
    batch_id = ET.fromstring(batch.content).findtext("a:id", namespaces=NS)
    result = ET.fromstring(async_call(salesforce_emulator, sf, "GET",
                                      f"job/{job_id}/batch/{batch_id}/result").content)
    first, second = result.findall("a:result", NS)
    assert first.findtext("a:success", namespaces=NS) == "true"
    assert first.findtext("a:created", namespaces=NS) == "true"
    account = sf.Account.get(first.findtext("a:id", namespaces=NS))
    assert account["NumberOfEmployees"] == 12
    assert second.findtext("a:success", namespaces=NS) == "false"
    assert second.findtext("a:errors/a:statusCode", namespaces=NS) == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD")
    assert second.findtext("a:errors/a:fields", namespaces=NS) == "NumberOfEmployees"


def test_bulk1_csv_and_xml_query_jobs(sf, salesforce_emulator):
    sf.Account.create({"Name": "Acme, Inc", "NumberOfEmployees": 5})
    for content_type in ("CSV", "XML"):
        job_id = create_job(salesforce_emulator, sf, "query", "Account", content_type)
        batch = async_call(salesforce_emulator, sf, "POST", f"job/{job_id}/batch",
                           data="SELECT Id, Name, Website FROM Account",
                           headers={"Content-Type": "text/csv" if content_type == "CSV"
                                    else "application/xml"})
        batch_id = ET.fromstring(batch.content).findtext("a:id", namespaces=NS)
        listing = ET.fromstring(async_call(salesforce_emulator, sf, "GET",
                                           f"job/{job_id}/batch/{batch_id}/result").content)
        (result_id,) = [r.text for r in listing.findall("a:result", NS)]
        assert result_id.startswith("752")
        data = async_call(salesforce_emulator, sf, "GET",
                          f"job/{job_id}/batch/{batch_id}/result/{result_id}")
        if content_type == "CSV":
            (row,) = rows(data.text)
            assert (row["Name"], row["Website"]) == ("Acme, Inc", "")
        else:
            root = ET.fromstring(data.content)
            record = root.find("a:records", NS)
            assert record.findtext("a:type", namespaces=NS) == "Account"
            assert record.findtext("a:Name", namespaces=NS) == "Acme, Inc"
            nil = record.find("a:Website", NS).get(
                "{http://www.w3.org/2001/XMLSchema-instance}nil")
            assert nil == "true"


def test_bulk1_json_job_info_and_batch_list(sf, salesforce_emulator):
    created = async_call(salesforce_emulator, sf, "POST", "job", json={
        "operation": "insert", "object": "Lead", "contentType": "JSON"})
    assert created.status_code == 201
    job = created.json()
    assert (job["state"], job["contentType"], job["apiVersion"]) == ("Open", "JSON", 59.0)
    async_call(salesforce_emulator, sf, "POST", f"job/{job['id']}/batch",
               data=json.dumps([{"LastName": "A", "Company": "B"}]),
               headers={"Content-Type": "application/json"})
    listing = async_call(salesforce_emulator, sf, "GET", f"job/{job['id']}/batch",
                         headers={"Content-Type": "application/json"}).json()
    (batch,) = listing["batchInfo"]
    assert (batch["state"], batch["numberRecordsProcessed"]) == ("Completed", 1)
    unknown = async_call(salesforce_emulator, sf, "GET", "job/750000000000000AAA",
                         headers={"Content-Type": "application/json"})
    assert unknown.status_code == 400
    assert unknown.json()["exceptionCode"] == "InvalidJob"
    bad_object = async_call(salesforce_emulator, sf, "POST", "job", json={
        "operation": "insert", "object": "Nope", "contentType": "JSON"})
    assert bad_object.json()["exceptionCode"] == "InvalidJob"


def test_bulk1_query_as_singer_tap_salesforce_drives_it(sf, salesforce_emulator):
    """JSON job body with CSV content, ``Content-Type: application/json`` on every call."""
    for i in range(3):
        sf.Account.create({"Name": f"Acme {i}"})
    headers = {"Content-Type": "application/json"}
    job = async_call(salesforce_emulator, sf, "POST", "job", headers=headers, data=json.dumps(
        {"operation": "queryAll", "object": "Account", "contentType": "CSV"})).json()
    batch = async_call(salesforce_emulator, sf, "POST", f"job/{job['id']}/batch",
                       headers={"Content-Type": "text/csv"},
                       data="SELECT Id, Name FROM Account ORDER BY Name")
    batch_id = ET.fromstring(batch.content).findtext("a:id", namespaces=NS)
    async_call(salesforce_emulator, sf, "POST", f"job/{job['id']}", headers=headers,
               data=json.dumps({"state": "Closed"}))
    status = async_call(salesforce_emulator, sf, "GET", f"job/{job['id']}/batch/{batch_id}",
                        headers=headers)
    assert ET.fromstring(status.content).findtext("a:state", namespaces=NS) == "Completed"
    listing = async_call(salesforce_emulator, sf, "GET",
                         f"job/{job['id']}/batch/{batch_id}/result", headers=headers)
    (result_id,) = [r.text for r in ET.fromstring(listing.content)]
    data = async_call(salesforce_emulator, sf, "GET",
                      f"job/{job['id']}/batch/{batch_id}/result/{result_id}", headers=headers)
    assert [row["Name"] for row in rows(data.text)] == ["Acme 0", "Acme 1", "Acme 2"]
    empty_job = async_call(salesforce_emulator, sf, "POST", "job", headers=headers, data=json.dumps(
        {"operation": "query", "object": "Lead", "contentType": "CSV"})).json()
    empty = async_call(salesforce_emulator, sf, "POST", f"job/{empty_job['id']}/batch",
                       headers={"Content-Type": "text/csv"}, data="SELECT Id FROM Lead")
    empty_id = ET.fromstring(empty.content).findtext("a:id", namespaces=NS)
    (empty_result,) = [r.text for r in ET.fromstring(async_call(
        salesforce_emulator, sf, "GET", f"job/{empty_job['id']}/batch/{empty_id}/result").content)]
    nothing = async_call(salesforce_emulator, sf, "GET",
                         f"job/{empty_job['id']}/batch/{empty_id}/result/{empty_result}")
    assert nothing.text == "Records not found for this query"


def test_bulk1_unknown_url_and_faults_use_the_bulk_error_format(sf, salesforce_emulator):
    unknown = async_call(salesforce_emulator, sf, "GET", "nothing/here")
    assert unknown.status_code == 400
    assert ET.fromstring(unknown.content).findtext("a:exceptionCode", namespaces=NS) == (
        "InvalidUrl")
    salesforce_emulator.add_fault({"error": "INVALID_SESSION_ID", "times": 1})
    expired = async_call(salesforce_emulator, sf, "POST", "job",
                         data=job_xml("insert", "Lead", "CSV"),
                         headers={"Content-Type": "application/xml"})
    assert expired.status_code == 400
    assert ET.fromstring(expired.content).findtext("a:exceptionCode", namespaces=NS) == (
        "InvalidSessionId")
    salesforce_emulator.add_fault({"error": "SERVER_UNAVAILABLE", "times": 1})
    busy = async_call(salesforce_emulator, sf, "POST", "job", json={
        "operation": "insert", "object": "Lead", "contentType": "JSON"})
    assert busy.status_code == 503
    assert busy.json()["exceptionCode"] == "SERVER_UNAVAILABLE"
    assert create_job(salesforce_emulator, sf, "insert", "Lead", "CSV").startswith("750")


def test_bulk_batches_and_query_jobs_show_in_limits(sf, salesforce_emulator):
    before = sf.limits()
    list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0.01))
    sf.bulk.Lead.insert([{"LastName": "A", "Company": "B"}])
    after = sf.limits()
    for name in ("DailyBulkV2QueryJobs", "DailyBulkApiBatches"):
        assert after[name]["Remaining"] == before[name]["Remaining"] - 1, name
