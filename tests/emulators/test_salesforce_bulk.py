"""Bulk API 2.0 ingest through the real client (``sf.bulk2``) and raw HTTP for the exact shapes."""

from __future__ import annotations

import csv
import io
import time

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceResourceNotFound,
)

from tests.sf_clients import raw, soap_client

WAIT = 0.01  # the client sleeps this long before polling (its default is 5 s)
BASE = "/services/data/v59.0/jobs/ingest"


@pytest.fixture
def sf(salesforce_emulator):
    return soap_client(salesforce_emulator)


def calls(emulator) -> int:
    return emulator.stats()["api_calls"]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def http(emulator, sf, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {sf.session_id}", **kwargs.pop("headers", {})}
    return raw(emulator, method, path, headers=headers, **kwargs)


def open_job(emulator, sf, **definition) -> str:
    body = {"object": "Lead", "operation": "insert", "contentType": "CSV",
            "columnDelimiter": "COMMA", "lineEnding": "LF", **definition}
    response = http(emulator, sf, "POST", BASE, json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def put_csv(emulator, sf, job_id: str, text: str):
    return http(emulator, sf, "PUT", f"{BASE}/{job_id}/batches", data=text.encode("utf-8"),
                headers={"Content-Type": "text/csv; charset=UTF-8"})


def patch_state(emulator, sf, job_id: str, state: str):
    return http(emulator, sf, "PATCH", f"{BASE}/{job_id}", json={"state": state})


def run_job(emulator, sf, text: str, **definition) -> str:
    job_id = open_job(emulator, sf, **definition)
    assert put_csv(emulator, sf, job_id, text).status_code == 201
    assert patch_state(emulator, sf, job_id, "UploadComplete").status_code == 200
    return job_id


def leads(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"LastName": f"Lead{i}", "Company": "Acme", "Email": f"lead{i}@acme.com"}
            for i in range(start, start + n)]


# ---------------------------------------------------------------------- the client's flow
def test_insert_with_results_and_exact_call_count(sf, salesforce_emulator):
    before = calls(salesforce_emulator)
    result = sf.bulk2.Lead.insert(records=[*leads(2), {"LastName": "NoCompany",
                                                       "Email": "x@acme.com"}], wait=WAIT)
    job_id = result[0]["job_id"]
    assert result == [{"numberRecordsFailed": 1, "numberRecordsProcessed": 3,
                       "numberRecordsTotal": 3, "job_id": job_id}]
    # create, PUT, PATCH UploadComplete, poll (InProgress), poll (JobComplete), final GET
    assert calls(salesforce_emulator) - before == 6
    kinds = salesforce_emulator.stats()["calls_by_kind"]
    assert kinds == {"bulk_create": 1, "bulk_upload": 1, "bulk_state": 1, "bulk_job": 3}
    assert job_id.startswith("750") and len(job_id) == 18

    successful = rows(sf.bulk2.Lead.get_successful_records(job_id))
    assert sorted(r["Email"] for r in successful) == ["lead0@acme.com", "lead1@acme.com"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("00Q") for r in successful)
    assert sf.Lead.get(successful[0]["sf__Id"])["LastName"] == successful[0]["LastName"]

    failed = rows(sf.bulk2.Lead.get_failed_records(job_id))
    assert failed == [{"sf__Id": "", "LastName": "NoCompany", "Email": "x@acme.com",
                       "Company": "",
                       "sf__Error": "REQUIRED_FIELD_MISSING:Required fields are missing: "
                                    "[Company]:Company --"}]
    assert rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == []
    everything = sf.bulk2.Lead.get_all_ingest_records(job_id)
    assert [len(everything[k]) for k in ("successfulRecords", "failedRecords",
                                         "unprocessedRecords")] == [2, 1, 0]

    stats = salesforce_emulator.stats()
    assert stats["bulk_jobs"] == 1 and stats["bulk_records"] == 3
    assert stats["bulk"]["records_failed"] == 1
    assert stats["records"]["created"] == 2
    assert salesforce_emulator.backend.count("Lead") == 2


def test_result_csv_shapes(sf, salesforce_emulator):
    job_id = run_job(salesforce_emulator, sf,
                     "LastName,Company,Email\nDoe,Acme,doe@acme.com\nRoe,,roe@acme.com\n")
    ok = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}/successfulResults",
              headers={"ACCEPT": "text/csv; charset=UTF-8"})
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("text/csv")
    assert ok.headers["Sforce-Limit-Info"].startswith("api-usage=")
    lead_id = salesforce_emulator.backend.all_records("Lead")[0]["Id"]
    assert ok.text == (f'"sf__Id","sf__Created",LastName,Company,Email\n'
                       f'"{lead_id}","true",Doe,Acme,doe@acme.com\n')
    failed = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}/failedResults/")
    assert failed.text == ('"sf__Id","sf__Error",LastName,Company,Email\n'
                           '"","REQUIRED_FIELD_MISSING:Required fields are missing: '
                           '[Company]:Company --",Roe,,roe@acme.com\n')
    for path in ("unprocessedRecords", "unprocessedrecords", "UNPROCESSEDRECORDS"):
        unprocessed = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}/{path}")
        assert unprocessed.status_code == 200
        assert unprocessed.text == "LastName,Company,Email\n"


