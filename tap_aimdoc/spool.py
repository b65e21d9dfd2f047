"""A temporary SQLite file holding one run's transcripts while their messages are gathered.

The changed conversations and their messages go to disk, not to Python lists, so memory stays
flat however many conversations changed. Messages are appended as they come (cheaper than
keeping them sorted), first in memory, then (past ``IN_MEMORY`` messages, and before the
end) a row for each conversation's share (one pickled chunk, not a row per message), and sorted
when read back: each conversation's by (``created_at``, id), a message that came twice kept
once. During a scan in order most conversations are read back before their messages leave
memory. A conversation can be
read back (and marked done) as soon as it is complete, in chunks by when its last message came
(see ``finished``); the rest are read back at the end, in listing order (see ``transcripts``).
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from decimal import Decimal
from operator import eq, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import TracebackType

_SCHEMA = """
CREATE TABLE conversations (
    seq INTEGER PRIMARY KEY,
    id UNIQUE NOT NULL,
    created_day TEXT,
    pages INTEGER NOT NULL,
    expected INTEGER,
    last_at TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    header BLOB NOT NULL);
CREATE INDEX conversations_last_at ON conversations (last_at, seq);
CREATE TABLE messages (seq INTEGER NOT NULL, n INTEGER NOT NULL, chunk BLOB NOT NULL);
CREATE INDEX messages_seq ON messages (seq);
CREATE TABLE short (seq INTEGER PRIMARY KEY);
"""
_ADD_CONVERSATION = """
INSERT INTO conversations (id, created_day, pages, expected, last_at, header)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET created_day = excluded.created_day, pages = excluded.pages,
    expected = excluded.expected, last_at = excluded.last_at, header = excluded.header
