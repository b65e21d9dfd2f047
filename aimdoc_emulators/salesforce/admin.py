"""The admin surface under ``/__emulator/``: stats, reset, seed, faults, sessions, config.

| call | what it does |
|---|---|
| ``GET stats`` | ``api_calls`` (counted against the daily limit), calls by kind, writes |
| ``POST reset`` | empty org, zero counts, no faults (sessions stay valid); ``{"org": "bare"}`` |
| ``POST seed`` | ``{"org", "metadata", "duplicate_rules", "assignment_rules", "records"}`` |
| ``GET/POST/DELETE faults`` | list, replace (``{seed, latency_ms, jitter_ms, rules}``), clear |
| ``POST faults/add`` | arm one rule |
| ``POST sessions/expire`` | every session token becomes invalid now |
| ``POST config`` | ``daily_limit``, ``concurrent_limit``, ``session_ttl``, ``duplicate_key`` |
| ``GET/POST duplicate-rules`` | list; ``{"Lead": {"action": "block"}, "add": [...]}`` |
| ``GET/POST assignment-rules`` | list; ``{"rules": [...], "active": {...}, "default_owner"}`` |
| ``POST convert-lead`` | ``{"lead_id", "contact_id"?, "account_id"?}`` |
| ``GET records/{Type}`` | every live record of an object |
| ``GET requests`` | the request log (method, path, status, kind, counted) |
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from aimdoc_emulators.salesforce.errors import ApiError, RecordFailure

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.emulator import SalesforceEmulator


class AdminResource:
    """Dispatches admin calls to the emulator's Python API."""

    def __init__(self, emulator: SalesforceEmulator) -> None:
        self.emulator = emulator

    def handle(self, request: Request) -> Response:
        """Run one admin call; errors come back as ``{"error": ...}`` with 400."""
        name = request.path.removeprefix("/__emulator/").strip("/")
        body = request.get_json(silent=True) or {}
        try:
            result = self._route(request.method, name, body)
        except (ValueError, TypeError, KeyError, ApiError, RecordFailure) as exc:
            return _json(400, {"error": repr(exc)})
        if result is None:
            return _json(404, {"error": f"no admin call {request.method} {name}"})
        return _json(200, result)

    def _route(self, method: str, name: str, body: dict[str, Any]) -> Any:
        emulator = self.emulator
        if name.startswith("records/") and method == "GET":
            return emulator.backend.all_records(name.split("/", 1)[1])
        routes = {
            ("GET", "stats"): emulator.stats,
            ("POST", "reset"): lambda: emulator.reset(body.get("org")) or {
                "status": "ok", "org": emulator.org},
            ("POST", "seed"): lambda: emulator.seed(body),
            ("GET", "faults"): emulator.fault_state,
            ("POST", "faults"): lambda: emulator.set_faults(body) or emulator.fault_state(),
            ("POST", "faults/add"): lambda: emulator.add_fault(body) or emulator.fault_state(),
            ("DELETE", "faults"): lambda: emulator.clear_faults() or {"status": "ok"},
            ("POST", "sessions/expire"): lambda: {"expired": emulator.expire_sessions()},
            ("POST", "config"): lambda: emulator.configure(**body),
            ("GET", "duplicate-rules"): emulator.duplicate_rules,
            ("POST", "duplicate-rules"): lambda: emulator.set_duplicate_rules(body) or (
                emulator.duplicate_rules()),
            ("GET", "assignment-rules"): emulator.assignment_rules,
            ("POST", "assignment-rules"): lambda: emulator.set_assignment_rules(body) or (
                emulator.assignment_rules()),
            ("POST", "convert-lead"): lambda: emulator.backend.convert_lead(**body),
            ("GET", "requests"): lambda: list(emulator.app.request_log),
        }
        call = routes.get((method, name))
        return call() if call else None


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
