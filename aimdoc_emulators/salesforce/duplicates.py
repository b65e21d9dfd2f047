"""Duplicate Management of the emulated org: duplicate rules, matching rules, match indexes.

A new org ships with three active duplicate rules (Salesforce Help, "Standard Duplicate Rules"):

| duplicate rule (Standard_X_...) | matching rules | on create | on edit |
|---|---|---|---|
| Account_Duplicate_Rule | Account v1_0 | Allow + alert | Allow + report |
| Contact_Duplicate_Rule | Contact v1_1, Lead v1_0 | Allow + alert | Allow + report |
| Lead_Duplicate_Rule | Lead v1_0, Contact v1_1 | Allow + alert | Allow + report |

The Contact and Lead rules are cross-object (orgs created since Summer '17): a new Lead is
compared with Leads and Contacts, a new Contact with Contacts and Leads. Through the API an
alerting rule refuses the save with DUPLICATES_DETECTED unless the request says
``Sforce-Duplicate-Rule-Header: allowSave=true``; a Block rule refuses it whatever the header
says; "report" has no effect on the API answer. Records saved in the same call are not compared
with each other, only with records already in the org (documented).

The standard person matching rule (Contact and Lead; names, Title, Company / Account Name,
Email, Phone, Mailing Street, City, ZIP) is, in the documented equation:

    (First AND Last AND Title AND Company) OR (First AND Last AND Email)
    OR (First AND Last AND Phone AND Company) OR (First AND Last AND Street AND (City OR ZIP
    OR Phone)) OR (First AND Last AND Street AND Title) OR (First AND Last AND Title AND Email)
    OR (First AND Last AND Phone)

Blank fields don't match, except that blank first and last names are ignored in a group with
Email; first and last names are also tried transposed. The account rule [U: from memory of the
help page, not found in the stored docs] is ``(Name AND Street) OR (Name AND City AND ZIP) OR
(Name AND Phone)`` on the billing address. Methods are in ``matching.py``.

Candidates come from match keys, as in Salesforce: the lower-cased email, first initial with a
phonetic key of the last name, company keys, phone without its last four digits. Indexes are
built from the database on first use and kept in step with every write; a rolled-back
transaction undoes its index changes (``mark``/``undo``).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aimdoc_emulators.salesforce.matching import Method, method
from aimdoc_emulators.salesforce.metadata import FieldMeta

ALERT_TEXT = "Use one of these records?"
CONTACT_ALERT = (
    "You're creating a duplicate record. We recommend you use an existing record instead."
)
PERSON_OBJECTS = ("Lead", "Contact")
# Logical match fields -> the API field on each object ("Account.Name": the Contact's account).
FIELD_MAP: dict[str, dict[str, str]] = {
    "Lead": {"first_name": "FirstName", "last_name": "LastName", "email": "Email",
             "phone": "Phone", "title": "Title", "company": "Company", "street": "Street",
             "city": "City", "zip": "PostalCode"},
    "Contact": {"first_name": "FirstName", "last_name": "LastName", "email": "Email",
                "phone": "Phone", "title": "Title", "company": "Account.Name",
                "street": "MailingStreet", "city": "MailingCity", "zip": "MailingPostalCode"},
    "Account": {"company": "Name", "street": "BillingStreet", "city": "BillingCity",
                "zip": "BillingPostalCode", "phone": "Phone"},
}
PERSON_METHODS = {"first_name": "first_name", "last_name": "last_name", "email": "email",
                  "phone": "phone", "title": "title", "company": "company",
                  "street": "street", "city": "city", "zip": "zip"}
PERSON_GROUPS = (
    ("first_name", "last_name", "title", "company"),
    ("first_name", "last_name", "email"),
    ("first_name", "last_name", "phone", "company"),
    ("first_name", "last_name", "street", "city"),
    ("first_name", "last_name", "street", "zip"),
    ("first_name", "last_name", "street", "phone"),
    ("first_name", "last_name", "street", "title"),
    ("first_name", "last_name", "title", "email"),
    ("first_name", "last_name", "phone"),
)
ACCOUNT_GROUPS = (("company", "street"), ("company", "city", "zip"), ("company", "phone"))
NAME_FIELDS = frozenset({"first_name", "last_name"})


# ---------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class MatchItem:
    """One criterion: a logical field, its method, and whether blanks match each other."""

    name: str
    method: Method
    match_blank: bool = False


@dataclass
class MatchingRule:
    """A matching rule on one object: an OR of AND-groups of criteria."""

    name: str
    sobject: str
    items: dict[str, MatchItem]
    groups: tuple[tuple[str, ...], ...]
    person: bool = False  # the standard Contact/Lead rule: transposed names, blank names + Email

    @property
    def plan(self) -> tuple[tuple[tuple[str, ...], bool], ...]:
        """The groups to evaluate, each with whether blank names are ignored in it.

        A group that holds every criterion of another group with the same blank handling
        can only match when that one does, so it is left out: (First AND Last AND Phone AND
        Company) goes with (First AND Last AND Phone).
        """
        plan = self.__dict__.get("_plan")
        if plan is None:
            flagged = [(group, self.person and "email" in group) for group in self.groups]
            plan = self.__dict__["_plan"] = tuple(
                (group, flag) for group, flag in flagged
                if not any(set(other) < set(group) and other_flag == flag
                           for other, other_flag in flagged))
        return plan

    @property
    def scoring(self) -> dict[str, tuple[Any, int, bool]]:
        """Per criterion: (score function, threshold, match_blank)."""
        scoring = self.__dict__.get("_scoring")
        if scoring is None:
            scoring = self.__dict__["_scoring"] = {
                name: (item.method.score, item.method.threshold, item.match_blank)
                for name, item in self.items.items()}
        return scoring

    @property
    def engine(self) -> str:
        """``FuzzyMatchEngine`` if any criterion is fuzzy, else ``ExactMatchEngine``."""
        fuzzy = any(item.method.fuzzy for item in self.items.values())
        return "FuzzyMatchEngine" if fuzzy else "ExactMatchEngine"


@dataclass
class DuplicateRule:
    """A duplicate rule: the object it guards, matching rules per compared object, actions."""

    name: str
    sobject: str
    matching: list[MatchingRule]
    active: bool = True
    action_on_insert: str = "allow"  # allow | block
    action_on_update: str = "allow"
    alert_on_insert: bool = True
    alert_on_update: bool = False  # the standard rules only report on edit
    message: str = ALERT_TEXT
    order: int = 0

    def acts(self, creating: bool) -> tuple[str, bool]:
        """(action, alert) for a create or an edit."""
        if creating:
            return self.action_on_insert, self.alert_on_insert
        return self.action_on_update, self.alert_on_update

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin API lists it."""
        return {"name": self.name, "object": self.sobject, "active": self.active,
                "action_on_insert": self.action_on_insert,
                "action_on_update": self.action_on_update,
                "alert_on_insert": self.alert_on_insert,
                "alert_on_update": self.alert_on_update, "message": self.message,
                "matching_rules": [{"name": m.name, "object": m.sobject,
                                    "groups": [list(g) for g in m.groups]}
                                   for m in self.matching]}


