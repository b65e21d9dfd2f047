"""Apply a batch's steps: sObject Collections of up to 200, allOrNone false, results per step.

A collection refused as a whole (HTTP 400 for the call) is split in halves and retried, so one
bad record never fails its neighbours; the record left alone carries the error. Records that
fail with a transient per-record error (a row lock) are sent again, those records only, with
exponential backoff and jitter, a bounded number of times.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING, Any

from simple_salesforce.exceptions import SalesforceMalformedRequest

from target_salesforce_aimdoc.bulk import bulk_ingest
from target_salesforce_aimdoc.mapping import json_safe
from target_salesforce_aimdoc.salesforce import COLLECTION_SIZE

if TYPE_CHECKING:
    from target_salesforce_aimdoc.plan import Step
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.writes")
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
RECORD_RETRIES = 4


def apply_steps(client: SalesforceClient, steps: list[Step],
                bulk_threshold: int | None = None) -> None:
    """Create then update the steps' records; fill in ids, or errors and ``fail``.

    When one object's creates (or updates) in the batch number ``bulk_threshold`` or more,
    they go through one Bulk API 2.0 job each instead of Collections.
    """
    for operation in ("create", "update"):
        pending = [step for step in steps if step.action == operation]
        for attempt in range(RECORD_RETRIES + 1):
            rest = _send_bulk(client, operation, pending, bulk_threshold)
            _send_all(client, operation, rest)
            pending = [step for step in pending if _retryable(step)]
            if not pending or attempt == RECORD_RETRIES:
                break
            delay = min(8.0, 0.25 * 2 ** attempt) * random.uniform(0.5, 1.0)
            LOGGER.warning("%d records hit a transient error (%s); retrying them in %.1f s",
                           len(pending), pending[0].errors[0]["statusCode"], delay)
            time.sleep(delay)
            for step in pending:
                step.action, step.errors = operation, []


def _retryable(step: Step) -> bool:
    return step.action == "fail" and bool(step.errors) and all(
        error["statusCode"] in RETRYABLE_RECORD_CODES for error in step.errors)


def _send_bulk(client: SalesforceClient, operation: str, steps: list[Step],
               threshold: int | None) -> list[Step]:
    """Send large groups of one object through Bulk 2.0; return the steps left for REST."""
    if threshold is None:
        return steps
    groups: dict[str, list[Step]] = {}
    for step in steps:
        groups.setdefault(step.sobject, []).append(step)
    rest = []
    for sobject, group in groups.items():
        if len(group) < threshold or sobject in {"ContentNote", "ContentDocumentLink"}:
            rest += group
            continue
        LOGGER.info("Writing %d %s records (%s) with Bulk API 2.0", len(group), sobject,
                    operation)
        records = [_bulk_row(step, operation) for step in group]
        _results(group, bulk_ingest(client, sobject, "insert" if operation == "create"
                                    else "update", records))
    return rest


def _bulk_row(step: Step, operation: str) -> dict[str, Any]:
    row = {name: json_safe(value) for name, value in step.fields.items()}
    if operation == "update":
        row["Id"] = step.record_id
    return row


def _send_all(client: SalesforceClient, operation: str, steps: list[Step]) -> None:
    """Collections of 200, five to a Composite call; a chunk refused whole is split."""
    chunks = [steps[start:start + COLLECTION_SIZE]
              for start in range(0, len(steps), COLLECTION_SIZE)]
    if not chunks:
        return
    method = "POST" if operation == "create" else "PATCH"
    answers = client.collections_many(method, [[_body(s, operation) for s in chunk]
                                               for chunk in chunks])
    for chunk, answer in zip(chunks, answers, strict=True):
        if isinstance(answer, list):
            _results(chunk, answer)
        elif len(chunk) > 1:
            LOGGER.warning("A %s collection of %d was refused as a whole (%s); splitting",
                           operation, len(chunk), _codes(answer.content))
            middle = len(chunk) // 2
            _send(client, operation, chunk[:middle])
            _send(client, operation, chunk[middle:])
        else:
            _fail(chunk[0], answer.content)


def _results(steps: list[Step], results: list[dict[str, Any]]) -> None:
    for step, result in zip(steps, results, strict=True):
        if result.get("success"):
            step.record_id = result.get("id") or step.record_id
        else:
            _fail(step, result.get("errors", []))


def _body(step: Step, operation: str) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": step.sobject}}
    if operation == "update":
        record["id"] = step.record_id
    record.update({name: json_safe(value) for name, value in step.fields.items()})
    return record


def _send(client: SalesforceClient, operation: str, steps: list[Step]) -> None:
    if not steps:
        return
    records = [_body(step, operation) for step in steps]
    call = client.create if operation == "create" else client.update
    try:
        results = call(records)
    except SalesforceMalformedRequest as refused:
        if len(steps) > 1:
            middle = len(steps) // 2
            LOGGER.warning("A %s collection of %d was refused as a whole (%s); splitting",
                           operation, len(steps), _codes(refused.content))
            _send(client, operation, steps[:middle])
            _send(client, operation, steps[middle:])
            return
        _fail(steps[0], refused.content)
        return
    _results(steps, results)


def _fail(step: Step, errors: Any) -> None:
    rendered = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            rendered.append({
                "statusCode": error.get("statusCode") or error.get("errorCode") or "UNKNOWN",
                "message": error.get("message", ""),
                "fields": error.get("fields", []),
            })
        else:
            rendered.append({"statusCode": "UNKNOWN", "message": str(error), "fields": []})
    step.errors = rendered
    step.action = "fail"


def _codes(content: Any) -> str:
    if isinstance(content, list):
        return ", ".join(str(item.get("errorCode", "?")) for item in content
                         if isinstance(item, dict))
    return str(content)[:200]
