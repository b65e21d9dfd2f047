"""The WSGI application: admin calls, or an API call through faults, auth and the handlers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from aimdoc_emulators.aimdoc.admin import AimdocAdmin
from aimdoc_emulators.aimdoc.responses import AimdocResponses, Response, error, json_response
from aimdoc_emulators.aimdoc.urls import API_PATHS, LISTS, url_map

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
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


# 200 bodies that are no page of records (see faults.BODIES).
BROKEN_BODIES = {
    "empty": b"{}",
    "null_data": b'{"data": null}',
    "error": b'{"error": {"code": "internal_error", "message": "Something went wrong"}}',
    "malformed": b'{"data": [{"id": "6f1c", "email": "trunc',
}


def echo(call: ApiCall, environ: dict) -> Response:
    """A 500 whose body echoes the request, every header included (the API key too)."""
    headers = {name[5:].replace("_", "-").title(): value for name, value in environ.items()
               if name.startswith("HTTP_")}
    return json_response({"request": {"headers": headers, "method": call.method,
                                      "path": call.path, "query": call.args},
                          "error": "Unhandled exception while serving the request"}, 500)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """What the API handlers need of a request (as werkzeug's ``Request`` would give it)."""

    method: str
    path: str
    args: dict[str, str]  # the first value of each query parameter, in order
    authorization: str
    url_args: dict

    @classmethod
    def from_environ(cls, environ: dict, path: str) -> ApiCall:
        """A call to a fixed API path (PATH_INFO is ``path``), read without werkzeug."""
        query = environ.get("QUERY_STRING", "")
        args: dict[str, str] = {}
        if query.isascii() and "%" not in query and "+" not in query:
            # Nothing to decode or unquote: parse_qsl's fields, split as it splits them.
            for field in query.split("&"):
                if field:
                    name, _, value = field.partition("=")
                    args.setdefault(name, value)
        else:
            for name, value in parse_qsl(query.encode("latin1").decode(),
                                         keep_blank_values=True, errors="werkzeug.url_quote"):
                args.setdefault(name, value)
        return cls(environ.get("REQUEST_METHOD", "GET").upper(), path, args,
                   environ.get("HTTP_AUTHORIZATION", ""), {})

    @classmethod
    def from_request(cls, request: Request, url_args: dict) -> ApiCall:
        """A call to any other path, read by werkzeug."""
        return cls(request.method, request.path, dict(request.args),
                   request.headers.get("Authorization", ""), url_args)


class AimdocApp:
    """Serves the Aimdoc External API from an ``AimdocBackend``."""

    def __init__(self, backend: AimdocBackend) -> None:
        self.backend = backend
        self.api = AimdocResponses(backend)
        self.admin = AimdocAdmin(backend)
        self._date: tuple[datetime, str] | None = None

    def clock(self) -> datetime:
        """The emulator's time, sent as the HTTP ``Date`` header."""
        return self.backend.now

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """WSGI entry point."""
        response = self.dispatch(environ)
        response.add_header("Date", self._date_header())
        return response(environ, start_response)

    def _date_header(self) -> str:
        """The clock as an HTTP date, formatted once per clock value."""
        now, cached = self.clock(), self._date
        if cached is None or cached[0] != now:
            cached = self._date = (now, format_datetime(now, usegmt=True))
        return cached[1]

    def dispatch(self, environ: dict) -> Response:
        """Route a request to the admin surface or to the API."""
        path = environ.get("PATH_INFO")
        endpoint = API_PATHS.get(path)  # type: ignore[arg-type]
        if endpoint is not None and "HTTP_UPGRADE" not in environ:
            return self._api(endpoint, ApiCall.from_environ(environ, path),  # type: ignore[arg-type]
                             environ)
        request = Request(environ)
        try:
            endpoint, args = url_map.bind_to_environ(environ).match()
        except HTTPException:
            endpoint, args = "unknown", {}
        if endpoint.startswith("admin:"):
            return self.admin.dispatch(endpoint.removeprefix("admin:"), request, args)
        return self._api(endpoint, ApiCall.from_request(request, args), environ)

    def _api(self, endpoint: str, call: ApiCall, environ: dict) -> Response:
        """An API call: scheduled advances, counts, faults, auth, then the handler."""
        self.backend.before_request()
        with self.backend.lock:
            stats = self.backend.stats  # a reset while this request sleeps starts new stats
            stats.arrive(endpoint)
            fault = self.backend.faults.decide(call.path, call.args)
        if fault.latency:
            time.sleep(fault.latency)
        response = self._fault(fault, call, environ) or self._auth(call.authorization) or \
            self._serve(endpoint, call)
        with self.backend.lock:
            stats.record(method=call.method, path=call.path, endpoint=endpoint,
                         query=call.args, status=response.status_code,
                         fault=fault.body or fault.status)
        return response

    def _fault(self, fault: Fault, call: ApiCall, environ: dict) -> Response | None:
        if fault.body is not None:
            return Response(BROKEN_BODIES[fault.body], 200)
        if fault.echo:
            return echo(call, environ)
        if fault.status is None:
            return None
        code, message = _FAULT_ERRORS[fault.status]
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None \
            else None
        return error(fault.status, code, message, headers)

    def _auth(self, authorization: str) -> Response | None:
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return error(401, "unauthorized", "Missing API key: send Authorization: Bearer ak_...")
        if not key.startswith("ak_") or key not in self.backend.keys:
            return error(401, "unauthorized", "Invalid API key")
        if not self.backend.keys[key]:
            return error(403, "forbidden", "API access requires the Convert plan")
        return None

    def _serve(self, endpoint: str, call: ApiCall) -> Response:
        if endpoint == "unknown":
            return error(404, "not_found", f"No such endpoint: {call.path}")
        if call.method != "GET":
            return error(405, "method_not_allowed", "The Aimdoc API is read-only: use GET")
        if endpoint == "visitor_profile":
            return self.api.visitor_profile(call.url_args["visitor_id"])
        response = self.api.listing(LISTS[endpoint], call.args)
        if endpoint == "leads":
            response.add_header("Deprecation", "true")
            response.add_header("Link", '</api/v1/contacts>; rel="successor-version"')
        return response
