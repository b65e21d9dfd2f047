"""Fault and latency injection: 429 with Retry-After, 500, 503, slow and broken responses.

Random faults come from a seeded source drawn once per API request, so with a single-threaded
client the same seed fails the same requests. Scripted rules fire first, in order: ``{"status":
503, "times": 2, "after": 10, "path": "/api/v1/contacts", "latency_ms": 0}`` skips the first 10
matching requests, then fails the next 2. A rule without ``status`` only adds latency.

A rule may also match one page only (``"page": 3``, the query's ``page``), answer a 200 whose
body is broken (``"body"``: ``empty`` = ``{}``, ``null_data`` = ``{"data": null}``, ``error``
= an error object, ``malformed`` = not JSON), or answer a 500 that echoes the request, headers
included (``"echo": true``), as careless servers do: it carries the API key.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

STATUSES = (429, 500, 503)
BODIES = ("empty", "null_data", "error", "malformed")


@dataclass(frozen=True)
class Fault:
    """What to do to one request: wait, then maybe answer with an error status."""

    latency: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    body: str | None = None  # a broken 200 body (see BODIES)
    echo: bool = False  # a 500 echoing the request


@dataclass
class FaultConfig:
    """Shares of requests that fail, latency, and scripted rules."""

    seed: int = 0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    retry_after: int = 1
    paths: list[str] | None = None
    script: list[dict] = field(default_factory=list)

    @classmethod
    def from_json(cls, values: dict) -> FaultConfig:
        """Validate a JSON object; raise ValueError on unknown keys or bad values."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            msg = f"unknown fault settings: {sorted(unknown)}"
            raise ValueError(msg)
        config = cls(**values)
        rates = (config.rate_429, config.rate_500, config.rate_503)
        if any(rate < 0 for rate in rates) or sum(rates) > 1:
            msg = "fault rates must be >= 0 and add up to at most 1"
            raise ValueError(msg)
        for rule in config.script:
            check_rule(rule)
        return config

    def to_json(self) -> dict:
        """JSON-ready settings."""
        return asdict(self)


def check_rule(rule: dict) -> None:
    """Raise ValueError for a scripted rule the injector cannot apply."""
    if rule.get("body") is not None:
        if rule["body"] not in BODIES:
            msg = f"body must be one of {BODIES}"
            raise ValueError(msg)
        if rule.get("status", 200) != 200:
            msg = "a broken body comes with status 200"
            raise ValueError(msg)
    elif rule.get("echo"):
        if rule.get("status", 500) != 500:
            msg = "an echo comes with status 500"
            raise ValueError(msg)
    elif rule.get("status") not in (None, *STATUSES, 401, 403, 404):
        msg = f"unsupported scripted status {rule.get('status')!r}"
        raise ValueError(msg)
    if "page" in rule and not isinstance(rule["page"], int):
        msg = "page must be an integer"
        raise ValueError(msg)


class FaultInjector:
    """Decides, request by request, which fault (if any) applies."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self.rng = random.Random(self.config.seed)
        self._seen = [0] * len(self.config.script)

    def decide(self, path: str, args: dict | None = None) -> Fault:
        """The fault for a request to ``path`` with query ``args`` (empty when none applies)."""
        config = self.config
        if config.paths is not None and not any(path.startswith(p) for p in config.paths):
            return Fault()
        latency = config.latency_ms / 1000
        if config.latency_jitter_ms:
            latency += self.rng.randint(0, config.latency_jitter_ms) / 1000
        scripted = self._scripted(path, args or {})
        if scripted is not None:
            return Fault(latency + scripted.latency, scripted.status, scripted.retry_after,
                         scripted.body, scripted.echo)
        draw = self.rng.random()
        for status, rate in zip(STATUSES, (config.rate_429, config.rate_500, config.rate_503),
                                strict=True):
            if draw < rate:
                return Fault(latency, status, self._retry_after(status))
            draw -= rate
        return Fault(latency)

    def _scripted(self, path: str, args: dict) -> Fault | None:
        for index, rule in enumerate(self.config.script):
            if not path.startswith(rule.get("path", "")):
                continue
            if "page" in rule and str(args.get("page", "1")) != str(rule["page"]):
                continue
            self._seen[index] += 1
            skipped = rule.get("after", 0)
            if skipped < self._seen[index] <= skipped + rule.get("times", 1):
                body, echo = rule.get("body"), bool(rule.get("echo"))
                status = 200 if body else 500 if echo else rule.get("status")
                return Fault(rule.get("latency_ms", 0) / 1000, status,
                             self._retry_after(status, rule.get("retry_after")), body, echo)
        return None

    def _retry_after(self, status: int | None, override: int | None = None) -> int | None:
        if status not in (429, 503):
            return None
        return self.config.retry_after if override is None else override
