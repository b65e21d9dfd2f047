"""Auth flows, classified retries, the API budget, clean stops, crash safety, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from target_salesforce_aimdoc.salesforce import (
    SalesforceAuthError,
    SalesforceClient,
)
from tests.sf_clients import raw
from tests.target.singer import contact, messages, run_target, target_config
from tests.target.test_outcomes import run_cli

SECRETS = ("demo-client-secret", "demo-password", "demo-token", "demo-refresh-token")


def base(emulator):
    config = target_config(emulator)
    for name in ("client_id", "client_secret"):
        config.pop(name)
    return config


def flows(emulator):
    key_file = str(emulator.jwt_private_key_file)
    token = raw(emulator, "POST", "/acme.my.salesforce.com/services/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=("demo-client-id", "demo-client-secret")).json()["access_token"]
    return {
        "client_credentials": {"client_id": "demo-client-id",
                               "client_secret": "demo-client-secret"},
        "jwt_file": {"client_id": "demo-client-id", "username": "demo@example.com",
                     "private_key_file": key_file},
        "jwt_inline": {"client_id": "demo-client-id", "username": "demo@example.com",
                       "private_key": Path(key_file).read_text()},
        "refresh_token": {"client_id": "demo-client-id", "client_secret": "demo-client-secret",
                          "refresh_token": "demo-refresh-token"},
        "session": {"session_id": token, "instance_url": emulator.url},
        "password": {"client_id": "demo-client-id", "client_secret": "demo-client-secret",
                     "username": "demo@example.com", "password": "demo-password",
                     "security_token": "demo-token"},
        "soap": {"username": "demo@example.com", "password": "demo-password",
                 "security_token": "demo-token"},
    }


@pytest.mark.parametrize("flow", ["client_credentials", "jwt_file", "jwt_inline",
                                  "refresh_token", "session", "password", "soap"])
def test_every_auth_flow_logs_in_and_syncs(salesforce_emulator, flow, caplog):
    config = {**base(salesforce_emulator), **flows(salesforce_emulator)[flow]}
    run_target(config, messages([contact("c1", f"{flow}@acme.com", company="Acme")]))
    assert salesforce_emulator.backend.count("Lead") == 1
    if flow in {"password", "soap"}:
        assert "2027-02-20" in caplog.text or "Summer '27" in caplog.text


def test_jwt_signed_with_the_wrong_key_is_refused_clearly(salesforce_emulator, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    config = {**base(salesforce_emulator), "client_id": "demo-client-id",
              "username": "demo@example.com", "private_key": other}
    with pytest.raises(SalesforceAuthError) as caught:
        SalesforceClient(config).login()
    assert "jwt login" in str(caught.value)
    assert "invalid_grant" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)


def test_no_credentials_names_the_settings(salesforce_emulator):
    with pytest.raises(SalesforceAuthError) as caught:
        SalesforceClient(base(salesforce_emulator)).login()
    assert "client_id + client_secret" in str(caught.value)


def test_expired_session_mid_run_logs_in_again(salesforce_emulator):
    salesforce_emulator.add_fault({"error": "INVALID_SESSION_ID", "times": 1, "after": 3})
    salesforce_emulator.add_fault({"error": "INVALID_SESSION_ID", "times": 1, "after": 6})
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    run_target(config, messages([contact(f"c{i}", f"p{i}@co{i}.com", company=f"Co{i}")
                                 for i in range(10)]))
    assert salesforce_emulator.backend.count("Lead") == 10
    assert salesforce_emulator.stats()["logins"] >= 3


def test_a_session_flow_cannot_log_in_again(salesforce_emulator):
    token = flows(salesforce_emulator)["session"]
    config = {**base(salesforce_emulator), **token}
    salesforce_emulator.add_fault({"error": "INVALID_SESSION_ID", "after": 2})
    with pytest.raises(SalesforceAuthError) as caught:
        run_target(config, messages([contact("c1", "a@acme.com")]))
    assert "session_id expired" in str(caught.value)


@pytest.mark.parametrize("fault", [
    {"error": "SERVER_UNAVAILABLE", "probability": 0.3},
    {"error": "UNABLE_TO_LOCK_ROW", "probability": 0.3},
    {"error": "REQUEST_LIMIT_EXCEEDED", "probability": 0.3},
    {"error": "UNABLE_TO_LOCK_ROW", "probability": 0.2, "scope": "record"},
    {"error": "UNKNOWN_EXCEPTION", "probability": 0.3, "phase": "after"},
    {"error": "DROP_CONNECTION", "probability": 0.3, "phase": "after"},
    {"error": "DROP_CONNECTION", "probability": 0.3},
])
def test_transient_faults_lose_and_duplicate_nothing(salesforce_emulator, fault):
    salesforce_emulator.set_faults({"seed": 4, "rules": [fault]})
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           max_retry_wait_seconds=0.05)
    records = [contact(f"c{i}", f"p{i}@co{i % 7}.com", company=f"Co{i % 7}") for i in range(60)]
    target = run_target(config, messages(records))
    assert salesforce_emulator.stats()["faults_injected"] > 0
    salesforce_emulator.clear_faults()
    for sobject, expected in (("Lead", 60), ("Contact", 60), ("Account", 7)):
        rows = salesforce_emulator.backend.all_records(sobject)
        keys = [r.get("Email") or r.get("Website") for r in rows]
        assert len(keys) == len(set(keys)) == expected, sobject
    assert target.sync_run.report.count("failed") == 0


def test_500_on_a_create_is_not_retried_blindly(salesforce_emulator):
    """An org without an external-id field: a create's 500 is resolved by matching again."""
    salesforce_emulator.add_fault({"error": "UNKNOWN_EXCEPTION", "phase": "after", "times": 1,
                                   "match": "insert"})
    config = target_config(salesforce_emulator, external_id_fields={"Lead": None,
                                                                    "Contact": None})
    target = run_target(config, messages([contact(f"c{i}", f"p{i}@acme.com") for i in range(5)]))
    assert salesforce_emulator.backend.count("Lead") == 5
    kinds = target.sync_run.client.usage.by_kind
    assert kinds["create"] == 1  # matched again (Lead + Contact queries twice), no re-create
    assert kinds["composite_query"] == 2


