"""The ``tap-aimdoc`` executable: --about, --discover, a sync, and a wrong key."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from tests.tap.harness import config

TAP = str(Path(sys.executable).with_name("tap-aimdoc"))
STREAMS = {"contacts", "conversations", "messages", "transcripts", "visitor_profiles"}


def run_cli(*args, cwd):
    return subprocess.run([TAP, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          check=False)


def write_config(tmp_path, settings):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings))
    return str(path)


def root_metadata(entry):
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def test_about_json_shows_version_and_settings(tmp_path):
    result = run_cli("--about", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    about = json.loads(result.stdout)
    assert (about["name"], about["version"]) == ("tap-aimdoc",
                                                 version("aimdoc-salesforce-sync"))
    settings = about["settings"]["properties"]
    assert {"api_key", "api_url", "start_date", "lookback_days", "page_size", "max_tries",
            "request_timeout", "ca_file", "user_agent"} <= set(settings)
    assert settings["api_key"]["secret"] is True
    assert settings["api_url"]["default"] == "https://api.aimdoc.ai/api/v1"
    assert settings["lookback_days"]["default"] == 7
    assert settings["page_size"]["maximum"] == 100
    assert about["settings"]["required"] == ["api_key"]
    assert "state" in about["capabilities"]


def test_discover_lists_five_streams_with_typed_schemas_and_keys(tmp_path):
    settings = write_config(tmp_path, {"api_key": "ak_x", "api_url": "http://127.0.0.1:9"})
    result = run_cli("--config", settings, "--discover", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    streams = {entry["tap_stream_id"]: entry for entry in json.loads(result.stdout)["streams"]}
    assert set(streams) == STREAMS
    keys = {name: (entry["key_properties"], root_metadata(entry)["valid-replication-keys"])
            for name, entry in streams.items()}
    assert keys == {"contacts": (["id"], ["updated_at"]),
                    "conversations": (["id"], ["updated_at"]),
                    "messages": (["id"], ["created_at"]),
                    "transcripts": (["conversation_id"], ["updated_at"]),
                    "visitor_profiles": (["visitor_id"], ["updated_at"])}
    contact = streams["contacts"]["schema"]["properties"]
    assert contact["qualification"]["items"]["properties"].keys() == {
        "question_id", "question", "answer"}
    assert "object" in contact["data_capture"]["type"]
    assert contact["updated_at"]["format"] == "date-time"
    message = streams["transcripts"]["schema"]["properties"]["messages"]["items"]
    assert {"role", "content", "created_at", "sender_name"} <= message["properties"].keys()
    assert "boolean" in streams["conversations"]["schema"]["properties"]["escalated"]["type"]


def test_a_sync_writes_singer_messages(tmp_path, aimdoc_emulator):
    aimdoc_emulator.backend.generate(seed=3, contacts=10)
    settings = write_config(tmp_path, config(aimdoc_emulator))
    result = run_cli("--config", settings, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    assert {m["stream"] for m in messages if m["type"] == "SCHEMA"} == STREAMS
    assert sum(m["stream"] == "contacts" for m in records) == 10
    assert messages[-1]["type"] == "STATE"
    assert aimdoc_emulator.api_key not in result.stdout + result.stderr


def test_a_wrong_key_fails_fast_with_a_clear_message(tmp_path, aimdoc_emulator):
    secret = "ak_wrong_but_secret_0123456789"
    settings = write_config(tmp_path, config(aimdoc_emulator, api_key=secret))
    started = time.monotonic()
    result = run_cli("--config", settings, cwd=tmp_path)
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "Aimdoc rejected the API key" in result.stderr
    assert "401" in result.stderr
    assert secret not in result.stdout + result.stderr
    assert aimdoc_emulator.backend.stats.total == 1


def test_a_key_without_api_access_names_the_plan(tmp_path, aimdoc_emulator):
    settings = write_config(tmp_path, config(aimdoc_emulator,
                                             api_key=aimdoc_emulator.no_access_api_key))
    result = run_cli("--config", settings, cwd=tmp_path)
    assert result.returncode != 0
    assert "Convert plan" in result.stderr
    assert aimdoc_emulator.backend.stats.total == 1
