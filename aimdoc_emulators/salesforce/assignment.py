"""Lead assignment rules: the AssignmentRule and Group (queue) sObjects, rule entries, owners.

What Salesforce documents and the emulator does:

- ``Sforce-Auto-Assign`` on REST creates and updates (single record, sObject Collections,
  Composite subrequests): absent or ``TRUE`` runs the org's active Lead assignment rule;
  ``FALSE`` runs none; a valid AssignmentRule id (15 or 18 characters, active or not) runs that
  rule on created records (the docs say "applied for created ... Leads"; on an update the id
  runs no rule). A value that is none of these fails the call with 400 MALFORMED_ID.
- Bulk API 2.0 runs no rule unless the ingest job names one (``assignmentRuleId``); then it
  runs for inserted and upserted rows.
- A rule's entries are tried in order; the first whose criteria all hold assigns the record to
  its user or queue. When none holds, the record goes to the default lead owner (Lead
  Settings). One rule per object is active at a time.

The default org ships one active rule, "Lead Routing" (documented in
docs/emulator-duplicate-rules.md): NumberOfEmployees >= 1000 to the user Enterprise AE;
Country US/Canada to the queue North America Leads; Country in Western Europe and the UK to
the queue EMEA Leads; otherwise the default lead owner, the org's admin user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import ApiError
from aimdoc_emulators.salesforce.ids import ADMIN_ID_18, make_id, normalize_id
from aimdoc_emulators.salesforce.metadata import FieldMeta, SObjectMeta, _system_fields

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.metadata import Catalog

OPERATORS = ("equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual",
             "contains", "startsWith")
ENTERPRISE_AE = {"Username": "enterprise.ae@example.com", "FirstName": "Enterprise",
                 "LastName": "AE", "Name": "Enterprise AE", "Email": "enterprise.ae@example.com",
                 "IsActive": 1}
DEFAULT_QUEUES = ("North America Leads", "EMEA Leads")
DEFAULT_RULE = {
    "name": "Lead Routing",
    "active": True,
    "entries": [
        {"criteria": [{"field": "NumberOfEmployees", "operator": "greaterOrEqual",
                       "value": "1000"}],
         "assign_to": "enterprise.ae@example.com"},
        {"criteria": [{"field": "Country", "operator": "equals",
                       "value": "United States,USA,US,Canada"}],
         "assign_to": "North America Leads"},
        {"criteria": [{"field": "Country", "operator": "equals",
                       "value": "United Kingdom,UK,Ireland,Germany,France,Spain,Italy,"
                                "Netherlands,Belgium,Sweden,Denmark,Norway,Switzerland"}],
         "assign_to": "EMEA Leads"},
    ],
}


def assignment_objects() -> list[SObjectMeta]:
    """AssignmentRule (01Q) and Group (00G), read-only through the API, queryable."""
    rule = SObjectMeta("AssignmentRule", "Assignment Rule", "Assignment Rules", "01Q",
                       createable=False, updateable=False, deletable=False)
    for meta in [
        *_system_fields("Assignment Rule"),
        FieldMeta("Name", "Name", "string", length=120, createable=False, updateable=False),
        FieldMeta("Active", "Active", "boolean", nillable=False, createable=False,
                  updateable=False, defaulted_on_create=True, default_value=False),
        FieldMeta("SobjectType", "Sobject Type", "picklist", length=40, createable=False,
                  updateable=False, picklist_values=("Case", "Lead"), restricted_picklist=True),
    ]:
        rule.add(meta)
    group = SObjectMeta("Group", "Group", "Groups", "00G", createable=False, updateable=False,
                        deletable=False)
    for meta in [
        *_system_fields("Group"),
        FieldMeta("Name", "Name", "string", length=40, nillable=False),
        FieldMeta("DeveloperName", "Developer Name", "string", length=80),
        FieldMeta("Type", "Type", "picklist", length=40, nillable=False,
                  picklist_values=("Queue", "Regular", "Role")),
        FieldMeta("Email", "Email", "email", length=255),
    ]:
        group.add(meta)
    return [rule, group]


def extend_catalog(catalog: Catalog) -> None:
    """Add AssignmentRule and Group (queues).

    Lead.OwnerId keeps referencing User only [U]: in Salesforce it is polymorphic (Group,
    User), which the emulator's SOQL subset does not join (``Owner.Name`` would fail). An
    assignment rule may still give a Lead a queue as owner; ``Owner.Name`` is then null.
    """
    for obj in assignment_objects():
        catalog.objects[obj.name.lower()] = obj


@dataclass
class Criterion:
    """``field operator value``; ``equals``/``notEqual`` take comma-separated values."""

    field: str
    operator: str
    value: str

    def __post_init__(self) -> None:
        self.options = frozenset(v.strip().casefold() for v in self.value.split(","))

    def holds(self, row: dict[str, Any]) -> bool:
        """Whether the record satisfies the criterion (text compares case-insensitively)."""
        actual = row.get(self.field)
        if actual is None and self.field not in row:
            actual = _lookup(row, self.field)
        if self.operator in {"equals", "notEqual"}:
            hit = actual is not None and str(actual).strip().casefold() in self.options
            if self.value.strip() == "":
                hit = actual in (None, "")
            return hit if self.operator == "equals" else not hit
        if actual is None or actual == "":
            return False
        if self.operator in {"contains", "startsWith"}:
            text, wanted = str(actual).casefold(), self.value.casefold()
            return wanted in text if self.operator == "contains" else text.startswith(wanted)
        try:
            left, right = float(actual), float(self.value)
        except (TypeError, ValueError):
            left, right = str(actual).casefold(), self.value.casefold()
        return {"lessThan": left < right, "greaterThan": left > right,
                "lessOrEqual": left <= right, "greaterOrEqual": left >= right}[self.operator]


def _lookup(row: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in row.items() if k.lower() == lowered), None)


@dataclass
class RuleEntry:
    """One rule entry: all criteria hold -> the record goes to ``owner_id``."""

    criteria: list[Criterion]
    owner_id: str


@dataclass
class AssignmentRule:
    """An assignment rule on Lead and its ordered entries."""

    id: str
    name: str
    active: bool
    entries: list[RuleEntry] = field(default_factory=list)
    sobject: str = "Lead"

    def owner_for(self, row: dict[str, Any]) -> str | None:
        """The owner of the first entry that matches, or None."""
        for entry in self.entries:
            if all(criterion.holds(row) for criterion in entry.criteria):
                return entry.owner_id
        return None

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin API lists it."""
        return {"id": self.id, "name": self.name, "active": self.active,
                "object": self.sobject,
                "entries": [{"criteria": [{"field": c.field, "operator": c.operator,
                                           "value": c.value} for c in e.criteria],
                             "assign_to": e.owner_id} for e in self.entries]}


