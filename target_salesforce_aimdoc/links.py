"""Link records: source record -> Salesforce ids, kept in Meltano state between runs.

The target adds them to the STATE it emits under ``salesforce_links`` (bounded: the most
recently synced records are kept), the tap hands that key back on the next run, and the target
reads it from the first STATE message. Each link also keeps the source record's ``updated_at``
as of its last sync: a record not changed since is skipped without a query or a write, and an
older record of the same person never overwrites a newer one. Salesforce stays authoritative:
with the state lost, matching by email and domain finds the same records.

Eviction never loses work within a run: a link pushed out of the bounded store is kept in a
temporary on-disk table (``_Spill``) until the run ends, so a transcript later in the run still
finds its contact's records, and a record synced again keeps its other objects' ids. Only the
state written is bounded.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import re
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import IO, Any

LOGGER = logging.getLogger("target_salesforce_aimdoc.links")
STATE_KEY = "salesforce_links"
STATE_VERSION = 1
OBJECTS = ("Account", "Contact", "Lead", "Note")
_ID = re.compile(r"^([A-Za-z0-9]{15}|[A-Za-z0-9]{18})?$")  # "" marks a deliberate skip


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def _parse(text: Any) -> dt.datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def org_of(token: str | None) -> str | None:
    """The 15-character org id a session id starts with (``00D...!...``), if it has one."""
    if token and "!" in token and token.startswith("00D"):
        return token.split("!", 1)[0][:15]
    return None


@dataclass(slots=True)
class Link:
    """The Salesforce records one source record is synced to."""

    ids: dict[str, str] = field(default_factory=dict)
    updated_at: dt.datetime | None = None
    meta: dict[str, Any] | None = None  # e.g. a note's digest and records

    def to_json(self) -> dict[str, Any]:
        """Compact JSON for the state."""
        data: dict[str, Any] = dict(self.ids)
        if self.meta:
            data["meta"] = self.meta
        if self.updated_at:
            data["updated_at"] = _iso(self.updated_at)
        return data  # the state keeps links in sync order: no need for synced_at

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Link:
        """Read a state entry (unknown keys, and values of the wrong type, are ignored)."""
        ids = {name: data[name] for name in OBJECTS
               if isinstance(data.get(name), str) and _ID.match(data[name])}
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else None
        return cls(ids, _parse(data.get("updated_at")), meta)


class _Spill:
    """Links evicted from memory during a run, in a private temporary SQLite file.

    The file is SQLite's own temporary database (removed when closed); memory stays flat
    however many links are pushed out.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self.db.execute("CREATE TABLE link (name TEXT PRIMARY KEY, data TEXT NOT NULL)")
        self.count = 0

    def put(self, name: str, link: Link) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO link VALUES (?, ?)",
                            (name, json.dumps(link.to_json())))
            self.count += 1

    def take(self, name: str, *, remove: bool = False) -> Link | None:
        with self.lock:
            row = self.db.execute("SELECT data FROM link WHERE name = ?", (name,)).fetchone()
            if row is not None and remove:
                self.db.execute("DELETE FROM link WHERE name = ?", (name,))
        return Link.from_json(json.loads(row[0])) if row else None


