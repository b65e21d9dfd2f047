"""SalesforceEmulator: the Python API that tests, the demo and the CLI use."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aimdoc_emulators.salesforce.admin import AdminResource
from aimdoc_emulators.salesforce.app import SalesforceApp
from aimdoc_emulators.salesforce.auth import Authenticator, Credentials, make_jwt_keypair
from aimdoc_emulators.salesforce.bulk import BulkIngest
from aimdoc_emulators.salesforce.faults import FaultInjector
from aimdoc_emulators.salesforce.limits import ApiLimits
from aimdoc_emulators.salesforce.models import SalesforceBackend
from aimdoc_emulators.server import ThreadedServer


class SalesforceEmulator:
    """An emulated org served over HTTPS on 127.0.0.1.

    ``start()`` binds a free port (or ``port``), writes the CA file and a JWT key pair to
    ``work_dir``; ``url`` is the instance URL; ``login_domain`` is the ``domain=`` value that
    points simple-salesforce's login calls here. ``org``: ``default`` (a new org of today, with
    the standard duplicate rules and a Lead assignment rule active) or ``bare`` (neither).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        db_path: str = ":memory:",
        seed_file: str | Path | None = None,
        credentials: Credentials | None = None,
        daily_limit: int = 15000,
        concurrent_limit: int = 25,
        session_ttl: float = 7200.0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        fault_seed: int = 0,
        work_dir: str | Path | None = None,
        tls: bool = True,
        org: str = "default",
    ) -> None:
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="salesforce-emulator-"))
        self.credentials = credentials or Credentials()
        self.jwt_private_key_file: Path | None = None
        if self.credentials.jwt_public_key is None:
            key_file, cert_file = make_jwt_keypair(self.work_dir)
            self.jwt_private_key_file = key_file
            self.credentials.jwt_public_key = cert_file.read_text(encoding="utf-8")
        self.backend = SalesforceBackend(db_path=db_path, seed_file=seed_file, org=org)
        self.auth = Authenticator(self.credentials, session_ttl=session_ttl)
        self.limits = ApiLimits(daily_limit=daily_limit, concurrent_limit=concurrent_limit)
        self.faults = FaultInjector(seed=fault_seed, latency_ms=latency_ms, jitter_ms=jitter_ms)
        self.app = SalesforceApp(self.backend, self.auth, self.limits, self.faults)
        self.app.admin = AdminResource(self)
        self.server = ThreadedServer(self.app, port=port, tls=tls, tls_dir=self.work_dir)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> SalesforceEmulator:
        """Serve on a background thread."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def __enter__(self) -> SalesforceEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The instance URL, e.g. ``https://127.0.0.1:54321``."""
        return self.server.url

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate clients must trust."""
        return self.server.ca_file

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return self.url.split("://", 1)[1]

    def login_domain(self, name: str = "emulator") -> str:
        """A ``domain=`` for simple-salesforce: login URLs become ``https://HOST/name.salesforce.com/...``."""
        return f"{self.host}/{name}"

    # ---------------------------------------------------------------- admin
    def reset(self, org: str | None = None) -> None:
        """Empty org, zero counters, no faults; sessions stay valid.

        ``org`` (``default`` or ``bare``) switches the org profile for this and later resets.
        """
        self.backend.reset(org)
        self.limits.reset()
        self.faults.clear()
        self.app.request_log.clear()
        self.bulk.reset(settings=True)
        self.app.reset_extras()

    @property
    def bulk(self) -> BulkIngest:
        """The Bulk API 2.0 ingest jobs (``bulk.jobs``, ``bulk.stats()``)."""
        return self.app.responses.bulk

    def seed(self, data: dict[str, Any]) -> dict[str, list[str]]:
        """Add metadata, duplicate rules and records (see ``SalesforceBackend.seed``)."""
        return self.backend.seed(data)

    def stats(self) -> dict[str, Any]:
        """API calls counted against the daily limit, by kind, records written, Bulk jobs.

        ``bulk_jobs`` counts Bulk API 2.0 ingest jobs created, ``bulk_records`` the rows they
        processed (failed rows included, as ``numberRecordsProcessed``); the records they wrote
        are in ``records`` too.
        """
        counters = self.backend.counters
        bulk = self.bulk.stats()
        return {
            "api_calls": self.limits.used,
            "daily_limit": self.limits.daily_limit,
            "calls_by_kind": dict(self.limits.by_kind),
            "records": {"created": counters.created, "updated": counters.updated,
                        "deleted": counters.deleted, "by_object": counters.by_object},
            "bulk_jobs": bulk["jobs"],
            "bulk_records": bulk["records_processed"],
            "bulk": bulk,
            "logins": self.auth.logins,
            "faults_injected": self.faults.injected,
            "requests_logged": len(self.app.request_log),
        }

    def fault_state(self) -> dict[str, Any]:
        """Armed rules and latency."""
        return {"seed": self.faults.seed, "latency_ms": self.faults.latency_ms,
                "jitter_ms": self.faults.jitter_ms,
                "rules": [rule.to_json() for rule in self.faults.rules]}

    def set_faults(self, spec: dict[str, Any]) -> None:
        """Replace rules and latency."""
        self.faults.configure(spec)

    def add_fault(self, rule: dict[str, Any]) -> None:
        """Arm one rule, e.g. ``{"error": "INVALID_SESSION_ID", "times": 1}``."""
        self.faults.add(rule)

    def clear_faults(self) -> None:
        """Disarm every rule and zero latency."""
        self.faults.clear()

    def expire_sessions(self) -> int:
        """Invalidate every session now."""
        return self.auth.expire_all()

    @property
    def org(self) -> str:
        """The org profile: ``default`` or ``bare``."""
        return self.backend.org

    def set_duplicate_rules(self, rules: dict[str, Any]) -> None:
        """Change duplicate rules: ``{"Lead": {"action": "block"}}``, ``{"add": [...]}``, ...

        See ``DuplicateManager.configure`` and docs/emulator-duplicate-rules.md.
        """
        self.backend.configure_duplicate_rules(rules)

    def duplicate_rules(self) -> list[dict[str, Any]]:
        """The org's duplicate rules."""
        return self.backend.dupes.listing()

    def set_assignment_rules(self, spec: dict[str, Any]) -> None:
        """Define or (de)activate Lead assignment rules, set the default lead owner."""
        self.backend.configure_assignment_rules(spec)

    def assignment_rules(self) -> dict[str, Any]:
        """The org's Lead assignment rules and default lead owner."""
        return self.backend.assignment.listing()

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change limits, the session TTL, the duplicate-result key spelling, Bulk settings.

        ``bulk_in_progress_polls``: job reads that still answer ``InProgress`` after processing
        (default 1); ``bulk_allow_duplicates``: Bulk rows save past Allow duplicate rules, as if
        ``allowSave=true`` (default false: DUPLICATES_DETECTED, as REST without the header).
        """
        if "daily_limit" in options:
            self.limits.daily_limit = int(options["daily_limit"])
        if "concurrent_limit" in options:
            self.limits.concurrent_limit = int(options["concurrent_limit"])
        if "api_used" in options:
            self.limits.used = int(options["api_used"])
        if "session_ttl" in options:
            self.auth.session_ttl = float(options["session_ttl"])
        if "duplicate_key" in options:
            self.backend.duplicate_key = str(options["duplicate_key"])
        if "bulk_in_progress_polls" in options:
            self.bulk.in_progress_polls = int(options["bulk_in_progress_polls"])
        if "bulk_allow_duplicates" in options:
            self.bulk.allow_duplicates = bool(options["bulk_allow_duplicates"])
        return {"daily_limit": self.limits.daily_limit,
                "concurrent_limit": self.limits.concurrent_limit,
                "session_ttl": self.auth.session_ttl,
                "bulk_in_progress_polls": self.bulk.in_progress_polls,
                "bulk_allow_duplicates": self.bulk.allow_duplicates}