class AssignmentRules:
    """The org's Lead assignment rules and the default lead owner.

    ``store(obj_name, row)`` inserts or replaces a row of AssignmentRule/Group/User;
    ``resolve(name)`` turns a user id, queue id, queue name or username into an id.
    """

    def __init__(self, store: Any, resolve: Any, next_id: Any) -> None:
        self.store = store
        self.resolve = resolve
        self.next_id = next_id
        self.rules: dict[str, AssignmentRule] = {}
        self.default_owner = ADMIN_ID_18

    def define(self, spec: dict[str, Any]) -> AssignmentRule:
        """Add or replace a rule from JSON: ``{"name", "active", "entries": [...]}``."""
        name = str(spec["name"])
        existing = self.by_name(name)
        rule_id = existing.id if existing else make_id("01Q", self.next_id("01Q"))
        entries = []
        for raw in spec.get("entries") or []:
            criteria = [_criterion(c) for c in raw.get("criteria") or []]
            owner = self.resolve(str(raw["assign_to"]))
            if owner is None:
                raise ValueError(f"assignment rule {name}: no user or queue {raw['assign_to']!r}")
            entries.append(RuleEntry(criteria, owner))
        rule = AssignmentRule(rule_id, name, bool(spec.get("active", False)), entries)
        self.rules[rule_id] = rule
        if rule.active:
            self.activate(rule_id)
        self._save(rule)
        return rule

    def activate(self, rule_id: str, active: bool = True) -> None:
        """Switch a rule on (every other Lead rule off: one is active at a time) or off."""
        rule = self.rules[rule_id]
        if active:
            for other in self.rules.values():
                if other.active and other.id != rule_id:
                    other.active = False
                    self._save(other)
        rule.active = active
        self._save(rule)

    def configure(self, spec: dict[str, Any]) -> None:
        """``{"rules": [...], "active": {"Name": false}, "default_owner": "..."}``."""
        if "default_owner" in spec:
            owner = self.resolve(str(spec["default_owner"]))
            if owner is None:
                raise ValueError(f"no user or queue {spec['default_owner']!r}")
            self.default_owner = owner
        for raw in spec.get("rules") or []:
            self.define(raw)
        for name, active in (spec.get("active") or {}).items():
            rule = self.by_name(name) or self.rules.get(normalize_id(name) or "")
            if rule is None:
                raise ValueError(f"no assignment rule {name!r}")
            self.activate(rule.id, bool(active))

    def by_name(self, name: str) -> AssignmentRule | None:
        """A rule by name (any case)."""
        lowered = name.lower()
        return next((r for r in self.rules.values() if r.name.lower() == lowered), None)

    def active_rule(self, sobject: str = "Lead") -> AssignmentRule | None:
        """The object's active rule, if any."""
        return next((r for r in self.rules.values() if r.active and r.sobject == sobject),
                    None)

    def choose(self, header: str | None, *, creating: bool) -> AssignmentRule | None:
        """The rule a write runs for a ``Sforce-Auto-Assign`` value (None: absent = TRUE)."""
        value = (header or "TRUE").strip()
        if value.upper() == "TRUE":
            return self.active_rule()
        if value.upper() == "FALSE":
            return None
        rule_id = normalize_id(value)
        if rule_id is None or not rule_id.startswith("01Q"):
            raise ApiError.of(400, "MALFORMED_ID", f"Invalid Assignment Rule Id: {value}")
        rule = self.rules.get(rule_id)
        if rule is None:
            raise ApiError.of(400, "INVALID_CROSS_REFERENCE_KEY",
                              f"invalid cross reference id: {value}")
        return rule if creating else None

    def owner(self, rule: AssignmentRule, row: dict[str, Any]) -> str:
        """The owner a rule gives a record (the default lead owner when no entry matches)."""
        return rule.owner_for(row) or self.default_owner

    def listing(self) -> dict[str, Any]:
        """Rules and the default owner, for the admin API."""
        return {"default_owner": self.default_owner,
                "rules": [rule.to_json() for rule in self.rules.values()]}

    def _save(self, rule: AssignmentRule) -> None:
        self.store("AssignmentRule", {"Id": rule.id, "Name": rule.name,
                                      "Active": int(rule.active), "SobjectType": rule.sobject})


def _criterion(raw: dict[str, Any]) -> Criterion:
    operator = str(raw.get("operator", "equals"))
    if operator not in OPERATORS:
        raise ValueError(f"assignment criterion operator must be one of {OPERATORS}")
    return Criterion(str(raw["field"]), operator, str(raw.get("value", "")))
