"""Records this run created: nothing but this run can have attached a note to them yet.

So a transcript whose every target record is fresh needs no search for an earlier note (the
search that finds notes made before the state was lost): a first sync of N people with their
conversations skips one query per batch of transcripts. Only ids from answers that say the
record was created count (a plain create, or an upsert answered ``created: true``).

Another run against the org could attach a note to such a record once it exists, so an id is
fresh only while every holder of the org's lock since its creation was this run (the lock's
generations, ``run_lock.py``), and a conversation whose note this run already wrote (a
transcript sent twice) is searched for as before. Anything else, a dry run, and any id past
``limit`` are searched for as before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_salesforce_aimdoc.plan import Step

FRESH_LIMIT = 200_000  # ids kept (about 150 bytes each); beyond it, notes are searched for


class FreshRecords:
    """Ids of the records this run created, for the note writer (thread-safe)."""

    def __init__(self, *, enabled: bool, limit: int = FRESH_LIMIT) -> None:
        self.enabled, self.limit = enabled, limit
        self._ids: dict[str, int] = {}  # record id -> the lock generation it was made under
        self._own: set[int] = set()  # lock generations this run held
        self._notes: set[str] = set()  # conversations whose note this run wrote
        self._lock = threading.Lock()

    def held(self, generation: int | None) -> None:
        """Note that the run holds the org's lock, at ``generation``."""
        if self.enabled and generation is not None:
            with self._lock:
                self._own.add(generation)

    def add_steps(self, steps: Iterable[Step], generation: int | None) -> None:
        """Keep the ids of the steps whose answer said they created their record."""
        if not self.enabled or generation is None:
            return
        with self._lock:
            for step in steps:
                if step.fresh and step.record_id and len(self._ids) < self.limit:
                    self._ids[step.record_id] = generation

    def usable(self, generation: int | None) -> frozenset[str]:
        """The ids no other run can have touched: made since the last foreign lock holder."""
        if not self.enabled or generation is None:
            return frozenset()
        with self._lock:
            foreign = generation
            while foreign in self._own:
                foreign -= 1
            return frozenset(i for i, made in self._ids.items() if made > foreign)

    def wrote_notes(self, keys: Iterable[str]) -> None:
        """Conversations whose note this run wrote (or tried to)."""
        with self._lock:
            self._notes.update(keys)

    def notes_written(self) -> frozenset[str]:
        """Conversations whose note this run wrote: always searched for again."""
        with self._lock:
            return frozenset(self._notes)
