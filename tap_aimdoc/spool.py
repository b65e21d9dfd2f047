"""A temporary SQLite file holding one run's transcripts while their messages are gathered.

The changed conversations and their messages go to disk, not to Python lists, so memory stays
flat however many conversations changed. Messages are appended as they come (cheaper than
keeping a sorted index up to date) and sorted once when read back: grouped per conversation in
listing order, ordered by (``created_at``, id), a message that came twice kept once.
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
    header BLOB NOT NULL);
CREATE TABLE messages (seq INTEGER NOT NULL, created_at NOT NULL, id NOT NULL, fields BLOB);
CREATE TABLE short (seq INTEGER PRIMARY KEY);
"""
_ADD_CONVERSATION = """
INSERT INTO conversations (id, created_day, pages, expected, header) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET created_day = excluded.created_day, pages = excluded.pages,
    expected = excluded.expected, header = excluded.header
"""
_FIND_SHORT = """
INSERT INTO short SELECT c.seq FROM conversations c LEFT JOIN (
    SELECT seq, COUNT(*) AS gathered FROM (SELECT DISTINCT seq, created_at, id FROM messages)
    GROUP BY seq) m ON m.seq = c.seq
WHERE c.expected > COALESCE(m.gathered, 0)
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

    def conversations(self) -> Iterator[tuple[int, Any]]:
        """Each conversation's place and id, in listing order (read in batches)."""
        yield from self._batches("SELECT seq, id FROM conversations WHERE seq > ? "
                                 "ORDER BY seq LIMIT ?")

    def short_conversations(self) -> Iterator[tuple[int, Any]]:
        """Conversations with fewer messages gathered than they say they have."""
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
            ((seq, m["created_at"] or "", m["id"], _dump(tuple(m.get(name) for name in fields)))
             for seq, m in messages))

    def forget_messages(self) -> None:
        """Drop every gathered message."""
        self._db.execute("DELETE FROM messages")

    def transcripts(self) -> Iterator[tuple[dict, list[tuple]]]:
        """Each conversation's header and its messages' ``message_fields``, oldest first."""
        messages = self._db.execute("SELECT seq, created_at, id, fields FROM messages "
                                    "ORDER BY seq, created_at, id")
        pending = next(messages, None)
        for seq, head in self._db.execute("SELECT seq, header FROM conversations ORDER BY seq"):
            kept: list[tuple] = []
            last = None
            while pending is not None and pending[0] <= seq:
                if pending[0] == seq and pending[1:3] != last:
                    kept.append(_load(pending[3]))
                    last = pending[1:3]
                pending = next(messages, None)
            yield _load(head), kept
