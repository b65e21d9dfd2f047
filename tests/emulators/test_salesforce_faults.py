"""Injected faults, latency and limits, each as the real client sees it; the admin surface."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from tests.sf_clients import raw, soap_client


@pytest.fixture
def sf(salesforce_emulator):
    return soap_client(salesforce_emulator)


@pytest.mark.parametrize(("error", "status", "exception"), [
    ("SERVER_UNAVAILABLE", 503, SalesforceGeneralError),
    ("UNKNOWN_EXCEPTION", 500, SalesforceGeneralError),
    ("UNABLE_TO_LOCK_ROW", 400, SalesforceMalformedRequest),
    ("REQUEST_LIMIT_EXCEEDED", 403, SalesforceRefusedRequest),
])
def test_call_faults(sf, salesforce_emulator, error, status, exception):
    salesforce_emulator.add_fault({"error": error, "times": 1, "match": "insert"})
    with pytest.raises(exception) as caught:
        sf.Lead.create({"LastName": "X", "Company": "C"})
    assert caught.value.status == status
    assert caught.value.content[0]["errorCode"] == error
    assert sf.Lead.create({"LastName": "X", "Company": "C"})["success"] is True
    assert salesforce_emulator.backend.count("Lead") == 1


def test_fault_after_n_calls_and_match(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "SERVER_UNAVAILABLE", "after": 2, "times": 1,
                                   "match": "query"})
    sf.Lead.create({"LastName": "X", "Company": "C"})
    sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceGeneralError):
        sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")


def test_dropped_connection(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "DROP_CONNECTION", "times": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.query("SELECT Id FROM Lead")
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_per_record_fault_in_a_collection(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "UNABLE_TO_LOCK_ROW", "scope": "record",
                                   "after": 1, "times": 1, "match": "insert"})
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(3)]
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert salesforce_emulator.backend.count("Account") == 2


def test_probabilistic_faults_are_deterministic_for_a_seed(sf, salesforce_emulator):
    def outcomes():
        salesforce_emulator.set_faults({"seed": 7, "rules": [
            {"error": "SERVER_UNAVAILABLE", "probability": 0.3, "match": "query"}]})
        seen = []
        for _ in range(30):
            try:
                sf.query("SELECT Id FROM Lead")
                seen.append("ok")
            except SalesforceGeneralError:
                seen.append("503")
        return seen

    first, second = outcomes(), outcomes()
    assert first == second
    assert 3 <= first.count("503") <= 18


def test_latency_injection(sf, salesforce_emulator):
    salesforce_emulator.set_faults({"latency_ms": 150, "jitter_ms": 50})
    started = time.monotonic()
    sf.query("SELECT Id FROM Lead")
    elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 1.5


def test_daily_limit_refuses_calls(sf, salesforce_emulator):
    salesforce_emulator.configure(daily_limit=3)
    sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Lead")
    assert caught.value.content == [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert salesforce_emulator.stats()["api_calls"] == 3
    salesforce_emulator.configure(daily_limit=15000)


def test_concurrent_request_limit(sf, salesforce_emulator):
    salesforce_emulator.configure(concurrent_limit=1)
    salesforce_emulator.set_faults({"latency_ms": 400})
    errors: list[str] = []

    def call():
        try:
            soap_client(salesforce_emulator).query("SELECT Id FROM Lead")
        except SalesforceRefusedRequest as exc:
            errors.append(exc.content[0]["message"])

    threads = [threading.Thread(target=call) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        salesforce_emulator.configure(concurrent_limit=25)
    assert errors
    assert set(errors) == {"ConcurrentPerOrgLongTxn Limit exceeded."}


def test_admin_over_http(salesforce_emulator, sf):
    ids = raw(salesforce_emulator, "POST", "/__emulator/seed",
              json={"records": {"Account": [{"Name": "Acme", "Website": "https://acme.com"}]}})
    assert ids.json()["Account"][0].startswith("001")
    sf.query("SELECT Id FROM Account")
    stats = raw(salesforce_emulator, "GET", "/__emulator/stats").json()
    assert stats["api_calls"] == 1 and stats["calls_by_kind"] == {"query": 1}
    records = raw(salesforce_emulator, "GET", "/__emulator/records/Account").json()
    assert records[0]["Name"] == "Acme"
    log = raw(salesforce_emulator, "GET", "/__emulator/requests").json()
    assert log[-1]["query"] == "SELECT Id FROM Account"
    armed = raw(salesforce_emulator, "POST", "/__emulator/faults/add",
                json={"error": "SERVER_UNAVAILABLE", "times": 1}).json()
    assert armed["rules"][0]["error"] == "SERVER_UNAVAILABLE"
    bad = raw(salesforce_emulator, "POST", "/__emulator/faults/add", json={"error": "NOPE"})
    assert bad.status_code == 400
    assert raw(salesforce_emulator, "DELETE", "/__emulator/faults").status_code == 200
    assert raw(salesforce_emulator, "POST", "/__emulator/sessions/expire").json()["expired"] >= 1
    assert raw(salesforce_emulator, "POST", "/__emulator/reset").status_code == 200
    assert salesforce_emulator.backend.count("Account") == 0
    assert raw(salesforce_emulator, "GET", "/__emulator/stats").json()["api_calls"] == 0


def test_command_line_emulator(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "aimdoc_emulators.salesforce.cli", "--port", "0",
         "--work-dir", str(tmp_path), "--fault", "SERVER_UNAVAILABLE:0"],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(2)]
        url = lines[0].rsplit(" ", 1)[1]
        ca_file = lines[1].split(": ", 1)[1]
        session = requests.Session()
        session.trust_env = False
        session.verify = ca_file
        token = session.post(f"{url}/acme.my.salesforce.com/services/oauth2/token",
                             data={"grant_type": "client_credentials"},
                             auth=("demo-client-id", "demo-client-secret"), timeout=10).json()
        limits = session.get(f"{url}/services/data/v59.0/limits/", timeout=10,
                             headers={"Authorization": f"Bearer {token['access_token']}"})
        assert limits.json()["DailyApiRequests"]["Max"] == 15000
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_marker_faults_for_a_call_and_a_record(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "JSON_PARSER_ERROR", "status": 400,
                                   "body_contains": "BAD-CALL", "match": "insert"})
    salesforce_emulator.add_fault({"error": "UNABLE_TO_LOCK_ROW", "scope": "record",
                                   "body_contains": "LOCKED", "match": "insert"})
    records = [{"attributes": {"type": "Account"}, "Name": name}
               for name in ("ok", "LOCKED one", "fine")]
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST", json={
            "allOrNone": False, "records": [{"attributes": {"type": "Account"},
                                             "Name": "BAD-CALL"}]})
    assert caught.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_fault_after_the_work_is_done(sf, salesforce_emulator):
    salesforce_emulator.add_fault({"error": "UNKNOWN_EXCEPTION", "phase": "after", "times": 1,
                                   "match": "insert"})
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.Account.create({"Name": "Committed"})
    assert caught.value.status == 500
    assert salesforce_emulator.backend.count("Account") == 1  # written, though the call failed
    salesforce_emulator.add_fault({"error": "DROP_CONNECTION", "phase": "after", "times": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Account.create({"Name": "Also committed"})
    assert salesforce_emulator.backend.count("Account") == 2
