"""No secret setting reaches anything the tap writes, even when the API echoes it back."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

from tap_aimdoc.redaction import MASK, Redactor
from tests.tap.harness import config, run_tap

TAP = str(Path(sys.executable).with_name("tap-aimdoc"))
SECRET_KEY = "ak_live_s3cr3t_9f8e7d6c5b4a"


def echoing(emulator):
    """The emulator accepts SECRET_KEY and answers every /contacts request with an echo."""
    emulator.backend.add_key(SECRET_KEY)
    emulator.backend.generate(seed=2, contacts=5)
    emulator.backend.set_faults({"script": [
        {"path": "/api/v1/contacts", "echo": True, "after": 1, "times": 1000}]})


def test_an_echoing_500_leaks_the_key_nowhere_the_cli_writes(aimdoc_emulator, tmp_path):
    echoing(aimdoc_emulator)
    settings = config(aimdoc_emulator, api_key=SECRET_KEY, max_tries=2)
    (tmp_path / "config.json").write_text(json.dumps(settings))
    (tmp_path / "state.json").write_text(json.dumps({"bookmarks": {}}))
    result = subprocess.run([TAP, "--config", "config.json", "--state", "state.json"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            check=False)
    assert result.returncode != 0
    # The echo did carry the key, and the failure is reported.
    assert aimdoc_emulator.backend.stats.faults["500"] == 2
    assert "500" in result.stderr
    assert "Authorization" in result.stderr  # the echoed headers are logged...
    assert MASK in result.stderr  # ...with the key masked
    for text in (result.stdout, result.stderr):
        assert SECRET_KEY not in text
    for path in tmp_path.iterdir():
        assert SECRET_KEY not in path.read_text() or path.name == "config.json"


def test_in_process_logs_and_state_hold_no_key(aimdoc_emulator):
    echoing(aimdoc_emulator)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)  # a handler added after the tap started
    try:
        result = run_tap(config(aimdoc_emulator, api_key=SECRET_KEY, max_tries=2))
    finally:
        logging.getLogger().removeHandler(handler)
    assert result.error is not None
    assert SECRET_KEY in str(result.error)  # the raw exception does hold it...
    for text in (result.output, result.logs, stream.getvalue(), json.dumps(result.states)):
        assert SECRET_KEY not in text  # ...nothing written does
    assert MASK in stream.getvalue()


def test_the_redactor_scrubs_messages_tracebacks_and_encoded_forms():
    redactor = Redactor()
    redactor.add(["ak_a/b+c=d", "abc", None])  # too short to scrub: "abc"
    assert redactor.scrub("x ak_a/b+c=d y ak_a%2Fb%2Bc%3Dd z abc") == \
        f"x {MASK} y {MASK} z abc"
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "key %s", ("ak_a/b+c=d",),
                               None)
    try:
        raise ValueError("Bearer ak_a/b+c=d")
    except ValueError:
        record.exc_info = sys.exc_info()
    redactor.scrub_record(record)
    text = logging.Formatter().format(record)
    assert "ak_a/b+c=d" not in text
    assert text.startswith(f"key {MASK}\n")
    assert f"ValueError: Bearer {MASK}" in text
