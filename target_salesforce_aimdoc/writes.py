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
from target_salesforce_aimdoc.org_rules import OrgRules
from target_salesforce_aimdoc.salesforce import COLLECTION_SIZE, AmbiguousWrite, CollectionCall

if TYPE_CHECKING:
    from target_salesforce_aimdoc.plan import Step
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.writes")
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
RECORD_RETRIES = 4
AMBIGUOUS_RECORD_CODES = frozenset({"UNKNOWN_EXCEPTION"})
OPERATIONS = ("create", "update")


def apply_steps(client: SalesforceClient, steps: list[Step],
                bulk_threshold: int | None = None, rules: OrgRules | None = None) -> None:
    """Create and update the steps' records; fill in ids, or errors and ``fail``.

    Creates and updates go together (five Collections to a Composite call, creates first).
    When one object's creates (or updates) in the batch number ``bulk_threshold`` or more,
    they go through one Bulk API 2.0 job each instead of Collections. ``rules`` gives the
    duplicate-rule and assignment headers (REST) and the assignment rule of a Bulk job.
    """
    rules = rules or OrgRules()
    pending = {operation: [step for step in steps if step.action == operation]
               for operation in OPERATIONS}
    for attempt in range(RECORD_RETRIES + 1):
        rest = {operation: _send_bulk(client, operation, group, bulk_threshold, rules)
                for operation, group in pending.items()}
        _send_rest(client, rest, rules)
        _raise_if_unknown("create", pending["create"])
        pending = {operation: [step for step in group if _retryable(step)]
                   for operation, group in pending.items()}
        waiting = [step for group in pending.values() for step in group]
        if not waiting or attempt == RECORD_RETRIES:
            break
        delay = min(8.0, 0.25 * 2 ** attempt) * random.uniform(0.5, 1.0)
        LOGGER.warning("%d records hit a transient error (%s); retrying them in %.1f s",
                       len(waiting), waiting[0].errors[0]["statusCode"], delay)
        time.sleep(delay)
        for operation, group in pending.items():
            for step in group:
                step.action, step.errors = operation, []


def _raise_if_unknown(operation: str, steps: list[Step]) -> None:
    """A create row answered with a server error may have been saved: ambiguous."""
    unknown = [step for step in steps if step.action == "fail" and any(
        error.get("statusCode") in AMBIGUOUS_RECORD_CODES for error in step.errors)]
    if operation == "create" and unknown:
        raise AmbiguousWrite(f"{len(unknown)} {unknown[0].sobject} creates answered "
                             f"{unknown[0].errors[0]['statusCode']}: they may or may not have "
                             "been written")


def _retryable(step: Step) -> bool:
    return step.action == "fail" and bool(step.errors) and all(
        error["statusCode"] in RETRYABLE_RECORD_CODES for error in step.errors)


def _send_bulk(client: SalesforceClient, operation: str, steps: list[Step],
               threshold: int | None, rules: OrgRules) -> list[Step]:
    """Send large groups of one object through Bulk 2.0; return the steps left for REST."""
    if threshold is None:
        return steps
    groups: dict[str, list[Step]] = {}
    for step in steps:
        groups.setdefault(step.sobject, []).append(step)
    rest = []
    for sobject, steps_of_object in groups.items():
        # Bulk CSV reads the text "#N/A" as null: such records go by REST.
        rest += [step for step in steps_of_object if _has_null_marker(step)]
        group = [step for step in steps_of_object if not _has_null_marker(step)]
        if len(group) < threshold or sobject in {"ContentNote", "ContentDocumentLink"}:
            rest += group
            continue
        LOGGER.info("Writing %d %s records (%s) with Bulk API 2.0", len(group), sobject,
                    operation)
        records = [_bulk_row(step, operation) for step in group]
        rule_id = _assignment_rule_id(client, sobject, rules.assignment(operation))
        upsert = group[0].upsert_field if operation == "create" else None
        job = "upsert" if upsert else "insert" if operation == "create" else "update"
        _results(group, bulk_ingest(client, sobject, job, records, assignment_rule_id=rule_id,
                                    external_id_field=upsert))
        for step in group:  # a Bulk row's answer is not read for "created": not fresh
            step.fresh = False
        _resend_allowed(client, operation, group, rules)
        unknown = [step for step in group if step.action == "fail" and any(
            str(error.get("statusCode", "")).startswith("BULK_JOB_") for error in step.errors)]
        if operation == "create" and unknown:
            raise AmbiguousWrite(f"a Bulk insert job left {len(unknown)} {sobject} rows "
                                 "unprocessed or unread: they may or may not have been written")
    return rest


def _resend_allowed(client: SalesforceClient, operation: str, steps: list[Step],
                   rules: OrgRules) -> None:
    """Rows a duplicate rule refused in a Bulk job go again by REST with ``allowSave``.

    Bulk API takes no duplicate-rule header, so an "Allow" rule refuses its rows as a Block
    would; the rows were not saved, so sending them again is safe.
    """
    refused = [step for step in steps if step.action == "fail" and rules.allow_save(
        step.sobject) and any(e.get("statusCode") == "DUPLICATES_DETECTED" for e in step.errors)]
    if not refused:
        return
    LOGGER.info("%d %s rows were refused by duplicate rules in Bulk; sending them by REST "
                "with allowSave", len(refused), refused[0].sobject)
    for step in refused:
        step.action, step.errors = operation, []
    _send_all(client, operation, refused, rules)


