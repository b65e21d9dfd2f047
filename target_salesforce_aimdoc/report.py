"""Per-record outcomes of a run, and their counts per stream, object and outcome."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_salesforce_aimdoc.mapping import FieldIssue, MappedRecord
    from target_salesforce_aimdoc.plan import Step

OUTCOME_OF_ACTION = {"create": "created", "update": "updated", "unchanged": "unchanged",
                     "skip": "skipped", "fail": "failed"}


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


@dataclass
class RunReport:
    """Counts and the outcomes worth listing (failures, and every outcome up to a bound)."""

    counts: Counter = field(default_factory=Counter)
    skipped_by_rule: Counter = field(default_factory=Counter)
    records_seen: Counter = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)
    max_outcomes: int = 10_000  # listed in the report; counts and failures are kept in full

    def add(self, outcome: Outcome) -> None:
        """Count an outcome and keep it (within the bound)."""
        self.counts[(outcome.stream, outcome.sobject or "-", outcome.outcome)] += 1
        if len(self.outcomes) < self.max_outcomes or outcome.outcome == "failed":
            self.outcomes.append(outcome)

    def add_step(self, step: Step) -> None:
        """Every source record of a step gets the step's outcome."""
        outcome = OUTCOME_OF_ACTION[step.action]
        sobject = step.sobject if step.via is None else f"Lead->{step.sobject}"
        for stream, key in step.sources:
            self.add(Outcome(stream, key, sobject, outcome, step.record_id,
                             step.reason or step.via, list(step.errors), dict(step.changes),
                             step.duplicates, step.assignment if step.writes else None))

    def add_skip(self, stream: str, key: str, rule: str) -> None:
        """A record a filtering rule kept out of the sync."""
        self.skipped_by_rule[(stream, rule)] += 1
        self.add(Outcome(stream, key, None, "skipped", reason=f"filter:{rule}"))

    def add_issue(self, mapped: MappedRecord, issue: FieldIssue) -> None:
        """A record (or one object of it) our own checks reject before any write."""
        errors = [{"statusCode": issue.code, "message": issue.message,
                   "fields": [issue.field] if issue.field else []}]
        self.add(Outcome(mapped.stream, mapped.key, issue.object, "failed", errors=errors))

    def count(self, outcome: str, sobject: str | None = None, stream: str | None = None) -> int:
        """How many outcomes of a kind (optionally for one object or stream)."""
        return sum(n for (s, o, kind), n in self.counts.items()
                   if kind == outcome and (sobject is None or o == sobject)
                   and (stream is None or s == stream))

    def summary_lines(self) -> list[str]:
        """Counts per stream and object, one line each (for the log)."""
        table: dict[tuple[str, str], Counter] = {}
        for (stream, sobject, outcome), n in sorted(self.counts.items()):
            table.setdefault((stream, sobject), Counter())[outcome] += n
        return [
            f"{stream} -> {sobject}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
            for (stream, sobject), c in table.items()
        ]
