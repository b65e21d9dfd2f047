"""Call counts and a bounded request log for the Aimdoc emulator (never the API key)."""

from __future__ import annotations

from collections import Counter, deque


class RequestStats:
    """Counts API requests and keeps the latest ones.

    By endpoint on arrival; by status and injected fault when answered.
    """

    def __init__(self, log_size: int = 5000) -> None:
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self._answers: Counter[tuple[str, int]] = Counter()
        self.log: deque[dict] = deque(maxlen=log_size)

    def arrive(self, endpoint: str) -> None:
        """Count a request as it arrives (before any injected latency)."""
        self.total += 1
        self.by_endpoint[endpoint] += 1

    def record(self, *, method: str, path: str, endpoint: str, query: dict, status: int,
               fault: int | None = None) -> None:
        """Log how a request was answered."""
        self.by_status[str(status)] += 1
        self._answers[endpoint, status] += 1
        if fault is not None:
            self.faults[str(fault)] += 1
        self.log.append({"method": method, "path": path, "query": query, "status": status,
                         "fault": fault})

    def count(self, endpoint: str, *, status: int | None = None) -> int:
        """Requests to an endpoint (e.g. ``contacts``), optionally only with one status."""
        if status is None:
            return self.by_endpoint[endpoint]
        return self._answers[endpoint, status]

    def to_json(self) -> dict:
        """JSON-ready counters."""
        return {"requests": self.total, "by_endpoint": dict(self.by_endpoint),
                "by_status": dict(self.by_status), "faults": dict(self.faults)}