def test_job_info_and_the_in_progress_poll(sf, salesforce_emulator):
    created = http(salesforce_emulator, sf, "POST", BASE, json={
        "object": "Lead", "operation": "upsert", "externalIdFieldName": "email",
        "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"})
    assert created.status_code == 200
    info = created.json()
    job_id = info["id"]
    assert list(info) == ["id", "operation", "object", "createdById", "createdDate",
                          "systemModstamp", "state", "externalIdFieldName", "concurrencyMode",
                          "contentType", "apiVersion", "contentUrl", "lineEnding",
                          "columnDelimiter"]
    assert info["state"] == "Open" and info["operation"] == "upsert"
    assert info["externalIdFieldName"] == "Email"  # canonical name
    assert info["apiVersion"] == 59.0 and info["concurrencyMode"] == "Parallel"
    assert info["createdById"].startswith("005") and info["createdDate"].endswith("+0000")
    assert info["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job_id}/batches"

    assert put_csv(salesforce_emulator, sf, job_id,
                   "Email,LastName,Company\na@acme.com,A,Acme\n").status_code == 201
    closed = patch_state(salesforce_emulator, sf, job_id, "UploadComplete")
    assert closed.json()["state"] == "UploadComplete"
    first = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}").json()
    assert first["state"] == "InProgress" and first["numberRecordsProcessed"] == 0
    done = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id[:15]}/").json()
    assert done["state"] == "JobComplete"
    assert {k: done[k] for k in ("jobType", "numberRecordsProcessed", "numberRecordsFailed",
                                 "retries", "apexProcessingTime")} == {
        "jobType": "V2Ingest", "numberRecordsProcessed": 1, "numberRecordsFailed": 0,
        "retries": 0, "apexProcessingTime": 0}
    assert done["totalProcessingTime"] >= done["apiActiveProcessingTime"] > 0
    assert "errorMessage" not in done

    listed = http(salesforce_emulator, sf, "GET", BASE).json()
    assert listed["done"] is True and listed["nextRecordsUrl"] is None
    assert [(j["id"], j["state"], j["jobType"]) for j in listed["records"]] == [
        (job_id, "JobComplete", "V2Ingest")]


def test_in_progress_polls_are_configurable(sf, salesforce_emulator):
    salesforce_emulator.configure(bulk_in_progress_polls=0)
    before = calls(salesforce_emulator)
    sf.bulk2.Lead.insert(records=leads(3), wait=WAIT)
    assert calls(salesforce_emulator) - before == 5
    salesforce_emulator.configure(bulk_in_progress_polls=3)
    before = calls(salesforce_emulator)
    sf.bulk2.Lead.insert(records=leads(3, 3), wait=WAIT)
    assert calls(salesforce_emulator) - before == 8