def person_rule(sobject: str) -> MatchingRule:
    """Standard_Contact_Match_Rule_v1_1 or Standard_Lead_Match_Rule_v1_0."""
    name = ("Standard_Contact_Match_Rule_v1_1" if sobject == "Contact"
            else "Standard_Lead_Match_Rule_v1_0")
    items = {key: MatchItem(key, method(m)) for key, m in PERSON_METHODS.items()}
    return MatchingRule(name, sobject, items, PERSON_GROUPS, person=True)


def account_rule() -> MatchingRule:
    """Standard_Account_Match_Rule_v1_0."""
    items = {key: MatchItem(key, method(key)) for key in ("company", "street", "city", "zip",
                                                           "phone")}
    return MatchingRule("Standard_Account_Match_Rule_v1_0", "Account", items, ACCOUNT_GROUPS)


def standard_rules() -> list[DuplicateRule]:
    """The duplicate rules a new org ships with, active."""
    return [
        DuplicateRule("Standard_Account_Duplicate_Rule", "Account", [account_rule()], order=1),
        DuplicateRule("Standard_Contact_Duplicate_Rule", "Contact",
                      [person_rule("Contact"), person_rule("Lead")], message=CONTACT_ALERT,
                      order=2),
        DuplicateRule("Standard_Lead_Duplicate_Rule", "Lead",
                      [person_rule("Lead"), person_rule("Contact")], order=3),
    ]


