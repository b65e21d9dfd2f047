"""Apply a batch's steps: sObject Collections of up to 200, allOrNone false, results per step.

A collection refused as a whole (HTTP 400 for the call) is split in halves and retried, so one
bad record never fails its neighbours; the record left alone carries the error.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from simple_salesforce.exceptions import SalesforceMalformedRequest

from target_salesforce_aimdoc.mapping import json_safe
from target_salesforce_aimdoc.salesforce import COLLECTION_SIZE

if TYPE_CHECKING:
    from target_salesforce_aimdoc.plan import Step
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.writes")


def apply_steps(client: SalesforceClient, steps: list[Step]) -> None:
    """Create then update the steps' records; fill in ids, or errors and ``fail``."""
    creates = [step for step in steps if step.action == "create"]
    updates = [step for step in steps if step.action == "update"]
    for start in range(0, len(creates), COLLECTION_SIZE):
        _send(client, "create", creates[start:start + COLLECTION_SIZE])
    for start in range(0, len(updates), COLLECTION_SIZE):
        _send(client, "update", updates[start:start + COLLECTION_SIZE])


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
    for step, result in zip(steps, results, strict=True):
        if result.get("success"):
            step.record_id = result.get("id") or step.record_id
        else:
            _fail(step, result.get("errors", []))


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
