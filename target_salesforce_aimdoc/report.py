"""Per-record outcomes of a run, and their counts per stream, object and outcome.

Two counts, each labelled where shown: per **source record** (one outcome per source record
and object: "how many of my contacts became Leads") and per **Salesforce record** (one per
record written or found: several contacts of one company are one Account). Outcomes that
concern a whole source record rather than one object (a filter skip, a schema rejection) show
``WHOLE_RECORD`` in the object column of every table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from target_salesforce_aimdoc.mapping import FieldIssue, MappedRecord
    from target_salesforce_aimdoc.plan import Step

OUTCOME_OF_ACTION = {"create": "created", "update": "updated", "unchanged": "unchanged",
                     "skip": "skipped", "fail": "failed"}
WHOLE_RECORD = "whole record"  # the object column of an outcome not tied to one object
MAX_PEOPLE = 20_000  # names and emails kept for the report's records list
MAX_SALESFORCE_IDS = 50_000  # Accounts counted once however many batches see them
SHARED_OBJECTS = frozenset({"Account"})  # objects many source records feed, batch after batch


@dataclass
class Outcome:
    """What happened to one source record for one Salesforce object."""

    stream: str
    key: str
    sobject: str | None
    outcome: str  # created | updated | unchanged | skipped | failed
    record_id: str | None = None
    reason: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, list[Any]] = field(default_factory=dict)
    duplicates: dict[str, Any] | None = None  # the org's duplicate rule and matched ids
    assignment: str | None = None  # how a Lead write was assigned

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @property
    def object_label(self) -> str:
        """The object column: the Salesforce object, or ``WHOLE_RECORD``."""
        return self.sobject or WHOLE_RECORD


class Attempts:
    """``(stream, key) -> (attempt, failed, retried)`` of every record a run tried to write.

    One entry per source record, so kept small: a dict of keys per stream, each value one
    int (``attempt << 2 | failed << 1 | retried``) rather than two tuples a record: about
    120 bytes less a record (12 MB on a 100,000-contact run).
    """

    def __init__(self) -> None:
        self._streams: dict[str, dict[str, int]] = {}

    def get(self, source: tuple[str, str],
            default: tuple[int, bool, bool] | None = None) -> tuple[int, bool, bool] | None:
        """The record's latest attempt, whether it failed and whether it was a retry."""
        packed = self._streams.get(source[0], {}).get(source[1])
        return default if packed is None else _unpack(packed)

    def __setitem__(self, source: tuple[str, str], value: tuple[int, bool, bool]) -> None:
        attempt, failed, retried = value
        self._streams.setdefault(source[0], {})[source[1]] = (
            attempt << 2 | bool(failed) << 1 | bool(retried))

    def pop(self, source: tuple[str, str], default: Any = None) -> Any:
        """Forget a record's attempt; it, or ``default`` when there was none."""
        packed = self._streams.get(source[0], {}).pop(source[1], None)
        return default if packed is None else _unpack(packed)

    def __len__(self) -> int:
        return sum(map(len, self._streams.values()))

    def items(self) -> Iterator[tuple[tuple[str, str], tuple[int, bool, bool]]]:
        """``((stream, key), (attempt, failed, retried))`` of every record."""
        for stream, keys in self._streams.items():
            for key, packed in keys.items():
                yield (stream, key), _unpack(packed)

    def values(self) -> Iterator[tuple[int, bool, bool]]:
        """``(attempt, failed, retried)`` of every record."""
        return (value for _, value in self.items())


def _unpack(packed: int) -> tuple[int, bool, bool]:
    return packed >> 2, bool(packed & 2), bool(packed & 1)


