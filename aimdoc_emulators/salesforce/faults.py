"""Fault and latency injection, deterministic for a given random seed.

A rule: ``{"error": "UNABLE_TO_LOCK_ROW", "probability": 0.05}`` or a script
``{"error": "INVALID_SESSION_ID", "times": 1, "after": 3}``; ``match`` limits it to a kind of
call (``any``, ``read``, ``write``, ``query``, ``insert``, ``update``, ``upsert``, ``delete``,
``composite``), ``scope: "record"`` applies it to single records inside collections,
``scope: "subrequest"`` to one Composite subrequest after it did its work (its answer becomes
the error), and
``body_contains`` to calls (or records) whose JSON contains a marker string; ``phase: "after"``
answers with the error (or drops the connection) after the call has done its work, as a
timeout or a 500 after the commit does; ``{"error": "HANG", "seconds": 30}`` holds the answer
back that long (before or after the work), for a client's read timeout to fire. Besides the named
faults, any error code with ``status`` answers ``[{"errorCode", "message"}]`` (e.g. a
``JSON_PARSER_ERROR`` refusing a whole collection).
"""

from __future__ import annotations

import json
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

# Faults answered by the transport, not as a Salesforce error: a cut connection, an answer
# held back, an HTML page with status 200 (a proxy's login or error page), a JSON body cut
# short (a connection that ended mid-body).
RAW_FAULTS = frozenset({"DROP_CONNECTION", "HANG", "HTML_200", "TRUNCATED_JSON"})
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>"
             b"<h1>The gateway could not reach the service</h1></body></html>")
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
    body_contains: str | None = None
    phase: str = "before"
    status: int | None = None
    message: str | None = None
    seconds: float = 0.0  # HANG: how long the answer is held back
    seen: int = 0
    fired: int = 0

    def applies_to(self, kind: str, body: str = "") -> bool:
        """Whether a call of this kind (and body) is a candidate."""
        if self.body_contains is not None and self.body_contains not in body:
            return False
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
        if rule.error not in RAW_FAULTS and rule.status is None:
            fault_error(rule.error)  # validates the name
        return rule

    def error_for(self, name: str) -> ApiError:
        """The ApiError of a fired rule (a named fault, or a custom code with a status)."""
        rule = next((r for r in self.rules if r.error == name and r.status), None)
        if rule is None:
            return fault_error(name)
        return ApiError.of(rule.status, name, rule.message or f"{name} (injected)")

    def hang_seconds(self) -> float:
        """How long a fired HANG rule holds the answer back.

        A response that never completes, for a client whose read timeout is shorter.
        """
        return max((rule.seconds for rule in self.rules if rule.error == "HANG"), default=0.0)

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

    def for_call(self, kind: str, body: str = "", phase: str = "before") -> str | None:
        """The fault to answer this call with, if one fires (before or after its work)."""
        return self._pick(kind, "call", body, phase)

    def fires_on_subrequests(self) -> bool:
        """Whether any rule could answer a Composite subrequest (``for_subrequest``)."""
        return any(rule.scope == "subrequest" for rule in self.rules)

    def for_subrequest(self, kind: str, body: str = "") -> str | None:
        """A fault answering one Composite subrequest after it did its work.

        ``scope: "subrequest"``: that subrequest's answer becomes the error, the others stand.
        """
        if not self.fires_on_subrequests():
            return None
        return (self._pick(kind, "subrequest", body, "after")
                or self._pick(kind, "subrequest", body, "before"))  # either: after its work

    def for_record(self, kind: str, record: Any = None) -> dict[str, Any] | None:
        """A per-record error inside a collection response, if one fires."""
        if not any(rule.scope == "record" for rule in self.rules):
            return None  # nothing could fire: skip rendering the record
        text = json.dumps(record, default=str) if record is not None else ""
        name = self._pick(kind, "record", text)
        if name is None:
            return None
        error = self.error_for(name).errors[0]
        return record_error(error["errorCode"], error["message"], [])

    def _pick(self, kind: str, scope: str, body: str = "", phase: str = "before") -> str | None:
        with self.lock:
            for rule in self.rules:
                if rule.scope != scope or rule.phase != phase or not rule.applies_to(kind, body):
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
