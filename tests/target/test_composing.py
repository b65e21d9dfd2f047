"""Another tap's stream feeds the target through mapping config alone (singer-sdk sample data)."""

from __future__ import annotations

from pathlib import Path

import singer_sdk.testing

from tests.target.singer import run_target, target_config

SAMPLE = (Path(singer_sdk.testing.__file__).parent / "target_test_streams"
          / "user_location_data.singer")


def test_singer_sdk_sample_users_become_leads(salesforce_emulator):
    config = target_config(salesforce_emulator, streams={"test_users": {
        "key": "id",
        "email": "lower(name) + '@events.example.org'",
        "updated_at": "",
        "filters": [{"name": "has_name", "expr": "bool(name)"}],
        "objects": {"Lead": {"enabled": True, "fields": {
            "LastName": "name", "Company": "'Events Ltd'",
            "Email": "lower(name) + '@events.example.org'",
            "Description": "'Imported from the sample stream, user ' + str(id)"},
            "defaults": {"LeadSource": "Other"}}},
    }}, notes={"enabled": False})
    target = run_target(config, SAMPLE.read_text())
    leads = {lead["Email"]: lead for lead in salesforce_emulator.backend.all_records("Lead")}
    names = {"yannis", "micael", "jacob", "josh", "thomas"}
    assert {email.split("@")[0] for email in leads} >= names
    assert leads["yannis@events.example.org"]["LastName"] == "Yannis"
    assert leads["yannis@events.example.org"]["LeadSource"] == "Other"
    assert "user 1" in leads["yannis@events.example.org"]["Description"]
    # The sample's other streams are not configured: counted and left alone.
    assert target.sync_run.report.records_seen["test_locations"] == 3