"""
# Conversations not done that say how many messages they have, with how many were gathered
# (a message that came twice counted twice).
_EXPECTING = """
SELECT seq, expected, (SELECT TOTAL(n) FROM messages m WHERE m.seq = c.seq) FROM conversations c
WHERE seq > ? AND NOT done AND expected > 0 ORDER BY seq LIMIT ?
"""
_FINISHED = """
SELECT seq, expected, header, last_at FROM conversations
WHERE last_at < ? AND (last_at, seq) > (?, ?) ORDER BY last_at, seq LIMIT ?
"""
_BATCH = 500
# Messages kept in memory before they go to the file (a few MB at most).
IN_MEMORY = 5_000


def _dump(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _load(data: bytes) -> Any:
    # Pickle keeps every JSON value's exact type (Decimal too); the file is our own, written
    # by this run in a private temporary directory.
    return pickle.loads(data)  # noqa: S301


class TranscriptSpool:
    """Conversations (a header and what is known of their messages) and gathered messages.

    A context manager: the file is deleted on exit.
    """

    def __init__(self, message_fields: tuple[str, ...]) -> None:
        """A new, empty spool keeping ``message_fields`` of each message."""
        self.message_fields = message_fields
        self._dir = tempfile.TemporaryDirectory(prefix="tap-aimdoc-")
        self._db = sqlite3.connect(Path(self._dir.name) / "transcripts.sqlite")
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                               "PRAGMA temp_store = FILE;" + _SCHEMA)
        self._looked_at: tuple[str, int] = ("", -1)
        # Messages not in the file yet, by conversation: each after those in the file.
        self._memory: dict[int, list[tuple[tuple, tuple]]] = {}
        self._in_memory = 0
        self._in_file = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close and delete the file."""
        self._db.close()
        self._dir.cleanup()

    # -- conversations -----------------------------------------------------------------------

    def add_conversation(self, conversation_id: Any, header: dict, *, created_day: str | None,
                         pages: int, expected: int | None, last_at: str | None = None) -> None:
        """Keep a changed conversation.

        With its transcript's header, the day it started (None: not known), the requests its
        own messages take, how many messages it says it has (if it does) and when its last
        message came (a canonical timestamp; None: not known). Listed again, it keeps its
        place and takes the newer values.
        """
        self._db.execute(_ADD_CONVERSATION, (conversation_id, created_day, pages, expected,
                                             last_at, _dump(header)))

    def count(self) -> int:
        """How many conversations."""
        return self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]

    def pages(self) -> int:
        """Requests it takes to fetch every conversation's messages one by one."""
        return self._db.execute("SELECT TOTAL(pages) FROM conversations").fetchone()[0]

    def earliest_day(self) -> str | None:
        """The day the oldest conversation started; None if one's start is not known."""
        unknown, earliest = self._db.execute(
            "SELECT COUNT(*) - COUNT(created_day), MIN(created_day) FROM conversations",
        ).fetchone()
        return None if unknown else earliest

    def wanted(self, conversation_ids: Iterable[Any]) -> dict[Any, int]:
        """Those of ``conversation_ids`` that are in the spool, with their place in it."""
        ids = list(set(conversation_ids))
        found: dict[Any, int] = {}
        for first in range(0, len(ids), _BATCH):
            chunk = ids[first:first + _BATCH]
            marks = ",".join("?" * len(chunk))
            found.update((cid, seq) for seq, cid in self._db.execute(
                f"SELECT seq, id FROM conversations WHERE id IN ({marks})", chunk))
        return found

    def done(self) -> int:
        """How many conversations were read back already (see ``finished``)."""
        return self._db.execute("SELECT COUNT(*) FROM conversations WHERE done").fetchone()[0]

    def conversations(self) -> Iterator[tuple[int, Any]]:
        """Each conversation not done yet: its place and id, in listing order (in batches)."""
        yield from self._batches("SELECT seq, id FROM conversations WHERE seq > ? AND NOT done "
                                 "ORDER BY seq LIMIT ?")

    def short_conversations(self) -> Iterator[tuple[int, Any]]:
        """Conversations not done with fewer messages gathered than they say they have."""
        self._db.execute("DELETE FROM short")
        self._to_file()
        last = -1
        while rows := self._db.execute(_EXPECTING, (last, _BATCH)).fetchall():
            last = rows[-1][0]
            # Fewer gathered than expected is short for sure; else count them without doubles.
            maybe = [seq for seq, expected, gathered in rows if gathered >= expected]
            messages = self._messages_of(maybe) if maybe else {}
            self._db.executemany("INSERT INTO short VALUES (?)", (
                (seq,) for seq, expected, gathered in rows
                if gathered < expected or len(messages.get(seq, ())) < expected))
        yield from self._batches("SELECT seq, id FROM short JOIN conversations USING (seq) "
                                 "WHERE seq > ? ORDER BY seq LIMIT ?")

    def _batches(self, query: str) -> Iterator[tuple[int, Any]]:
        last = -1
        while rows := self._db.execute(query, (last, _BATCH)).fetchall():
            last = rows[-1][0]
            yield from rows

    # -- messages ----------------------------------------------------------------------------

    def add_messages(self, messages: Iterable[tuple[int, dict]]) -> None:
        """Normalised messages, each with its conversation's place (see ``wanted``)."""
        fields, memory = self.message_fields, self._memory
        added = 0
        for seq, m in messages:
            entry = ((m["created_at"] or "", m["id"]), tuple(map(m.get, fields)))
            if (kept := memory.get(seq)) is None:
                memory[seq] = [entry]
            else:
                kept.append(entry)
            added += 1
        self._in_memory += added
        if self._in_memory > IN_MEMORY:
            self._to_file()

    def forget_messages(self) -> None:
        """Drop every gathered message."""
        self._db.execute("DELETE FROM messages")
        self._memory.clear()
        self._in_memory, self._in_file = 0, False

    def _to_file(self) -> None:
        """Move the messages in memory to the file, a row per conversation."""
        if self._memory:
            self._db.executemany("INSERT INTO messages VALUES (?, ?, ?)", [
                (seq, len(entries), _dump(entries)) for seq, entries in self._memory.items()])
            self._memory.clear()
            self._in_memory, self._in_file = 0, True

    def finished(self, before: str) -> Iterator[tuple[dict, list[tuple]]]:
        """Conversations whose last message came before ``before``, now complete; marked done.

        Each conversation is looked at once, in order of (last message, place), the first
        time ``before`` passes its last message: complete if it has at least as many messages
        as it says it has (or does not say), else left for the end. ``before`` must not go
        back from one call to the next.
        """
        while rows := self._db.execute(_FINISHED, (before, *self._looked_at, _BATCH)).fetchall():
            self._looked_at = (rows[-1][3], rows[-1][0])
            complete = [(seq, head, messages) for seq, expected, head, messages
                        in self._with_messages(rows) if expected is None or
                        len(messages) >= expected]
            self._db.executemany("UPDATE conversations SET done = 1 WHERE seq = ?",
                                 ((seq,) for seq, _, _ in complete))
            for seq, _, _ in complete:
                self._in_memory -= len(self._memory.pop(seq, ()))
            for _, head, messages in complete:
                yield _load(head), messages

    def transcripts(self) -> Iterator[tuple[dict, list[tuple]]]:
        """Each conversation not done: its header and messages' ``message_fields``, in order."""
        query = ("SELECT seq, expected, header FROM conversations WHERE seq > ? AND NOT done "
                 "ORDER BY seq LIMIT ?")
        self._to_file()
        last = -1
        while rows := self._db.execute(query, (last, _BATCH)).fetchall():
            last = rows[-1][0]
            for _, _, head, messages in self._with_messages(rows):
                yield _load(head), messages

    def _with_messages(self, rows: list[tuple]) -> Iterator[tuple[int, int | None, bytes,
                                                                   list[tuple]]]:
        """(place, expected, header, ordered messages) of each (place, expected, header...)."""
        found = self._messages_of([row[0] for row in rows])
        for seq, expected, head, *_ in rows:
            yield seq, expected, head, found.get(seq, [])

    def _messages_of(self, places: list[int]) -> dict[int, list[tuple]]:
        """The ordered messages (``message_fields``) of the conversations at ``places``."""
        chunks: dict[int, list[tuple[tuple, tuple]]] = {}
        if self._in_file:
            marks = ",".join("?" * len(places))
            for seq, chunk in self._db.execute(f"SELECT seq, chunk FROM messages WHERE seq IN "
                                               f"({marks}) ORDER BY seq, rowid", places):
                if (kept := chunks.get(seq)) is None:
                    chunks[seq] = _load(chunk)
                else:
                    kept.extend(_load(chunk))
        for seq in places:
            if (recent := self._memory.get(seq)) is not None:
                chunks.setdefault(seq, []).extend(recent)
        return {seq: in_order(entries) for seq, entries in chunks.items()}


def in_order(entries: list[tuple[tuple, tuple]]) -> list[tuple]:
    """The fields of (key, fields) entries sorted by key, the first of equal keys kept.

    Keys order as SQLite orders values: numbers, then text, then anything else.
    """
    try:
        entries.sort(key=_KEY)
    except TypeError:
        entries.sort(key=_sqlite_order)
    keys = list(map(_KEY, entries))
    if any(map(eq, keys, keys[1:])):
        return [fields for i, (key, fields) in enumerate(entries) if not i or key != keys[i - 1]]
    return [fields for _, fields in entries]


_KEY = itemgetter(0)


def _sqlite_order(entry: tuple[tuple, tuple]) -> tuple:
    return tuple((_rank(value), value if _rank(value) < _OTHER else repr(value))
                 for value in entry[0])


_OTHER = 4


def _rank(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, (int, float, Decimal)):
        return 1
    return 2 if isinstance(value, str) else 3 if isinstance(value, bytes) else _OTHER
