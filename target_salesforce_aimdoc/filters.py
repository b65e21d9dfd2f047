"""Which records sync at all: a stream's filtering rules, all of which must hold (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.expressions import CompiledExpression, ExpressionError, Scope

if TYPE_CHECKING:
    from target_salesforce_aimdoc.settings import StreamConfig, SyncSettings


@dataclass(frozen=True)
class Rule:
    """A named filtering rule; skipped records are counted under ``name``."""

    name: str
    expr: CompiledExpression


@dataclass(frozen=True)
class Skip:
    """The first rule a record failed, and the evaluation error if it raised one."""

    rule: str
    error: str | None = None


def first_failure(record: Mapping[str, Any] | Scope, rules: Sequence[Rule]) -> Skip | None:
    """The first rule that does not hold for the record, or None to keep it.

    A rule holds when its expression is truthy. A rule whose evaluation fails (e.g.
    ``score >= 50`` on a record without ``score``) does not hold; the error is kept.
    """
    scope = record if isinstance(record, Scope) else Scope(record)
    for rule in rules:
        try:
            holds = bool(rule.expr.evaluate(scope))
        except ExpressionError as exc:
            return Skip(rule.name, str(exc))
        if not holds:
            return Skip(rule.name)
    return None


def failed_rule(record: Mapping[str, Any] | Scope, rules: Sequence[Rule]) -> str | None:
    """The name of the first rule the record fails, or None when every rule holds."""
    skip = first_failure(record, rules)
    return skip.rule if skip else None


def skip_reason(
    record: Mapping[str, Any], stream: StreamConfig, settings: SyncSettings
) -> Skip | None:
    """Why a stream's rules skip this record (None to keep it); ``config`` is visible."""
    scope = Scope(record, config=settings.map_config, stream=stream.name)
    return first_failure(scope, stream.filters)
