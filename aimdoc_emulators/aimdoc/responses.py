"""Aimdoc API responses: parse the query, ask the backend, render Aimdoc JSON and errors."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

from werkzeug.http import HTTP_STATUS_CODES

from aimdoc_emulators.aimdoc.models import AimdocBackend, Filters
from aimdoc_emulators.aimdoc.readings import plain, shape
from aimdoc_emulators.aimdoc.timeutil import iso, parse_day, parse_iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# Extra filters each list accepts, besides page, per_page, start_date and end_date.
EXTRA_FILTERS = {"messages": ("conversation_id",),
                 "visitor_profiles": ("search", "lead_id", "last_seen_after")}
CONTENT_TYPE = "application/json; charset=utf-8"
to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False)
# A message as the API stores it: these keys in this order, string values (sender_name: or None).
MESSAGE_KEYS = ("id", "conversation_id", "role", "sender_name", "content", "created_at")


class InvalidParameterError(ValueError):
    """A query parameter the API rejects with 422."""


class Response:
    """A JSON response, sent as werkzeug's ``Response`` sends it, without its per-call cost.

    Headers go out in werkzeug's order: those given, Content-Type, Content-Length, then
    those added later; a HEAD request gets the headers without the body.
    """

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, body: bytes, status: int = 200, headers: dict | None = None) -> None:
        self.status_code = status
        self.body = body
        self.headers = [(name, str(value)) for name, value in (headers or {}).items()]
        self.headers += [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]

    def add_header(self, name: str, value: str) -> None:
        """Add a header after the others."""
        self.headers.append((name, value))

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        """Send it (WSGI)."""
        start_response(status_line(self.status_code), self.headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [self.body]


def status_line(status: int) -> str:
    """The status line werkzeug sends, e.g. ``422 UNPROCESSABLE ENTITY``."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response (UTF-8, non-ASCII kept as is)."""
    text = body if isinstance(body, str) else to_json(body)
    return Response(text.encode(), status, headers)


def error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    """The error shape: ``{"error": {"code": ..., "message": ...}}``."""
    return json_response({"error": {"code": code, "message": message}}, status, headers)


class AimdocResponses:
    """Handlers for the API endpoints; the backend does the work."""

    def __init__(self, backend: AimdocBackend) -> None:
        self.backend = backend

    def listing(self, kind: str, args: Mapping[str, str]) -> Response:
        """A page of contacts, conversations, messages or visitor profiles."""
        try:
            filters = parse_filters(kind, args, self.backend.settings.max_per_page,
                                    self.backend.settings.default_per_page)
        except InvalidParameterError as exc:
            return error(422, "invalid_parameter", str(exc))
        with self.backend.lock:
            rows, total = self.backend.query(kind, filters)
            body = self._page(kind, rows, total, filters)
        return Response(body, 200)

    def visitor_profile(self, visitor_id: str) -> Response:
        """One visitor profile by id."""
        with self.backend.lock:
            profile = self.backend.visitor_profile(visitor_id)
            if profile is None:
                return error(404, "not_found", f"visitor profile {visitor_id!r} not found")
            body = profile if self.backend.settings.envelope == "array" else {"data": profile}
            return json_response(to_json(body))

    def _page(self, kind: str, rows: list[dict], total: int, filters: Filters) -> bytes:
        """``to_json`` of the envelope, UTF-8 encoded, with the rows from ``_rows``."""
        settings = self.backend.settings
        if not plain(settings):
            rows = [shape(kind, row, settings) for row in rows]
        data = self._rows(kind, rows)
        envelope = settings.envelope
        if envelope == "array":
            return data
        if envelope == "data_only":
            return b'{"data": ' + data + b"}"
        has_more = b"true" if filters.page * filters.per_page < total else b"false"
        return b'{"data": %b, "page": %d, "per_page": %d, "total": %d, "has_more": %b}' % (
            data, filters.page, filters.per_page, total, has_more)

    @staticmethod
    def _rows(kind: str, rows: list[dict]) -> bytes:
        """``to_json(rows).encode()``, a row at a time (messages by their template)."""
        encode = encode_message if kind == "messages" else to_json
        return b"[" + b", ".join([encode(row).encode() for row in rows]) + b"]"


def encode_message(message: dict) -> str:
    """``to_json(message)``, faster for a message of the stored shape (else ``to_json``).

    The stored shape: ``MESSAGE_KEYS`` in order, each value a string (``sender_name`` may be
    None). ``encode_basestring`` is what the encoder calls on each string; it raises TypeError
    on anything else, which falls back to ``to_json``.
    """
    try:
        if tuple(message) == MESSAGE_KEYS:
            ident, conversation, role, sender, content, created = message.values()
            sender_json = "null" if sender is None else encode_basestring(sender)
            return (f'{{"id": {encode_basestring(ident)}, '
                    f'"conversation_id": {encode_basestring(conversation)}, '
                    f'"role": {encode_basestring(role)}, "sender_name": {sender_json}, '
                    f'"content": {encode_basestring(content)}, '
                    f'"created_at": {encode_basestring(created)}}}')
    except TypeError:
        pass
    return to_json(message)


def parse_filters(kind: str, args: Mapping[str, str], max_per_page: int,
                  default_per_page: int) -> Filters:
    """Validate the query of a list endpoint; raise InvalidParameterError (422) otherwise."""
    page = _integer(args, "page", 1, low=1)
    per_page = _integer(args, "per_page", default_per_page, low=1, high=max_per_page)
    start, end = _day(args, "start_date"), _day(args, "end_date")
    if start and end and start > end:
        msg = "start_date must not be after end_date"
        raise InvalidParameterError(msg)
    extra = {name: args.get(name) for name in EXTRA_FILTERS.get(kind, ()) if args.get(name)}
    if "last_seen_after" in extra:
        extra["last_seen_after"] = _moment(extra["last_seen_after"])
    return Filters(page=page, per_page=per_page, start_date=start, end_date=end, **extra)


def _integer(args: Mapping[str, str], name: str, default: int, *, low: int,
             high: int | None = None) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high else f"at least {low}"
        msg = f"{name} must be an integer {bounds}, got {raw!r}"
        raise InvalidParameterError(msg)
    return value


def _day(args: Mapping[str, str], name: str) -> object:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        return parse_day(raw)
    except ValueError:
        msg = f"{name} must be a date formatted YYYY-MM-DD, got {raw!r}"
        raise InvalidParameterError(msg) from None


def _moment(raw: str) -> str:
    """``last_seen_after`` as a date or a timestamp, normalised to Aimdoc's format."""
    try:
        return iso(parse_iso(raw if "T" in raw else f"{parse_day(raw)}T00:00:00Z"))
    except ValueError:
        msg = f"last_seen_after must be a date or an ISO-8601 timestamp, got {raw!r}"
        raise InvalidParameterError(msg) from None
