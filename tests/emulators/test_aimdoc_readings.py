"""The emulator's switches for the guessed ([C]) parts of the API, and its broken pages."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests


def get(emulator, path, **params):
    return requests.get(f"{emulator.api_url}{path}", params=params, timeout=10,
                        headers={"Authorization": f"Bearer {emulator.api_key}"})


def not_json(text):
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def admin_config(emulator, body):
    return requests.put(f"{emulator.admin_url}/config", json=body, timeout=10)


def test_updated_at_switch_drops_the_field_from_contacts_and_conversations(aimdoc_emulator):
    aimdoc_emulator.backend.configure(updated_at=False)
    for path in ("/contacts", "/conversations"):
        rows = get(aimdoc_emulator, path, per_page=20).json()["data"]
        assert rows
        assert all("updated_at" not in row and row["created_at"] for row in rows)
    stored = aimdoc_emulator.backend.records("contacts")[0]
    assert "updated_at" in stored  # the server keeps its own clock


@pytest.mark.parametrize(("key", "present", "absent"), [
    ("lead_id", "lead_id", "contact_id"), ("contact_id", "contact_id", "lead_id")])
def test_conversation_key_switch(aimdoc_emulator, key, present, absent):
    assert admin_config(aimdoc_emulator, {"conversation_key": key}).status_code == 200
    rows = get(aimdoc_emulator, "/conversations", per_page=100).json()["data"]
    assert all(absent not in row and present in row for row in rows)
    assert any(row[present] for row in rows)


def test_messages_can_ignore_conversation_id(aimdoc_emulator):
    conversation = aimdoc_emulator.backend.records("conversations")[0]
    honoured = get(aimdoc_emulator, "/messages", conversation_id=conversation["id"]).json()
    aimdoc_emulator.backend.configure(messages_conversation_filter=False)
    ignored = get(aimdoc_emulator, "/messages", conversation_id=conversation["id"]).json()
    assert honoured["total"] == conversation["message_count"]
    assert ignored["total"] == aimdoc_emulator.backend.counts()["messages"]


def test_captured_data_in_attributes(aimdoc_emulator):
    stored = {c["id"]: c for c in aimdoc_emulator.backend.records("contacts")}
    aimdoc_emulator.backend.configure(captured="attributes")
    rows = get(aimdoc_emulator, "/contacts", per_page=30).json()["data"]
    for row in rows:
        original = stored[row["id"]]
        assert not {"status", "score", "qualification", "data_capture"} & set(row)
        attributes = row["attributes"]
        assert attributes["status"] == original["status"]
        assert attributes["qualification"] == original["qualification"]
        assert all(attributes[k] == v for k, v in original["data_capture"].items())
        assert attributes["browser"] == original["attributes"]["browser"]
    assert "status" in stored[rows[0]["id"]]  # stored records are not changed


def test_bad_switch_values_are_400(aimdoc_emulator):
    assert admin_config(aimdoc_emulator, {"captured": "nowhere"}).status_code == 400
    assert admin_config(aimdoc_emulator, {"conversation_key": "id"}).status_code == 400
    assert admin_config(aimdoc_emulator, {"updated_at": "no"}).status_code == 400


@pytest.mark.parametrize(("body", "check"), [
    ("empty", lambda r: r.json() == {}),
    ("null_data", lambda r: r.json() == {"data": None}),
    ("error", lambda r: "error" in r.json()),
    ("malformed", lambda r: not_json(r.text)),
])
def test_a_broken_200_page_in_the_middle_of_a_listing(aimdoc_emulator, body, check):
    aimdoc_emulator.backend.set_faults({"script": [
        {"path": "/api/v1/contacts", "page": 2, "body": body}]})
    first = get(aimdoc_emulator, "/contacts", page=1, per_page=50)
    broken = get(aimdoc_emulator, "/contacts", page=2, per_page=50)
    again = get(aimdoc_emulator, "/contacts", page=2, per_page=50)
    assert len(first.json()["data"]) == 50
    assert broken.status_code == 200
    check(broken)
    assert len(again.json()["data"]) == 50  # "times" defaults to 1
    assert aimdoc_emulator.backend.stats.faults == {body: 1}


def test_an_echoing_500_carries_the_request_headers(aimdoc_emulator):
    aimdoc_emulator.backend.set_faults({"script": [{"path": "/api/v1/contacts", "echo": True}]})
    response = get(aimdoc_emulator, "/contacts", per_page=3)
    assert response.status_code == 500
    assert response.json()["request"]["headers"]["Authorization"] == \
        f"Bearer {aimdoc_emulator.api_key}"
    assert get(aimdoc_emulator, "/contacts", per_page=3).status_code == 200


def test_bad_fault_rules_are_rejected(aimdoc_emulator):
    for rule in ({"body": "bogus"}, {"body": "empty", "status": 500}, {"echo": True,
                                                                       "status": 429}):
        with pytest.raises(ValueError, match=r"body|echo"):
            aimdoc_emulator.backend.set_faults({"script": [rule]})


def test_cli_flags_set_the_switches(tmp_path):
    command = [sys.executable, "-m", "aimdoc_emulators.aimdoc.cli", "--port", "0",
               "--contacts", "5", "--no-updated-at", "--conversation-key", "lead_id",
               "--ignore-conversation-filter", "--captured", "attributes"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        deadline = time.monotonic() + 20
        while True:
            try:
                settings = requests.get(f"{url}/__emulator/config", timeout=5).json()
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert settings["updated_at"] is False
        assert settings["conversation_key"] == "lead_id"
        assert settings["messages_conversation_filter"] is False
        assert settings["captured"] == "attributes"
    finally:
        process.terminate()
        process.wait(timeout=10)