def test_upsert_by_email(sf, salesforce_emulator):
    existing = sf.Lead.create({"LastName": "Old", "Company": "Acme", "Email": "Jane@Acme.com"})
    result = sf.bulk2.Lead.upsert(records=[
        {"Email": "jane@acme.com", "LastName": "Jane", "Company": "Acme"},
        {"Email": "new@acme.com", "LastName": "New", "Company": "Beta"},
    ], external_id_field="Email", wait=WAIT)
    assert result[0]["numberRecordsFailed"] == 0
    by_email = {r["Email"]: r for r in rows(sf.bulk2.Lead.get_successful_records(
        result[0]["job_id"]))}
    assert by_email["jane@acme.com"]["sf__Id"] == existing["id"]
    assert by_email["jane@acme.com"]["sf__Created"] == "false"
    assert by_email["new@acme.com"]["sf__Created"] == "true"
    assert sf.Lead.get(existing["id"])["LastName"] == "Jane"
    counters = salesforce_emulator.stats()["records"]
    assert (counters["created"], counters["updated"]) == (2, 1)


def test_upsert_by_aimdoc_id_with_repeated_keys(sf, salesforce_emulator):
    existing = sf.Contact.create({"LastName": "Doe", "Aimdoc_Id__c": "c-1"})
    result = sf.bulk2.Contact.upsert(records=[
        {"Aimdoc_Id__c": "c-1", "LastName": "Doe2", "Aimdoc_Score__c": "87.5"},
        {"Aimdoc_Id__c": "c-2", "LastName": "Twice"},
        {"Aimdoc_Id__c": "C-2", "LastName": "Twice again"},
        {"Aimdoc_Id__c": "c-3", "LastName": "Roe", "Email": "not an email"},
    ], external_id_field="Aimdoc_Id__c", wait=WAIT)
    job_id = result[0]["job_id"]
    assert result[0]["numberRecordsProcessed"] == 4 and result[0]["numberRecordsFailed"] == 3
    ok = rows(sf.bulk2.Contact.get_successful_records(job_id))
    assert [(r["sf__Id"], r["sf__Created"]) for r in ok] == [(existing["id"], "false")]
    assert sf.Contact.get(existing["id"])["Aimdoc_Score__c"] == 87.5
    failed = {r["LastName"]: r["sf__Error"] for r in rows(sf.bulk2.Contact.get_failed_records(
        job_id))}
    assert failed["Twice"] == ("DUPLICATE_VALUE:Duplicate external id specified: c-2:"
                               "Aimdoc_Id__c --")
    assert failed["Twice again"].startswith("DUPLICATE_VALUE:")
    assert failed["Roe"] == ("INVALID_EMAIL_ADDRESS:Email: invalid email address: not an "
                             "email:Email --")


def test_upsert_needs_an_external_id_field(sf, salesforce_emulator):
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.bulk2.Lead.upsert(records=leads(1), external_id_field="LastName", wait=WAIT)
    assert caught.value.content[0]["errorCode"] == "INVALIDJOB"
    assert "LastName is not an External ID" in caught.value.content[0]["message"]
    assert salesforce_emulator.stats()["bulk_jobs"] == 0


def test_update_with_null_marker_and_blank_cells(sf, salesforce_emulator):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Title": "CEO",
                              "Phone": "555"})["id"]
    gone = sf.Lead.create({"LastName": "Gone", "Company": "Acme"})["id"]
    sf.Lead.delete(gone)
    result = sf.bulk2.Lead.update(records=[
        {"Id": lead_id, "Title": "#N/A", "Phone": "", "Company": "Acme Corp"},
        {"Id": gone, "Title": "x", "Phone": "", "Company": ""},
        {"Id": "001000000000000", "Title": "x", "Phone": "", "Company": ""},
        {"Id": "", "Title": "x", "Phone": "", "Company": ""},
    ], wait=WAIT)
    job_id = result[0]["job_id"]
    record = sf.Lead.get(lead_id)
    assert (record["Title"], record["Phone"], record["Company"]) == (None, "555", "Acme Corp")
    ok = rows(sf.bulk2.Lead.get_successful_records(job_id))
    assert [(r["sf__Id"], r["sf__Created"], r["Title"]) for r in ok] == [
        (lead_id, "false", "#N/A")]
    errors = [(r["sf__Id"], r["sf__Error"]) for r in rows(sf.bulk2.Lead.get_failed_records(
        job_id))]
    assert errors == [
        (gone, "ENTITY_IS_DELETED:entity is deleted:--"),
        ("001000000000000AAA", "MALFORMED_ID:Lead ID: id value of incorrect type: "
                               "001000000000000:Id --"),
        ("", "MISSING_ARGUMENT:Id not specified in an update call:--"),
    ]
    assert salesforce_emulator.stats()["records"]["updated"] == 1


