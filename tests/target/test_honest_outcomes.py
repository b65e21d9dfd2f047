"""Issue 19: an error rate that fails a failed run, dead letters that mean failures, honest
reports, visible progress and a CRM objects table that says what it means. One test (or two)
per bullet of the issue's problem list."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from target_salesforce_aimdoc import progress, report_files, run_files
from tests.target.singer import contact, messages, run_target, target_config
from tests.target.test_notes import conversation, stream_text
from tests.target.test_outcomes import STATUS_FROM_DATA, run_cli

BAD_STATUS = {"streams": {"contacts": {"objects": {"Lead": {"fields": {
    "Status": {"expr": "'Hot'", "policy": "always"}}}}}}}  # not in the restricted picklist
PEOPLE_STREAM = {"people": {  # another tap's stream (a CSV file of people)
    "key": "id", "email": "email", "updated_at": "",
    "objects": {"Lead": {"enabled": True, "fields": {
        "LastName": "name", "Company": "'Csv Ltd'", "Email": "email"}}}}}


def letters(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def latest_report(config: dict, pipeline: str | None = None) -> dict:
    folder = Path(config["report_dir"]) / (pipeline or "")
    return json.loads((folder / "run-report.json").read_text(encoding="utf-8"))


def other_streams(count: int) -> list[dict]:
    """SCHEMA and RECORDs of a stream the target does not sync (tap-aimdoc's `agents`)."""
    lines = [{"type": "SCHEMA", "stream": "agents", "key_properties": ["id"],
              "schema": {"type": "object", "properties": {"id": {"type": "string"}}}}]
    return lines + [{"type": "RECORD", "stream": "agents", "record": {"id": f"a{i}"}}
                    for i in range(count)]


def people_text(rows: list[dict]) -> str:
    schema = {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}}}
    lines = [{"type": "SCHEMA", "stream": "people", "key_properties": ["id"], "schema": schema}]
    lines += [{"type": "RECORD", "stream": "people", "record": row} for row in rows]
    lines.append({"type": "STATE", "value": {"bookmarks": {"people": {}}}})
    return "\n".join(json.dumps(line) for line in lines) + "\n"


# ---------------------------------------------------------------- 1. the exit code
def test_every_write_failing_fails_the_run_whatever_else_flowed(salesforce_emulator, tmp_path):
    """Every Lead refused (a bad picklist constant) while ignored streams and transcripts
    flow: the run exits non-zero with one clear line (it exited 0)."""
    config = {**target_config(salesforce_emulator), **BAD_STATUS}
    del config["max_error_rate"]  # the default, 10 %
    people = [contact(f"c{i}", f"p{i}@acme.com", company="Acme") for i in range(5)]
    text = stream_text(people, [conversation(f"conv{i}", f"c{i}", 2) for i in range(5)])
    text = "\n".join(json.dumps(line) for line in other_streams(120)) + "\n" + text
    result = run_cli(config, text, tmp_path)
    assert salesforce_emulator.backend.count("Lead") == 0
    assert result.returncode != 0
    assert ("stream contacts: all 5 records the run tried to write to Salesforce failed"
            in result.stderr)
    assert "Traceback" not in result.stderr.split("stream contacts: all 5")[0]


def test_other_pipelines_letters_do_not_dilute_the_error_rate(salesforce_emulator, tmp_path):
    """A CSV pipeline with 3 of 6 rows failing, next to an Aimdoc pipeline's parked
    transcripts and letters: 50 % failed, so past max_error_rate 20 % (it exited 0)."""
    shared = target_config(salesforce_emulator)
    aimdoc = {**shared, "pipeline_name": "dev:tap-aimdoc-to-target-salesforce-aimdoc"}
    waiting = [conversation(f"conv{i}", f"never{i}", 2) for i in range(20)]
    run_target(aimdoc, stream_text([], waiting))
    csv = {**shared, "pipeline_name": "dev:tap-csv-to-target-salesforce-aimdoc",
           "max_error_rate": 0.2, "streams": PEOPLE_STREAM, "notes": {"enabled": False}}
    rows = [{"id": f"r{i}", "name": f"Row {i}",
             "email": f"r{i}@csv.io" if i % 2 else f"broken {i}"} for i in range(6)]
    result = run_cli(csv, people_text(rows), tmp_path)
    assert result.returncode != 0
    assert "50.0% of records failed (3 of 6 the run tried to write)" in result.stderr
    report = latest_report(csv, "dev-tap-csv-to-target-salesforce-aimdoc")
    assert report["error_rate"] == {"failed": 3, "attempted": 6,
                                    "streams": {"people": {"failed": 3, "attempted": 6}},
                                    "retried": {"failed": 0, "attempted": 0}}