def custom_rule(spec: dict[str, Any], order: int) -> DuplicateRule:
    """A rule from the admin/seed JSON (see docs/emulator-duplicate-rules.md)."""
    sobject = str(spec["object"])
    name = str(spec.get("name") or f"Custom_{sobject}_Duplicate_Rule_{order}")
    # a standard person/account field is named by its logical name, so that a cross-object
    # rule reads the mapped field (Lead Company -> Contact Account.Name)
    logical = {api.lower(): key for key, api in FIELD_MAP.get(sobject, {}).items()}
    items: dict[str, MatchItem] = {}
    for given in spec.get("fields") or []:
        raw = {"field": given} if isinstance(given, str) else given
        field_name = logical.get(str(raw["field"]).lower(), str(raw["field"]))
        items[field_name] = MatchItem(field_name, method(raw.get("method", "exact")),
                                      bool(raw.get("match_blank", False)))
    if not items:
        raise ValueError(f"duplicate rule {name}: no fields")
    groups = tuple(tuple(logical.get(str(f).lower(), str(f)) for f in g)
                   for g in spec.get("groups") or [tuple(items)])
    for group in groups:
        unknown = [f for f in group if f not in items]
        if unknown:
            raise ValueError(f"duplicate rule {name}: groups name unknown fields {unknown}")
    matching = [MatchingRule(spec.get("matching_rule") or f"{name}_Match_{target}", target,
                             items, groups)
                for target in spec.get("match_objects") or [sobject]]
    rule = DuplicateRule(name, sobject, matching, message=str(spec.get("message", ALERT_TEXT)),
                         order=order)
    apply_options(rule, spec)
    return rule


def apply_options(rule: DuplicateRule, options: dict[str, Any]) -> None:
    """Switch a rule on/off, to Block or Allow, alerts on create/edit, compared objects."""
    if "active" in options:
        rule.active = bool(options["active"])
    if "action" in options:
        rule.action_on_insert = rule.action_on_update = _action(options["action"])
    for key in ("action_on_insert", "action_on_update"):
        if key in options:
            setattr(rule, key, _action(options[key]))
    if "alert" in options:
        rule.alert_on_insert = rule.alert_on_update = bool(options["alert"])
    for key in ("alert_on_insert", "alert_on_update"):
        if key in options:
            setattr(rule, key, bool(options[key]))
    if "message" in options:
        rule.message = str(options["message"])
    if "match_objects" in options:
        wanted = [str(o) for o in options["match_objects"]]
        known = {m.sobject: m for m in rule.matching}
        rule.matching = [known.get(o) or _same_rule_for(rule, o) for o in wanted]


def _same_rule_for(rule: DuplicateRule, target: str) -> MatchingRule:
    base = rule.matching[0]
    if base.person and target in PERSON_OBJECTS:
        return person_rule(target)
    return MatchingRule(f"{base.name}_{target}", target, base.items, base.groups, base.person)


def _action(value: Any) -> str:
    action = str(value).lower()
    if action not in {"allow", "block"}:
        raise ValueError(f"duplicate rule action must be allow or block, not {value!r}")
    return action


# ---------------------------------------------------------------------------- header
@dataclass(frozen=True)
class DuplicateHeader:
    """``Sforce-Duplicate-Rule-Header`` (``;``-separated, any case; all default false)."""

    allow_save: bool = False
    include_record_details: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> DuplicateHeader:
        """Read the header's ``allowSave`` and ``includeRecordDetails``."""
        if not raw:
            return cls()
        options = {}
        for part in raw.split(";"):
            name, sep, value = part.partition("=")
            if sep:
                options[name.strip().lower()] = value.strip().lower() == "true"
        return cls(options.get("allowsave", False), options.get("includerecorddetails", False))


# ---------------------------------------------------------------------------- evaluation
BLANK = -1
FAILED = -2


