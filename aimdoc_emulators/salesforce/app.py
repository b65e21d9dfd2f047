"""The WSGI app: logins, REST, Bulk API 1.0, the identity URL, admin, record pages.

REST handlers live in ``responses.py`` (records, collections, query, Bulk 2.0 ingest) and in one
module per further API family, dispatched by handler name from ``SalesforceApp.extra``:
``identity.py`` (versions, resource directory, identity URL), ``replication.py``
(``sobjects/X/updated|deleted``), ``search.py`` (SOSL), ``composite_batch.py``,
``bulk_query.py`` (Bulk 2.0 query jobs) and ``bulk_v1.py`` (Bulk API 1.0). Every REST and Bulk
call is counted against the daily allocation and tallied by handler name
(``ApiLimits.by_kind``); logins, logout, revoke, the versions list and the identity URL are not.
"""

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

from aimdoc_emulators.salesforce import identity, replication, search, urls
from aimdoc_emulators.salesforce.auth import (
    Authenticator,
    AuthError,
    oauth_success,
    soap_client_fault,
    soap_fault,
    soap_login_response,
    soap_logout_response,
    soap_operation,
)
from aimdoc_emulators.salesforce.bulk_query import BulkQueryJobs
from aimdoc_emulators.salesforce.bulk_v1 import BulkError, BulkV1
from aimdoc_emulators.salesforce.composite import run_composite
from aimdoc_emulators.salesforce.composite_batch import run_batch
from aimdoc_emulators.salesforce.errors import (
    ApiError,
    RecordFailure,
    json_parser_error,
    session_invalid,
)
from aimdoc_emulators.salesforce.faults import HTML_PAGE, FaultInjector, fault_error
from aimdoc_emulators.salesforce.limits import ApiLimits
from aimdoc_emulators.salesforce.responses import (
    ApiRequest,
    ApiResponse,
    SalesforceResponses,
    error_response,
)
from aimdoc_emulators.server import SOCKET_KEY

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from aimdoc_emulators.salesforce.models import SalesforceBackend

