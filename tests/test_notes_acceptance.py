"""Issue acceptance: 300 contacts with conversations through tap | target, three runs."""

from __future__ import annotations

import json
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path

import pytest

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def sync(tmp_path: Path, name: str, tap_config: Path, target_config: Path,
         state: Path | None) -> Path:
    """tap-aimdoc | target-salesforce-aimdoc, state in and out as Meltano would."""
    tap_cmd = [str(BIN / "tap-aimdoc"), "--config", str(tap_config)]
    if state is not None:
        tap_cmd += ["--state", str(state)]
    out = tmp_path / f"{name}.state"
    with out.open("w") as state_out:
        tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        target = subprocess.run([str(BIN / "target-salesforce-aimdoc"), "--config",
                                 str(target_config)], stdin=tap.stdout, stdout=state_out,
                                stderr=subprocess.PIPE, text=True, timeout=600, check=False)
        tap.wait(timeout=600)
    assert tap.returncode == 0
    assert target.returncode == 0, target.stderr[-3000:]
    lines = [line for line in out.read_text().splitlines() if line.strip()]
    out.write_text(lines[-1])
    return out


def escape(text: str) -> str:
    return html_escape(text, quote=True).replace("&#x27;", "&#39;")


def notes_by_conversation(salesforce):
    notes = {}
    for note in salesforce.backend.all_records("ContentNote"):
        short = note["Title"].rsplit(" · ", 1)[-1]
        notes.setdefault(short, []).append(salesforce.backend.note_content(note["Id"]).decode())
    return notes


def expected_notes(aimdoc, synced_contacts):
    conversations = [c for c in aimdoc.backend.dataset.conversations
                     if c.get("contact_id") in synced_contacts]
    return {c["id"][-12:]: c for c in conversations}


def latest_message(aimdoc, conversation_id):
    messages = [m for m in aimdoc.backend.dataset.messages
                if m["conversation_id"] == conversation_id]
    return max(messages, key=lambda m: (m["created_at"], m["id"]))


@pytest.mark.parametrize("lose_state", [False, True])
def test_one_note_per_conversation_over_three_runs(salesforce_emulator, tmp_path, lose_state):
    aimdoc = AimdocEmulator(seed=5, contacts=300).start()
    try:
        tap_config = tmp_path / "tap.json"
        tap_config.write_text(json.dumps({"api_key": aimdoc.api_key, "api_url": aimdoc.api_url,
                                          "start_date": "2020-01-01T00:00:00Z"}))
        target_config = tmp_path / "target.json"
        target_config.write_text(json.dumps({
            "login_url": salesforce_emulator.url, "client_id": "demo-client-id",
            "client_secret": "demo-client-secret", "ca_file": str(salesforce_emulator.ca_file),
            "sync_contacts": True, "sync_accounts": True, "report_dir": str(tmp_path / "r"),
            "dead_letter_path": str(tmp_path / "dead.jsonl")}))
        state = sync(tmp_path, "first", tap_config, target_config, None)
        aimdoc.backend.advance(days=1, conversations_with_new_messages=40, new_contacts=5)
        state = sync(tmp_path, "second", tap_config, target_config, state)
        if lose_state:
            state = None
        before = salesforce_emulator.stats()["records"]["by_object"].get("ContentNote", {})
        sync(tmp_path, "third", tap_config, target_config, state)
        after = salesforce_emulator.stats()["records"]["by_object"].get("ContentNote", {})

        links = json.loads((tmp_path / "second.state").read_text())["salesforce_links"]
        synced = {name.split("/", 1)[1] for name, link in links["records"].items()
                  if name.startswith("contacts/") and (link.get("Lead") or link.get("Contact"))}
        notes = notes_by_conversation(salesforce_emulator)
        expected = expected_notes(aimdoc, synced)
        assert set(notes) == set(expected)
        assert all(len(found) == 1 for found in notes.values())  # exactly one each
        for short, conversation in expected.items():
            latest = latest_message(aimdoc, conversation["id"])
            head = latest["content"].split("\n", 1)[0][:30]
            if head.isprintable():  # the newest message is there, escaped for the note
                assert escape(head) in notes[short][0], short
        if not lose_state:
            assert after == before  # the third run (no change) wrote no note
        for sobject in ("Lead", "Contact", "Account"):
            rows = salesforce_emulator.backend.all_records(sobject)
            keys = [r.get("Email") or r.get("Website") for r in rows]
            assert len(keys) == len(set(keys)), sobject
    finally:
        aimdoc.stop()
