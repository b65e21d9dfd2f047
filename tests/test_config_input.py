"""Settings through Meltano's env passing: typed, objects nested, .env never overriding."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from target_salesforce_aimdoc.config_input import (
    ConfigInputError,
    env_config,
    load_config,
    parse_text,
    unflatten,
    unsupported_settings,
)
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

PREFIX = "TARGET_SALESFORCE_AIMDOC_"


def test_unflatten_nests_dotted_keys_as_meltano_flattens_them():
    flat = {"event_leads.key": "lead_id",
            "event_leads.objects.Lead.fields.LastName": "name",
            "event_leads.objects.Lead.fields.Company": {"expr": "org", "policy": "if_empty"},
            "event_leads.filters": [{"expr": "bool(email)"}],
            "a\\.b.c": 1}
    assert unflatten(flat) == {
        "event_leads": {"key": "lead_id", "filters": [{"expr": "bool(email)"}],
                        "objects": {"Lead": {"fields": {
                            "LastName": "name",
                            "Company": {"expr": "org", "policy": "if_empty"}}}}},
        "a.b": {"c": 1}}


def test_unflatten_merges_nested_and_dotted_forms():
    assert unflatten({"a": {"b": 1}, "a.c": 2, "a.d.e": None}) == {
        "a": {"b": 1, "c": 2, "d": {"e": None}}}


@pytest.mark.parametrize(("prop", "text", "value"), [
    ({"type": ["integer", "null"]}, "2000", 2000),
    ({"type": ["number", "null"]}, "0.25", 0.25),
    ({"type": ["number", "null"]}, "30", 30),
    ({"type": ["boolean", "null"]}, "false", False),
    ({"type": ["boolean", "null"]}, "True", True),
    ({"type": "array"}, '["a.com", "b.com"]', ["a.com", "b.com"]),
    ({"type": "array"}, "a.com, b.com", ["a.com", "b.com"]),
    ({"type": ["object", "null"]}, '{"kind": "note", "budget": 5000}',
     {"kind": "note", "budget": 5000}),
    ({"type": ["object", "null"]}, '{"contacts.key": "id"}', {"contacts": {"key": "id"}}),
    ({"type": ["string", "null"]}, "00.10", "00.10"),
    ({"type": ["string", "null"], "format": "date-time"}, "2025-01-01", "2025-01-01"),
])
def test_parse_text_types_each_value(prop, text, value):
    assert parse_text(prop, text, "X") == value


@pytest.mark.parametrize(("prop", "text"), [
    ({"type": ["integer", "null"]}, "lots"),
    ({"type": ["number", "null"]}, "ten"),
    ({"type": ["boolean", "null"]}, "maybe"),
    ({"type": ["object", "null"]}, "kind=note"),
    ({"type": ["object", "null"]}, "[1]"),
    ({"type": "array"}, '["unclosed"'),
])
def test_parse_text_names_the_variable_it_cannot_read(prop, text):
    with pytest.raises(ConfigInputError, match=r"^TARGET_SALESFORCE_AIMDOC_X: "):
        parse_text(prop, text, PREFIX + "X")


def test_dotenv_fills_in_but_never_overrides(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"{PREFIX}CLIENT_SECRET=from-dotenv\n{PREFIX}USERNAME=dotenv-user\n"
                      "OTHER_SETTING=ignored\n")
    schema = {"properties": {"client_secret": {"type": ["string", "null"]},
                             "username": {"type": ["string", "null"]}}}
    config = env_config(schema, PREFIX, {f"{PREFIX}CLIENT_SECRET": "from-meltano"}, dotenv)
    assert config == {"client_secret": "from-meltano", "username": "dotenv-user"}


def test_load_config_files_then_env(tmp_path, monkeypatch):
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"batch_size_rows": 10, "dry_run": True}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(f"{PREFIX}BATCH_SIZE_ROWS", "50")
    monkeypatch.setenv(f"{PREFIX}STREAM_MAPS", '{"contacts.email_hash": "md5(email)"}')
    config = load_config([str(first), "ENV"], TargetSalesforceAimdoc)
    assert config["batch_size_rows"] == 50 and config["dry_run"] is True
    assert config["stream_maps"] == {"contacts": {"email_hash": "md5(email)"}}
    with pytest.raises(ConfigInputError, match=r"missing\.json"):
        load_config([str(tmp_path / "missing.json")], TargetSalesforceAimdoc)


def test_flattening_is_refused_with_a_reason():
    assert unsupported_settings({"flattening_enabled": False}) == []
    assert unsupported_settings({"flattening_enabled": True, "flattening_max_depth": 0}) == []
    (problem,) = unsupported_settings({"flattening_enabled": True, "flattening_max_depth": 2})
    assert problem.startswith("flattening_enabled: ")


# --- the check and replay commands, as `meltano test` / `meltano invoke` run them -----------

def run_command(module, env, cwd, *args):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    return subprocess.run([sys.executable, "-m", f"target_salesforce_aimdoc.{module}",
                           "--config=ENV", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def emulator_env(emulator, tmp_path):
    return {f"{PREFIX}LOGIN_URL": emulator.url, f"{PREFIX}CLIENT_ID": "demo-client-id",
            f"{PREFIX}CLIENT_SECRET": "demo-client-secret",
            f"{PREFIX}CA_FILE": str(emulator.ca_file),
            f"{PREFIX}REPORT_DIR": str(tmp_path / "report"),
            f"{PREFIX}DEAD_LETTER_PATH": str(tmp_path / "dead.jsonl")}


def test_check_reads_settings_as_meltano_passes_them(salesforce_emulator, tmp_path):
    # A wrong secret in the project's .env: singer-sdk loaded it over Meltano's variables.
    (tmp_path / ".env").write_text(f"{PREFIX}CLIENT_SECRET=stale-secret\n")
    env = {**emulator_env(salesforce_emulator, tmp_path),
           f"{PREFIX}STREAMS": json.dumps({  # how Meltano passes `meltano config set ... streams`
               "event_leads.key": "lead_id",
               "event_leads.objects.Lead.fields.LastName": "name",
               "event_leads.objects.Lead.fields.Company": "org"}),
           f"{PREFIX}NOTES": '{"kind": "note"}',
           f"{PREFIX}MAX_ERROR_RATE": "0.25", f"{PREFIX}BULK_THRESHOLD": "500",
           f"{PREFIX}FREE_MAIL_DENY": '["example.org"]', f"{PREFIX}DRY_RUN": "true"}
    result = run_command("check", env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: logged in")
    assert "stale-secret" not in result.stderr


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("MAX_ERROR_RATE", "lots", "TARGET_SALESFORCE_AIMDOC_MAX_ERROR_RATE: 'lots' is not"),
    ("TIE_BREAK", "newest", "config['tie_break']"),
    ("STREAMS", '{"event_leads.key": 5}', "config['streams']['event_leads']['key']"),
    ("FLATTENING_ENABLED", "true", "flattening_enabled: "),
])
def test_check_and_replay_name_the_bad_setting(salesforce_emulator, tmp_path, variable, value,
                                               named):
    env = {**emulator_env(salesforce_emulator, tmp_path), PREFIX + variable: value,
           f"{PREFIX}FLATTENING_MAX_DEPTH": "2"}
    for module in ("check", "replay"):
        result = run_command(module, env, tmp_path)
        assert result.returncode == 1
        assert named in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert salesforce_emulator.stats()["api_calls"] == 0  # refused before logging in