def test_500_on_an_upsert_is_sent_again_safely(salesforce_emulator):
    """With the external-id field, creates are upserts: sent again, still one record each."""
    salesforce_emulator.add_fault({"error": "UNKNOWN_EXCEPTION", "phase": "after", "times": 1,
                                   "match": "upsert"})
    salesforce_emulator.add_fault({"error": "DROP_CONNECTION", "phase": "after", "times": 1,
                                   "match": "upsert", "after": 1})
    target = run_target(target_config(salesforce_emulator, sync_contacts=True),
                        messages([contact(f"c{i}", f"p{i}@acme.com") for i in range(5)]))
    assert salesforce_emulator.stats()["faults_injected"] == 2
    for sobject in ("Lead", "Contact"):
        rows = salesforce_emulator.backend.all_records(sobject)
        assert sorted(r["Aimdoc_Id__c"] for r in rows) == [f"c{i}" for i in range(5)]
    assert target.sync_run.report.count("failed") == 0


def test_daily_limit_stops_cleanly_without_state(salesforce_emulator, tmp_path):
    config = target_config(salesforce_emulator, batch_size_rows=10)
    salesforce_emulator.configure(daily_limit=8)
    try:
        result = run_cli(config, messages([contact(f"c{i}", f"p{i}@acme.com")
                                           for i in range(50)]), tmp_path)
    finally:
        salesforce_emulator.configure(daily_limit=15000)
    assert result.returncode != 0
    assert "daily API request limit is reached" in result.stderr
    assert result.stdout.strip() == ""  # no STATE past the last committed record
    assert 0 < salesforce_emulator.backend.count("Lead") < 50


