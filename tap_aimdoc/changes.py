"""Which records changed since they were last emitted, kept compactly in the stream's state.

A record's *digest* is a hash of its JSON (keys sorted). ``SeenTable`` maps a 6-byte hash of
each record id to the first 4 bytes of its digest, and is kept in state as one base64 string
(10 bytes a record: 1.33 MB of state for 100,000 records).

Two modes, chosen per stream and run (see ``client.AimdocStream.tracking_mode``):

- ``time``: records carry their own change time. A run keeps records changed since the
  bookmark, as it always did; the table only holds the records emitted since the last
  *reconciliation* (a read of the whole listing), so that one emits each record changed
  since the previous reconciliation exactly once, however it was missed.
- ``digest``: records carry no change time (e.g. contacts without ``updated_at``). The table
  holds every record seen, and a record is emitted when its digest differs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

KEY_BYTES, DIGEST_BYTES = 6, 4
_ENTRY = KEY_BYTES + DIGEST_BYTES


def id_key(record_id: object) -> bytes:
    """The table key of a record id."""
    return hashlib.blake2b(str(record_id).encode(), digest_size=KEY_BYTES).digest()


def digest(record: dict) -> bytes:
    """The table value of a record: a hash of its JSON, keys sorted."""
    text = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=DIGEST_BYTES).digest()


class SeenTable:
    """Record id -> digest of the version last emitted (or seen), compact."""

    def __init__(self, entries: dict[bytes, bytes] | None = None) -> None:
        """A table of ``entries`` (key -> digest)."""
        self.entries = entries or {}

    @classmethod
    def decode(cls, text: str | None) -> SeenTable:
        """The table kept in state as ``encode`` wrote it (empty if none or unreadable)."""
        if not text:
            return cls()
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            return cls()
        return cls({raw[i:i + KEY_BYTES]: raw[i + KEY_BYTES:i + _ENTRY]
                    for i in range(0, len(raw) - _ENTRY + 1, _ENTRY)})

    def encode(self) -> str:
        """The table as one base64 string (entries in key order: stable output)."""
        return base64.b64encode(b"".join(key + self.entries[key]
                                          for key in sorted(self.entries))).decode()

    def changed(self, key: bytes, value: bytes) -> bool:
        """Whether the record at ``key`` is new or differs from the version kept."""
        return self.entries.get(key) != value

    def known(self, key: bytes) -> bool:
        """Whether a version of the record at ``key`` is kept."""
        return key in self.entries

    def keep(self, key: bytes, value: bytes) -> None:
        """Keep this version of the record at ``key``."""
        self.entries[key] = value

    def __len__(self) -> int:
        return len(self.entries)


class OrderedSpool:
    """Records written to a temporary file, read back in order of a sort key.

    Only (key, offset) pairs stay in memory, so a listing of any size is put in order.
    """

    def __init__(self) -> None:
        """An empty spool."""
        self._file = tempfile.TemporaryFile(prefix="tap-aimdoc-order-")  # noqa: SIM115
        self._index: list[tuple[Any, int]] = []

    def add(self, key: Any, record: dict) -> None:
        """Keep a record under a sort key."""
        self._index.append((key, self._file.tell()))
        pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __len__(self) -> int:
        return len(self._index)

    def drain(self) -> Iterator[dict]:
        """Every record, by ascending key (ties in the order added); then the file is closed."""
        try:
            self._index.sort(key=lambda entry: entry[0])
            for _, offset in self._index:
                self._file.seek(offset)
                yield pickle.load(self._file)  # noqa: S301 - our own file, this run's
        finally:
            self._file.close()


def in_order(records: Iterable[dict], key: str, id_field: str) -> Iterator[dict]:
    """``records`` by ascending (``key``, id): the newest version of a person comes last."""
    spool = OrderedSpool()
    for record in records:
        spool.add((str(record.get(key) or ""), str(record.get(id_field) or "")), record)
    yield from spool.drain()