def test_a_stream_past_the_limit_fails_the_run_even_when_the_total_is_under(
        salesforce_emulator):
    """Per stream as well as overall: 2 of 4 people failing (50 %) beside 30 good contacts
    (2 of 34 overall, 5.9 %) is past max_error_rate 20 %."""
    config = target_config(salesforce_emulator, max_error_rate=0.2, streams=PEOPLE_STREAM)
    rows = [{"id": f"r{i}", "name": f"Row {i}",
             "email": f"r{i}@csv.io" if i % 2 else f"broken {i}"} for i in range(4)]
    text = messages([contact(f"c{i}", f"c{i}@acme.com") for i in range(30)]) + people_text(rows)
    with pytest.raises(RuntimeError) as failed:
        run_target(config, text)
    assert "stream people: 2 of 4 records (50.0%) failed, above max_error_rate 20.0%" in str(
        failed.value)
    assert salesforce_emulator.backend.count("Lead") == 32


# ---------------------------------------------------------------- 2. what a dead letter is
def test_transcripts_of_filtered_contacts_are_skips_never_dead_letters(salesforce_emulator):
    """Disqualified and e-mail-less contacts' transcripts: counted as skips with the rule,
    parked (bounded) in their own store, not dead letters; every letter has a reason."""
    config = target_config(salesforce_emulator, parked_max_days=1)
    people = [contact("ok", "ok@acme.com"), contact("dq", "dq@acme.com", status="disqualified"),
              contact("nomail", None), contact("bad", "not an email")]
    convs = [conversation(f"conv-{key}", key, 2) for key in ("ok", "dq", "nomail", "bad")]
    target = run_target(config, stream_text(people, convs))
    lines = letters(Path(config["dead_letter_path"]))
    assert [(line["stream"], line["key"]) for line in lines] == [("contacts", "bad")]
    assert all(line["errors"] and line["errors"][0]["code"] for line in lines)
    notes = {o.key: (o.outcome, o.reason) for o in target.sync_run.report.outcomes
             if o.sobject == "Note"}
    assert notes["conv-dq"] == ("skipped", "contact_filtered:not_disqualified")
    assert notes["conv-nomail"] == ("skipped", "contact_filtered:has_email")
    assert notes["conv-ok"][0] == "created"
    report = latest_report(config)
    assert report["error_rate"]["attempted"] == 3  # ok's Lead and note, bad's Lead
    parked = target.sync_run.parked
    assert set(parked.items) == {"conv-dq", "conv-nomail", "conv-bad"}
    for item in parked.items.values():  # a day later they are given up, not kept for ever
        item.since = "2000-01-01T00:00:00+00:00"
    parked.write()
    again = run_target(config, stream_text([], [], target.states[-1]))
    given_up = {o.key: o.reason for o in again.sync_run.report.outcomes if o.sobject == "Note"}
    assert given_up == dict.fromkeys(("conv-dq", "conv-nomail", "conv-bad"),
                                     "contact_not_synced_expired")
    assert not parked.path.exists()


def test_a_parked_transcript_is_written_once_its_contact_syncs_in_a_later_run(
        salesforce_emulator):
    config = target_config(salesforce_emulator)
    first = run_target(config, stream_text([], [conversation("conv1", "late", 3)]))
    assert salesforce_emulator.backend.count("ContentNote") == 0
    assert not Path(config["dead_letter_path"]).exists()
    second = run_target(config, stream_text([contact("late", "late@acme.com")], [],
                                            first.states[-1]))
    assert salesforce_emulator.backend.count("ContentNote") == 1
    assert second.sync_run.report.count("created", "Note") == 1
    assert not second.sync_run.parked.path.exists()