def test_types_are_parsed_from_text(sf, salesforce_emulator):
    result = sf.bulk2.Lead.insert(records=[
        {"LastName": "A", "Company": "C", "NumberOfEmployees": "250",
         "HasOptedOutOfEmail": "TRUE", "Aimdoc_Last_Conversation__c": "2024-05-01T12:34:56Z"},
        {"LastName": "B", "Company": "C", "NumberOfEmployees": "lots",
         "HasOptedOutOfEmail": "", "Aimdoc_Last_Conversation__c": ""},
        {"LastName": "C", "Company": "C", "NumberOfEmployees": "",
         "HasOptedOutOfEmail": "maybe", "Aimdoc_Last_Conversation__c": ""},
        {"LastName": "D", "Company": "C", "NumberOfEmployees": "",
         "HasOptedOutOfEmail": "", "Aimdoc_Last_Conversation__c": "yesterday"},
    ], wait=WAIT)
    job_id = result[0]["job_id"]
    ok = rows(sf.bulk2.Lead.get_successful_records(job_id))
    record = sf.Lead.get(ok[0]["sf__Id"])
    assert record["NumberOfEmployees"] == 250 and record["HasOptedOutOfEmail"] is True
    assert record["Aimdoc_Last_Conversation__c"] == "2024-05-01T12:34:56.000+0000"
    errors = sorted(r["sf__Error"] for r in rows(sf.bulk2.Lead.get_failed_records(job_id)))
    assert errors == [
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Aimdoc Last Conversation: value not of required type: "
        "yesterday:Aimdoc_Last_Conversation__c --",
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Email Opt Out: value not of required type: maybe:"
        "HasOptedOutOfEmail --",
        "INVALID_TYPE_ON_FIELD_IN_RECORD:No. of Employees: value not of required type: lots:"
        "NumberOfEmployees --",
    ]


def test_delete_and_hard_delete(sf, salesforce_emulator):
    ids = [sf.Lead.create(lead)["id"] for lead in leads(4)]
    result = sf.bulk2.Lead.delete(records=[{"Id": ids[0]}, {"Id": ids[1]}], wait=WAIT)
    assert result[0]["numberRecordsFailed"] == 0
    ok = rows(sf.bulk2.Lead.get_successful_records(result[0]["job_id"]))
    assert sorted(r["sf__Id"] for r in ok) == sorted(ids[:2])
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 2
    assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 4

    again = sf.bulk2.Lead.delete(records=[{"Id": ids[0]}], wait=WAIT)
    assert rows(sf.bulk2.Lead.get_failed_records(again[0]["job_id"]))[0]["sf__Error"] == (
        "ENTITY_IS_DELETED:entity is deleted:--")

    sf.bulk2.Lead.hard_delete(records=[{"Id": ids[2]}], wait=WAIT)
    assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 3
    assert salesforce_emulator.stats()["records"]["deleted"] == 3


def test_delete_data_must_be_only_ids(sf, salesforce_emulator):
    job_id = run_job(salesforce_emulator, sf, "Id,LastName\n00Q5e0000000001EAA,X\n",
                     operation="delete")
    http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}")
    info = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}").json()
    assert info["state"] == "Failed"
    assert "only the 'Id' field" in info["errorMessage"]


