"""A temporary SQLite file holding one run's transcripts while their messages are gathered.

The changed conversations and their messages go to disk, not to Python lists, so memory stays
flat however many conversations changed. Messages are kept once per (conversation, id), and
read back grouped per conversation, ordered by (``created_at``, id), in listing order.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from itertools import groupby
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
    header BLOB NOT NULL);
CREATE TABLE messages (
    conversation_id NOT NULL,
    created_at NOT NULL,
    id NOT NULL,
    fields BLOB NOT NULL,
    PRIMARY KEY (conversation_id, created_at, id)) WITHOUT ROWID;
"""
_ADD_CONVERSATION = """
INSERT INTO conversations (id, created_day, pages, expected, header) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET created_day = excluded.created_day, pages = excluded.pages,
    expected = excluded.expected, header = excluded.header
"""
_TRANSCRIPTS = """
SELECT c.seq, c.header, m.fields FROM conversations c
LEFT JOIN messages m ON m.conversation_id = c.id
ORDER BY c.seq, m.created_at, m.id
"""
_SHORT = """
SELECT c.seq, c.id FROM conversations c WHERE c.seq > ? AND c.expected >
    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
ORDER BY c.seq LIMIT ?
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
                         pages: int, expected: int | None) -> None:
        """Keep a changed conversation.

        With its transcript's header, the day it started (None: not known), the requests its
        own messages take, and how many messages it says it has (if it does). Listed again,
        it keeps its place and takes the newer values.
        """
        self._db.execute(_ADD_CONVERSATION, (conversation_id, created_day, pages, expected,
                                             _dump(header)))

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

    def wanted(self, conversation_ids: Iterable[Any]) -> set:
        """Those of ``conversation_ids`` that are in the spool."""
        ids = list(set(conversation_ids))
        found: set = set()
        for first in range(0, len(ids), _BATCH):
            chunk = ids[first:first + _BATCH]
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in self._db.execute(
                f"SELECT id FROM conversations WHERE id IN ({marks})", chunk))
        return found

    def conversation_ids(self) -> Iterator[Any]:
        """Every conversation id, in listing order (read in batches)."""
        yield from self._batches("SELECT seq, id FROM conversations WHERE seq > ? "
                                 "ORDER BY seq LIMIT ?")

    def short_conversation_ids(self) -> Iterator[Any]:
        """Conversations with fewer messages gathered than they say they have."""
        yield from self._batches(_SHORT)

    def _batches(self, query: str) -> Iterator[Any]:
        last = -1
        while rows := self._db.execute(query, (last, _BATCH)).fetchall():
            last = rows[-1][0]
            yield from (conversation_id for _, conversation_id in rows)

    # -- messages ----------------------------------------------------------------------------

    def add_messages(self, messages: Iterable[dict]) -> None:
        """Normalised messages (with their ``conversation_id``); repeats are ignored."""
        fields = self.message_fields
        self._db.executemany(
            "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?)",
            ((m["conversation_id"], m["created_at"] or "", m["id"],
              _dump(tuple(m.get(name) for name in fields))) for m in messages))

    def forget_messages(self) -> None:
        """Drop every gathered message."""
        self._db.execute("DELETE FROM messages")

    def transcripts(self) -> Iterator[tuple[dict, list[tuple]]]:
        """Each conversation's header and its messages' ``message_fields``, oldest first."""
        rows = self._db.execute(_TRANSCRIPTS)
        for _, group in groupby(rows, key=lambda row: row[0]):
            first = next(group)
            fields = [_load(row[2]) for row in (first, *group) if row[2] is not None]
            yield _load(first[1]), fields