# ---------------------------------------------------------------- 3. stale letters
def test_a_record_fixed_at_the_source_retires_its_letter(salesforce_emulator):
    """Three records fail, are fixed in Aimdoc and synced: no letter is left, and the next
    run retries nothing and passes (every later run exited 1)."""
    config = target_config(salesforce_emulator, max_error_rate=0.0, **STATUS_FROM_DATA)
    broken = [contact(f"c{i}", f"p{i}@acme.com", data_capture={"lead_status": "Hot"})
              for i in range(3)]
    first = run_target({**config, "max_error_rate": 1.0}, messages(broken))
    assert len(letters(Path(config["dead_letter_path"]))) == 3
    fixed = [{**record, "data_capture": {"lead_status": "Working - Contacted"},
              "updated_at": "2026-11-21T10:00:00Z"} for record in broken]
    second = run_target(config, messages(fixed, state=first.states[-1]))
    assert salesforce_emulator.backend.count("Lead") == 3
    assert letters(Path(config["dead_letter_path"])) == []
    assert second.sync_run.report.count("failed") == 0  # the retried copies count no more
    third = run_target(config, messages([], state=second.states[-1]))
    assert third.sync_run.report.count("failed") == 0


def test_a_letter_whose_record_synced_since_is_retired_unretried(salesforce_emulator):
    config = target_config(salesforce_emulator, **STATUS_FROM_DATA)
    first = run_target(config, messages([contact("c1", "p1@acme.com",
                                                 data_capture={"lead_status": "Hot"})]))
    path = Path(config["dead_letter_path"])
    kept = path.read_text(encoding="utf-8")
    fixed = contact("c1", "p1@acme.com", updated_at="2026-11-22T10:00:00Z")
    second = run_target(config, messages([fixed], state=first.states[-1]))
    path.write_text(kept, encoding="utf-8")  # e.g. written back by hand, or a crash
    third = run_target(config, messages([], state=second.states[-1]))
    assert third.sync_run.dead_letters.retired == 1
    assert third.sync_run.report.count("failed") == 0 and not path.exists()


def test_a_letter_still_failing_is_reported_but_fails_only_its_own_run(salesforce_emulator,
                                                                        tmp_path):
    """A record still bad at the source: its first run fails; later runs report it as a
    retried letter still failing, and fail only on their own new failures; a replay counts it."""
    config = target_config(salesforce_emulator, max_error_rate=0.2, **STATUS_FROM_DATA)
    bad = contact("bad", "bad@acme.com", data_capture={"lead_status": "Hot"})
    with pytest.raises(RuntimeError):
        run_target(config, messages([bad]))
    later = run_target(config, messages([contact("new", "new@acme.com")]))
    report = latest_report(config)
    assert report["error_rate"]["retried"] == {"failed": 1, "attempted": 1}
    assert (report["error_rate"]["failed"], report["error_rate"]["attempted"]) == (0, 1)
    assert later.sync_run.report.count("failed") == 1
    replay = subprocess.run(
        [sys.executable, "-m", "target_salesforce_aimdoc.replay", "--config",
         str(write_config(config, tmp_path))],
        capture_output=True, text=True, timeout=120, check=False)
    assert replay.returncode == 1
    assert "stream contacts: all 1 records the run tried to write" in replay.stderr


# ---------------------------------------------------------------- 4. one file per pipeline
def test_each_pipeline_keeps_and_retries_only_its_own_letters(salesforce_emulator):
    shared = target_config(salesforce_emulator, **STATUS_FROM_DATA)
    aimdoc = {**shared, "pipeline_name": "aimdoc"}
    run_target(aimdoc, messages([contact("c1", "p1@acme.com",
                                         data_capture={"lead_status": "Hot"})]))
    csv = {**shared, "pipeline_name": "csv", "streams": PEOPLE_STREAM,
           "notes": {"enabled": False}}
    other = run_target(csv, people_text([{"id": "r1", "name": "Row", "email": "broken"}]))
    assert {o.key for o in other.sync_run.report.outcomes} == {"r1"}  # no Aimdoc retry
    base = Path(shared["dead_letter_path"])
    assert [line["key"] for line in letters(base.with_name("dead_letters.aimdoc.jsonl"))] == [
        "c1"]
    assert [line["key"] for line in letters(base.with_name("dead_letters.csv.jsonl"))] == ["r1"]
    assert not base.exists()


