"""Records the org's duplicate rules refused: learn what each rule matched, then act on it.

A record refused with ``DUPLICATES_DETECTED`` was not saved, so sending it again is safe. In
sObject Collections (and Bulk result rows) the refusal names no matched record, so refused
records are sent again one at a time in Composite calls (25 a call) with the same headers:
an "Allow" rule then lets the save through when ``allowSave`` is on, and any refusal comes
back with its ``duplicateResult`` (the rule and the matched ids). A refused create whose rule
matched exactly one record of the same object updates that record instead; anything else is
a failure naming the rule and the matched ids. Never a silent duplicate, never a lost record.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.mapping import json_safe
from target_salesforce_aimdoc.writes import apply_steps, fail_step

if TYPE_CHECKING:
    from target_salesforce_aimdoc.matching import Matcher
    from target_salesforce_aimdoc.org_rules import OrgRules
    from target_salesforce_aimdoc.plan import Planner, Step
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.duplicates")
DUPLICATE_CODE = "DUPLICATES_DETECTED"
PROBES_PER_CALL = 25


def refused(step: Step) -> bool:
    """True when a duplicate rule refused the step's write."""
    return step.action == "fail" and any(
        error.get("statusCode") == DUPLICATE_CODE for error in step.errors)


def duplicate_result(step: Step) -> dict[str, Any] | None:
    """The ``duplicateResult`` the org returned for the step, when it returned one."""
    for error in step.errors:
        if isinstance(error.get("duplicateResult"), dict):
            return error["duplicateResult"]
    return None


def matched_records(result: dict[str, Any]) -> list[tuple[str, str]]:
    """``(object, id)`` of every record a duplicate result matched, in order, once each."""
    found: dict[tuple[str, str], None] = {}
    for match in result.get("matchResults") or []:
        for item in match.get("matchRecords") or []:
            record = item.get("record") or {}
            sobject = (record.get("attributes") or {}).get("type") or match.get("entityType")
            if record.get("Id"):
                found[(str(sobject), str(record["Id"]))] = None
    return list(found)


def settle(client: SalesforceClient, steps: list[Step], planner: Planner, matcher: Matcher,
           rules: OrgRules) -> None:
    """Resolve the steps duplicate rules refused: saved, updated instead, or explained."""
    blocked = [step for step in steps if refused(step)]
    if not blocked:
        return
    unknown = [step for step in blocked if duplicate_result(step) is None]
    if unknown:
        _probe(client, unknown, rules)
    targets: dict[int, str] = {}
    for step in blocked:
        if not refused(step):
            continue  # saved when sent alone
        result = duplicate_result(step) or {}
        matches = matched_records(result)
        step.duplicates = {"rule": result.get("duplicateRule"), "matches": matches}
        same = sorted({record_id for sobject, record_id in matches if sobject == step.sobject})
        if step.record_id is None and step.origin is not None and len(same) == 1:
            targets[id(step)] = same[0]
        else:
            _explain(step, "it matched no single record of the same object"
                     if step.record_id is None else "the rule refuses this update")
    chosen = [step for step in blocked if id(step) in targets]
    _update_matched(client, chosen, targets, (planner, matcher), rules)


def _update_matched(client: SalesforceClient, steps: list[Step], targets: dict[int, str],
                    helpers: tuple[Planner, Matcher], rules: OrgRules) -> None:
    """Re-plan each refused create as an update of the one record its rule matched."""
    if not steps:
        return
    planner, matcher = helpers
    rows: dict[str, dict[str, Any]] = {}
    for sobject in {step.sobject for step in steps}:
        ids = sorted({targets[id(step)] for step in steps if step.sobject == sobject})
        rows.update({row["Id"][:15]: row for row in matcher.by_ids(sobject, ids)})
    updates = []
    for step in steps:
        current = rows.get(targets[id(step)][:15])
        if current is None:
            _explain(step, "the matched record could not be read")
            continue
        flagged = step.duplicates
        replacement = planner.update_instead(step, current)
        for item in dataclasses.fields(replacement):
            setattr(step, item.name, getattr(replacement, item.name))
        step.duplicates, step.reason = flagged, "the org's duplicate rule matched it"
        LOGGER.info("%s %s: duplicate rule %s matched %s; updating it instead of creating",
                    step.sobject, step.match_key, (flagged or {}).get("rule"), step.record_id)
        updates.append(step)
    apply_steps(client, [step for step in updates if step.action == "update"], None, rules)
    for step in updates:
        if refused(step):
            _explain(step, "the matched record's update was refused too")


def _probe(client: SalesforceClient, steps: list[Step], rules: OrgRules) -> None:
    """Send refused records again one at a time (Composite), to save or learn the matches."""
    for start in range(0, len(steps), PROBES_PER_CALL):
        group = steps[start:start + PROBES_PER_CALL]
        creates = all(step.record_id is None for step in group)
        answers = client.composite([_subrequest(client, step, rules, f"d{number}")
                                    for number, step in enumerate(group)],
                                   kind="create" if creates else "update",
                                   idempotent=not any(s.record_id is None for s in group))
        for step, answer in zip(group, answers, strict=True):
            _apply_answer(step, answer)


def _subrequest(client: SalesforceClient, step: Step, rules: OrgRules,
                reference: str) -> dict[str, Any]:
    operation = "create" if step.record_id is None else "update"
    url = f"/services/data/v{client.api_version}/sobjects/{step.sobject}"
    body = {name: json_safe(value) for name, value in step.fields.items()}
    return {"method": "POST" if operation == "create" else "PATCH",
            "url": url if operation == "create" else f"{url}/{step.record_id}",
            "referenceId": reference, "body": body,
            "httpHeaders": rules.headers(step.sobject, operation)}


def _apply_answer(step: Step, answer: dict[str, Any]) -> None:
    status, body = answer.get("httpStatusCode", 500), answer.get("body")
    if status < 300:
        step.action = "create" if step.record_id is None else "update"
        if isinstance(body, dict) and body.get("id"):
            step.record_id = body["id"]
        step.errors = []
        return
    fail_step(step, body if isinstance(body, list) else [body])


def _explain(step: Step, why: str) -> None:
    found = step.duplicates or {}
    matches = ", ".join(f"{sobject} {record_id}" for sobject, record_id in found.get("matches", []))
    step.errors = [{
        "statusCode": DUPLICATE_CODE,
        "message": (f"refused by duplicate rule {found.get('rule') or '(unnamed)'}; matched "
                    f"{matches or 'no record the org named'}; {why}"),
        "fields": [],
    }]
    step.action = "fail"
