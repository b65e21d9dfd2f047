"""Fault and latency injection, deterministic for a given random seed.

A rule: ``{"error": "UNABLE_TO_LOCK_ROW", "probability": 0.05}`` or a script
``{"error": "INVALID_SESSION_ID", "times": 1, "after": 3}``; ``match`` limits it to a kind of
call (``any``, ``read``, ``write``, ``query``, ``insert``, ``update``, ``upsert``, ``delete``,
``composite``) and ``scope: "record"`` applies it to single records inside collections.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from aimdoc_emulators.salesforce.errors import (
    ApiError,
    limit_exceeded,
    record_error,
    session_invalid,
)

WRITE_KINDS = frozenset({"insert", "update", "upsert", "delete", "composite"})


def fault_error(name: str) -> ApiError:
    """The whole-call error the real service sends for a fault name."""
    table = {
        "UNABLE_TO_LOCK_ROW": lambda: ApiError.of(
            400, "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records: 0035e0000000001AAA",
            [],
        ),
        "SERVER_UNAVAILABLE": lambda: ApiError.of(
            503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry later."
        ),
        "UNKNOWN_EXCEPTION": lambda: ApiError.of(
            500, "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1234-5678 (-123)",
        ),
        "REQUEST_LIMIT_EXCEEDED": lambda: limit_exceeded(concurrent=True),
        "DAILY_LIMIT_EXCEEDED": limit_exceeded,
        "INVALID_SESSION_ID": session_invalid,
    }
    if name not in table:
        raise ValueError(f"unknown fault {name!r}; known: {sorted(table)} and DROP_CONNECTION")
    return table[name]()


@dataclass
class FaultRule:
    """One armed fault."""

    error: str
    probability: float = 1.0
    times: int | None = None
    after: int = 0
    match: str = "any"
    scope: str = "call"
    seen: int = 0
    fired: int = 0

    def applies_to(self, kind: str) -> bool:
        """Whether a call of this kind is a candidate."""
        if self.match == "any":
            return True
        if self.match == "write":
            return kind in WRITE_KINDS
        if self.match == "read":
            return kind not in WRITE_KINDS
        return self.match == kind

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin API lists it."""
        return dict(self.__dict__)


@dataclass
class FaultInjector:
    """Holds rules and latency; decides per call, with its own seeded random generator."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rules: list[FaultRule] = field(default_factory=list)
    injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def configure(self, spec: dict[str, Any]) -> None:
        """Replace the rules and latency: ``{"seed", "latency_ms", "jitter_ms", "rules": []}``."""
        with self.lock:
            if "seed" in spec:
                self.seed = int(spec["seed"])
                self.random = random.Random(self.seed)
            self.latency_ms = float(spec.get("latency_ms", self.latency_ms))
            self.jitter_ms = float(spec.get("jitter_ms", self.jitter_ms))
            if "rules" in spec:
                self.rules = [self._rule(raw) for raw in spec["rules"]]

    def add(self, raw: dict[str, Any]) -> None:
        """Arm one more rule."""
        with self.lock:
            self.rules.append(self._rule(raw))

    @staticmethod
    def _rule(raw: dict[str, Any]) -> FaultRule:
        rule = FaultRule(**{k: v for k, v in raw.items() if k in FaultRule.__dataclass_fields__})
        if rule.error not in {"DROP_CONNECTION"}:
            fault_error(rule.error)  # validates the name
        return rule

    def clear(self) -> None:
        """Disarm everything and zero latency."""
        with self.lock:
            self.rules = []
            self.latency_ms = self.jitter_ms = 0.0
            self.injected = 0

    def delay_seconds(self) -> float:
        """Seconds of injected latency for one call."""
        with self.lock:
            if not self.latency_ms and not self.jitter_ms:
                return 0.0
            return (self.latency_ms + self.random.uniform(0, self.jitter_ms)) / 1000.0

    def for_call(self, kind: str) -> str | None:
        """The fault to answer this call with, if one fires."""
        return self._pick(kind, "call")

    def for_record(self, kind: str) -> dict[str, Any] | None:
        """A per-record error inside a collection response, if one fires."""
        name = self._pick(kind, "record")
        if name is None:
            return None
        error = fault_error(name).errors[0]
        return record_error(error["errorCode"], error["message"], [])

    def _pick(self, kind: str, scope: str) -> str | None:
        with self.lock:
            for rule in self.rules:
                if rule.scope != scope or not rule.applies_to(kind):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if self.random.random() < rule.probability:
                    rule.fired += 1
                    self.injected += 1
                    return rule.error
            return None