def test_budget_guard_stops_at_the_share_and_the_next_run_finishes(salesforce_emulator,
                                                                   tmp_path):
    salesforce_emulator.configure(daily_limit=40)
    records = [contact(f"c{i}", f"p{i}@acme.com") for i in range(100)]
    config = target_config(salesforce_emulator, batch_size_rows=10, max_api_share=0.5,
                           state_flush_minutes=0.0001)
    try:
        first = run_cli(config, messages(records, state_every=10), tmp_path)
        assert first.returncode != 0
        assert "max_api_share 50%" in first.stderr
        assert salesforce_emulator.stats()["api_calls"] <= 20
        done = salesforce_emulator.backend.count("Lead")
        assert 0 < done < 100
        states = [json.loads(line) for line in first.stdout.splitlines() if line.strip()]
        assert states, "state was emitted for the batches written before the stop"
        salesforce_emulator.configure(api_used=0)  # a new day
        position = states[-1]["bookmarks"]["contacts"]["position"]
        assert position <= done  # the saved state never runs ahead of what was written
        rest = records[position:]  # what the tap sends from that bookmark on
        second = run_cli(config, messages(rest, initial_state=states[-1]), tmp_path)
        assert second.returncode == 0, second.stderr[-1500:]
    finally:
        salesforce_emulator.configure(daily_limit=15000)
    assert salesforce_emulator.backend.count("Lead") == 100
    report = json.loads((Path(config["report_dir"]) / "run-report.json").read_text())
    assert report["api"]["org_limit"] == 40


def test_killed_mid_run_and_rerun_gives_the_same_result(salesforce_emulator, tmp_path):
    records = [contact(f"c{i}", f"p{i}@co{i % 25}.com", company=f"Co {i % 25}")
               for i in range(400)]
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           batch_size_rows=50, state_flush_minutes=0.0001)
    config_path, input_path = tmp_path / "config.json", tmp_path / "input.singer"
    config_path.write_text(json.dumps(config))
    input_path.write_text(messages(records, state_every=25))
    salesforce_emulator.set_faults({"latency_ms": 40})
    out = (tmp_path / "stdout").open("w")
    process = subprocess.Popen([sys.executable, "-m", "target_salesforce_aimdoc", "--config",
                                str(config_path), "--input", str(input_path)], stdout=out,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while salesforce_emulator.backend.count("Contact") < 120 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    salesforce_emulator.clear_faults()
    partial = salesforce_emulator.backend.count("Contact")
    assert 0 < partial < 400
    states = [json.loads(line) for line in (tmp_path / "stdout").read_text().splitlines()
              if line.strip()]
    position = states[-1]["bookmarks"]["contacts"]["position"] if states else 0
    rerun = run_cli(config, messages(records[position:],
                                     initial_state=states[-1] if states else None), tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-1500:]
    for sobject, expected in (("Lead", 400), ("Contact", 400), ("Account", 25)):
        rows = salesforce_emulator.backend.all_records(sobject)
        keys = [r.get("Email") or r.get("Website") for r in rows]
        assert len(keys) == len(set(keys)) == expected, sobject
    accounts = {a["Id"] for a in salesforce_emulator.backend.all_records("Account")}
    assert {c["AccountId"] for c in salesforce_emulator.backend.all_records("Contact")} == (
        accounts)


def test_no_secret_in_any_output(salesforce_emulator, tmp_path):
    salesforce_emulator.set_faults({"seed": 2, "rules": [
        {"error": "SERVER_UNAVAILABLE", "probability": 0.2},
        {"error": "INVALID_SESSION_ID", "times": 1, "after": 4}]})
    config = {**target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True),
              "max_retry_wait_seconds": 0.05, "password": "demo-password",
              "security_token": "demo-token", "refresh_token": "demo-refresh-token",
              "auth_flow": "client_credentials"}
    records = [contact(f"c{i}", f"p{i}@co{i}.com", company=f"Co{i}") for i in range(30)]
    records.append(contact("bad", "not an email"))
    result = run_cli(config, messages(records), tmp_path)
    assert result.returncode == 0, result.stderr[-1500:]
    outputs = [result.stdout, result.stderr]
    outputs += [p.read_text() for p in Path(config["report_dir"]).iterdir() if p.is_file()]
    assert any("dead" in p.name for p in Path(config["report_dir"]).iterdir())
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
        assert "00D5e000000EMUL!" not in text  # no session token either
