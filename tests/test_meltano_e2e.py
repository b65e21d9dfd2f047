"""The real main job: meltano install, then meltano run twice against both emulators."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aimdoc_emulators.__main__ import seed_org

ROOT = Path(__file__).resolve().parents[1]
MELTANO = shutil.which("meltano", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.slow


def meltano(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([MELTANO, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture
def meltano_env(tmp_path, salesforce_emulator, aimdoc_emulator):
    env = {**os.environ,
           "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
           "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
           "TAP_AIMDOC_API_URL": aimdoc_emulator.api_url,
           "TAP_AIMDOC_API_KEY": aimdoc_emulator.api_key,
           "TARGET_SALESFORCE_AIMDOC_LOGIN_URL": salesforce_emulator.url,
           "TARGET_SALESFORCE_AIMDOC_CLIENT_ID": "demo-client-id",
           "TARGET_SALESFORCE_AIMDOC_CLIENT_SECRET": "demo-client-secret",
           "TARGET_SALESFORCE_AIMDOC_CA_FILE": str(salesforce_emulator.ca_file),
           "TARGET_SALESFORCE_AIMDOC_REPORT_DIR": str(tmp_path / "report"),
           "TARGET_SALESFORCE_AIMDOC_DEAD_LETTER_PATH": str(tmp_path / "dead_letters.jsonl")}
    installed = meltano("--environment", "demo", "install", env=env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return env


def test_meltano_run_twice_is_incremental(meltano_env, salesforce_emulator, aimdoc_emulator,
                                          tmp_path):
    seed_org(salesforce_emulator, 1, 200)  # the session's Aimdoc data set: seed 1, 200
    tested = meltano("--environment", "demo", "test", "--all", env=meltano_env)
    assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr[-2000:]
    assert "2 test(s) successful" in tested.stdout + tested.stderr
    assert salesforce_emulator.stats()["records"]["created"] == 0  # the check writes nothing
    first = meltano("--environment", "demo", "run", "tap-aimdoc", "target-salesforce-aimdoc",
                    env=meltano_env)
    assert first.returncode == 0, first.stderr[-3000:]
    leads = salesforce_emulator.backend.count("Lead")
    contacts = salesforce_emulator.backend.count("Contact")
    notes = salesforce_emulator.backend.count("ContentNote")
    assert leads > 100 and contacts > 100 and notes > 100
    emails = [r["Email"].lower() for r in salesforce_emulator.backend.all_records("Lead")]
    assert len(emails) == len(set(emails))
    calls_first = salesforce_emulator.stats()["api_calls"]

    state = meltano("--environment", "demo", "state", "get",
                    "demo:tap-aimdoc-to-target-salesforce-aimdoc", env=meltano_env)
    saved = json.loads(state.stdout)
    assert saved["singer_state"]["salesforce_links"]["records"]  # links kept by Meltano

    changes = aimdoc_emulator.backend.advance(days=1, new_contacts=4, enriched_contacts=0,
                                              conversations_with_new_messages=6)
    second = meltano("--environment", "demo", "run", "tap-aimdoc", "target-salesforce-aimdoc",
                     env=meltano_env)
    assert second.returncode == 0, second.stderr[-3000:]
    report = json.loads(next((tmp_path / "report").rglob("run-report.json")).read_text())
    seen = report["records_seen"]
    assert seen["contacts"] < 40  # only the lookback window and the changes, not 200
    assert salesforce_emulator.backend.count("ContentNote") >= notes
    assert salesforce_emulator.backend.count("Lead") <= leads + 4
    calls_second = salesforce_emulator.stats()["api_calls"] - calls_first
    assert calls_second < calls_first
    assert changes["new_messages"] > 0