def test_a_run_without_a_stream_keeps_that_streams_letters(salesforce_emulator):
    """A replay whose `streams` lacks a stream leaves its letters as they were."""
    config = target_config(salesforce_emulator,
                           streams=PEOPLE_STREAM | STATUS_FROM_DATA["streams"])
    run_target(config, messages([contact("c1", "p1@acme.com",
                                         data_capture={"lead_status": "Hot"})]))
    run_target(config, people_text([{"id": "r1", "name": "Row", "email": "broken"}]))
    path = Path(config["dead_letter_path"])
    assert sorted(line["key"] for line in letters(path)) == ["c1", "r1"]
    contacts_only = {**config, "streams": STATUS_FROM_DATA["streams"]}
    replay = subprocess.run(
        [sys.executable, "-m", "target_salesforce_aimdoc.replay", "--config",
         str(write_config(contacts_only, path.parent))],
        capture_output=True, text=True, timeout=120, check=False)
    assert sorted((line["stream"], line["key"]) for line in letters(path)) == [
        ("contacts", "c1"), ("people", "r1")], replay.stderr[-2000:]
    assert "Replayed 1 dead letters" in replay.stderr  # the contacts letter only


def write_config(config: dict, folder: Path) -> Path:
    path = folder / "replay-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_a_retried_letter_and_its_live_row_count_once(salesforce_emulator):
    config = target_config(salesforce_emulator, **STATUS_FROM_DATA)
    record = contact("c1", "p1@acme.com", data_capture={"lead_status": "Hot"})
    first = run_target(config, messages([record]))
    second = run_target(config, messages([record], state=first.states[-1]))
    report = second.sync_run.report
    assert report.count("failed") == 1
    assert latest_report(config)["error_rate"]["attempted"] == 1
    assert len(letters(Path(config["dead_letter_path"]))) == 1


# ---------------------------------------------------------------- 5. reports
def test_counts_per_salesforce_record_and_per_source_record(salesforce_emulator):
    """Four contacts of one company, in two batches: 4 source records, 1 Account created
    (it said 4)."""
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True,
                           batch_size_rows=2)
    people = [contact(f"c{i}", f"p{i}@acme.com", company="Acme") for i in range(4)]
    run_target(config, messages(people))
    report = latest_report(config)
    assert salesforce_emulator.backend.count("Account") == 1
    assert [row for row in report["salesforce_counts"] if row["object"] == "Account"] == [
        {"stream": "contacts", "object": "Account", "outcome": "created", "count": 1}]
    source = {row["outcome"]: row["count"] for row in report["counts"]
              if row["object"] == "Account"}
    assert sum(source.values()) == 4 and source["created"] == 2  # a batch, then matched
    page = (Path(config["report_dir"]) / "run-report.html").read_text(encoding="utf-8")
    assert "<th>Salesforce records</th>" in page and "<th>Source records</th>" in page


def test_one_object_vocabulary_across_tables(salesforce_emulator):
    """A filtered record and a refused one: `whole record` in every table ("-" and
    "record" before)."""
    config = target_config(salesforce_emulator)
    schema = {"type": "object", "properties": {"id": {"type": "string"},
                                               "email": {"type": ["string", "null"]},
                                               "score": {"type": "integer"},
                                               "status": {"type": ["string", "null"]}}}
    text = messages([{"id": "dq", "email": "dq@acme.com", "status": "disqualified"},
                     {"id": "bad", "email": "b@acme.com", "score": "many"}], schema=schema)
    run_target(config, text)
    report = latest_report(config)
    objects = {row["object"] for row in report["counts"]}
    assert objects == {"whole record"}
    assert [failure["object"] for failure in report["failures"]] == ["whole record"]
    page = (Path(config["report_dir"]) / "run-report.html").read_text(encoding="utf-8")
    assert "<td>-</td>" not in page and ">record<" not in page


