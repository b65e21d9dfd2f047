"""Dead letters: every record and object that Salesforce or our checks rejected, as JSONL.

One line per record and object: stream, record key, object, error codes and messages, the
mapped payload, the source record (so a later run can retry it through the current mapping),
and the time. Secrets never reach it: lines hold record data and Salesforce's answers only.

Durable before the state moves on: a line is appended (and flushed) as soon as a record fails,
so a run killed after emitting state loses nothing. At the start of a run the file's records
are taken for retry (the file is set aside as ``*.retrying`` until the run finishes); at the
end the file is rewritten with what still fails, or removed when nothing does.
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
    from collections.abc import Iterator

    from target_salesforce_aimdoc.report import Outcome

LOGGER = logging.getLogger("target_salesforce_aimdoc.deadletters")


class DeadLetters:
    """The dead-letter file of a run."""

    def __init__(self, path: str | Path | None, *, durable: bool = True) -> None:
        self.path = Path(path) if path else None
        self.durable = durable and self.path is not None
        self.lines: list[dict[str, Any]] = []  # kept in memory only when not durable
        self.count = 0
        self._resolved: set[tuple[str, str]] = set()
        self._taken = False
        self._appended: list[tuple[str, str, str | None]] = []  # (stream, key, object) a line
        self._size = -1  # the file's size after this run's appends (-2: not only ours)

    @property
    def retrying(self) -> Path | None:
        """Where the previous run's dead letters wait while they are retried."""
        return self.path.with_name(self.path.name + ".retrying") if self.path else None

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        """Take the previous runs' records for retry, by stream (each record once)."""
        if self.path is None:
            return {}
        records: dict[tuple[str, str], dict[str, Any]] = {}
        for source in (self.retrying, self.path):
            if source is not None and source.exists():
                records.update(self._read(source))
        if self.durable and self.path.exists():
            with self.retrying.open("a", encoding="utf-8") as keep:  # type: ignore[union-attr]
                keep.write(self.path.read_text(encoding="utf-8"))
            self.path.unlink()
        self._taken = True
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for (stream, _), record in records.items():
            by_stream.setdefault(stream, []).append(record)
        return by_stream

    @staticmethod
    def _read(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
        records: dict[tuple[str, str], dict[str, Any]] = {}
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    LOGGER.warning("%s line %d is not JSON; skipped", path, number)
                    continue
                if isinstance(entry.get("record"), dict):
                    records[(entry["stream"], str(entry["key"]))] = entry["record"]
        return records

    def add(self, outcome: Outcome, record: dict[str, Any] | None,
            payload: dict[str, Any] | None = None) -> None:
        """Keep one failed record and object (appended to the file at once when durable)."""
        self.add_many([(outcome, record, payload)])

    def add_many(self, entries: list[tuple[Outcome, dict[str, Any] | None,
                                          dict[str, Any] | None]]) -> None:
        """Keep failed records and objects: ``(outcome, source record, payload)`` each."""
        if not entries:
            return
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        lines = [_line(outcome, record, payload, now) for outcome, record, payload in entries]
        self.count += len(lines)
        self._resolved -= {(outcome.stream, outcome.key) for outcome, _, _ in entries}
        if not self.durable:
            self.lines += map(json_safe, lines)
            return
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            ours = handle.tell() == max(self._size, 0)  # else others' lines are in the file
            handle.write("".join(map(_dumps, lines)))
            self._size = handle.tell() if ours and self._size != -2 else -2
        self._appended += [(line["stream"], line["key"], line["object"]) for line in lines]

    def resolve(self, stream: str, keys: set[str]) -> None:
        """Records that succeeded after all (e.g. notes whose contact synced): drop their lines."""
        self._resolved |= {(stream, key) for key in keys}

    def unresolve(self, stream: str, keys: set[str]) -> None:
        """Keep these records' lines after all (e.g. notes still waiting for their contact)."""
        self._resolved -= {(stream, key) for key in keys}

    def records(self, stream: str, keys: set[str]) -> list[dict[str, Any]]:
        """Source records of ``stream`` with these keys among the run's dead letters."""
        found: dict[str, dict[str, Any]] = {}
        if not self.durable:
            lines: Any = self.lines
        else:  # only the lines of these records are parsed
            lines = (json.loads(text) for (s, key, _), text in self._file_lines()
                     if s == stream and key in keys)
        for line in lines:
            if line["stream"] == stream and line["key"] in keys and line.get("record"):
                found[line["key"]] = line["record"]
        return list(found.values())

    def _file_lines(self) -> Iterator[tuple[tuple[str, str, str | None], str]]:
        """The file's lines as written, each with its (stream, key, object), one at a time.

        The keys are those remembered as the lines were appended; a file that holds other
        lines too (its size is not what this run wrote) is parsed instead.
        """
        if self.path is None or not self.path.exists():
            return
        known = self.path.stat().st_size == self._size
        with self.path.open(encoding="utf-8") as handle:
            texts = (line for line in handle if line.strip())
            if known:
                yield from zip(self._appended, texts, strict=True)
                return
            for text in texts:
                line = json.loads(text)
                yield (line["stream"], line["key"], line["object"]), text

    def write(self) -> None:
        """Rewrite the file with this run's dead letters (atomically); remove it if none."""
        if self.path is None or not self.durable:
            return
        last, total = {}, 0  # a record and object failing twice keeps its latest line
        for total, (key, _) in enumerate(self._file_lines(), start=1):
            last[key] = total - 1
        keep = {number for key, number in last.items() if key[:2] not in self._resolved}
        kept = len(keep)
        if kept and kept < total:
            temporary = self.path.with_suffix(self.path.suffix + ".tmp")
            with temporary.open("w", encoding="utf-8") as handle:
                handle.writelines(text for number, (_, text) in enumerate(self._file_lines())
                                  if number in keep)
            os.replace(temporary, self.path)
        if kept == 0:
            self.path.unlink(missing_ok=True)
        else:
            LOGGER.warning("%d dead letters written to %s", kept, self.path)
        if self._taken and self.retrying is not None:
            self.retrying.unlink(missing_ok=True)


def _line(outcome: Outcome, record: dict[str, Any] | None, payload: dict[str, Any] | None,
          time: str) -> dict[str, Any]:
    return {
        "time": time,
        "stream": outcome.stream,
        "key": outcome.key,
        "object": outcome.sobject,
        "outcome": outcome.outcome,
        "errors": [{"code": e.get("statusCode"), "message": e.get("message"),
                    "fields": e.get("fields", [])} for e in outcome.errors],
        "payload": payload or {},
        "record": record,
    }


def _iter_lines(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _dumps(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, default=_json_value) + "\n"


def _json_value(value: Any) -> Any:
    """What JSON cannot carry as is (Decimals, datetimes, sets), as ``json_safe`` has it."""
    safe = json_safe(value)
    return str(safe) if safe is value else safe
