"""The WSGI application: admin calls, or an API call through faults, auth and the handlers."""

from __future__ import annotations

import time
from email.utils import format_datetime
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from aimdoc_emulators.aimdoc.admin import AimdocAdmin
from aimdoc_emulators.aimdoc.responses import AimdocResponses, error
from aimdoc_emulators.aimdoc.urls import LISTS, url_map

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from aimdoc_emulators.aimdoc.faults import Fault
    from aimdoc_emulators.aimdoc.models import AimdocBackend

_FAULT_ERRORS = {
    429: ("rate_limited", "Too many requests, slow down"),
    500: ("internal_error", "Something went wrong on our side"),
    503: ("service_unavailable", "The service is temporarily unavailable"),
    401: ("unauthorized", "Invalid API key"),
    403: ("forbidden", "API access requires the Convert plan"),
    404: ("not_found", "Not found"),
}


class AimdocApp:
    """Serves the Aimdoc External API from an ``AimdocBackend``."""

    def __init__(self, backend: AimdocBackend) -> None:
        self.backend = backend
        self.api = AimdocResponses(backend)
        self.admin = AimdocAdmin(backend)

    def clock(self) -> datetime:
        """The emulator's time, sent as the HTTP ``Date`` header."""
        return self.backend.now

    def __call__(self, environ: dict, start_response: object) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        response = self.dispatch(request)
        response.headers["Date"] = format_datetime(self.clock(), usegmt=True)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route a request to the admin surface or to the API."""
        try:
            endpoint, args = url_map.bind_to_environ(request.environ).match()
        except HTTPException:
            endpoint, args = "unknown", {}
        if endpoint.startswith("admin:"):
            return self.admin.dispatch(endpoint.removeprefix("admin:"), request, args)
        self.backend.before_request()
        with self.backend.lock:
            stats = self.backend.stats  # a reset while this request sleeps starts new stats
            stats.arrive(endpoint)
            fault = self.backend.faults.decide(request.path)
        if fault.latency:
            time.sleep(fault.latency)
        response = self._fault(fault) or self._auth(request) or self._serve(
            endpoint, request, args)
        with self.backend.lock:
            stats.record(method=request.method, path=request.path, endpoint=endpoint,
                         query=dict(request.args), status=response.status_code,
                         fault=fault.status)
        return response

    def _fault(self, fault: Fault) -> Response | None:
        if fault.status is None:
            return None
        code, message = _FAULT_ERRORS[fault.status]
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None \
            else None
        return error(fault.status, code, message, headers)

    def _auth(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return error(401, "unauthorized", "Missing API key: send Authorization: Bearer ak_...")
        if not key.startswith("ak_") or key not in self.backend.keys:
            return error(401, "unauthorized", "Invalid API key")
        if not self.backend.keys[key]:
            return error(403, "forbidden", "API access requires the Convert plan")
        return None

    def _serve(self, endpoint: str, request: Request, args: dict) -> Response:
        if endpoint == "unknown":
            return error(404, "not_found", f"No such endpoint: {request.path}")
        if request.method != "GET":
            return error(405, "method_not_allowed", "The Aimdoc API is read-only: use GET")
        if endpoint == "visitor_profile":
            return self.api.visitor_profile(args["visitor_id"])
        response = self.api.listing(LISTS[endpoint], request.args)
        if endpoint == "leads":
            response.headers["Deprecation"] = "true"
            response.headers["Link"] = '</api/v1/contacts>; rel="successor-version"'
        return response
