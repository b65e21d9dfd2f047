"""Dead letters: every record and object that Salesforce or our checks rejected, as JSONL.

One line per record and object: stream, record key, object, error codes and messages (the
reason: a letter always has one), the mapped payload, the source record (so a later run can
retry it through the current mapping), and the time. Records a filtering rule skipped and
transcripts waiting for their contact are not failures and never letters (see ``parked``).
Secrets never reach it: lines hold record data and Salesforce's answers only, and are scrubbed
of every known secret (``redaction``) in case an answer echoed one.

One file per pipeline (``run_files``); within it, a run handles only the letters of the streams
it syncs: the others' lines are kept as they are. A letter is retired when its record
succeeds later (retried, or a newer version in the live stream), or when a newer version of
the record was synced since it failed.

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
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc import redaction
from target_salesforce_aimdoc.mapping import json_safe

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

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
        self._carried: list[str] = []  # lines of streams this run does not handle, kept as is
        self._latest: dict[tuple[str, str], int] = {}  # record -> its last add's first line
        self.retired = 0  # letters of earlier runs dropped unretried (synced since)

    @property
    def retrying(self) -> Path | None:
        """Where the previous run's dead letters wait while they are retried."""
        return self.path.with_name(self.path.name + ".retrying") if self.path else None

    def pending(self, handles: Callable[[str], bool] | None = None,
                stale: Callable[[str, dict[str, Any]], bool] | None = None,
                ) -> dict[str, list[dict[str, Any]]]:
        """Take the previous runs' records for retry, by stream (each record once).

        Only streams ``handles`` accepts are taken; the other lines stay in the file as they
        are. A record ``stale`` says was synced since (a newer version) is retired unretried.
        """
        if self.path is None:
            return {}
        records: dict[tuple[str, str], dict[str, Any]] = {}
        carried: dict[tuple[str, str, str | None], str] = {}
        for source in (self.retrying, self.path):
            if source is not None and source.exists():
                taken, others = self._read(source, handles)
                records.update(taken)
                carried.update(others)
        if self.durable and self.path.exists():
            with self.retrying.open("a", encoding="utf-8") as keep:  # type: ignore[union-attr]
                keep.write(self.path.read_text(encoding="utf-8"))
            self.path.unlink()
        self._taken = True
        self._carried = list(carried.values())
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for (stream, _), record in records.items():
            if stale is not None and stale(stream, record):
                self.retired += 1
                continue
            by_stream.setdefault(stream, []).append(record)
        if self.retired:
            LOGGER.info("Retired %d dead letters: a newer version of their record was synced "
                        "since", self.retired)
        return by_stream

    @staticmethod
    def _read(path: Path, handles: Callable[[str], bool] | None = None,
              ) -> tuple[dict[tuple[str, str], dict[str, Any]],
                         dict[tuple[str, str, str | None], str]]:
        """The records of handled streams, and the other streams' lines (text, latest each)."""
        records: dict[tuple[str, str], dict[str, Any]] = {}
        others: dict[tuple[str, str, str | None], str] = {}
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    LOGGER.warning("%s line %d is not JSON; skipped", path, number)
                    continue
                if not isinstance(entry, dict) or not isinstance(entry.get("stream"), str):
                    continue
                if handles is not None and not handles(entry["stream"]):
                    others[(entry["stream"], str(entry.get("key")), entry.get("object"))] = (
                        line if line.endswith("\n") else line + "\n")
                elif isinstance(entry.get("record"), dict):
                    records[(entry["stream"], str(entry["key"]))] = entry["record"]
        return records, others

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
        lines = redaction.scrub_obj(
            [_line(outcome, record, payload, now) for outcome, record, payload in entries])
        self.count += len(lines)
        self._resolved -= {(outcome.stream, outcome.key) for outcome, _, _ in entries}
        for outcome, _, _ in entries:  # this add replaces the record's earlier lines
            self._latest[(outcome.stream, outcome.key)] = len(self._appended)
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
        """Records that succeeded after all (e.g. notes whose contact synced): drop their lines.

        Only records with a line in the file are kept to drop (every batch resolves all its
        records: keeping each would grow with the run); all of them while the file holds
        lines someone else appended.
        """
        foreign = self._size == -2 or (
            self.path is not None and self.path.exists()
            and self.path.stat().st_size != max(self._size, 0))
        self._resolved |= {(stream, key) for key in keys
                           if foreign or (stream, key) in self._latest}

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
        """Rewrite the file with this run's dead letters (atomically); remove it if none.

        Lines of streams this run did not handle are kept first, as they were.
        """
        if self.path is None or not self.durable:
            return
        last, total = {}, 0  # a record and object failing twice keeps its latest line
        for total, (key, _) in enumerate(self._file_lines(), start=1):
            last[key] = total - 1
        known = self.path.exists() and self.path.stat().st_size == self._size
        keep = {number for key, number in last.items() if key[:2] not in self._resolved
                and (not known or number >= self._latest.get(key[:2], 0))}
        kept = len(keep) + len(self._carried)
        if kept and (kept < total or self._carried):
            temporary = self.path.with_suffix(self.path.suffix + ".tmp")
            with temporary.open("w", encoding="utf-8") as handle:
                handle.writelines(self._carried)
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _dumps(line: dict[str, Any]) -> str:
    text = json.dumps(line, ensure_ascii=False, default=_json_value)
    if _SURROGATE.search(text):  # a lone surrogate cannot be written as UTF-8: escape it
        text = json.dumps(line, default=_json_value)
    return text + "\n"


def _json_value(value: Any) -> Any:
    """What JSON cannot carry as is (Decimals, datetimes, sets), as ``json_safe`` has it."""
    safe = json_safe(value)
    return str(safe) if safe is value else safe
