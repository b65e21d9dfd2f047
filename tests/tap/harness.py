"""Run tap-aimdoc in-process against the emulator and collect what it writes."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field

from tap_aimdoc.tap import TapAimdoc

# Short waits so retries cost little in tests; the emulator sends Retry-After itself.
FAST = {"backoff_factor": 0.01, "max_retry_wait": 2, "max_tries": 10, "request_timeout": 10}


@dataclass
class SyncResult:
    """RECORD and STATE messages of one run, and the exception that ended it, if any."""

    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict] = field(default_factory=list)
    error: BaseException | None = None
    output: str = ""
    logs: str = ""

    @property
    def state(self) -> dict:
        """The last STATE message's value."""
        return self.states[-1]

    def counts(self) -> dict[str, int]:
        """Records per stream (streams without records are left out)."""
        return {stream: len(rows) for stream, rows in self.records.items() if rows}

    def ids(self, stream: str, key: str = "id") -> list[str]:
        """The key of each record of a stream, in output order."""
        return [row[key] for row in self.records.get(stream, [])]


def config(emulator: object, **overrides: object) -> dict:
    """Tap settings pointing at an emulator."""
    return {"api_key": emulator.api_key, "api_url": emulator.api_url, **FAST, **overrides}


def run_tap(settings: dict, state: dict | None = None, catalog: dict | None = None,
            stdout: io.TextIOBase | None = None) -> SyncResult:
    """Run one sync; a failure is kept in ``error`` with the output written before it.

    The tap writes to ``stdout`` if given (a seekable text stream).
    """
    stdout = stdout or io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    stderr = io.StringIO()
    result = SyncResult()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            tap = TapAimdoc(config=settings, state=state or {}, catalog=catalog,
                            parse_env_config=False)
            tap.sync_all()
        except Exception as exc:
            result.error = exc
    stdout.seek(0)
    result.output, result.logs = stdout.read(), stderr.getvalue()
    for line in result.output.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            result.records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            result.states.append(message["value"])
    return result


def select_only(settings: dict, streams: set[str]) -> dict:
    """A catalog from discovery with only ``streams`` selected."""
    catalog = TapAimdoc(config=settings, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