def test_unknown_column_fails_the_job_and_leaves_rows_unprocessed(sf, salesforce_emulator):
    with pytest.raises(SalesforceOperationError) as caught:
        sf.bulk2.Lead.insert(records=[{"LastName": "A", "Company": "C", "Nope__c": "x"}],
                             wait=WAIT)
    assert "InvalidBatch : Field name not found : Nope__c" in str(caught.value)
    job_id = http(salesforce_emulator, sf, "GET", BASE).json()["records"][0]["id"]
    info = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}").json()
    assert info["state"] == "Failed" and info["numberRecordsProcessed"] == 0
    assert rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == [
        {"LastName": "A", "Company": "C", "Nope__c": "x"}]
    assert salesforce_emulator.backend.count("Lead") == 0


def test_abort_an_open_job_leaves_everything_unprocessed(sf, salesforce_emulator):
    job_id = open_job(salesforce_emulator, sf)
    assert put_csv(salesforce_emulator, sf, job_id,
                   "LastName,Company\nA,Acme\nB,Acme\n").status_code == 201
    aborted = patch_state(salesforce_emulator, sf, job_id, "Aborted")
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    info = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}").json()
    assert info["state"] == "Aborted" and info["numberRecordsProcessed"] == 0
    assert rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == [
        {"LastName": "A", "Company": "Acme"}, {"LastName": "B", "Company": "Acme"}]
    assert rows(sf.bulk2.Lead.get_successful_records(job_id)) == []
    assert salesforce_emulator.backend.count("Lead") == 0
    again = patch_state(salesforce_emulator, sf, job_id, "Aborted")
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    # the client's poll sees Aborted as a failure
    with pytest.raises(SalesforceOperationError):
        sf.bulk2.Lead._client.wait_for_job(job_id, False, WAIT)


def test_abort_after_processing_keeps_the_results(sf, salesforce_emulator):
    job_id = run_job(salesforce_emulator, sf, "LastName,Company\nA,Acme\nB,\n")
    aborted = patch_state(salesforce_emulator, sf, job_id, "Aborted")
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    info = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}").json()
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "Aborted", 2, 1)
    assert len(rows(sf.bulk2.Lead.get_successful_records(job_id))) == 1
    assert rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == []


def test_client_aborts_the_job_when_the_upload_fails(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "SERVER_UNAVAILABLE", "match": "bulk",
                                   "after": 1, "times": 1})
    with pytest.raises(SalesforceGeneralError):
        sf.bulk2.Lead.insert(records=leads(2), wait=WAIT)
    listed = http(salesforce_emulator, sf, "GET", BASE).json()["records"]
    assert [job["state"] for job in listed] == ["Aborted"]
    assert salesforce_emulator.stats()["calls_by_kind"]["bulk_state"] == 1


def test_job_state_errors_and_delete(sf, salesforce_emulator):
    job_id = open_job(salesforce_emulator, sf)
    assert put_csv(salesforce_emulator, sf, job_id, "LastName,Company\nA,Acme\n").status_code \
        == 201
    second = put_csv(salesforce_emulator, sf, job_id, "LastName,Company\nB,Acme\n")
    assert second.status_code == 400
    assert "Found multiple contents for job" in second.json()[0]["message"]
    not_open = http(salesforce_emulator, sf, "DELETE", f"{BASE}/{job_id}")
    assert not_open.status_code == 400
    assert patch_state(salesforce_emulator, sf, job_id, "UploadComplete").status_code == 200
    late = put_csv(salesforce_emulator, sf, job_id, "LastName,Company\nC,Acme\n")
    assert late.status_code == 400 and late.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    bogus = patch_state(salesforce_emulator, sf, job_id, "Open")
    assert bogus.status_code == 400 and bogus.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    in_progress = http(salesforce_emulator, sf, "DELETE", f"{BASE}/{job_id}")
    assert in_progress.status_code == 400  # processed, but the first poll still sees InProgress
    assert http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}").json()["state"] == (
        "InProgress")
    assert http(salesforce_emulator, sf, "DELETE", f"{BASE}/{job_id}").status_code == 204
    missing = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.bulk2.Lead.get_successful_records("7505e0000000999AAA")
    assert salesforce_emulator.backend.count("Lead") == 1