def match_confidence(rule: MatchingRule, new: dict[str, Any],
                     old: dict[str, Any]) -> float | None:
    """The best group's mean score when ``rule`` matches ``new`` to ``old``, else None.

    A blank value (on either side) does not match, unless the criterion matches blanks or it
    is a name in a person-rule group with Email; the person rule also tries ``new``'s first
    and last names transposed.
    """
    best = best_group(rule, new, old)
    if best is None and rule.person:
        first, last = new.get("first_name"), new.get("last_name")
        if first and last and _names_pass(rule, last, first, old):
            swapped = new | {"first_name": last, "last_name": first}
            best = best_group(rule, swapped, old)
    return best


def _names_pass(rule: MatchingRule, first: str, last: str, old: dict[str, Any]) -> bool:
    other_first, other_last = old.get("first_name"), old.get("last_name")
    if not (other_first and other_last):
        return False
    first_method, last_method = rule.items["first_name"].method, rule.items["last_name"].method
    return (first_method.score(first, other_first) >= first_method.threshold
            and last_method.score(last, other_last) >= last_method.threshold)


def best_group(rule: MatchingRule, new: dict[str, Any], old: dict[str, Any]) -> float | None:
    """The best mean score over the groups whose criteria all pass (each field scored once)."""
    scoring = rule.scoring
    scores: dict[str, int] = {}
    best: float | None = None
    for group, blank_names in rule.plan:
        total = count = 0
        for name in group:
            score = scores.get(name)
            if score is None:
                left, right = new.get(name), old.get(name)
                func, threshold, match_blank = scoring[name]
                if left is None or right is None:
                    score = 100 if match_blank and left is None and right is None else BLANK
                else:
                    score = func(left, right)
                    if score < threshold:
                        score = FAILED
                scores[name] = score
            if score < 0:
                if score == BLANK and blank_names and name in NAME_FIELDS:
                    continue
                break
            total += score
            count += 1
        else:
            if count and (best is None or total / count > best):
                best = total / count
                if best >= 100:
                    return best
    return best


def names_pass(rule: MatchingRule, first: str, last: str, other: tuple[str, str]) -> bool:
    """Whether a person's names match another's (or transposed), under a person rule."""
    first_method, last_method = rule.items["first_name"].method, rule.items["last_name"].method
    for a, b in ((first, last), (last, first)):
        if (first_method.score(a, other[0]) >= first_method.threshold
                and last_method.score(b, other[1]) >= last_method.threshold):
            return True
    return False


# ---------------------------------------------------------------------------- index
_VALUES_MEMO: dict[Any, tuple[tuple[Any, ...], dict[str, Any]]] = {}


MAX_CANDIDATES = 50  # records scored per record and matching rule (see candidates)