@dataclass
class RunReport:
    """Counts and the outcomes worth listing (failures, and every outcome up to a bound).

    ``attempts`` keeps, per source record the run tried to write, whether its latest attempt
    failed and whether that was the retry of a dead letter: a letter retried at the start of
    the run and the same row in the live stream count once, as the later attempt went
    (``error_rate`` reads it).
    """

    counts: Counter = field(default_factory=Counter)  # per source record and object
    salesforce_counts: Counter = field(default_factory=Counter)  # per Salesforce record
    skipped_by_rule: Counter = field(default_factory=Counter)
    records_seen: Counter = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)
    max_outcomes: int = 10_000  # listed in the report; counts and failures are kept in full
    dropped_outcomes: int = 0  # outcomes past the bound (counted, not listed)
    attempts: Attempts = field(default_factory=Attempts)
    people: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)
    retrying: bool = False  # dead letters of earlier runs are being retried
    count_retried: bool = False  # retried letters count in the error rate (a replay)
    _attempt: int = 0
    _retried: dict[tuple[str, str], list[Outcome]] = field(default_factory=dict)
    superseded: set[int] = field(default_factory=set)  # ids of replaced retried outcomes
    _salesforce_seen: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def begin_attempt(self) -> None:
        """Outcomes from here on are a new attempt (a batch, a note batch, a rejection)."""
        self._attempt += 1

    def add(self, outcome: Outcome, *, attempted: bool | None = None) -> None:
        """Count an outcome and keep it (within the bound).

        ``attempted``: the record went to Salesforce (planned, matched, written or refused);
        by default only failures count as attempts (a rejection by our checks). Filter skips
        and records unchanged since their last sync are not attempts.
        """
        source = (outcome.stream, outcome.key)
        if self.retrying:
            self._retried.setdefault(source, []).append(outcome)
        elif source in self._retried:  # the live row: the letter's attempt no longer counts
            self._supersede(self._retried.pop(source))
            self.attempts.pop(source, None)
        self.counts[(outcome.stream, outcome.object_label, outcome.outcome)] += 1
        if attempted or (attempted is None and outcome.outcome == "failed"):
            attempt, failed, _ = self.attempts.get(source) or (-1, False, False)
            failed = outcome.outcome == "failed" or (attempt == self._attempt and failed)
            self.attempts[source] = (self._attempt, failed, self.retrying)
        if len(self.outcomes) < self.max_outcomes or outcome.outcome == "failed":
            self.outcomes.append(outcome)
        else:
            self.dropped_outcomes += 1

    def retire(self, stream: str, key: str) -> bool:
        """A retried dead letter found stale at the end: its outcomes no longer count."""
        earlier = self._retried.pop((stream, key), None)
        if earlier is None:
            return False
        self._supersede(earlier)
        self.attempts.pop((stream, key), None)
        return True

    def _supersede(self, earlier: list[Outcome]) -> None:
        """A retried dead letter's outcomes, replaced by the same record's live row."""
        for outcome in earlier:
            self.counts[(outcome.stream, outcome.object_label, outcome.outcome)] -= 1
            if self.counts[(outcome.stream, outcome.object_label, outcome.outcome)] <= 0:
                del self.counts[(outcome.stream, outcome.object_label, outcome.outcome)]
        self.superseded |= {id(outcome) for outcome in earlier}

    def listed(self) -> list[Outcome]:
        """The kept outcomes, less retried dead letters the live stream replaced."""
        if not self.superseded:
            return self.outcomes
        return [outcome for outcome in self.outcomes if id(outcome) not in self.superseded]

    def add_salesforce(self, stream: str, sobject: str, outcome: str,
                       record_id: str | None = None) -> None:
        """Count one Salesforce record's outcome (however many source records fed it).

        An Account seen again in a later batch (several contacts of one company) counts once:
        created by this run it stays created, otherwise its latest outcome counts.
        """
        key = (stream, sobject, outcome)
        record_id = record_id if sobject in SHARED_OBJECTS else None
        before = self._salesforce_seen.get(record_id) if record_id else None
        if before is not None:
            if before[2] == "created" or before == key:
                return
            self.salesforce_counts[before] -= 1
            if self.salesforce_counts[before] <= 0:
                del self.salesforce_counts[before]
        if record_id and (before is not None or len(self._salesforce_seen) < MAX_SALESFORCE_IDS):
            self._salesforce_seen[record_id] = key
        self.salesforce_counts[key] += 1

    def add_step(self, step: Step) -> None:
        """Every source record of a step gets the step's outcome; the record counts once."""
        outcome = OUTCOME_OF_ACTION[step.action]
        sobject = step.sobject if step.via is None else f"Lead->{step.sobject}"
        if step.sources:
            self.add_salesforce(step.sources[0][0], step.sobject, outcome, step.record_id)
        for stream, key in step.sources:
            self.add(Outcome(stream, key, sobject, outcome, step.record_id,
                             step.reason or step.via, list(step.errors), dict(step.changes),
                             step.duplicates, step.assignment if step.writes else None),
                     attempted=True)

    def add_skip(self, stream: str, key: str, rule: str) -> None:
        """A record a filtering rule kept out of the sync."""
        self.skipped_by_rule[(stream, rule)] += 1
        self.add(Outcome(stream, key, None, "skipped", reason=f"filter:{rule}"))

    def add_issue(self, mapped: MappedRecord, issue: FieldIssue) -> None:
        """A record (or one object of it) our own checks reject before any write."""
        errors = [{"statusCode": issue.code, "message": issue.message,
                   "fields": [issue.field] if issue.field else []}]
        self.add(Outcome(mapped.stream, mapped.key, issue.object, "failed", errors=errors))

    def person(self, stream: str, key: str, name: str | None, email: str | None) -> None:
        """Remember a source record's person (name and email) for the records list."""
        if (name or email) and len(self.people) < MAX_PEOPLE:
            self.people[(stream, key)] = (name, email)

    def person_of(self, stream: str, key: str, record: dict[str, Any] | None,
                  mapped: MappedRecord | None = None) -> None:
        """Remember the person of a source record (name and email, for the records list).

        From its Contact or Lead payload, else the usual source fields (``first_name``,
        ``last_name``, ``name``, ``email``).
        """
        first = last = None
        for sobject in ("Contact", "Lead"):
            payload = mapped.payloads.get(sobject) if mapped is not None else None
            if payload:
                first = (payload.get("FirstName") or (None,))[0]
                last = (payload.get("LastName") or (None,))[0]
                break
        if first is None and last is None and isinstance(record, dict):
            first, last = record.get("first_name"), record.get("last_name") or record.get("name")
        name = " ".join(str(part) for part in (first, last) if part) or None
        email = (mapped.email if mapped is not None else None) or (
            record.get("email") if isinstance(record, dict) else None)
        self.person(stream, key, name, str(email) if email else None)

    def count(self, outcome: str, sobject: str | None = None, stream: str | None = None) -> int:
        """How many outcomes of a kind (optionally for one object or stream)."""
        return sum(n for (s, o, kind), n in self.counts.items()
                   if kind == outcome and (sobject is None or o == sobject)
                   and (stream is None or s == stream))

    def summary_lines(self) -> list[str]:
        """Counts per stream and object, one line each (for the log).

        Per source record, then per Salesforce record.
        """
        return (_lines(self.counts, "source records")
                + _lines(self.salesforce_counts, "Salesforce records"))


def _lines(counts: Counter, label: str) -> list[str]:
    """``contacts -> Account (Salesforce records): created 135, unchanged 3``, one a pair."""
    table: dict[tuple[str, str], Counter] = {}
    for (stream, sobject, outcome), n in sorted(counts.items()):
        table.setdefault((stream, sobject), Counter())[outcome] += n
    return [f"{stream} -> {sobject} ({label}): "
            + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
            for (stream, sobject), c in table.items()]
