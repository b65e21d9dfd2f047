"""The org's API accounting: daily allocation, concurrent requests, calls by kind."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aimdoc_emulators.salesforce.errors import limit_exceeded


@dataclass
class ApiLimits:
    """Counts the calls Salesforce would count and refuses those past the limits."""

    daily_limit: int = 15000
    concurrent_limit: int = 25
    used: int = 0
    in_flight: int = 0
    by_kind: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    bulk_batch_limit: int = 15000
    bulk_batches: int = 0  # Bulk API 1.0 batches uploaded
    query_job_limit: int = 10000
    query_jobs: int = 0  # Bulk API 2.0 query jobs created

    def reset(self) -> None:
        """Zero every count (the limits stay as configured)."""
        with self.lock:
            self.used = 0
            self.in_flight = 0
            self.by_kind = Counter()
            self.bulk_batches = 0
            self.query_jobs = 0

    def count_bulk_batch(self) -> None:
        """One Bulk API 1.0 batch (``DailyBulkApiBatches``)."""
        with self.lock:
            self.bulk_batches += 1

    def count_query_job(self) -> None:
        """One Bulk API 2.0 query job (``DailyBulkV2QueryJobs``)."""
        with self.lock:
            self.query_jobs += 1

    def enter(self) -> None:
        """Start one API call: 403 REQUEST_LIMIT_EXCEEDED past either limit."""
        with self.lock:
            if self.used >= self.daily_limit:
                raise limit_exceeded()
            if self.in_flight >= self.concurrent_limit:
                raise limit_exceeded(concurrent=True)
            self.in_flight += 1
            self.used += 1

    def refund(self) -> None:
        """Un-count the current call (a 401 does not count against the allocation)."""
        with self.lock:
            self.used = max(0, self.used - 1)

    def leave(self) -> None:
        """Finish one API call."""
        with self.lock:
            self.in_flight = max(0, self.in_flight - 1)

    def count_kind(self, kind: str) -> None:
        """Tally a call by kind (query, describe, collections_create, ...)."""
        with self.lock:
            self.by_kind[kind] += 1

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value; ``api-usage`` must come first."""
        return f"api-usage={self.used}/{self.daily_limit}"

    def payload(self) -> dict[str, Any]:
        """``GET /limits``, consistent with the header."""
        remaining = max(0, self.daily_limit - self.used)
        return {
            "DailyApiRequests": {"Max": self.daily_limit, "Remaining": remaining},
            "ConcurrentPerOrgLongTxn": {"Max": self.concurrent_limit, "Remaining": max(
                0, self.concurrent_limit - self.in_flight)},
            "DailyBulkApiBatches": {"Max": self.bulk_batch_limit, "Remaining": max(
                0, self.bulk_batch_limit - self.bulk_batches)},
            "DailyBulkV2QueryJobs": {"Max": self.query_job_limit, "Remaining": max(
                0, self.query_job_limit - self.query_jobs)},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
        }