def _has_null_marker(step: Step) -> bool:
    return any(value == "#N/A" for value in step.fields.values())


def _assignment_rule_id(client: SalesforceClient, sobject: str, choice: str) -> str | None:
    """The assignment rule a Bulk job names, if any.

    Bulk runs no rule unless the job names one (REST runs the active rule unless told not
    to), so ``default`` looks the active rule up.
    """
    if sobject != "Lead" or choice == "none":
        return None
    if choice == "default":
        return client.active_assignment_rule(sobject)
    return choice


def _bulk_row(step: Step, operation: str) -> dict[str, Any]:
    row = {name: json_safe(value) for name, value in step.fields.items()}
    if operation == "update":
        row["Id"] = step.record_id
    return row


def _send_all(client: SalesforceClient, operation: str, steps: list[Step],
              rules: OrgRules) -> None:
    """``_send_rest`` for one operation."""
    _send_rest(client, {operation: steps}, rules)


def _send_rest(client: SalesforceClient, steps: dict[str, list[Step]],
               rules: OrgRules) -> None:
    """Collections of 200 (one object each), five to a Composite call, for every operation.

    Creates with an external-id field go as upserts on it (idempotent: Salesforce never
    makes a second record for one source record). A chunk refused as a whole is split.
    """
    chunks: list[tuple[str, str | None, list[Step]]] = []
    for operation, group in steps.items():
        by_path: dict[tuple[str, str | None], list[Step]] = {}
        for step in group:
            upsert = step.upsert_field if operation == "create" else None
            path = f"composite/sobjects/{step.sobject}/{upsert}" if upsert else None
            by_path.setdefault((step.sobject, path), []).append(step)
        chunks += [(operation, path, part[start:start + COLLECTION_SIZE])
                   for (_, path), part in by_path.items()
                   for start in range(0, len(part), COLLECTION_SIZE)]
    if not chunks:
        return
    calls = [CollectionCall("POST" if operation == "create" and path is None else "PATCH",
                            path or "composite/sobjects",
                            [_body(step, operation) for step in chunk],
                            rules.headers(chunk[0].sobject, operation))
             for operation, path, chunk in chunks]
    answers = client.collections_calls(calls)
    for (operation, path, chunk), answer, call in zip(chunks, answers, calls, strict=True):
        if isinstance(answer, list):
            _results(chunk, answer)
        elif len(chunk) > 1:
            LOGGER.warning("A %s collection of %d was refused as a whole (%s); splitting",
                           operation, len(chunk), _codes(answer.content))
            middle = len(chunk) // 2
            _send(client, operation, chunk[:middle], call.headers, path)
            _send(client, operation, chunk[middle:], call.headers, path)
        else:
            fail_step(chunk[0], answer.content)


def _results(steps: list[Step], results: list[dict[str, Any]]) -> None:
    """Ids, or errors.

    A create is ``fresh`` when its answer says it made the record: a plain create's always
    does, an upsert's only with ``created: true``.
    """
    for step, result in zip(steps, results, strict=True):
        if result.get("success"):
            step.record_id = result.get("id") or step.record_id
            step.fresh = step.action == "create" and result.get(
                "created", step.upsert_field is None) is True
        else:
            fail_step(step, result.get("errors", []))


def _body(step: Step, operation: str) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": step.sobject}}
    if operation == "update":
        record["id"] = step.record_id
    record.update({name: json_safe(value) for name, value in step.fields.items()})
    return record


def _send(client: SalesforceClient, operation: str, steps: list[Step],
          headers: dict[str, str], path: str | None = None) -> None:
    if not steps:
        return
    records = [_body(step, operation) for step in steps]
    try:
        if path is not None:
            results = client.upsert(path, records, headers)
        elif operation == "create":
            results = client.create(records, headers)
        else:
            results = client.update(records, headers)
    except SalesforceMalformedRequest as refused:
        if len(steps) > 1:
            middle = len(steps) // 2
            LOGGER.warning("A %s collection of %d was refused as a whole (%s); splitting",
                           operation, len(steps), _codes(refused.content))
            _send(client, operation, steps[:middle], headers, path)
            _send(client, operation, steps[middle:], headers, path)
            return
        fail_step(steps[0], refused.content)
        return
    _results(steps, results)


def fail_step(step: Step, errors: Any) -> None:
    """Mark a step failed with the errors Salesforce returned (either error shape)."""
    rendered = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            rendered.append({
                "statusCode": error.get("statusCode") or error.get("errorCode") or "UNKNOWN",
                "message": error.get("message", ""),
                "fields": error.get("fields", []),
                **_duplicate_result(error),
            })
        else:
            rendered.append({"statusCode": "UNKNOWN", "message": str(error), "fields": []})
    step.errors = rendered
    step.action = "fail"


def _duplicate_result(error: dict[str, Any]) -> dict[str, Any]:
    """The ``duplicateResult`` of a DUPLICATES_DETECTED error (either spelling), if any."""
    found = error.get("duplicateResult") or error.get("duplicateResut")
    return {"duplicateResult": found} if isinstance(found, dict) else {}


def _codes(content: Any) -> str:
    if isinstance(content, list):
        return ", ".join(str(item.get("errorCode", "?")) for item in content
                         if isinstance(item, dict))
    return str(content)[:200]
