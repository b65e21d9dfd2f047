"""Composite Batch: ``POST /composite/batch`` runs up to 25 independent subrequests.

Body ``{"batchRequests": [{"method", "url", "richInput"?}], "haltOnError": false}``; each ``url``
is relative to ``/services/data`` (``v59.0/sobjects/Account/...``) or absolute from the root.
The answer is always 200: ``{"hasErrors": bool, "results": [{"statusCode", "result"}]}``, where
``result`` is the subrequest's JSON body (null for an empty one). With ``haltOnError: true`` the
subrequests after the first failure answer 412 ``BATCH_PROCESSING_HALTED``. Subrequests run in
order, are not transactional, and the batch counts as one API call. Composite, Composite Batch
and Bulk resources are refused inside a batch (400 ``INVALID_BATCH_REQUEST``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import ApiError, json_parser_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from aimdoc_emulators.salesforce.responses import ApiRequest, ApiResponse

MAX_SUBREQUESTS = 25
HALTED = [{"errorCode": "BATCH_PROCESSING_HALTED",
           "message": "Batch processing halted per request"}]
REFUSED_PREFIXES = ("composite", "jobs/")


def run_batch(
    request: ApiRequest, subrequest: Callable[[str, str, Any, dict[str, str]], ApiResponse]
) -> dict[str, Any]:
    """Run the batch; ``subrequest(method, url, body, headers)`` answers one item."""
    body = request.body
    items = body.get("batchRequests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise json_parser_error("Unrecognized or missing field: batchRequests at [line:1]")
    if len(items) > MAX_SUBREQUESTS:
        raise ApiError.of(400, "INVALID_BATCH_REQUEST",
                          f"A batch cannot contain more than {MAX_SUBREQUESTS} requests")
    halt = bool(body.get("haltOnError", False))
    results: list[dict[str, Any]] = []
    failed = False
    for item in items:
        if failed and halt:
            results.append({"statusCode": 412, "result": HALTED})
            continue
        status, result = _one(request, item, subrequest)
        failed = failed or status >= 400
        results.append({"statusCode": status, "result": result})
    return {"hasErrors": failed, "results": results}


def _one(
    request: ApiRequest, item: Any,
    subrequest: Callable[[str, str, Any, dict[str, str]], ApiResponse],
) -> tuple[int, Any]:
    if not isinstance(item, dict) or not item.get("url") or not item.get("method"):
        return 400, [{"errorCode": "INVALID_BATCH_REQUEST",
                      "message": "A batch request needs a method and a url"}]
    url = str(item["url"])
    relative = url.removeprefix("/services/data/").lstrip("/")
    path = relative.split("?", 1)[0].partition("/")[2].lower()
    if path.startswith(REFUSED_PREFIXES):
        return 400, [{"errorCode": "INVALID_BATCH_REQUEST",
                      "message": f"The resource is not supported in a batch: {url}"}]
    headers = {k: v for k, v in request.headers.items()
               if k.lower() in {"authorization", "host", "sforce-duplicate-rule-header",
                                "sforce-query-options"}}
    response = subrequest(str(item["method"]).upper(), f"/services/data/{relative}",
                          item.get("richInput"), headers)
    return response.status, response.body
