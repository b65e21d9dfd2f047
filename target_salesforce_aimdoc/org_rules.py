"""What the org's own rules do to our writes: duplicate rules and Lead assignment rules.

A new Salesforce org ships with the standard duplicate rules for Account, Contact and Lead
active ("Allow" with an alert, on create and on edit; the Contact and Lead rules match across
both objects). Through the API an alerting rule refuses a save with ``DUPLICATES_DETECTED``
unless the request carries ``Sforce-Duplicate-Rule-Header: allowSave=true``; a "Block" rule
refuses it whatever the header says. REST creates and updates also run the org's active Lead
assignment rule unless ``Sforce-Auto-Assign: FALSE`` says otherwise; Bulk API 2.0 runs a rule
only when the ingest job names it (``assignmentRuleId``).

This module holds the settings for both and turns them into request headers and job options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from target_salesforce_aimdoc.expressions import ConfigError

DUPLICATE_ACTIONS = ("allow", "use_existing")
RULE_ID = re.compile(r"^01Q[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$")
OBJECTS = ("Account", "Contact", "Lead")

DUPLICATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(DUPLICATE_ACTIONS),
}

ORG_RULES_PROPERTIES: dict[str, dict[str, Any]] = {
    "duplicate_rules": {
        "type": "object",
        "description": (
            "Per object (Account, Contact, Lead): what to do when the org's duplicate rules "
            "catch a record. `allow` (default): save past \"Allow\" rules with "
            "`Sforce-Duplicate-Rule-Header: allowSave=true` (a new org's standard rules alert "
            "on a Lead whose person is already a Contact, which this target writes on "
            "purpose); `use_existing`: do not save past them. Either way, a record a rule "
            "still refuses (a \"Block\" rule, or an alert with `use_existing`) updates the "
            "one record of the same object the rule matched; with no such single match it "
            "is a dead letter naming the rule and the matched ids."
        ),
        "properties": dict.fromkeys(OBJECTS, DUPLICATE_SCHEMA),
        "additionalProperties": False,
    },
    "lead_assignment": {
        "type": "object",
        "description": (
            "Which Lead assignment rule runs on the Leads the target writes. `on_create` "
            "(default `default`): `default` runs the org's active rule (what a REST create "
            "does unless told otherwise; on the Bulk path the active rule's id is looked up "
            "once and named on the job), `none` runs no rule (the integration user owns the "
            "Lead), or an assignment rule id (`01Q...`). `on_update` (default `none`): never "
            "reassign an existing Lead (`Sforce-Auto-Assign: FALSE`); `default` or a rule id "
            "to re-run a rule on every update."
        ),
        "properties": {
            "on_create": {"type": "string", "minLength": 1},
            "on_update": {"type": "string", "minLength": 1},
        },
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class OrgRules:
    """Duplicate-rule actions per object and the Lead assignment rule per operation."""

    duplicates: dict[str, str] = field(default_factory=lambda: dict.fromkeys(OBJECTS, "allow"))
    assign_on_create: str = "default"
    assign_on_update: str = "none"

    def allow_save(self, sobject: str) -> bool:
        """Whether writes of ``sobject`` save past the org's "Allow" duplicate rules."""
        return self.duplicates.get(sobject, "allow") == "allow"

    def headers(self, sobject: str, operation: str) -> dict[str, str]:
        """Request headers for a create or update of ``sobject`` records (REST paths)."""
        headers = {"Sforce-Duplicate-Rule-Header": (
            "allowSave=true" if self.allow_save(sobject) else "allowSave=false")}
        if sobject == "Lead":
            headers["Sforce-Auto-Assign"] = auto_assign_header(self.assignment(operation))
        return headers

    def assignment(self, operation: str) -> str:
        """The assignment choice (`default`, `none` or a rule id) for an operation."""
        return self.assign_on_create if operation == "create" else self.assign_on_update

    def describe(self, sobject: str, operation: str) -> str | None:
        """How a planned Lead write is assigned, for the report and the dry-run plan."""
        if sobject != "Lead":
            return None
        choice = self.assignment(operation)
        if choice == "none":
            return "no assignment rule" if operation == "create" else "owner kept"
        if choice == "default":
            return "org's active assignment rule"
        return f"assignment rule {choice}"


def auto_assign_header(choice: str) -> str:
    """``Sforce-Auto-Assign`` for a choice: TRUE, FALSE or the rule id."""
    return {"default": "TRUE", "none": "FALSE"}.get(choice, choice)


def load_org_rules(config: Mapping[str, Any]) -> tuple[OrgRules, list[ConfigError]]:
    """The org-rule settings of a config, and what is wrong with them."""
    errors: list[ConfigError] = []
    duplicates = dict.fromkeys(OBJECTS, "allow")
    for name, action in (config.get("duplicate_rules") or {}).items():
        duplicates[name] = action
    assignment = config.get("lead_assignment") or {}
    choices = {"on_create": assignment.get("on_create") or "default",
               "on_update": assignment.get("on_update") or "none"}
    for key, choice in choices.items():
        if choice not in {"default", "none"} and not RULE_ID.match(choice):
            errors.append(ConfigError(
                f"lead_assignment.{key}",
                f"{choice!r} is neither `default`, `none` nor an assignment rule id (01Q...)"))
    return OrgRules(duplicates, choices["on_create"], choices["on_update"]), errors