@dataclass
class MatchIndex:
    """Normalised match values of one object's live records, with match-key buckets."""

    sobject: str
    fields: dict[str, tuple[str, Method]]  # logical name -> (API field, method)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    buckets: dict[str, dict[Any, set[str]]] = field(default_factory=dict)
    # person key -> (first, last) -> ids: names are compared once per distinct name
    people: dict[Any, dict[tuple[str, str], set[str]]] = field(default_factory=dict)

    def values(self, row: dict[str, Any], account_name: Callable[[Any], Any]) -> dict[str, Any]:
        """A record's normalised values per logical field (blank ones left out).

        The last record's values are kept per field layout: a save checks a record against
        two objects' rules and then indexes it, all with the same values.
        """
        layout = self.layout
        raw_values = tuple(row.get(api_field) for api_field in layout[1])
        memo = _VALUES_MEMO.get(layout)
        if memo is not None and memo[0] == raw_values:
            return memo[1]
        found: dict[str, Any] = {}
        for name, (api_field, how) in self.fields.items():
            raw = (account_name(row.get("AccountId")) if api_field == "Account.Name"
                   else row.get(api_field))
            if raw is None or raw == "":
                continue
            value = how.normalize(raw if isinstance(raw, str) else str(raw))
            if value is not None:
                found[name] = value
        _VALUES_MEMO[layout] = (raw_values, found)
        return found

    @property
    def layout(self) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]:
        """The field layout (logical name, API field, method) and the API fields read."""
        layout = self.__dict__.get("_layout")
        if layout is None:
            fields = tuple((n, f, m.name) for n, (f, m) in self.fields.items())
            read = tuple("AccountId" if f == "Account.Name" else f for _, f, _ in fields)
            layout = self.__dict__["_layout"] = (fields, read)
        return layout

    def keys(self, values: dict[str, Any]) -> list[tuple[str, Any]]:
        """The (kind, key) buckets a record belongs to."""
        keys: list[tuple[str, Any]] = []
        if "email" in values:
            keys.append(("email", values["email"]))
        first, last = values.get("first_name"), values.get("last_name")
        if first and last:
            keys.append(("person", self._person_key(first, last)))
        for name, value in values.items():
            if name in {"email", "first_name", "last_name"}:
                continue
            how = self.fields[name][1]
            keys.extend((name, key) for key in how.keys(value))
        return keys

    def _person_key(self, first: str, last: str) -> tuple[str, str]:
        return (self.fields["first_name"][1].keys(first)[0],
                self.fields["last_name"][1].keys(last)[0])

    def add(self, record_id: str, values: dict[str, Any]) -> None:
        """Index a record's values (replacing what it had)."""
        self.remove(record_id)
        self.entries[record_id] = values
        for kind, key in self.keys(values):
            if kind == "person":
                names = (values["first_name"], values["last_name"])
                self.people.setdefault(key, {}).setdefault(names, set()).add(record_id)
            else:
                self.buckets.setdefault(kind, {}).setdefault(key, set()).add(record_id)

    def remove(self, record_id: str) -> dict[str, Any] | None:
        """Drop a record; returns its old values."""
        values = self.entries.pop(record_id, None)
        if values is not None:
            for kind, key in self.keys(values):
                if kind == "person":
                    self._drop_person(key, (values["first_name"], values["last_name"]),
                                      record_id)
                    continue
                bucket = self.buckets.get(kind, {}).get(key)
                if bucket is not None:
                    bucket.discard(record_id)
                    if not bucket:
                        del self.buckets[kind][key]
        return values

    def _drop_person(self, key: Any, names: tuple[str, str], record_id: str) -> None:
        groups = self.people.get(key)
        ids = groups.get(names) if groups else None
        if ids is None:
            return
        ids.discard(record_id)
        if not ids:
            del groups[names]
            if not groups:
                del self.people[key]

    def candidates(self, rule: MatchingRule, values: dict[str, Any]) -> set[str]:
        """Ids that share a match key with ``values`` for some group of ``rule``.

        At most ``MAX_CANDIDATES`` (exact keys first): a simplification of the real engine,
        which also scores a bounded candidate set, so a data set of near-identical names
        (``Pat Person 1`` ... ``Pat Person 9999``) costs linear time, not quadratic.
        """
        blocking = self.blocking(rule)
        if blocking is None:  # a group without a key field: every record is a candidate
            return set(itertools.islice(self.entries, MAX_CANDIDATES))
        found: set[str] = set()
        for kind in sorted(blocking, key=lambda name: name == "person"):  # people last
            if len(found) >= MAX_CANDIDATES:
                break
            if kind == "person":
                first, last = values.get("first_name"), values.get("last_name")
                if first and last:
                    self._people_matching(rule, first, last, found)
                continue
            value = values.get(kind)
            if value is None:
                continue
            buckets = self.buckets.get(kind)
            if not buckets:
                continue
            for key in self.fields[kind][1].keys(value):
                bucket = buckets.get(key)
                if bucket:
                    found |= bucket
        return found

    def _people_matching(self, rule: MatchingRule, first: str, last: str,
                         found: set[str]) -> None:
        for key in {self._person_key(first, last), self._person_key(last, first)}:
            for names, ids in self.people.get(key, {}).items():
                if len(found) >= MAX_CANDIDATES:
                    return
                if names_pass(rule, first, last, names):
                    found |= ids

    def blocking(self, rule: MatchingRule) -> tuple[str, ...] | None:
        """The match-key kinds that find every candidate of ``rule`` (None: scan all)."""
        cache = self.__dict__.setdefault("_blocking", {})
        if rule.name in cache:
            return cache[rule.name]
        kinds: list[str] = []
        for group in rule.groups:
            kind = self._group_kind(rule, group)
            if kind is None:
                kinds = None
                break
            if kind not in kinds:
                kinds.append(kind)
        cache[rule.name] = tuple(kinds) if kinds is not None else None
        return cache[rule.name]

    def _group_kind(self, rule: MatchingRule, group: tuple[str, ...]) -> str | None:
        if "email" in group and "email" in self.fields:
            return "email"
        if rule.person and set(group) >= NAME_FIELDS:
            return "person"
        for name in group:
            if not rule.items[name].match_blank and name in self.fields:
                return name
        return None


