"""Issue acceptance: 500 contacts, 25 made to fail in eight different ways."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from aimdoc_emulators.aimdoc.generator import generate_dataset
from tests.target.singer import messages, target_config
from tests.target.test_outcomes import run_cli

SCHEMA = {"type": "object", "additionalProperties": True, "properties": {
    "id": {"type": "string"}, "email": {"type": ["string", "null"]},
    "data_capture": {"type": ["object", "null"], "additionalProperties": True},
    "updated_at": {"type": "string", "format": "date-time"}}}
MAPPING = {"streams": {"contacts": {"objects": {"Lead": {"fields": {
    "Status": {"expr": "data_capture.get('lead_status')", "policy": "always"},
    "NumberOfEmployees": "int(data_capture['seats']) if 'seats' in data_capture else None",
    "Aimdoc_Id__c": "data_capture.get('external_ref')",
    "OwnerId": "data_capture.get('owner_id')",
}}}}}}
BREAKAGES = [  # (how many, change to the record, expected error code)
    (4, {"email": "not an email"}, "INVALID_EMAIL_ADDRESS"),
    (4, {"data_capture": {"lead_status": "Hot"}}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    (3, {"data_capture": {"seats": "a few"}}, "EXPRESSION_ERROR"),
    (4, {"job_title": "Test user"}, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
    (3, {"job_title": "LOCKED-ROW"}, "UNABLE_TO_LOCK_ROW"),
    (3, {"data_capture": {"external_ref": "TAKEN"}}, "DUPLICATE_VALUE"),
    (2, {"data_capture": {"owner_id": "0055e0000000999AAA"}}, "INVALID_CROSS_REFERENCE_KEY"),
    (2, {"job_title": "POISON"}, "JSON_PARSER_ERROR"),
]


def prepare(emulator):
    emulator.seed({
        "metadata": {"Lead": {"validation_rules": [
            {"name": "No_Test", "field": "Title", "pattern": "(?i)test",
             "message": "Title cannot say test"}]}},
        "records": {"Lead": [{"LastName": "Holder", "Company": "Z", "Email": "holder@z.com",
                              "Aimdoc_Id__c": "TAKEN"}]},
    })
    emulator.add_fault({"error": "UNABLE_TO_LOCK_ROW", "scope": "record",
                        "body_contains": "LOCKED-ROW"})
    emulator.add_fault({"error": "JSON_PARSER_ERROR", "status": 400, "body_contains": "POISON",
                        "match": "insert"})


def dataset():
    records = generate_dataset(seed=3, contacts=500, no_email_share=0,
                               duplicate_email_share=0, edge_case_share=0).records("contacts")
    # Unique, plain addresses on the generated domains, so exactly the 25 below fail.
    records = [{**r, "status": "qualified", "data_capture": {},
                "email": f"person{i}@{r['email'].rsplit('@', 1)[1].lower()}"}
               for i, r in enumerate(records)]
    expected, position = {}, 0
    for count, change, code in BREAKAGES:
        for _ in range(count):
            records[position * 19 + 7] |= change
            expected[records[position * 19 + 7]["id"]] = code
            position += 1
    return records, expected


def test_500_contacts_25_failures(salesforce_emulator, tmp_path):
    records, expected = dataset()
    assert len(expected) == 25
    assert len({r["email"] for r in records if r["id"] not in expected}) == 475
    prepare(salesforce_emulator)
    config = {**target_config(salesforce_emulator), **MAPPING, "batch_size_rows": 200}
    del config["max_error_rate"]  # the default threshold
    text = messages(records, schema=SCHEMA)

    result = run_cli(config, text, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert salesforce_emulator.backend.count("Lead") == 1 + 475
    letters = [json.loads(line) for line in Path(config["dead_letter_path"]).read_text()
               .splitlines()]
    assert {line["key"]: line["errors"][0]["code"] for line in letters} == expected
    assert len(letters) == 25
    assert len(Counter(expected.values())) == 8
    assert all(line["record"]["id"] == line["key"] for line in letters)
    assert "demo-client-secret" not in Path(config["dead_letter_path"]).read_text()
    report = json.loads((Path(config["report_dir"]) / "run-report.json").read_text())
    assert report["totals"]["failed"] == 25
    assert report["totals"]["created"] == 475

    salesforce_emulator.reset()
    prepare(salesforce_emulator)
    strict = {**target_config(salesforce_emulator), **MAPPING, "max_error_rate": 0.01,
              "batch_size_rows": 200}

    result = run_cli(strict, text, tmp_path)
    assert result.returncode != 0
    assert ("5.0% of records failed (25 of 500 the run tried to write), above max_error_rate "
            "1.0%") in result.stderr
    assert salesforce_emulator.backend.count("Lead") == 1 + 475


def test_dry_run_on_500_contacts_plans_exactly_the_real_run(salesforce_emulator, tmp_path):
    records, broken = dataset()
    records = [r for r in records if r["id"] not in broken]  # 475 clean contacts
    records += [{**r, "id": f"{r['id']}-again"} for r in records[:20]]  # repeated people
    salesforce_emulator.seed({"records": {
        "Lead": [{"LastName": "Known", "Company": "K", "Email": r["email"]}
                 for r in records[100:110]],
        "Account": [{"Name": "Known", "Website": "https://" + r["email"].split("@")[1]}
                    for r in records[200:205] if "gmail" not in r["email"]]}})
    config = {**target_config(salesforce_emulator), "sync_contacts": True,
              "sync_accounts": True}
    text = messages(records, schema=SCHEMA)
    plan = run_cli({**config, "dry_run": True}, text, tmp_path)
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert plan.stdout.strip() == ""  # no state from a dry run
    stats = salesforce_emulator.stats()
    assert stats["records"] == {"created": 0, "updated": 0, "deleted": 0, "by_object": {}}
    assert stats["bulk_jobs"] == 0
    planned = json.loads((Path(config["report_dir"]) / "run-report.json").read_text())
    real = run_cli(config, text, tmp_path)
    assert real.returncode == 0, real.stderr[-2000:]
    done = json.loads((Path(config["report_dir"]) / "run-report.json").read_text())
    assert planned["mode"] == "dry_run" and done["mode"] == "applied"
    assert planned["counts"] == done["counts"]  # the plan said exactly what the run did
    assert done["totals"]["created"] > 500
