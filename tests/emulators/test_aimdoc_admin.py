"""The Aimdoc emulator's admin surface, its counts and its faults, over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from aimdoc_emulators.aimdoc.faults import FaultConfig, FaultInjector


def admin(emulator, method, path, body=None):
    response = requests.request(method, f"{emulator.admin_url}{path}", json=body, timeout=10)
    return response.status_code, response.json()


def api(emulator, path="/contacts", **params):
    return requests.get(f"{emulator.api_url}{path}", params=params, timeout=10,
                        headers={"Authorization": f"Bearer {emulator.api_key}"})


def test_stats_count_requests_by_endpoint_and_status(aimdoc_emulator):
    api(aimdoc_emulator)
    api(aimdoc_emulator, "/leads")
    api(aimdoc_emulator, per_page=500)
    status, stats = admin(aimdoc_emulator, "GET", "/stats")
    assert status == 200
    assert stats["requests"] == 3
    assert stats["by_endpoint"] == {"contacts": 2, "leads": 1}
    assert stats["by_status"] == {"200": 2, "422": 1}
    assert stats["counts"] == {"contacts": 200, "conversations": 298, "messages": 6249,
                               "visitor_profiles": 254}
    assert stats["clock"] == "2026-03-02T09:00:00.000Z"


def test_request_log_never_holds_the_key(aimdoc_emulator):
    api(aimdoc_emulator, per_page=2)
    _, log = admin(aimdoc_emulator, "GET", "/requests")
    assert log["requests"][-1]["query"] == {"per_page": "2"}
    assert aimdoc_emulator.api_key not in str(log)


def test_reset_returns_to_the_baseline(aimdoc_emulator):
    before = aimdoc_emulator.backend.records("contacts")
    admin(aimdoc_emulator, "POST", "/generate", {"seed": 9, "contacts": 12})
    admin(aimdoc_emulator, "PUT", "/config", {"sorted": False, "envelope": "array"})
    admin(aimdoc_emulator, "PUT", "/faults", {"rate_500": 1.0})
    assert api(aimdoc_emulator).status_code == 500
    status, body = admin(aimdoc_emulator, "POST", "/reset")
    assert (status, body["counts"]["contacts"]) == (200, 200)
    assert aimdoc_emulator.backend.records("contacts") == before
    assert api(aimdoc_emulator).json()["total"] == 200
    assert admin(aimdoc_emulator, "GET", "/stats")[1]["requests"] == 1


def test_generate_takes_generator_knobs(aimdoc_emulator):
    status, body = admin(aimdoc_emulator, "POST", "/generate",
                         {"seed": 4, "contacts": 40, "free_mail_share": 0.5,
                          "no_email_share": 0.25})
    assert (status, body["counts"]["contacts"]) == (200, 40)
    emails = [c["email"] for c in aimdoc_emulator.backend.records("contacts")]
    assert sum(email is None for email in emails) == 10
    assert admin(aimdoc_emulator, "POST", "/generate", {"colour": "red"})[0] == 400


def test_advance_moves_the_clock_and_reports_changes(aimdoc_emulator):
    status, body = admin(aimdoc_emulator, "POST", "/advance",
                         {"days": 2, "new_contacts": 3, "enriched_contacts": 2})
    assert status == 200
    assert (body["previous_clock"], body["clock"]) == ("2026-03-02T09:00:00.000Z",
                                                       "2026-03-04T09:00:00.000Z")
    assert (len(body["new_contacts"]), len(body["enriched_contacts"])) == (3, 2)
    assert api(aimdoc_emulator).json()["total"] == 203
    assert admin(aimdoc_emulator, "GET", "/clock")[1] == {"now": body["clock"]}
    assert admin(aimdoc_emulator, "POST", "/advance", {"days": 1, "bogus": 1})[0] == 400


def test_advance_can_wait_for_requests(aimdoc_emulator):
    status, body = admin(aimdoc_emulator, "POST", "/advance",
                         {"after_requests": 2, "hours": 1, "new_contacts": 1})
    assert (status, body["status"]) == (200, "scheduled")
    assert [api(aimdoc_emulator).json()["total"] for _ in range(3)] == [200, 200, 201]


def test_config_rejects_unknown_values(aimdoc_emulator):
    assert admin(aimdoc_emulator, "PUT", "/config", {"date_filter": "modified_at"})[0] == 400
    status, body = admin(aimdoc_emulator, "PUT", "/config", {"date_filter": "updated_at"})
    assert (status, body["date_filter"]) == (200, "updated_at")


def test_keys_can_be_added(aimdoc_emulator):
    status, body = admin(aimdoc_emulator, "POST", "/keys",
                         {"key": "ak_second", "api_access": False})
    assert status == 200
    assert "ak_second" not in str(body)
    response = requests.get(f"{aimdoc_emulator.api_url}/contacts", timeout=10,
                            headers={"Authorization": "Bearer ak_second"})
    assert response.status_code == 403
    assert admin(aimdoc_emulator, "POST", "/keys", {"key": "sk_x"})[0] == 400


def test_data_dump_matches_the_backend(aimdoc_emulator):
    status, rows = admin(aimdoc_emulator, "GET", "/data/visitor_profiles")
    assert status == 200
    assert rows == aimdoc_emulator.backend.records("visitor_profiles")
    assert admin(aimdoc_emulator, "GET", "/data/agents")[0] == 400


def test_429_carries_retry_after_and_the_error_shape(aimdoc_emulator):
    admin(aimdoc_emulator, "PUT", "/faults", {"script": [{"status": 429, "retry_after": 7}]})
    limited = api(aimdoc_emulator)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert api(aimdoc_emulator).status_code == 200
    assert admin(aimdoc_emulator, "GET", "/stats")[1]["faults"] == {"429": 1}


def test_scripted_faults_skip_then_fail_on_one_path(aimdoc_emulator):
    aimdoc_emulator.backend.set_faults({"script": [
        {"status": 503, "path": "/api/v1/conversations", "after": 1, "times": 2}]})
    statuses = [api(aimdoc_emulator, path).status_code
                for path in ["/conversations", "/contacts", "/conversations",
                             "/conversations", "/conversations"]]
    assert statuses == [200, 200, 503, 503, 200]


def test_random_faults_are_deterministic_by_seed():
    config = FaultConfig(seed=3, rate_429=0.2, rate_500=0.05, rate_503=0.05)
    first = [FaultInjector(config).decide("/api/v1/contacts").status for _ in range(1)]
    runs = []
    for _ in range(2):
        injector = FaultInjector(config)
        runs.append([injector.decide("/api/v1/contacts").status for _ in range(400)])
    assert runs[0] == runs[1]
    assert first[0] == runs[0][0]
    assert 60 <= runs[0].count(429) <= 100
    assert {None, 429, 500, 503} == set(runs[0])
    other = FaultInjector(FaultConfig(seed=4, rate_429=0.2))
    assert [other.decide("/x").status for _ in range(400)] != runs[0]


def test_latency_slows_responses(aimdoc_emulator):
    aimdoc_emulator.backend.set_faults({"latency_ms": 300})
    started = time.monotonic()
    assert api(aimdoc_emulator).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_config_is_validated():
    with pytest.raises(ValueError, match="add up"):
        FaultConfig.from_json({"rate_429": 0.8, "rate_500": 0.5})
    with pytest.raises(ValueError, match="unknown"):
        FaultConfig.from_json({"rate_418": 0.1})


def test_command_line_serves_until_interrupted(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "aimdoc_emulators.aimdoc.cli", "--port", "0", "--contacts",
         "7", "--date-filter", "updated_at", "--unsorted"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = process.stdout.readline()
        assert banner.startswith("Aimdoc emulator listening on http://127.0.0.1:")
        base = banner.rsplit(" ", 1)[1].strip()
        key = next(line.split()[-1] for line in iter(process.stdout.readline, "")
                   if "api_key" in line)
        body = requests.get(f"{base}/api/v1/contacts", timeout=10,
                            headers={"Authorization": f"Bearer {key}"}).json()
        assert body["total"] == 7
        config = requests.get(f"{base}/__emulator/config", timeout=10).json()
        assert (config["date_filter"], config["sorted"]) == ("updated_at", False)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