# ---------------------------------------------------------------------------- the org's rules
@dataclass
class Match:
    """One matched record of one matching rule."""

    rule: MatchingRule
    record_id: str
    confidence: float


class DuplicatesFound(Exception):
    """A rule refuses the save: the rule, what it matched, whether the header could allow it."""

    def __init__(self, rule: DuplicateRule, matches: list[Match], allow_save: bool) -> None:
        super().__init__(rule.name)
        self.rule = rule
        self.matches = matches
        self.allow_save = allow_save


class DuplicateManager:
    """The org's duplicate rules and the match indexes of the objects they compare with.

    ``rows(sobject, api_fields)`` yields live records for an index build;
    ``account_name(id)`` gives a Contact's account name. Every write reports to
    ``written``/``removed``; ``batch()`` defers index changes to the end of one save (records
    of one save are not compared with each other); ``mark``/``undo`` follow transactions.
    """

    def __init__(self, rows: Callable[[str, list[str]], Iterator[dict[str, Any]]],
                 account_name: Callable[[Any], Any]) -> None:
        self.rows = rows
        self.account_name = account_name
        self.rules: list[DuplicateRule] = []
        self.indexes: dict[str, MatchIndex] = {}
        self.shapes: dict[tuple[str, str], MatchIndex] = {}
        self.journal: list[tuple[str, str, dict[str, Any] | None]] = []
        self.depth = 0
        self.built_in_transaction: set[str] = set()
        self.pending: list[tuple[str, str, dict[str, Any] | None]] | None = None

    # ------------------------------------------------------------------ configuration
    def use_standard_rules(self) -> None:
        """The rules of a new org."""
        self.rules = standard_rules()
        self.invalidate()

    def clear(self) -> None:
        """No duplicate rules (a bare org)."""
        self.rules = []
        self.invalidate()

    def invalidate(self) -> None:
        """Forget the indexes (rebuilt on next use)."""
        self.indexes = {}
        self.shapes = {}
        self.journal = []

    def rule(self, name: str) -> DuplicateRule | None:
        """A rule by name (any case), or the first rule on the object called ``name``."""
        lowered = name.lower()
        for rule in self.rules:
            if rule.name.lower() == lowered:
                return rule
        return next((r for r in self.rules if r.sobject.lower() == lowered), None)

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply ``{"Lead": {...}, "Standard_Lead_Duplicate_Rule": {...}, "add": [...]}``.

        A key names a rule or an object (its first rule; an object without one gets a copy of
        the standard rule). ``"add"`` lists new rules; ``"remove"`` names rules to delete;
        ``"standard": true|false`` resets to the standard rules or to none.
        """
        if "standard" in spec:
            self.rules = standard_rules() if spec["standard"] else []
        for name in spec.get("remove") or []:
            self.rules = [r for r in self.rules if r.name.lower() != str(name).lower()]
        for raw in spec.get("add") or []:
            self.rules.append(custom_rule(raw, len(self.rules) + 1))
        for name, options in spec.items():
            if name in {"standard", "add", "remove"}:
                continue
            if not isinstance(options, dict):
                raise ValueError(f"duplicate rule {name}: options must be an object")
            rule = self.rule(name) or self._restore_standard(name)
            apply_options(rule, options)
        self.invalidate()

    def _restore_standard(self, name: str) -> DuplicateRule:
        for rule in standard_rules():
            if name.lower() in {rule.name.lower(), rule.sobject.lower()}:
                self.rules.append(rule)
                return rule
        raise ValueError(f"no duplicate rule or object called {name!r}")

    def listing(self) -> list[dict[str, Any]]:
        """Every rule, for the admin API."""
        return [rule.to_json() for rule in self.rules]

    # ------------------------------------------------------------------ checks
    def check(self, sobject: str, row: dict[str, Any], own_id: str | None, *, creating: bool,
              header: DuplicateHeader) -> list[tuple[DuplicateRule, list[Match]]]:
        """Run the object's active rules on a record about to be saved.

        Raises DuplicatesFound (DUPLICATES_DETECTED) when a Block rule matches, or an alerting
        Allow rule matches and the header does not allow the save; returns the rules that
        matched and were saved past.
        """
        fired: list[tuple[DuplicateRule, list[Match]]] = []
        for rule in self.rules:
            if not rule.active or rule.sobject != sobject:
                continue
            action, alert = rule.acts(creating)
            if action == "allow" and not alert:
                continue  # "report" only: nothing the API shows
            matches = self.find(rule, row, own_id)
            if not matches:
                continue
            if action == "block" or not header.allow_save:
                raise DuplicatesFound(rule, matches, action == "allow")
            fired.append((rule, matches))
        return fired

    def find(self, rule: DuplicateRule, row: dict[str, Any], own_id: str | None) -> list[Match]:
        """The records each of the rule's matching rules finds for ``row``."""
        matches: list[Match] = []
        for matching in rule.matching:
            index = self.index(matching.sobject)
            source = self._values_as(rule.sobject, matching, row)
            found = []
            for candidate in index.candidates(matching, source):
                if candidate == own_id:
                    continue
                confidence = match_confidence(matching, source, index.entries[candidate])
                if confidence is not None:
                    found.append(Match(matching, candidate, round(confidence, 1)))
            found.sort(key=lambda m: (-m.confidence, m.record_id))
            matches.extend(found)
        return matches

    def _values_as(self, sobject: str, matching: MatchingRule,
                   row: dict[str, Any]) -> dict[str, Any]:
        """The record's values under the logical fields of a rule on another object."""
        shape = self.shapes.get((sobject, matching.name))
        if shape is None:
            shape = self.shapes[(sobject, matching.name)] = MatchIndex(
                sobject, self._fields(sobject, [matching]))
        return shape.values(row, self.account_name)

    # ------------------------------------------------------------------ indexes
    def _fields(self, sobject: str, rules: list[MatchingRule]) -> dict[str, tuple[str, Method]]:
        mapping = FIELD_MAP.get(sobject, {})
        fields: dict[str, tuple[str, Method]] = {}
        for matching in rules:
            for name, item in matching.items.items():
                fields[name] = (mapping.get(name, name), item.method)
        return fields

    def index(self, sobject: str) -> MatchIndex:
        """The object's match index, built from its live records on first use."""
        index = self.indexes.get(sobject)
        if index is None:
            rules = [m for r in self.rules for m in r.matching if m.sobject == sobject]
            index = MatchIndex(sobject, self._fields(sobject, rules))
            api_fields = sorted({f for f, _ in index.fields.values() if f != "Account.Name"}
                                | ({"AccountId"} if sobject == "Contact" else set()))
            for row in self.rows(sobject, api_fields):
                index.add(row["Id"], index.values(row, self.account_name))
            self.indexes[sobject] = index
            if self.depth:  # built from rows a rollback may undo: dropped on rollback
                self.built_in_transaction.add(sobject)
        return index

    def written(self, sobject: str, row: dict[str, Any]) -> None:
        """A record was inserted or updated: index it (at the end of the current save)."""
        index = self.indexes.get(sobject)
        if index is not None:
            self._change(sobject, row["Id"], index.values(row, self.account_name))

    def removed(self, sobject: str, record_id: str) -> None:
        """A record was deleted (or a Lead converted): no longer a candidate."""
        if sobject in self.indexes:
            self._change(sobject, record_id, None)

    def _change(self, sobject: str, record_id: str, values: dict[str, Any] | None) -> None:
        if self.pending is not None:
            self.pending.append((sobject, record_id, values))
        else:
            self._apply(sobject, record_id, values)

    def _apply(self, sobject: str, record_id: str, values: dict[str, Any] | None) -> None:
        index = self.indexes.get(sobject)
        if index is None:
            return
        old = index.remove(record_id)
        if values is not None:
            index.add(record_id, values)
        if self.depth:
            self.journal.append((sobject, record_id, old))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One save of several records: they are compared with the org, not each other."""
        if self.pending is not None:  # nested (a collection inside a composite): one save
            yield
            return
        self.pending = []
        try:
            yield
        except BaseException:
            self.pending = None
            raise
        changes, self.pending = self.pending, None
        for change in changes:
            self._apply(*change)

    def mark(self) -> tuple[int, int]:
        """Enter a transaction; returns the journal and pending positions to undo to."""
        self.depth += 1
        return len(self.journal), len(self.pending or ())

    def release(self, mark: tuple[int, int], *, undo: bool) -> None:
        """Leave a transaction, undoing its index changes when it rolled back."""
        self.depth -= 1
        position, pending = mark
        if undo:
            if self.pending is not None:
                del self.pending[pending:]
            while len(self.journal) > position:
                sobject, record_id, old = self.journal.pop()
                index = self.indexes.get(sobject)
                if index is not None:
                    index.remove(record_id)
                    if old is not None:
                        index.add(record_id, old)
            for sobject in self.built_in_transaction:
                self.indexes.pop(sobject, None)
            self.built_in_transaction.clear()
        if not self.depth:
            self.journal.clear()
            self.built_in_transaction.clear()


def duplicate_error(rule: DuplicateRule, matches: list[Match], allow_save: bool, *,
                    key: str, url: Callable[[str, str], str],
                    details: Callable[[str, str], dict[str, Any]] | None = None
                    ) -> dict[str, Any]:
    """The DUPLICATES_DETECTED error of a single-record call (spec §3.3)."""
    results: list[dict[str, Any]] = []
    for matching in dict.fromkeys(m.rule.name for m in matches):
        found = [m for m in matches if m.rule.name == matching]
        target = found[0].rule
        records = []
        for match in found:
            record = (details(target.sobject, match.record_id) if details else
                      {"attributes": {"type": target.sobject,
                                      "url": url(target.sobject, match.record_id)},
                       "Id": match.record_id})
            records.append({"additionalInformation": [], "fieldDiffs": [],
                            "matchConfidence": float(match.confidence), "record": record})
        results.append({"entityType": target.sobject, "errors": [],
                        "matchEngine": target.engine, "matchRecords": records,
                        "rule": target.name, "size": len(records), "success": True})
    return {key: {"allowSave": allow_save, "duplicateRule": rule.name,
                  "duplicateRuleEntityType": rule.sobject, "errorMessage": rule.message,
                  "matchResults": results},
            "errorCode": "DUPLICATES_DETECTED", "message": rule.message}


ADDRESS_FIELDS = {
    "Lead": ("", "Street", "City", "State", "PostalCode"),
    "Contact": ("Mailing", "MailingStreet", "MailingCity", "MailingState", "MailingPostalCode"),
    "Account": ("Billing", "BillingStreet", "BillingCity", "BillingState",
                "BillingPostalCode"),
}


def extend_address_fields(catalog: Any) -> None:
    """The address fields the standard matching rules compare (added if the catalog lacks them).

    Lead Street/City/State/PostalCode, Contact Mailing*, Account Billing*: Street is a
    textarea of 255, City 40, State 80, PostalCode 20, as in Salesforce's field reference.
    """
    for object_name, (prefix, street, city, state, postal) in ADDRESS_FIELDS.items():
        obj = catalog.sobject(object_name)
        if obj is None:
            continue
        label = f"{prefix} " if prefix else ""
        for name, kind, text, length in (
            (street, "textarea", "Street", 255), (city, "string", "City", 40),
            (state, "string", "State/Province", 80),
            (postal, "string", "Zip/Postal Code", 20),
        ):
            if obj.field(name) is None:
                obj.add(FieldMeta(name, f"{label}{text}", kind, length=length))
