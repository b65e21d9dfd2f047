"""Dead letters of a run: what Salesforce or our checks rejected, retried and retired.

``LettersPhase`` is a part of ``SyncRun`` (``pipeline.py``): failed outcomes of a batch go to
the run's dead letters with their source record; letters of earlier runs are retried at the
start; a later success or a newer version of a record retires its letter.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.expressions import ExpressionError
from target_salesforce_aimdoc.mapping import source_identity
from target_salesforce_aimdoc.report import Outcome

if TYPE_CHECKING:
    from target_salesforce_aimdoc.mapping import MappedRecord
    from target_salesforce_aimdoc.settings import StreamConfig

LOGGER = logging.getLogger("target_salesforce_aimdoc")


class LettersPhase:
    """Dead letters of a run (mixed into ``SyncRun``)."""

    settings: Any
    dead_letters: Any

    def _dead_letters(self, stream: StreamConfig, records: list[dict[str, Any]],
                      batch: list[MappedRecord], first_outcome: int) -> None:
        """Every failed record and object of the batch goes to the dead letters.

        The batch's other records retire their earlier letters (a later success, or a newer
        version filtered out or unchanged).
        """
        sources: dict[str, dict[str, Any]] = {}
        for record in records:
            with contextlib.suppress(ExpressionError):  # already reported by mapping
                sources[str(stream.key.evaluate(record))] = record
        mapped = {m.key: m for m in batch}
        entries = []
        for outcome in self.report.outcomes[first_outcome:]:
            if outcome.outcome != "failed" or outcome.stream != stream.name:
                continue
            payload = mapped.get(outcome.key)
            fields = payload.payloads.get(outcome.sobject or "", {}) if payload else {}
            entries.append((outcome, sources.get(outcome.key),
                            {name: value for name, (value, _) in fields.items()}))
        failed = {outcome.key for outcome, _, _ in entries}
        self.dead_letters.resolve(stream.name, set(sources) - failed)
        self.dead_letters.add_many(entries)

    def reject(self, stream_name: str, record: dict[str, Any], code: str, message: str,
               field: str | None) -> None:
        """A record refused before mapping (e.g. it violates its schema): report, dead letter."""
        stream = self.settings.stream(stream_name)
        key = self._key(stream, record) if stream is not None else str(record.get("id", "?"))
        where = f" field {field}" if field else ""
        error = {"statusCode": code, "fields": [field] if field else [],
                 "message": f"stream {stream_name} record {key}{where}: {message}"}
        outcome = Outcome(stream_name, key, None, "failed", errors=[error])
        self.report.begin_attempt()
        self.report.records_seen[stream_name] += 1
        self.report.add(outcome)
        self.report.person_of(stream_name, key, record)
        self.dead_letters.add(outcome, record)
        LOGGER.warning("%s", error["message"])

    def retry_dead_letters(self) -> int:
        """Run this pipeline's dead letters again (at the start of a run); return how many.

        Only letters of streams this run syncs are taken (the others stay in the file);
        letters whose record was synced since in a newer version are retired unretried.
        Transcripts parked by earlier runs wait for their contact again (``parked``).
        """
        self.pending_notes.update(self.parked.load())
        pending = self.dead_letters.pending(self.uses, self._synced_since)
        total = sum(len(records) for records in pending.values())
        if total:
            self._progress_meter.expect(total)
        self.report.retrying = True
        try:
            for stream, records in pending.items():
                LOGGER.info("Retrying %d dead letters of %s", len(records), stream)
                for record in records:
                    key, updated_at = self._letter_time(stream, record)
                    if key and updated_at:
                        self._letter_times[(stream, key)] = updated_at
                for start in range(0, len(records), self.batch_size):
                    self.run_batch(stream, records[start:start + self.batch_size])
        finally:
            self.report.retrying = False
        return total

    def _letter_time(self, stream_name: str, record: dict[str, Any]) -> tuple[str | None, Any]:
        """A dead letter's record key and ``updated_at`` (None when unknown)."""
        stream = self.settings.stream(stream_name)
        with contextlib.suppress(ExpressionError, ValueError, TypeError, AttributeError):
            if stream is not None:
                return source_identity(record, stream, self.settings)
        return None, None

    def _synced_since(self, stream_name: str, record: dict[str, Any]) -> bool:
        """Whether a newer version of a dead letter's record was synced since it failed."""
        key, updated_at = self._letter_time(stream_name, record)
        link = self.links.get(stream_name, key) if key else None
        return bool(link and link.updated_at and updated_at and link.updated_at > updated_at)

    def _retire_stale_letters(self) -> None:
        """Drop retried letters whose record a newer version synced before this run.

        The links (read from the tap's state, which may come after the retry) say so; the
        retried outcome of such a letter no longer counts.
        """
        for (stream, key), updated_at in self._letter_times.items():
            link = self.links.get(stream, key)
            if link and link.updated_at and link.updated_at > updated_at:
                if self.report.retire(stream, key):
                    self.dead_letters.retired += 1
                self.dead_letters.resolve(stream, {key})
