"""A temporary SQLite file holding one run's transcripts while their messages are gathered.

The changed conversations and their messages go to disk, not to Python lists, so memory stays
flat however many conversations changed. Messages are appended as they come (cheaper than
keeping them sorted) with an index on their conversation, and sorted when read back: each
conversation's by (``created_at``, id), a message that came twice kept once. A conversation can be
read back (and marked done) as soon as it is complete, in chunks by when its last message came
(see ``finished``); the rest are read back at the end, in listing order (see ``transcripts``).
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
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
CREATE TABLE messages (seq INTEGER NOT NULL, created_at NOT NULL, id NOT NULL, fields BLOB);
CREATE INDEX messages_seq ON messages (seq);
CREATE TABLE short (seq INTEGER PRIMARY KEY);
"""
_ADD_CONVERSATION = """
INSERT INTO conversations (id, created_day, pages, expected, last_at, header)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET created_day = excluded.created_day, pages = excluded.pages,
    expected = excluded.expected, last_at = excluded.last_at, header = excluded.header
"""
_FIND_SHORT = """
INSERT INTO short SELECT c.seq FROM conversations c WHERE NOT c.done AND c.expected > (
    SELECT COUNT(*) FROM (SELECT DISTINCT created_at, id FROM messages m WHERE m.seq = c.seq))
"""
_FINISHED = """
SELECT seq, expected, header, last_at FROM conversations
WHERE last_at < ? AND (last_at, seq) > (?, ?) ORDER BY last_at, seq LIMIT ?
"""
_BATCH = 500


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
        self._db.execute(_FIND_SHORT)
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
        fields = self.message_fields
        self._db.executemany(
            "INSERT INTO messages VALUES (?, ?, ?, ?)",
            ((seq, m["created_at"] or "", m["id"], _dump(tuple(map(m.get, fields))))
             for seq, m in messages))

    def forget_messages(self) -> None:
        """Drop every gathered message."""
        self._db.execute("DELETE FROM messages")

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
            for _, head, messages in complete:
                yield _load(head), messages

    def transcripts(self) -> Iterator[tuple[dict, list[tuple]]]:
        """Each conversation not done: its header and messages' ``message_fields``, in order."""
        query = ("SELECT seq, expected, header FROM conversations WHERE seq > ? AND NOT done "
                 "ORDER BY seq LIMIT ?")
        last = -1
        while rows := self._db.execute(query, (last, _BATCH)).fetchall():
            last = rows[-1][0]
            for _, _, head, messages in self._with_messages(rows):
                yield _load(head), messages

    def _with_messages(self, rows: list[tuple]) -> Iterator[tuple[int, int | None, bytes,
                                                                   list[tuple]]]:
        """(place, expected, header, ordered messages) of each (place, expected, header...)."""
        marks = ",".join("?" * len(rows))
        found: dict[int, list[tuple]] = {}
        last = None
        query = (f"SELECT seq, created_at, id, fields FROM messages WHERE seq IN ({marks}) "
                 "ORDER BY seq, created_at, id")
        for key in self._db.execute(query, [row[0] for row in rows]):
            if key[:3] != last:
                found.setdefault(key[0], []).append(_load(key[3]))
                last = key[:3]
        for seq, expected, head, *_ in rows:
            yield seq, expected, head, found.get(seq, [])
