"""Transcripts waiting for their contact: a small store of their own, never dead letters.

A transcript whose contact has no Lead or Contact yet (it comes later in the run, or a later
run syncs it) is parked here: one JSONL file per pipeline, next to its dead letters
(``dead_letters[.<pipeline>].parked.jsonl``). A line is appended as soon as a transcript is
parked, before the state moves past it; at the end of the run the file is rewritten with what
still waits (removed when nothing does). Each run writes the notes of parked transcripts whose
contact has synced meanwhile, in that run or a later one.

Bounded: a transcript whose contact a filtering rule skipped is not parked (it is a skip,
counted with the rule); one waiting longer than ``max_age_days`` (default 14) is given up
(counted as a skip); past ``max_records`` (default 10,000) the longest-waiting go first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from target_salesforce_aimdoc import redaction
from target_salesforce_aimdoc.mapping import json_safe

LOGGER = logging.getLogger("target_salesforce_aimdoc.parked")


@dataclass
class Parked:
    """One waiting transcript."""

    key: str
    contact: str
    since: str  # when it was first parked (ISO, UTC)
    record: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The file's line."""
        return {"key": self.key, "contact": self.contact, "since": self.since,
                "record": self.record}


class ParkedNotes:
    """The parked transcripts of a pipeline."""

    def __init__(self, path: str | Path | None, *, durable: bool = True,
                 max_records: int = 10_000, max_age_days: float = 14) -> None:
        self.path = Path(path) if path else None
        self.durable = durable and self.path is not None
        self.max_records = max_records
        self.max_age = dt.timedelta(days=max_age_days)
        self.items: dict[str, Parked] = {}
        self.given_up: dict[str, str] = {}  # key -> why, this run

    def load(self) -> dict[str, str]:
        """Read the file (latest line per transcript wins); return key -> contact key."""
        if self.path is None or not self.path.exists():
            return {}
        with self.path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                try:
                    line = json.loads(text)
                    item = Parked(str(line["key"]), str(line["contact"]), str(line["since"]),
                                  dict(line["record"]))
                except (ValueError, KeyError, TypeError):
                    LOGGER.warning("%s line %d cannot be read; skipped", self.path, number)
                    continue
                earlier = self.items.pop(item.key, None)
                if earlier is not None:
                    item.since = min(earlier.since, item.since)
                self.items[item.key] = item
        return self.waiting()

    def waiting(self) -> dict[str, str]:
        """Key -> contact key of every parked transcript."""
        return {key: item.contact for key, item in self.items.items()}

    def park(self, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Park ``(key, contact key, transcript)`` entries (appended to the file at once)."""
        if not entries:
            return
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        added = []
        for key, contact, record in entries:
            earlier = self.items.pop(key, None)
            item = Parked(key, contact, earlier.since if earlier else now, record)
            self.items[key] = item
            added.append(item)
        while len(self.items) > self.max_records:
            oldest = min(self.items.values(), key=lambda item: item.since)
            self.drop({oldest.key}, why="parked_overflow")
        if self.durable:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write("".join(map(_dumps, added)))

    def records(self, keys: set[str]) -> list[dict[str, Any]]:
        """The transcripts with these keys (they stay parked until dropped)."""
        return [self.items[key].record for key in sorted(keys) if key in self.items]

    def take(self, keys: set[str]) -> list[dict[str, Any]]:
        """The transcripts with these keys, removed from the store."""
        return [self.items.pop(key).record for key in sorted(keys) if key in self.items]

    def drop(self, keys: set[str], why: str | None = None) -> None:
        """Forget these transcripts (written, or given up ``why``)."""
        for key in keys:
            if self.items.pop(key, None) is not None and why:
                self.given_up[key] = why

    def expired(self, now: dt.datetime | None = None) -> set[str]:
        """Keys of transcripts parked longer than ``max_age_days``."""
        limit = ((now or dt.datetime.now(dt.UTC)) - self.max_age).isoformat(timespec="seconds")
        return {key for key, item in self.items.items() if item.since < limit}

    def write(self) -> None:
        """Rewrite the file with what still waits (atomically); remove it when nothing does."""
        if self.path is None or not self.durable:
            return
        if not self.items:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        with temporary.open("w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.writelines(map(_dumps, self.items.values()))
        os.replace(temporary, self.path)
        LOGGER.info("%d transcripts wait for their contact in %s", len(self.items), self.path)


def _dumps(item: Parked) -> str:
    line = redaction.scrub_obj(item.to_json())
    return json.dumps(json_safe(line), ensure_ascii=False, default=str) + "\n"