def test_crlf_pipe_delimiter_and_a_relationship_column(sf, salesforce_emulator):
    sf.Account.create({"Name": "Acme", "Domain__c": "acme.com"})
    job_id = run_job(
        salesforce_emulator, sf,
        'LastName|Account.Domain__c|Title\r\nDoe|acme.com|"Chief | Officer"\r\n'
        "Roe|nowhere.com|\r\n",
        object="Contact", columnDelimiter="PIPE", lineEnding="CRLF")
    contacts = salesforce_emulator.backend.all_records("Contact")
    account_id = salesforce_emulator.backend.all_records("Account")[0]["Id"]
    assert [(c["LastName"], c["AccountId"], c["Title"]) for c in contacts] == [
        ("Doe", account_id, "Chief | Officer")]
    failed = http(salesforce_emulator, sf, "GET", f"{BASE}/{job_id}/failedResults").text
    assert failed == ('"sf__Id"|"sf__Error"|LastName|Account.Domain__c|Title\r\n'
                      '""|"INVALID_FIELD:Foreign key external ID: nowhere.com not found for '
                      'field Domain__c in entity Account:--"|Roe|nowhere.com|\r\n')


def test_per_record_faults_and_duplicate_rules(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "UNABLE_TO_LOCK_ROW", "scope": "record",
                                   "match": "insert", "after": 1, "times": 1})
    result = sf.bulk2.Lead.insert(records=leads(3), wait=WAIT)
    failed = rows(sf.bulk2.Lead.get_failed_records(result[0]["job_id"]))
    assert [r["sf__Error"].split(":")[0] for r in failed] == ["UNABLE_TO_LOCK_ROW"]
    assert salesforce_emulator.backend.count("Lead") == 2

    # the default org's standard Lead rule: same last name and email, first names blank
    duplicate = [{"LastName": "Lead0", "Company": "Acme", "Email": "LEAD0@acme.com"}]
    result = sf.bulk2.Lead.insert(records=duplicate, wait=WAIT)
    failed = rows(sf.bulk2.Lead.get_failed_records(result[0]["job_id"]))
    assert failed[0]["sf__Error"] == "DUPLICATES_DETECTED:Use one of these records?:--"
    salesforce_emulator.configure(bulk_allow_duplicates=True)
    result = sf.bulk2.Lead.insert(records=duplicate, wait=WAIT)
    assert result[0]["numberRecordsFailed"] == 0
    salesforce_emulator.set_duplicate_rules({"Lead": {"action": "block"}})
    result = sf.bulk2.Lead.insert(records=duplicate, wait=WAIT)
    assert result[0]["numberRecordsFailed"] == 1  # Block refuses whatever the setting says


def test_ten_thousand_records_in_one_job(sf, salesforce_emulator):
    before = calls(salesforce_emulator)
    started = time.perf_counter()
    result = sf.bulk2.Lead.insert(records=leads(10_000), wait=WAIT)
    elapsed = time.perf_counter() - started
    assert result[0]["numberRecordsProcessed"] == 10_000
    assert result[0]["numberRecordsFailed"] == 0
    assert elapsed < 20  # about 2 s here
    assert calls(salesforce_emulator) - before == 6
    ok = rows(sf.bulk2.Lead.get_successful_records(result[0]["job_id"]))
    assert len(ok) == 10_000 and len({r["sf__Id"] for r in ok}) == 10_000
    stats = salesforce_emulator.stats()
    assert stats["api_calls"] - before == 7
    assert (stats["bulk_jobs"], stats["bulk_records"]) == (1, 10_000)
    assert stats["records"]["created"] == 10_000
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 10_000


def test_bulk_calls_need_a_session_and_count_against_the_limit(sf, salesforce_emulator):
    denied = raw(salesforce_emulator, "GET", BASE, headers={"Authorization": "Bearer nope"})
    assert denied.status_code == 401
    assert denied.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    before = calls(salesforce_emulator)
    http(salesforce_emulator, sf, "GET", BASE)
    assert calls(salesforce_emulator) - before == 1
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Remaining"] == 15000 - calls(salesforce_emulator)
