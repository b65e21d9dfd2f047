"""Per-record outcomes, dead letters, dry run, the run report and max_error_rate."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from tests.target.singer import contact, messages, run_target, target_config

STATUS_FROM_DATA = {"streams": {"contacts": {"objects": {"Lead": {"fields": {
    "Status": {"expr": "data_capture.get('lead_status') if data_capture else None",
               "policy": "always"}}}}}}}


def dead_letters(config):
    path = Path(config["dead_letter_path"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_calls(emulator) -> int:
    return sum(n for kind, n in emulator.stats()["calls_by_kind"].items()
               if kind.startswith(("collections_", "create", "update", "upsert", "delete")))


def test_failures_go_to_dead_letters_and_the_run_goes_on(salesforce_emulator):
    salesforce_emulator.seed({"metadata": {"Lead": {"validation_rules": [
        {"name": "No_Test", "field": "Title", "pattern": "(?i)test",
         "message": "Title cannot say test"}]}}})
    config = target_config(salesforce_emulator, **STATUS_FROM_DATA)
    target = run_target(config, messages([
        contact("ok", "ok@acme.com", company="Acme"),
        contact("bad-email", "not an email"),
        contact("picklist", "p@acme.com", data_capture={"lead_status": "Hot"}),
        contact("rule", "r@acme.com", job_title="Test account"),
    ]))
    assert [r["Email"] for r in salesforce_emulator.backend.all_records("Lead")] == [
        "ok@acme.com"]
    letters = {line["key"]: line for line in dead_letters(config)}
    assert set(letters) == {"bad-email", "picklist", "rule"}
    assert letters["bad-email"]["errors"][0]["code"] == "INVALID_EMAIL_ADDRESS"
    assert letters["picklist"]["errors"][0]["code"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert letters["rule"]["errors"][0]["code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert letters["rule"]["object"] == "Lead"
    assert letters["rule"]["payload"]["Title"] == "Test account"
    assert letters["rule"]["record"]["id"] == "rule"
    outcomes = {(o.key, o.sobject): o for o in target.sync_run.report.outcomes}
    assert outcomes[("ok", "Lead")].outcome == "created"
    assert outcomes[("ok", "Lead")].record_id.startswith("00Q")
    assert outcomes[("rule", "Lead")].errors[0]["fields"] == ["Title"]


def test_a_fixed_dead_letter_succeeds_on_the_next_run(salesforce_emulator):
    config = target_config(salesforce_emulator, **STATUS_FROM_DATA)
    run_target(config, messages([contact("p", "p@acme.com", company="Acme",
                                         data_capture={"lead_status": "Nurture"})]))
    assert len(dead_letters(config)) == 1
    salesforce_emulator.seed({"metadata": {"Lead": {"picklists": {"Status": [
        "Open - Not Contacted", "Working - Contacted", "Nurture", "Closed - Converted",
        "Closed - Not Converted"]}}}})
    run_target(config, messages([]))  # nothing new: the dead letter alone is retried
    (lead,) = salesforce_emulator.backend.all_records("Lead")
    assert lead["Status"] == "Nurture"
    assert dead_letters(config) == []


def test_a_collection_refused_as_a_whole_is_split(salesforce_emulator):
    salesforce_emulator.add_fault({"error": "JSON_PARSER_ERROR", "status": 400,
                                   "body_contains": "Poison", "match": "upsert"})
    records = [contact(f"c{i}", f"p{i}@acme.com", company="Acme") for i in range(20)]
    records[13]["job_title"] = "Poison"
    config = target_config(salesforce_emulator)
    run_target(config, messages(records))
    assert salesforce_emulator.backend.count("Lead") == 19
    (letter,) = dead_letters(config)
    assert (letter["key"], letter["errors"][0]["code"]) == ("c13", "JSON_PARSER_ERROR")


def test_dry_run_writes_nothing_and_plans_what_the_real_run_does(salesforce_emulator):
    salesforce_emulator.seed({"records": {
        "Lead": [{"LastName": "Old", "Company": "Acme", "Email": "p1@acme.com"}],
        "Account": [{"Name": "Beta", "Website": "https://beta.io"}]}})
    records = [contact(f"c{i}", f"p{i}@{'acme.com' if i % 2 else 'beta.io'}", company="X",
                       job_title="CTO") for i in range(30)]
    records.append(contact("dup", "p3@acme.com", company="X", phone="1"))
    text = messages(records)
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    plan = run_target({**config, "dry_run": True}, text)
    assert write_calls(salesforce_emulator) == 0
    assert salesforce_emulator.stats()["records"]["created"] == 0
    assert plan.states == []  # no state: the next real run sees the same input
    real = run_target(config, text)
    assert plan.sync_run.report.counts == real.sync_run.report.counts
    report = json.loads((Path(config["report_dir"]) / "run-report.json").read_text())
    assert report["mode"] == "applied"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.tables = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs)["href"])
        if tag == "table":
            self.tables.append(dict(attrs).get("id"))


def test_html_report_renders_with_links(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    run_target(config, messages([contact("c1", "ann@newco.io", company="<b>NewCo</b>"),
                                 contact("c2", "broken")]))
    page = (Path(config["report_dir"]) / "run-report.html").read_text()
    parser = _Links()
    parser.feed(page)
    assert {"counts", "failures", "records"} <= set(parser.tables)
    assert len(parser.links) == 3
    assert all(link.startswith(f"{salesforce_emulator.url}/lightning/r/") for link in parser.links)
    assert "<b>NewCo</b>" not in page and "&lt;b&gt;NewCo&lt;/b&gt;" in page
    assert "INVALID_EMAIL_ADDRESS" in page


def run_cli(config: dict, text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    config_path, input_path = tmp_path / "config.json", tmp_path / "input.singer"
    config_path.write_text(json.dumps(config))
    input_path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "target_salesforce_aimdoc", "--config", str(config_path),
         "--input", str(input_path)], capture_output=True, text=True, timeout=300, check=False)


def test_max_error_rate_exit_code(salesforce_emulator, tmp_path):
    records = [contact(f"c{i}", f"p{i}@acme.com", company="Acme") for i in range(48)]
    records += [contact("b1", "broken one"), contact("b2", "broken two")]
    text = messages(records)
    config = target_config(salesforce_emulator)
    del config["max_error_rate"]  # the default (10 %)
    assert run_cli(config, text, tmp_path).returncode == 0
    strict = {**target_config(salesforce_emulator), "max_error_rate": 0.01}
    result = run_cli(strict, text, tmp_path)
    assert result.returncode != 0
    assert "above max_error_rate 1.0%" in result.stderr, result.stderr[-1500:]
    assert salesforce_emulator.backend.count("Lead") == 48  # everything it could was written
    assert '"bookmarks"' in result.stdout  # and the state was emitted before the exit


def test_replay_command(salesforce_emulator, tmp_path):
    config = target_config(salesforce_emulator, **STATUS_FROM_DATA)
    run_target(config, messages([contact("p", "p@acme.com", company="Acme",
                                         data_capture={"lead_status": "Nurture"})]))
    letters = Path(config["dead_letter_path"])
    moved = tmp_path / "elsewhere.jsonl"
    letters.rename(moved)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    failing = subprocess.run([sys.executable, "-m", "target_salesforce_aimdoc.replay",
                              "--config", str(config_path), "--file", str(moved)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert failing.returncode == 0  # max_error_rate 1.0 in the test config
    assert "Replayed 1 dead letters" in failing.stderr
    assert moved.exists()  # still failing: rewritten
    salesforce_emulator.seed({"metadata": {"Lead": {"picklists": {"Status": [
        "Open - Not Contacted", "Nurture"]}}}})
    fixed = subprocess.run([sys.executable, "-m", "target_salesforce_aimdoc.replay",
                            "--config", str(config_path), "--file", str(moved)],
                           capture_output=True, text=True, timeout=120, check=False)
    assert fixed.returncode == 0, fixed.stderr
    assert not moved.exists()
    assert salesforce_emulator.backend.all_records("Lead")[0]["Status"] == "Nurture"
