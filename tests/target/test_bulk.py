"""Bulk API 2.0 for large batches: the same outcomes, dead letters and links as REST."""

from __future__ import annotations

from tests.target.singer import contact, messages, run_target, target_config


def test_large_batches_use_bulk_and_report_per_record(salesforce_emulator):
    salesforce_emulator.seed({"metadata": {"Lead": {"validation_rules": [
        {"name": "No_Test", "field": "Title", "pattern": "(?i)test", "message": "No tests"}]}}})
    records = [contact(f"c{i}", f"p{i}@co{i % 40}.com", company=f"Co {i % 40}",
                       job_title="Test" if i % 100 == 7 else "CTO") for i in range(2500)]
    config = target_config(salesforce_emulator, sync_contacts=True, batch_size_rows=2500,
                           bulk_threshold=2000)
    target = run_target(config, messages(records))
    stats = salesforce_emulator.stats()
    assert stats["bulk_jobs"] == 2  # the Leads and the Contacts of the one batch
    assert salesforce_emulator.backend.count("Contact") == 2500
    assert salesforce_emulator.backend.count("Lead") == 2475  # 25 refused by the rule
    report = target.sync_run.report
    failed = [o for o in report.outcomes if o.outcome == "failed"]
    assert {o.key for o in failed} == {f"c{i}" for i in range(7, 2500, 100)}
    assert {o.errors[0]["statusCode"] for o in failed} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    created = [o for o in report.outcomes if o.outcome == "created" and o.sobject == "Lead"]
    lead_ids = {r["Id"]: r["Email"] for r in salesforce_emulator.backend.all_records("Lead")}
    assert all(lead_ids[o.record_id] == f"p{o.key[1:]}@co{int(o.key[1:]) % 40}.com"
               for o in created)  # each id went back to its own record
    assert stats["api_calls"] < 30
    link = target.links.get("contacts", "c1")
    assert link.ids["Lead"] in lead_ids


def test_bulk_can_be_forced(salesforce_emulator):
    config = target_config(salesforce_emulator, write_api="bulk")
    run_target(config, messages([contact(f"c{i}", f"p{i}@acme.com") for i in range(3)]))
    assert salesforce_emulator.stats()["bulk_jobs"] == 1
    assert salesforce_emulator.backend.count("Lead") == 3