def test_a_long_records_list_says_what_the_page_left_out():
    records = [{"stream": "contacts", "key": f"c{i}", "name": f"Person {i}",
                "email": f"p{i}@acme.com", "objects": {}} for i in range(2_105)]
    data = {"mode": "applied", "started_at": "2026-12-02T00:00:00", "duration_seconds": 1,
            "api": {"calls": 1, "org_remaining": None}, "counts": [], "skipped_by_rule": [],
            "failures": [], "records": records, "records_left_out": 0,
            "files": {"json": "run-report-x.json"}}
    page = report_files.render_html(data)
    assert "first 2000 of 2105 records; 105 more are in the JSON report" in page
    assert "run-report-x.json" in page
    assert "Person 1999" in page and "Person 2000" not in page


def test_a_report_per_run_and_per_pipeline_with_a_stable_latest(salesforce_emulator):
    config = target_config(salesforce_emulator, pipeline_name="dev:tap-a-to-target-b")
    run_target(config, messages([contact("c1", "p1@acme.com")]))
    run_target(config, messages([contact("c2", "p2@acme.com")]))
    other = {**config, "pipeline_name": "dev:tap-csv-to-target-b"}
    run_target(other, messages([contact("c3", "p3@acme.com")]))
    folder = Path(config["report_dir"]) / "dev-tap-a-to-target-b"
    assert len(list(folder.glob("run-report-*.html"))) == 2
    assert len(list(folder.glob("run-report-*.json"))) == 2
    assert [r["key"] for r in latest_report(config, folder.name)["records"]] == ["c2"]
    csv = latest_report(other, "dev-tap-csv-to-target-b")
    assert [r["key"] for r in csv["records"]] == ["c3"]
    assert not (Path(config["report_dir"]) / "run-report.html").exists()


def test_records_show_the_person_and_the_orgs_duplicate_and_assignment_outcomes(
        salesforce_emulator):
    config = target_config(salesforce_emulator)
    run_target(config, messages([contact("c1", "jane@acme.com", first_name="Jane",
                                         last_name="Doe", company="Acme")]))
    report = latest_report(config)
    (row,) = report["records"]
    assert (row["name"], row["email"]) == ("Jane Doe", "jane@acme.com")
    page = (Path(config["report_dir"]) / "run-report.html").read_text(encoding="utf-8")
    assert "Jane Doe" in page and "jane@acme.com" in page
    data = {"mode": "applied", "started_at": "x", "duration_seconds": 1, "api": {"calls": 1},
            "counts": [], "failures": [], "records": [{
                "stream": "contacts", "key": "c9", "name": "Ann", "email": "a@x.io",
                "objects": {"Lead": {"outcome": "updated", "id": "00Q000000000001AAA",
                                     "duplicates": {"rule": "Standard_Lead_Rule",
                                                    "matches": [["Lead", "00Q000000000001AAA"]]},
                                     "assignment": "assignment rule 01Q000000000001"}}}]}
    page = report_files.render_html(data)
    assert "flagged by duplicate rule Standard_Lead_Rule; matched Lead 00Q000000000001AAA" in (
        page)
    assert "assignment: assignment rule 01Q000000000001" in page


def test_progress_shows_on_short_runs_and_metric_lines_stay_quiet(salesforce_emulator,
                                                                  tmp_path):
    config = target_config(salesforce_emulator, progress_interval_seconds=0,
                           batch_size_rows=20)  # a line after every batch
    text = messages([contact(f"c{i}", f"p{i}@acme.com") for i in range(120)])
    result = run_cli(config, text, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    progress = [line for line in result.stderr.splitlines() if "Progress: " in line]
    assert len(progress) >= 2, result.stderr[-3000:]
    assert "records/s" in progress[0] and "Salesforce API calls" in progress[0]
    assert progress[-1].endswith("(done)") and "120 records" in progress[-1]
    assert "METRIC" not in result.stderr  # the SDK's per-batch lines bury the summary
    assert "Run summary" in result.stderr


# ---------------------------------------------------------------- 6. the CRM objects table
def links_command(tmp_path: Path, state: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"singer_state": state}), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "target_salesforce_aimdoc.crm_objects",
                           "--state", str(path), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_crm_objects_show_the_contacts_note(salesforce_emulator, tmp_path):
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    target = run_target(config, stream_text([contact("c1", "jane@acme.com", company="Acme")],
                                            [conversation("conv1", "c1", 3)]))
    result = links_command(tmp_path, target.states[-1], "--contact", "c1")
    assert result.returncode == 0, result.stderr
    objects = [line.split()[1] for line in result.stdout.splitlines()
               if line.startswith(("contacts/", "transcripts/"))]
    assert objects == ["Lead", "Contact", "Account", "Note"]