class LinkStore:
    """Links by ``stream/key``, most recently synced last; a reverse index id -> watermark."""

    def __init__(self, max_records: int = 50_000) -> None:
        self.max_records = max_records
        self.instance_url: str | None = None
        self.links: OrderedDict[str, Link] = OrderedDict()
        # Both bounded like the links, so memory stays flat however many records a run sees.
        self.watermarks: OrderedDict[str, dt.datetime] = OrderedDict()
        self.changed: OrderedDict[str, None] = OrderedDict()
        self.loaded = False
        self.org_id: str | None = None  # the org the links belong to
        self.origin: str | None = None  # which config (login URL, user) wrote them
        self.saved_origin: str | None = None
        self._spill: _Spill | None = None  # links evicted during this run
        # Old id -> new id of records replaced this run (a deleted Lead made again), so the
        # notes attached to the old one can be attached to the new one.
        self.moved: dict[str, str] = {}

    @staticmethod
    def key(stream: str, source_key: str) -> str:
        """The state key of a source record."""
        return f"{stream}/{source_key}"

    def load(self, state: Any) -> None:
        """Read links from a state dict (once; later calls are ignored).

        What cannot be read is ignored with a warning: Salesforce matching takes over. Links
        saved against another org (a sandbox's state used on production) are dropped.
        """
        if self.loaded:
            return
        self.loaded = True
        saved = state.get(STATE_KEY) if isinstance(state, dict) else None
        if saved is None:
            return
        if not isinstance(saved, dict) or not isinstance(saved.get("records") or {}, dict):
            LOGGER.warning("The state's %s is not an object of links; ignoring it (records "
                           "are matched in Salesforce instead)", STATE_KEY)
            return
        saved_org = saved.get("org_id") if isinstance(saved.get("org_id"), str) else None
        if self.org_id and saved_org and saved_org[:15] != self.org_id:
            LOGGER.warning("The state's links belong to org %s, not %s; ignoring them",
                           saved_org, self.org_id)
            return
        self.org_id = self.org_id or saved_org
        origin = saved.get("origin")
        self.saved_origin = origin if isinstance(origin, str) else None
        if isinstance(saved.get("instance_url"), str):
            self.instance_url = self.instance_url or saved["instance_url"]
        bad = 0
        for name, data in (saved.get("records") or {}).items():
            if not isinstance(data, dict) or not isinstance(name, str):
                bad += 1
                continue
            link = Link.from_json(data)
            self.links[name] = link
            self._index(link)
        if bad:
            LOGGER.warning("Ignored %d link records of the state that could not be read", bad)

    def trusted_before_login(self) -> bool:
        """Whether links may be trusted before the run has logged in.

        So when the config is the one that saved them (or the state predates origins).
        """
        return self.saved_origin is None or self.saved_origin == self.origin

    def bind(self, org_id: str | None, instance_url: str | None) -> None:
        """Tie the links to the org the run writes to; links of another org are dropped."""
        org_id = org_id[:15] if org_id else None
        if org_id and self.org_id and self.org_id != org_id and self.links:
            LOGGER.warning("The state's links belong to org %s, not %s; ignoring them",
                           self.org_id, org_id)
            self.links.clear()
            self.watermarks.clear()
        self.org_id = org_id or self.org_id
        self.instance_url = instance_url or self.instance_url

    def _index(self, link: Link) -> None:
        if link.updated_at is None:
            return
        for record_id in filter(None, link.ids.values()):
            known = self.watermarks.pop(record_id, None)
            self.watermarks[record_id] = max(known, link.updated_at) if known else link.updated_at
        while len(self.watermarks) > self.max_records:
            self.watermarks.popitem(last=False)

    def get(self, stream: str, source_key: str) -> Link | None:
        """The link of a source record, if any (evicted earlier in this run too)."""
        name = self.key(stream, source_key)
        link = self.links.get(name)
        if link is None and self._spill is not None:
            return self._spill.take(name)
        return link

    def items(self, stream: str) -> list[tuple[str, Link]]:
        """``(source key, link)`` of a stream's links held in memory."""
        prefix = f"{stream}/"
        return [(name[len(prefix):], link) for name, link in self.links.items()
                if name.startswith(prefix)]

    @property
    def evicted(self) -> int:
        """How many links were pushed out of memory (kept on disk) during this run."""
        return self._spill.count if self._spill is not None else 0

    def _evict(self) -> None:
        """Push the oldest links out of memory, onto disk for the rest of the run."""
        while len(self.links) > self.max_records:
            name, link = self.links.popitem(last=False)
            if any(link.ids.values()) or link.meta:
                if self._spill is None:
                    self._spill = _Spill()
                self._spill.put(name, link)

    def snapshot(self, keys: list[tuple[str, str]]) -> LinkStore:
        """A copy of some links (``(stream, source key)`` pairs), for work on another thread."""
        copy = LinkStore(self.max_records)
        copy.instance_url, copy.org_id = self.instance_url, self.org_id
        copy.origin, copy.saved_origin = self.origin, self.saved_origin
        for stream, source_key in keys:
            link = self.get(stream, source_key)
            if link is not None:
                copy.links[self.key(stream, source_key)] = Link(
                    dict(link.ids), link.updated_at, dict(link.meta) if link.meta else None)
        return copy

    def watermark(self, record_id: str | None) -> dt.datetime | None:
        """The newest source ``updated_at`` written to a Salesforce record."""
        return self.watermarks.get(record_id) if record_id else None

    def unchanged(self, stream: str, source_key: str, updated_at: dt.datetime | None,
                  objects: list[str]) -> Link | None:
        """The link when the record is synced to every object and has not changed since."""
        link = self.get(stream, source_key)
        if link is None or updated_at is None or link.updated_at is None:
            return None
        if updated_at > link.updated_at or any(name not in link.ids for name in objects):
            return None
        return link

    def record(self, stream: str, source_key: str, sobject: str, record_id: str,
               updated_at: dt.datetime | None, **meta: Any) -> None:
        """Remember that a source record is synced to a Salesforce record."""
        name = self.key(stream, source_key)
        link = self.links.pop(name, None)
        if link is None and self._spill is not None:
            link = self._spill.take(name, remove=True)
        link = link or Link()
        before = link.ids.get(sobject)
        if before and record_id and before != record_id:
            self.moved[before] = record_id
        link.ids[sobject] = record_id
        if meta:
            link.meta = {**(link.meta or {}), **meta}
        if updated_at and (link.updated_at is None or updated_at > link.updated_at):
            link.updated_at = updated_at
        self.links[name] = link
        self._index(link)
        self.changed.pop(name, None)
        self.changed[name] = None
        self._evict()
        while len(self.changed) > self.max_records:
            self.changed.popitem(last=False)

    def to_state(self) -> dict[str, Any]:
        """The ``salesforce_links`` state value."""
        return {"version": STATE_VERSION, "instance_url": self.instance_url,
                "org_id": self.org_id, "origin": self.origin,
                "records": {name: link.to_json() for name, link in self.links.items()}}

    def add_to(self, state: dict[str, Any]) -> dict[str, Any]:
        """A copy of a state with the links added."""
        return {**state, STATE_KEY: self.to_state()}

    def write_state(self, state: dict[str, Any], out: IO[str]) -> None:
        """Write ``add_to(state)`` as one line of JSON, a thousand links at a time.

        The same JSON as ``json.dumps(add_to(state))`` (what singer-sdk writes), without
        holding every link's dict and the whole text at once: with 50,000 links that copy
        was the run's peak memory.
        """
        base = {key: value for key, value in state.items() if key != STATE_KEY}
        head = json.dumps(base)[:-1] + (", " if base else "")
        out.write(f"{head}{json.dumps(STATE_KEY)}: {{\"version\": {json.dumps(STATE_VERSION)}, "
                  f"\"instance_url\": {json.dumps(self.instance_url)}, "
                  f"\"org_id\": {json.dumps(self.org_id)}, "
                  f"\"origin\": {json.dumps(self.origin)}, \"records\": {{")
        items = iter(self.links.items())
        separator = ""
        while chunk := list(itertools.islice(items, 1000)):
            out.write(separator + ", ".join(f"{json.dumps(name)}: {json.dumps(link.to_json())}"
                                            for name, link in chunk))
            separator = ", "
        out.write("}}}\n")
