"""Build Singer messages and run the real target on them against the Salesforce emulator."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": ["string", "null"]},
        "last_name": {"type": ["string", "null"]},
        "company": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]},
        "job_title": {"type": ["string", "null"]},
        "website": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
        "score": {"type": ["integer", "null"]},
        "qualification": {"type": ["array", "null"], "items": {"type": "object", "properties": {
            "question_id": {"type": "string"}, "question": {"type": "string"},
            "answer": {"type": ["string", "null"]}}}},
        "data_capture": {"type": ["object", "null"], "additionalProperties": True},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}


def target_config(emulator: Any, **overrides: Any) -> dict[str, Any]:
    """Client-credentials config for the emulator; output in a new temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="target-output-"))
    return {
        "report_dir": str(folder),
        "dead_letter_path": str(folder / "dead_letters.jsonl"),
        "max_error_rate": 1.0,
        "login_url": emulator.url,
        "client_id": "demo-client-id",
        "client_secret": "demo-client-secret",
        "ca_file": str(emulator.ca_file),
        **overrides,
    }


def contact(key: str, email: str | None, **fields: Any) -> dict[str, Any]:
    """A tap-aimdoc contacts record."""
    return {"id": key, "email": email, "first_name": fields.pop("first_name", "Pat"),
            "last_name": fields.pop("last_name", f"Person {key}"),
            "company": fields.pop("company", None), "status": fields.pop("status", "qualified"),
            "updated_at": "2026-11-20T10:00:00Z", **fields}


def messages(records: list[dict[str, Any]], stream: str = "contacts",
             schema: dict[str, Any] | None = None, key: str = "id",
             state: dict[str, Any] | None = None,
             initial_state: dict[str, Any] | None = None, state_every: int = 0) -> str:
    """SCHEMA, RECORDs and a STATE as Singer JSON lines (``initial_state`` goes first, as a
    tap that passes the previous run's state through sends it)."""
    lines: list[dict[str, Any]] = []
    if initial_state is not None:
        lines.append({"type": "STATE", "value": initial_state})
    lines += [{"type": "SCHEMA", "stream": stream, "key_properties": [key],
               "schema": schema or CONTACT_SCHEMA}]
    for number, record in enumerate(records, start=1):
        lines.append({"type": "RECORD", "stream": stream, "record": record})
        if state_every and number % state_every == 0:  # a tap's periodic bookmark
            lines.append({"type": "STATE", "value": {"bookmarks": {stream: {"position": number}}}})
    lines.append({"type": "STATE", "value": state or {"bookmarks": {stream: {}}}})
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def run_target(config: dict[str, Any], text: str) -> TargetSalesforceAimdoc:
    """Run the target on Singer text; return it (``sync_run`` holds the report, ``states``
    the STATE values it emitted)."""
    target = TargetSalesforceAimdoc(config=config)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(text))
    target.states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return target
