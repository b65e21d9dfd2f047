"""The WSGI app: login endpoints, the REST API under ``/services/data``, admin, record pages."""

from __future__ import annotations

import html
import json
import logging
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.wrappers import Request, Response

from aimdoc_emulators.salesforce import urls
from aimdoc_emulators.salesforce.auth import (
    Authenticator,
    AuthError,
    oauth_success,
    soap_fault,
    soap_login_response,
)
from aimdoc_emulators.salesforce.composite import run_composite
from aimdoc_emulators.salesforce.errors import ApiError, json_parser_error, session_invalid
from aimdoc_emulators.salesforce.faults import FaultInjector, fault_error
from aimdoc_emulators.salesforce.limits import ApiLimits
from aimdoc_emulators.salesforce.responses import (
    ApiRequest,
    ApiResponse,
    SalesforceResponses,
    error_response,
)
from aimdoc_emulators.server import SOCKET_KEY

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aimdoc_emulators.salesforce.models import SalesforceBackend

LOGGER = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 16384
LOG_SIZE = 20000


class SalesforceApp:
    """Routes a request to auth, REST, admin or a record page; counts and faults REST calls."""

    def __init__(
        self,
        backend: SalesforceBackend,
        auth: Authenticator | None = None,
        limits: ApiLimits | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.backend = backend
        self.auth = auth or Authenticator()
        self.limits = limits or ApiLimits()
        self.faults = faults or FaultInjector()
        self.responses = SalesforceResponses(backend, self.limits, self.faults)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.admin: Any = None  # set by the emulator (admin.AdminResource)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except _Drop:
            _drop_socket(environ)
            response = Response(b"", status=500)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Pick the resource for a request."""
        path = request.path
        if path.startswith(urls.ADMIN_PREFIX) and self.admin is not None:
            return self.admin.handle(request)
        if urls.SOAP_LOGIN.search(path) and request.method == "POST":
            return self.soap_login(request)
        if urls.OAUTH_TOKEN.search(path) and request.method == "POST":
            return self.oauth_token(request)
        if urls.RECORD_PAGE.match(path):
            return self.record_page(request)
        if urls.DATA_PREFIX.match(path) or path.rstrip("/").lower() == "/services/data":
            return self.rest(request)
        return _json(404, [{"errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist"}])

    # ------------------------------------------------------------------ auth
    def base_url(self, request: Request) -> str:
        """``https://127.0.0.1:PORT`` as the client reached us."""
        return f"{request.scheme}://{request.host}"

    def soap_login(self, request: Request) -> Response:
        """SOAP ``login``: a loginResponse, or a LoginFault with HTTP 500."""
        version = urls.SOAP_LOGIN.search(request.path).group("version")
        try:
            session = self.auth.soap_login(request.get_data())
        except AuthError as error:
            return Response(soap_fault(error.error, error.description), status=500,
                            content_type="text/xml;charset=UTF-8")
        body = soap_login_response(session, self.base_url(request), version)
        return Response(body, status=200, content_type="text/xml;charset=UTF-8")

    def oauth_token(self, request: Request) -> Response:
        """OAuth 2.0 token endpoint (password, client_credentials, refresh_token, JWT)."""
        form = dict(request.form)
        try:
            session = self.auth.oauth_token(form, request.headers.get("Authorization"),
                                            request.path)
        except AuthError as error:
            return _json(error.status, {"error": error.error,
                                        "error_description": error.description})
        return _json(200, oauth_success(session, self.base_url(request)))

    # ------------------------------------------------------------------ REST
    def rest(self, request: Request) -> Response:
        """A REST call: route, authenticate, count, inject faults, run, add the limit header."""
        raw_path = urlsplit(request.environ.get("RAW_URI") or request.full_path).path
        if _request_bytes(request) > MAX_REQUEST_BYTES:
            return Response("<h1>414 Request-URI Too Large</h1>", status=414,
                            content_type="text/html")
        match = urls.DATA_PREFIX.match(raw_path)
        if match is None:
            return _json(200, [{"label": "Winter '24", "url": "/services/data/v59.0",
                                "version": "59.0"}])
        version, rest = match.group("version"), match.group("rest") or ""
        route = urls.match_route(rest, request.method)
        if route is None:
            return self._finish(request, ApiResponse(404, [{
                "errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
                "unknown", counted=False)
        handler, kind, args = route
        if not self.auth.is_valid(_bearer(request)):
            return self._finish(request, error_response(session_invalid()), kind, counted=False)
        try:
            self.limits.enter()
        except ApiError as error:
            return self._finish(request, error_response(error), kind, counted=False)
        try:
            response = self._run(request, handler, kind, version, args)
        except (_Drop, KeyboardInterrupt):
            raise
        except Exception:  # a bug in the emulator answers as the real service's 500 would
            LOGGER.exception("emulator error on %s %s", request.method, request.path)
            response = error_response(fault_error("UNKNOWN_EXCEPTION"))
        finally:
            self.limits.leave()
        counted = response.status != 401
        if not counted:
            self.limits.refund()
        return self._finish(request, response, kind, counted=counted)

    def _run(
        self, request: Request, handler: str, kind: str, version: str, args: dict[str, str]
    ) -> ApiResponse:
        delay = self.faults.delay_seconds()
        if delay:
            time.sleep(delay)
        injected = self.faults.for_call(kind, request.get_data(as_text=True))
        if injected == "DROP_CONNECTION":
            raise _Drop
        if injected:
            return error_response(self.faults.error_for(injected))
        raw_body = request.get_data()
        if handler == "bulk_upload" or (request.mimetype or "").lower() == "text/csv":
            body = None  # a CSV upload: handlers read raw_body
        else:
            try:
                body = json.loads(raw_body or b"null")
            except ValueError as exc:
                return error_response(json_parser_error(f"Unexpected character: {exc}"))
        self.limits.count_kind(f"{handler}")
        api_request = ApiRequest(request.method, version, args,
                                 dict(request.args), body, dict(request.headers), raw_body)
        if handler == "composite":
            try:
                response = ApiResponse(200, run_composite(api_request, self.backend,
                                                          self._subrequest))
            except ApiError as error:
                response = error_response(error)
        else:
            response = self.responses.handle(handler, api_request)
        after = self.faults.for_call(kind, request.get_data(as_text=True), phase="after")
        if after == "DROP_CONNECTION":
            raise _Drop
        return error_response(self.faults.error_for(after)) if after else response

    def _subrequest(
        self, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> ApiResponse:
        """Run one composite subrequest through the same handlers (not counted again)."""
        parts = urlsplit(url)
        match = urls.DATA_PREFIX.match(parts.path)
        route = urls.match_route(match.group("rest") or "", method) if match else None
        if route is None or route[0] == "composite":
            return ApiResponse(404, [{"errorCode": "NOT_FOUND",
                                      "message": "The requested resource does not exist"}])
        handler, _, args = route
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        api_request = ApiRequest(method, match.group("version"), args, params, body, headers)
        return self.responses.handle(handler, api_request)

    def _finish(
        self, request: Request, response: ApiResponse, kind: str, *, counted: bool
    ) -> Response:
        self.request_log.append({
            "method": request.method, "path": request.path, "status": response.status,
            "kind": kind, "counted": counted, "query": request.args.get("q"),
            "duplicate_rule_header": request.headers.get("Sforce-Duplicate-Rule-Header"),
        })
        headers = dict(response.headers)
        headers["Sforce-Limit-Info"] = self.limits.header()
        if response.raw is not None:
            return Response(response.raw, status=response.status, headers=headers,
                            content_type=response.content_type)
        if response.body is None:
            return Response(b"", status=response.status, headers=headers)
        return _json(response.status, response.body, headers)

    # ------------------------------------------------------------------ pages
    def record_page(self, request: Request) -> Response:
        """``/lightning/r/{Type}/{Id}/view``: the record as a small HTML page, for demos."""
        match = urls.RECORD_PAGE.match(request.path)
        try:
            record = self.backend.get(match.group("sobject"), match.group("record_id"))
        except ApiError:
            return Response("<h1>Record not found</h1>", status=404, content_type="text/html")
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in record.items() if k != "attributes" and v is not None
        )
        title = html.escape(f"{match.group('sobject')} {match.group('record_id')}")
        page = (f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"
                f"<table>{rows}</table>")
        return Response(page, content_type="text/html;charset=UTF-8")


class _Drop(Exception):
    """Answer with a closed connection."""


def _drop_socket(environ: dict[str, Any]) -> None:
    sock = environ.get(SOCKET_KEY)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _bearer(request: Request) -> str | None:
    value = request.headers.get("Authorization", "")
    if value.lower().startswith(("bearer ", "oauth ")):
        return value.split(" ", 1)[1].strip()
    return request.headers.get("X-SFDC-Session")


def _request_bytes(request: Request) -> int:
    line = len(request.method) + len(request.environ.get("RAW_URI") or request.full_path) + 11
    headers = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
    return line + headers


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
        content_type="application/json;charset=UTF-8",
    )