def test_crm_objects_unknown_id_is_one_clear_line(tmp_path):
    state = {"salesforce_links": {"version": 1, "instance_url": "https://acme.my.salesforce.com",
                                  "records": {"contacts/c1": {"Lead": "00Q5e00000AbCdEAAA"}}}}
    result = links_command(tmp_path, state, "--contact", "nobody")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: no source record 'nobody' in the state's links (1 records)")


def test_crm_objects_end_cleanly_on_a_closed_pipe(tmp_path):
    records = {f"contacts/c{i}": {"Lead": f"00Q5e{i:013d}"} for i in range(3_000)}
    state = {"salesforce_links": {"version": 1, "instance_url": "https://acme.my.salesforce.com",
                                  "records": records}}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    result = subprocess.run(
        f"set -o pipefail; {sys.executable} -m target_salesforce_aimdoc.crm_objects "
        f"--state {path} | head -n 2", shell=True, executable="/bin/bash",
        capture_output=True, text=True, timeout=120, check=False)
    assert len(result.stdout.splitlines()) == 2
    assert "BrokenPipeError" not in result.stderr and "Traceback" not in result.stderr
    assert result.returncode == 0


# ---------------------------------------------------------------- the small parts
def test_the_pipeline_is_named_as_meltano_names_its_state():
    env = {"MELTANO_ENVIRONMENT": "dev", "MELTANO_EXTRACTOR_NAME": "tap-aimdoc",
           "MELTANO_LOADER_NAME": "target-salesforce-aimdoc"}
    assert run_files.pipeline_name({}, env) == "dev:tap-aimdoc-to-target-salesforce-aimdoc"
    suffixed = {**env, "MELTANO_RUN_STATE_ID_SUFFIX": "acme"}
    assert run_files.pipeline_name({}, suffixed) == (
        "dev:tap-aimdoc-to-target-salesforce-aimdoc:acme")
    assert run_files.pipeline_name({}, {**env, "MELTANO_STATE_ID": "custom"}) == "custom"
    assert run_files.pipeline_name({"pipeline_name": "mine"}, env) == "mine"
    assert run_files.pipeline_name({}, {"MELTANO_ENVIRONMENT": "dev"}) is None
    config = {"dead_letter_path": "out/dead_letters.jsonl", "report_dir": "out"}
    assert str(run_files.dead_letter_path(config, "dev:tap-a-to-target-b")) == (
        "out/dead_letters.dev-tap-a-to-target-b.jsonl")
    assert str(run_files.dead_letter_path(config, None)) == "out/dead_letters.jsonl"
    assert str(run_files.report_folder(config, "dev:tap-a-to-target-b")) == (
        "out/dev-tap-a-to-target-b")


def test_sdk_metrics_are_quiet_unless_the_user_configured_them():
    metrics = logging.getLogger(progress.SDK_METRICS_LOGGER)
    before = metrics.level
    try:
        metrics.setLevel(logging.INFO)
        assert progress.quiet_sdk_metrics({}, {}) == "WARNING"
        assert metrics.level == logging.WARNING
        metrics.setLevel(logging.INFO)
        assert progress.quiet_sdk_metrics({}, {"SINGER_SDK_LOG_CONFIG": "log.yml"}) is None
        assert metrics.level == logging.INFO
        assert progress.quiet_sdk_metrics({"sdk_metrics_log_level": "info"}, {}) == "INFO"
    finally:
        metrics.setLevel(before)


def test_progress_has_an_eta_when_the_total_is_known(caplog):
    meter = progress.Progress(0, lambda: 7)
    meter.expect(1_000)
    with caplog.at_level(logging.INFO, logger="target_salesforce_aimdoc"):
        line = meter.tick(250)
    assert line is not None and "250 records" in line and "7 Salesforce API calls" in line
    assert "s left of 1,000" in line
    assert meter.tick(1_000, final=True).endswith("(done)")
