"""Bulk API 2.0 ingest jobs for large batches, with results read back per record."""

from __future__ import annotations

import csv
import io
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

    from target_salesforce_aimdoc.salesforce import SalesforceClient


def bulk_ingest(
    client: SalesforceClient,
    sobject: str,
    operation: str,
    records: list[dict[str, Any]],
    *,
    poll_seconds: float = 1.0,
    timeout: float = 3600.0,
    assignment_rule_id: str | None = None,
    external_id_field: str | None = None,
) -> list[dict[str, Any]]:
    """Bulk API 2.0 ingest job; one result per input record, in input order.

    Each result is ``{"success": bool, "id": str | None, "errors": [...]}`` as in
    Collections, read back from the job's successful and failed rows. The service does
    not keep row order, so rows are matched on their values (every record of a batch has
    its own match key: an email, a domain, an Id). A job costs about six calls (create,
    upload, close, polls, results) whatever its size.
    """
    sf = client._sf()
    columns = sorted({k for r in records for k in r if k != "attributes"})
    rows = [{c: _csv_value(r.get(c)) for c in columns} for r in records]
    base = f"{sf.base_url}jobs/ingest"
    job = _request(
        client,
        "bulk_create",
        "POST",
        base,
        json={
            "object": sobject,
            "operation": operation,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            **({"assignmentRuleId": assignment_rule_id} if assignment_rule_id else {}),
            **({"externalIdFieldName": external_id_field} if external_id_field else {}),
        },
        idempotent=False,
    ).json()
    url = f"{base}/{job['id']}"
    _request(
        client,
        "bulk_upload",
        "PUT",
        f"{url}/batches",
        data=_to_csv(rows).encode("utf-8"),
        content_type="text/csv",
        idempotent=False,
    )
    _request(client, "bulk_close", "PATCH", url, json={"state": "UploadComplete"})
    deadline = time.monotonic() + timeout
    while True:
        state = _request(client, "bulk_poll", "GET", url).json()["state"]
        if state in {"JobComplete", "Failed", "Aborted"} or time.monotonic() > deadline:
            break
        time.sleep(poll_seconds)
    return _results(client, url, rows, columns, state)


def _results(
    client: SalesforceClient, url: str, rows: list[dict[str, str]], columns: list[str], state: str
) -> list[dict[str, Any]]:
    positions: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        positions.setdefault(tuple(row[c] for c in columns), []).append(index)
    results: list[dict[str, Any]] = [
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "BULK_JOB_" + state.upper(),
                    "message": f"not processed (job {state})",
                    "fields": [],
                }
            ],
        }
    ] * len(rows)
    for name in ("successfulResults", "failedResults"):
        # Bulk API 2.0 results are UTF-8 whatever the Content-Type says (requests would read
        # a text/csv body with no charset as ISO-8859-1, and non-ASCII rows would not match).
        body = _request(client, "bulk_results", "GET", f"{url}/{name}").content
        for row in _from_csv(body.decode("utf-8-sig", errors="replace")):
            waiting = positions.get(tuple(row.get(c, "") for c in columns))
            if not waiting:
                continue
            if name == "successfulResults":
                result = {"success": True, "id": row["sf__Id"], "errors": []}
            else:
                result = {"success": False, "errors": [_bulk_error(row["sf__Error"])]}
            results[waiting.pop(0)] = result
    return results


def _request(
    client: SalesforceClient,
    kind: str,
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Any = None,
    content_type: str = "application/json",
    idempotent: bool = True,
) -> requests.Response:
    sf = client._sf()

    def send() -> requests.Response:
        headers = {**sf.headers, "Content-Type": content_type}
        response = client.http.request(
            method, url, json=json, data=data, headers=headers, timeout=300
        )
        if response.status_code >= 300:
            _raise_for(response, url)
        usage = sf.parse_api_usage(response.headers.get("Sforce-Limit-Info", ""))
        if usage:
            sf.api_usage = usage
        return response

    return client.call(kind, send, idempotent=idempotent)


def _csv_value(value: Any) -> str:
    if value is None:
        return "#N/A"  # Bulk 2.0: set the field to null
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _from_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text))) if text.strip() else []


def _bulk_error(text: str) -> dict[str, Any]:
    """``CODE:message:fields --`` as a Collections-style error."""
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":")
    names = [f for f in fields.replace("--", "").split(",") if f.strip()]
    return {
        "statusCode": code or "UNKNOWN",
        "message": message or rest,
        "fields": [name.strip() for name in names],
    }


def _raise_for(response: requests.Response, url: str) -> None:
    """The simple-salesforce exception for an HTTP error (so retries classify it)."""
    from simple_salesforce.util import exception_handler

    exception_handler(response, name=url.rsplit("/", 1)[-1])
