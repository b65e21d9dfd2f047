"""``POST /composite``: up to 25 subrequests in one call, ``@{ref.path}`` references, allOrNone."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from aimdoc_emulators.salesforce.models import SalesforceBackend
    from aimdoc_emulators.salesforce.responses import ApiRequest, ApiResponse

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTION = 5
REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_PLAIN_TYPES = frozenset({int, float, bool})
REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
# ``@`` or ``{`` written as a JSON \u escape (a body could spell a reference that way).
_ESCAPED_REFERENCE_CHAR = re.compile(rb"\\u00(?:40|7[bB])")
ROLLED_BACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)
# Headers of the composite request that set the transaction's context for every subrequest
# (a subrequest's own httpHeaders win): the duplicate-rule and assignment-rule headers.
INHERITED_HEADERS = frozenset({"sforce-duplicate-rule-header", "sforce-auto-assign"})

class _Halt(Exception):
    """Undo the whole composite (allOrNone)."""


class _Unresolved(Exception):
    """A reference to a subrequest that failed or does not exist."""


def run_composite(
    request: ApiRequest, backend: SalesforceBackend, dispatch: Callable[..., ApiResponse]
) -> dict[str, Any]:
    """Run the subrequests in order and render ``{"compositeResponse": [...]}``."""
    subrequests, all_or_none = _validate(request.body)
    results: list[dict[str, Any]] = []
    literal = _reference_free(request.raw_body)
    inherited = {k: v for k, v in request.headers.items() if k.lower() in INHERITED_HEADERS}
    try:
        with backend.transaction():
            _run_all(subrequests, all_or_none, dispatch, results, literal=literal,
                     inherited=inherited)
            if all_or_none and any(r["httpStatusCode"] >= 400 for r in results):
                raise _Halt
    except _Halt:
        results = [_halted(r["referenceId"], ROLLED_BACK) if r["httpStatusCode"] < 400 or
                   _is_halted(r) else r for r in results]
        results += [_halted(sub["referenceId"], ROLLED_BACK) for sub in subrequests[len(results):]]
    return {"compositeResponse": results}


def _run_all(
    subrequests: list[dict[str, Any]],
    all_or_none: bool,
    dispatch: Callable[..., ApiResponse],
    results: list[dict[str, Any]],
    *,
    literal: bool = False,
    inherited: dict[str, str] | None = None,
) -> None:
    """Run each subrequest; ``literal``: no body holds a reference (bodies run as sent).

    ``inherited``: headers of the composite request that apply to every subrequest unless it
    sends its own.
    """
    done: dict[str, dict[str, Any]] = {}
    for sub in subrequests:
        ref = sub["referenceId"]
        try:
            url = _substitute(sub["url"], done)
            body = sub.get("body") if literal else _substitute(sub.get("body"), done)
        except _Unresolved as missing:
            result = _halted(ref, str(missing))
        else:
            headers = subrequest_headers(inherited or {}, sub.get("httpHeaders") or {})
            response = dispatch(sub["method"].upper(), url, body, headers)
            result = _render(ref, response)
        results.append(result)
        done[ref] = result
        if all_or_none and result["httpStatusCode"] >= 400:
            raise _Halt


def subrequest_headers(inherited: dict[str, str], own: dict[str, Any]) -> dict[str, str]:
    """A subrequest's headers: its own, plus inherited ones it does not set (any case)."""
    if not inherited:
        return own
    mine = {str(k).lower() for k in own}
    return {**{k: v for k, v in inherited.items() if k.lower() not in mine}, **own}


def _validate(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise ApiError.of(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    subrequests = body["compositeRequest"]
    if len(subrequests) > MAX_SUBREQUESTS:
        raise ApiError.of(
            400, "LIMIT_EXCEEDED", f"Limit Exceeded : A maximum of {MAX_SUBREQUESTS} subrequests "
            "are allowed in a composite request.",
        )
    heavy = 0
    seen: set[str] = set()
    for sub in subrequests:
        ref = sub.get("referenceId") if isinstance(sub, dict) else None
        if not ref or not REFERENCE_ID.match(ref) or ref in seen:
            raise ApiError.of(400, "INVALID_INPUT", f"Invalid referenceId: {ref}")
        seen.add(ref)
        if not sub.get("method") or not sub.get("url"):
            raise ApiError.of(400, "INVALID_INPUT", f"{ref}: method and url are required")
        path = str(sub["url"]).lower()
        if "/query" in path or "/composite/sobjects" in path:
            heavy += 1
    if heavy > MAX_QUERY_OR_COLLECTION:
        raise ApiError.of(
            400, "LIMIT_EXCEEDED", f"Limit Exceeded : A maximum of {MAX_QUERY_OR_COLLECTION} "
            "query and sObject Collections subrequests are allowed in a composite request.",
        )
    return subrequests, bool(body.get("allOrNone", False))


def _reference_free(raw: bytes) -> bool:
    """Whether a UTF-8 JSON request body cannot hold ``@{``, even spelt with escapes.

    Then ``_substitute`` would return every body unchanged, and walking records of a large
    sObject Collections body value by value is skipped.
    """
    if not raw or json.detect_encoding(raw) not in {"utf-8", "utf-8-sig"}:
        return False
    return b"@{" not in raw and _ESCAPED_REFERENCE_CHAR.search(raw) is None


def _substitute(value: Any, done: dict[str, dict[str, Any]]) -> Any:
    """Replace ``@{ref.path}`` in strings, lists and dicts with earlier results' values."""
    if isinstance(value, str):
        if "@{" not in value:
            return value
        return REFERENCE.sub(lambda m: str(_lookup(m.group(1), m.group(2), done)), value)
    if isinstance(value, list):
        return [_substitute(item, done) for item in value]
    if isinstance(value, dict):
        return {
            key: item if _is_plain(item) else _substitute(item, done)
            for key, item in value.items()
        }
    return value


def _is_plain(value: Any) -> bool:
    """A value ``_substitute`` returns unchanged: a number, bool, null or reference-free text."""
    kind = type(value)
    return value is None or kind in _PLAIN_TYPES or (kind is str and "@{" not in value)


def _lookup(ref: str, path: str, done: dict[str, dict[str, Any]]) -> Any:
    result = done.get(ref)
    if result is None or result["httpStatusCode"] >= 400:
        raise _Unresolved(
            f"Invalid reference specified. No value for {ref}.{path} found in {ref}. Provided "
            f"referenceId ({ref}) must be a valid one."
        )
    current: Any = result["body"]
    for name, index in re.findall(r"([A-Za-z0-9_]+)(?:\[(\d+)\])?", path):
        current = current.get(name) if isinstance(current, dict) else None
        if index and isinstance(current, list):
            current = current[int(index)] if int(index) < len(current) else None
        if current is None:
            raise _Unresolved(f"Invalid reference specified. No value for {ref}.{path} found.")
    return current


def _render(ref: str, response: ApiResponse) -> dict[str, Any]:
    headers: dict[str, str] = {}
    body = response.body
    if response.status == 201 and isinstance(body, dict) and body.get("id"):
        location = response.headers.get("Location")
        headers["Location"] = location or ""
    if response.raw is not None:
        body = response.raw.decode("utf-8", "replace")
    return {"body": body, "httpHeaders": headers, "httpStatusCode": response.status,
            "referenceId": ref}


def _halted(ref: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


def _is_halted(result: dict[str, Any]) -> bool:
    body = result.get("body")
    return isinstance(body, list) and bool(body) and body[0].get("errorCode") == (
        "PROCESSING_HALTED"
    )
