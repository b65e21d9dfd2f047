"""Salesforce error shapes: one exception for a failed call, helpers for per-record errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def printable(text: str) -> str:
    """Text that encodes as UTF-8: an unpaired surrogate becomes U+FFFD.

    Error messages echo what the client sent (a field name, a value); a lone surrogate in one
    must not turn the answer into a 500.
    """
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def record_error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    """A per-record error as single-record REST renders it (``errorCode``)."""
    return {"message": printable(message), "errorCode": code,
            "fields": [printable(f) for f in fields or []]}


def as_collection_error(error: dict[str, Any]) -> dict[str, Any]:
    """The same error as sObject Collections render it (``statusCode``)."""
    rendered = {"statusCode": error["errorCode"], "message": error["message"]}
    rendered["fields"] = error.get("fields", [])
    for key, value in error.items():
        if key not in {"errorCode", "message", "fields"}:
            rendered[key] = value
    return rendered


@dataclass
class ApiError(Exception):
    """A call the real service answers with a non-2xx status and a JSON error array."""

    status: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None

    @classmethod
    def of(
        cls, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> ApiError:
        """An error with one entry; ``fields`` is omitted when None, as for resource errors."""
        entry: dict[str, Any] = {"message": printable(message), "errorCode": code}
        if fields is not None:
            entry["fields"] = fields
        return cls(status, [entry])

    @property
    def code(self) -> str:
        """The first error's code."""
        return self.errors[0]["errorCode"] if self.errors else str(self.status)


@dataclass
class RecordFailure(Exception):
    """A record the service rejects: the per-record errors, before rendering."""

    errors: list[dict[str, Any]]
    status: int = 400


def not_found() -> ApiError:
    """404 for an unknown resource."""
    return ApiError.of(404, "NOT_FOUND", "The requested resource does not exist")


def session_invalid() -> ApiError:
    """401 exactly as the real service sends it (a JSON array, which the client needs)."""
    return ApiError(
        401,
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        headers={"WWW-Authenticate": "Token"},
    )


def limit_exceeded(concurrent: bool = False) -> ApiError:
    """403 for the daily allocation or the concurrent-request limit."""
    message = (
        "ConcurrentPerOrgLongTxn Limit exceeded." if concurrent else "TotalRequests Limit exceeded."
    )
    return ApiError.of(403, "REQUEST_LIMIT_EXCEEDED", message)


def json_parser_error(message: str) -> ApiError:
    """400 for a body that does not deserialize."""
    return ApiError.of(400, "JSON_PARSER_ERROR", message)