LOGGER = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 16384
LOG_SIZE = 20000
SOAP_XML = "text/xml;charset=UTF-8"
NOT_IN_SUBREQUESTS = frozenset({"composite", "composite_batch"})


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
        self.bulk_query = BulkQueryJobs(backend)
        self.bulk_v1 = BulkV1(backend)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.admin: Any = None  # set by the emulator (admin.AdminResource)
        self.extra: dict[str, Callable[[ApiRequest, str], ApiResponse]] = {
            "version_resources": lambda r, base: ApiResponse(
                200, identity.version_resources(r.version, base)),
            "sobject_updated": lambda r, _: ApiResponse(200, replication.updated(
                backend, r.args["sobject"], r.params)),
            "sobject_deleted": lambda r, _: ApiResponse(200, replication.deleted(
                backend, r.args["sobject"], r.params)),
            "search": lambda r, _: ApiResponse(200, search.run(backend, r.params.get("q"),
                                                               r.version)),
            "composite_batch": lambda r, _: ApiResponse(200, run_batch(r, self._subrequest)),
            "bulk_query_create": lambda r, _: ApiResponse(
                200, self.bulk_query.create(r.body, r.version)),
            "bulk_query_list": lambda r, _: ApiResponse(200, self.bulk_query.listing(r.params)),
            "bulk_query_job": lambda r, _: ApiResponse(
                200, self.bulk_query.info(r.args["job_id"])),
            "bulk_query_state": lambda r, _: ApiResponse(
                200, self.bulk_query.set_state(r.args["job_id"], r.body)),
            "bulk_query_delete": self._bulk_query_delete,
            "bulk_query_results": self._bulk_query_results,
        }

    def reset_extras(self) -> None:
        """Forget Bulk API 2.0 query jobs and Bulk API 1.0 jobs (the emulator's reset)."""
        self.bulk_query.reset()
        self.bulk_v1.reset()

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
            return self.soap(request)
        if urls.OAUTH_TOKEN.search(path) and request.method == "POST":
            return self.oauth_token(request)
        if urls.OAUTH_REVOKE.search(path) and request.method in ("GET", "POST"):
            return self.oauth_revoke(request)
        if (urls.IDENTITY.match(path) or urls.OAUTH_USERINFO.match(path)) and \
                request.method in ("GET", "POST"):
            return self.identity_call(request)
        if urls.RECORD_PAGE.match(path):
            return self.record_page(request)
        if urls.DATA_PREFIX.match(path) or path.rstrip("/").lower() == "/services/data":
            return self.rest(request)
        if urls.ASYNC_PREFIX.match(path):
            return self.bulk_v1_call(request)
        return _json(404, [{"errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist"}])

    # ------------------------------------------------------------------ auth
    def base_url(self, request: Request) -> str:
        """``https://127.0.0.1:PORT`` as the client reached us."""
        return f"{request.scheme}://{request.host}"

    def soap(self, request: Request) -> Response:
        """The SOAP endpoint: ``login``, ``logout``; any other call is a client fault."""
        operation = soap_operation(request.get_data())
        if operation == "logout":
            try:
                self.auth.soap_logout(request.get_data())
            except AuthError as error:
                return Response(soap_fault(error.error, error.description,
                                           "UnexpectedErrorFault"),
                                status=500, content_type=SOAP_XML)
            return Response(soap_logout_response(), status=200, content_type=SOAP_XML)
        if operation not in ("login", ""):
            return Response(soap_client_fault(operation), status=500, content_type=SOAP_XML)
        return self.soap_login(request)

    def soap_login(self, request: Request) -> Response:
        """SOAP ``login``: a loginResponse, or a LoginFault with HTTP 500."""
        version = urls.SOAP_LOGIN.search(request.path).group("version")
        try:
            session = self.auth.soap_login(request.get_data())
        except AuthError as error:
            return Response(soap_fault(error.error, error.description), status=500,
                            content_type=SOAP_XML)
        body = soap_login_response(session, self.base_url(request), version)
        return Response(body, status=200, content_type=SOAP_XML)

    def oauth_revoke(self, request: Request) -> Response:
        """``/services/oauth2/revoke`` (``token`` in the form or the query): 200 empty, or 400."""
        token = request.form.get("token") or request.args.get("token")
        if not token:
            return _json(400, {"error": "unsupported_token_type",
                               "error_description": "this token type is not supported"})
        if not self.auth.revoke(token):
            return _json(400, {"error": "invalid_token",
                               "error_description": "invalid token"})
        self._log(request, 200, "revoke", counted=False)
        return Response(b"", status=200)

    def identity_call(self, request: Request) -> Response:
        """The identity URL (``/id/{org}/{user}``) or OpenID ``userinfo``, for a valid token."""
        token = _bearer(request) or request.values.get("oauth_token")
        if not self.auth.is_valid(token):
            return Response("Bad_OAuth_Token", status=403, content_type="text/plain")
        match = urls.IDENTITY.match(request.path)
        base = self.base_url(request)
        try:
            if match is None:
                body = identity.userinfo(self.backend, base)
            else:
                identity.check_identity_path(match.group("org_id"), match.group("user_id"))
                body = identity.identity(self.backend, base)
        except ApiError as error:
            return Response(error.raw_body or "", status=error.status,
                            content_type="text/plain")
        self._log(request, 200, "identity", counted=False)
        return _json(200, body)

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
            return _json(200, identity.versions())
        version, rest = match.group("version"), match.group("rest") or ""
        route = urls.match_route(rest, request.method)
        if route is None:
            return self._finish(request, ApiResponse(404, [{
                "errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
                "unknown", counted=False)
        handler, kind, args = route
        return self._serve(request, (handler, kind, version), args,
                           lambda: error_response(session_invalid()))

    def bulk_v1_call(self, request: Request) -> Response:
        """A Bulk API 1.0 call under ``/services/async/{version}`` (``X-SFDC-Session``)."""
        raw_path = urlsplit(request.environ.get("RAW_URI") or request.full_path).path
        match = urls.ASYNC_PREFIX.match(raw_path)
        version, rest = match.group("version"), match.group("rest") or ""
        api_request = ApiRequest(request.method, version, {}, dict(request.args), None,
                                 dict(request.headers), b"")
        route = urls.match_route(rest, request.method, urls.ASYNC_ROUTES)
        if route is None or route[0] == "method_not_allowed":
            refusal = self.bulk_v1.error_response(
                BulkError("InvalidUrl", f"unknown URL or method: {request.method} {rest}"),
                "json" in (request.content_type or "").lower())
            return self._finish(request, refusal, "unknown", counted=False)
        handler, kind, args = route
        return self._serve(request, (handler, kind, version), args,
                           lambda: self.bulk_v1.session_error(api_request))

    def _serve(
        self, request: Request, route: tuple[str, str, str], args: dict[str, str],
        session_refusal: Callable[[], ApiResponse],
    ) -> Response:
        """Authenticate, count, inject faults, run, add the limit header.

        ``route`` is (handler, kind, API version).
        """
        handler, kind, version = route
        if not self.auth.is_valid(_bearer(request)):
            return self._finish(request, session_refusal(), kind, counted=False)
        try:
            self.limits.enter()
        except ApiError as error:
            return self._finish(request, self._refusal(handler, error, request), kind,
                                counted=False)
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
        # no rule armed: no fault can fire, so the body is not decoded for one
        injected = (self.faults.for_call(kind, request.get_data(as_text=True))
                    if self.faults.rules else None)
        if injected == "DROP_CONNECTION":
            raise _Drop
        if injected == "HANG":
            time.sleep(self.faults.hang_seconds())
        elif injected == "HTML_200":
            return ApiResponse(200, None, raw=HTML_PAGE, content_type="text/html;charset=UTF-8")
        elif injected == "TRUNCATED_JSON":  # before the work: a 503's body cut short
            return _raw_fault(injected, error_response(fault_error("SERVER_UNAVAILABLE")))
        elif injected:
            return self._refusal(handler, self.faults.error_for(injected), request)
        raw_body = request.get_data()
        if handler == "bulk_upload" or handler.startswith("bulkv1_") or (
                request.mimetype or "").lower() == "text/csv":
            body = None  # a CSV, XML or SOQL upload: handlers read raw_body
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
        elif handler.startswith("bulkv1_"):
            response = self.bulk_v1.handle(handler, api_request)
            if handler == "bulkv1_add_batch" and response.status == 201:
                self.limits.count_bulk_batch()
        elif handler in self.extra:
            response = self._extra(handler, api_request, self.base_url(request))
            if handler == "bulk_query_create" and response.status == 200:
                self.limits.count_query_job()
        else:
            response = self.responses.handle(handler, api_request)
        after = (self.faults.for_call(kind, request.get_data(as_text=True), phase="after")
                 if self.faults.rules else None)
        if after == "DROP_CONNECTION":
            raise _Drop
        if after == "HANG":
            time.sleep(self.faults.hang_seconds())
            return response
        if after in {"HTML_200", "TRUNCATED_JSON"}:
            return _raw_fault(after, response)
        return self._refusal(handler, self.faults.error_for(after), request) if after else response

    def _refusal(self, handler: str, error: ApiError, request: Request) -> ApiResponse:
        """A whole-call error (fault, limit) in the format of the API family called."""
        if handler.startswith("bulkv1_"):
            return self.bulk_v1.fault_response(
                error, "json" in (request.content_type or "").lower())
        return error_response(error)

    def _subrequest(
        self, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> ApiResponse:
        """Run one composite subrequest through the same handlers (not counted again)."""
        parts = urlsplit(url)
        match = urls.DATA_PREFIX.match(parts.path)
        route = urls.match_route(match.group("rest") or "", method) if match else None
        if route is None or route[0] in NOT_IN_SUBREQUESTS:
            return ApiResponse(404, [{"errorCode": "NOT_FOUND",
                                      "message": "The requested resource does not exist"}])
        handler, kind, args = route
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        api_request = ApiRequest(method, match.group("version"), args, params, body, headers)
        if handler in self.extra:
            host = next((v for k, v in headers.items() if k.lower() == "host"), "")
            return self._extra(handler, api_request, f"https://{host}")
        answer = self.responses.handle(handler, api_request)
        after = (self.faults.for_subrequest(kind, json.dumps(body, default=str))
                 if self.faults.fires_on_subrequests() else None)  # no rule: body not rendered
        return error_response(self.faults.error_for(after)) if after else answer

    def _extra(self, handler: str, api_request: ApiRequest, base_url: str) -> ApiResponse:
        """Run a handler of the API-family modules, errors rendered as REST renders them."""
        try:
            return self.extra[handler](api_request, base_url)
        except ApiError as error:
            return error_response(error)
        except RecordFailure as failure:
            return ApiResponse(failure.status, failure.errors)

    def _bulk_query_delete(self, request: ApiRequest, _base: str) -> ApiResponse:
        self.bulk_query.delete(request.args["job_id"])
        return ApiResponse(204)

    def _bulk_query_results(self, request: ApiRequest, _base: str) -> ApiResponse:
        data, headers = self.bulk_query.results(request.args["job_id"], request.params)
        return ApiResponse(200, headers=headers, raw=data, content_type="text/csv")

    def _log(self, request: Request, status: int, kind: str, *, counted: bool) -> None:
        self.request_log.append({
            "method": request.method, "path": request.path, "status": status,
            "kind": kind, "counted": counted, "query": request.args.get("q"),
            "duplicate_rule_header": request.headers.get("Sforce-Duplicate-Rule-Header"),
        })

    def _finish(
        self, request: Request, response: ApiResponse, kind: str, *, counted: bool
    ) -> Response:
        self._log(request, response.status, kind, counted=counted)
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


def _raw_fault(name: str, response: ApiResponse) -> ApiResponse:
    """The call did its work; its answer arrives as an HTML page or cut in half."""
    if name == "HTML_200":
        return ApiResponse(200, None, raw=HTML_PAGE, content_type="text/html;charset=UTF-8")
    text = response.raw or json.dumps(response.body, ensure_ascii=False).encode()
    return ApiResponse(response.status, None, raw=text[:max(1, len(text) // 2)],
                       content_type=response.content_type)


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
