"""Dead letters: every record and object that Salesforce or our checks rejected, as JSONL.

One line per record and object: stream, record key, object, error codes and messages, the
mapped payload, the source record (so a later run can retry it through the current mapping),
and the time. Secrets never reach it: lines hold record data and Salesforce's answers only.
At the start of a run the file's records are retried; at the end it is rewritten with what
still fails (and removed when nothing does).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.mapping import json_safe

if TYPE_CHECKING:
    from target_salesforce_aimdoc.report import Outcome

LOGGER = logging.getLogger("target_salesforce_aimdoc.deadletters")


class DeadLetters:
    """The dead-letter file of a run."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.lines: list[dict[str, Any]] = []

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        """Source records of the file by stream (each record once, the latest line wins)."""
        if self.path is None or not self.path.exists():
            return {}
        records: dict[tuple[str, str], dict[str, Any]] = {}
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    LOGGER.warning("%s line %d is not JSON; skipped", self.path, number)
                    continue
                if isinstance(entry.get("record"), dict):
                    records[(entry["stream"], str(entry["key"]))] = entry["record"]
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for (stream, _), record in records.items():
            by_stream.setdefault(stream, []).append(record)
        return by_stream

    def add(self, outcome: Outcome, record: dict[str, Any] | None,
            payload: dict[str, Any] | None = None) -> None:
        """Keep one failed record and object."""
        self.lines.append({
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "stream": outcome.stream,
            "key": outcome.key,
            "object": outcome.sobject,
            "errors": [{"code": e.get("statusCode"), "message": e.get("message"),
                        "fields": e.get("fields", [])} for e in outcome.errors],
            "payload": json_safe(payload or {}),
            "record": json_safe(record) if record is not None else None,
        })

    def write(self) -> None:
        """Rewrite the file with this run's dead letters (atomically); remove it if none."""
        if self.path is None:
            return
        if not self.lines:
            if self.path.exists():
                self.path.unlink()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            for line in self.lines:
                handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        os.replace(temporary, self.path)
        LOGGER.warning("%d dead letters written to %s", len(self.lines), self.path)
