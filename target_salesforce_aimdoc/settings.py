"""Sync settings: the JSON Schema of the mapping section, the shipped default, and loading.

``load_sync_settings(config)`` validates the target config's sync keys with JSON Schema,
merges ``streams`` over ``DEFAULT_STREAMS``, compiles every expression once and returns
frozen dataclasses. Every problem is a ``ConfigError`` whose ``path`` names the setting,
e.g. ``streams.contacts.objects.Lead.fields.LastName.policy``.

Nested schemas carry no ``default`` keyword on purpose: singer-sdk's validator writes
defaults into the config, which would override the shipped default during the merge.
Defaults are stated in the descriptions and applied here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from target_salesforce_aimdoc.domains import FreeMail, normalize_host, website_host
from target_salesforce_aimdoc.expressions import (
    CompiledExpression,
    ConfigError,
    compile_expression,
    default_functions,
)
from target_salesforce_aimdoc.external_ids import EXTERNAL_ID_SCHEMA
from target_salesforce_aimdoc.filters import Rule
from target_salesforce_aimdoc.org_rules import ORG_RULES_PROPERTIES, OrgRules, load_org_rules

__all__ = [
    "DEFAULT_STREAMS",
    "OBJECT_ORDER",
    "SETTINGS_PROPERTIES",
    "SETTINGS_SCHEMA",
    "STREAMS_SCHEMA",
    "ConfigError",
    "ConfigErrors",
    "FieldRule",
    "NotesRule",
    "ObjectConfig",
    "StreamConfig",
    "SyncSettings",
    "Variant",
    "load_sync_settings",
    "merged_streams",
    "raise_all",
]

Policy = Literal["always", "if_empty", "on_create"]
POLICIES: tuple[str, ...] = ("always", "if_empty", "on_create")
OBJECT_ORDER: tuple[str, ...] = ("Account", "Contact", "Lead")
"""The order objects are written in: a Contact needs its Account, a Lead comes last."""
SWITCHES = {"Lead": "sync_leads", "Contact": "sync_contacts", "Account": "sync_accounts"}
FIELD_NAME = "^[A-Za-z][A-Za-z0-9_]*$"


class ConfigErrors(ConfigError):
    """Several configuration problems at once; ``errors`` holds each one."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.path, first.message)
        lines = "\n".join(f"  {error}" for error in self.errors)
        self.args = (f"{len(self.errors)} configuration problems:\n{lines}",)

    def __str__(self) -> str:
        return str(self.args[0])


def raise_all(errors: list[ConfigError]) -> None:
    """Raise the one error, or all of them as ConfigErrors; nothing when the list is empty."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


# --- JSON Schema -------------------------------------------------------------------------

EXPRESSION_HELP = (
    "An expression in the singer-sdk stream-map language (simpleeval): record properties "
    "by name (`first_name`), nested by path (`data_capture.budget`, "
    "`data_capture['team size']`), `record`, `config` (the `stream_map_config` setting); "
    "functions `str int float bool len lower upper strip round abs min max md5 sha256 "
    "datetime json coalesce(a, b, ...)`, `answer('<question id or text>')` (a qualification "
    "answer), `email_domain(email)` (registrable domain), `company_domain(email)` (the same, "
    "or None for free-mail), `is_free_mail(email)`, `website_domain(url)`, "
    "`qualification_text(qualification)`, `captured('<field>')` (a captured field, in its "
    "own field or in `attributes`). A missing property is None."
)

POLICY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(POLICIES),
    "description": (
        "When a value is written. `always`: whenever it differs from Salesforce's (keeps "
        "the record current as the conversation fills in). `if_empty`: only while the "
        "Salesforce field is empty or still holds this field's default, so reps' edits "
        "are never overwritten. `on_create`: only when the target creates the record."
    ),
}

EXPRESSION_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": EXPRESSION_HELP,
}

CONSTANT_SCHEMA: dict[str, Any] = {
    "type": ["string", "number", "boolean", "array", "null"],
    "items": {"type": "string"},
}

FIELD_RULE_SCHEMA: dict[str, Any] = {
    "description": (
        "A Salesforce field's value: an expression string (shorthand for `{expr: ...}`), "
        "or `{expr, default, policy}`; `null` removes the shipped mapping of that field."
    ),
    "anyOf": [
        EXPRESSION_SCHEMA,
        {"type": "null"},
        {
            "type": "object",
            "properties": {
                "expr": EXPRESSION_SCHEMA,
                "default": {
                    **CONSTANT_SCHEMA,
                    "description": "A constant used when `expr` is empty or absent.",
                },
                "policy": {**POLICY_SCHEMA, "description": "Overrides the object's policy."},
            },
            "additionalProperties": False,
        },
    ],
}

OBJECT_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "What this stream writes to one Salesforce object.",
    "properties": {
        "enabled": {
            "type": "boolean",
            "description": (
                "Sync this object for this stream. Unset: `sync_leads` (Lead), "
                "`sync_contacts` (Contact) or `sync_accounts` (Account)."
            ),
        },
        "fields": {
            "type": "object",
            "description": (
                "Salesforce field API name -> value. Merged key by key over the shipped "
                "default; only fields with a non-empty value are sent."
            ),
            "propertyNames": {"pattern": FIELD_NAME},
            "additionalProperties": FIELD_RULE_SCHEMA,
        },
        "defaults": {
            "type": "object",
            "description": (
                "Field -> constant used when the mapped value is empty (or the field has "
                "no mapping). A default fills a field but never overwrites a Salesforce "
                "value, and `if_empty` treats a value equal to the default as empty, so a "
                "placeholder such as '[not provided]' is replaced once the real value is "
                "known. `null` removes a shipped default."
            ),
            "propertyNames": {"pattern": FIELD_NAME},
            "additionalProperties": CONSTANT_SCHEMA,
        },
        "policy": {**POLICY_SCHEMA, "description": "Default write policy of the fields (always)."},
    },
    "additionalProperties": False,
}

FILTER_SCHEMA: dict[str, Any] = {
    "description": "An expression that must be true, or `{name, expr}` to count skips by name.",
    "anyOf": [
        EXPRESSION_SCHEMA,
        {
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Counts skips under this name (default: the expression).",
                },
                "expr": EXPRESSION_SCHEMA,
            },
            "required": ["expr"],
            "additionalProperties": False,
        },
    ],
}

STREAM_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "How one incoming Singer stream feeds Salesforce; `null` ignores it.",
    "properties": {
        "key": {**EXPRESSION_SCHEMA, "description": "The source record key (default `id`)."},
        "email": {
            **EXPRESSION_SCHEMA,
            "description": "The e-mail Leads and Contacts match on (default `email`).",
        },
        "updated_at": {
            "type": "string",
            "description": (
                "When the source record last changed (default `updated_at`; empty disables). "
                "An `always` field of an existing record is only overwritten by a source "
                "record newer than the last write, so replays, lookback re-reads and older "
                "duplicates of a person cost no writes."
            ),
        },
        "filters": {
            "type": "array",
            "description": (
                "Rules that must all hold for a record to sync; skips are counted per rule. "
                "Replaces the shipped list."
            ),
            "items": FILTER_SCHEMA,
        },
        "objects": {
            "type": "object",
            "description": "Per Salesforce object: Account, Contact, Lead.",
            "properties": dict.fromkeys(OBJECT_ORDER, OBJECT_SCHEMA),
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

NOTES_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Transcript notes of this stream's contacts (when it is the notes' `contact_stream`): "
        "`enabled` (default true) and `filters`, rules on the transcript record (e.g. "
        "`escalated`, `buyer_intent`, `status`, `message_count`) that must all hold for its "
        "note to be written; skips are counted per rule."
    ),
    "properties": {
        "enabled": {"type": "boolean", "description": "Write notes (default true)."},
        "filters": {"type": "array", "items": FILTER_SCHEMA,
                    "description": "Rules on the transcript record; replaces the stream's."},
    },
    "additionalProperties": False,
}

OVERRIDABLE: tuple[str, ...] = ("filters", "objects", "account_match_field", "notes")
"""The stream settings a variant (``agents`` / ``variants``) may override."""

STREAM_SCHEMA["properties"]["account_match_field"] = {
    "type": "string",
    "pattern": FIELD_NAME,
    "description": "Overrides the top-level `account_match_field` for this stream.",
}
STREAM_SCHEMA["properties"]["notes"] = NOTES_RULE_SCHEMA

_OVERRIDE_PROPERTIES = {name: STREAM_SCHEMA["properties"][name] for name in OVERRIDABLE}

AGENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Overrides for the records of one Aimdoc agent (keyed by its `agent_id` or "
        "`agent_name`): `filters`, `objects`, `account_match_field`, `notes`, merged over "
        "the stream's own config like `streams` over the shipped default."
    ),
    "properties": _OVERRIDE_PROPERTIES,
    "additionalProperties": False,
}

VARIANT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Overrides for the records where `when` is true (first matching variant wins)."
    ),
    "properties": {
        "when": {**EXPRESSION_SCHEMA, "description": "Which records use this variant. "
                 + EXPRESSION_HELP},
        "name": {"type": "string", "minLength": 1,
                 "description": "A name for logs and paths (default: its position)."},
        **_OVERRIDE_PROPERTIES,
    },
    "required": ["when"],
    "additionalProperties": False,
}

STREAM_SCHEMA["properties"]["agents"] = {
    "type": "object",
    "description": (
        "Per-agent configuration: agent id or name -> overrides for that agent's records "
        "(shorthand for a variant with `when: agent_id == '<key>' or agent_name == '<key>'`). "
        "Checked before `variants`, in the order written; a record matching none uses the "
        "stream's own config."
    ),
    "propertyNames": {"minLength": 1},
    "additionalProperties": AGENT_SCHEMA,
}
STREAM_SCHEMA["properties"]["variants"] = {
    "type": "array",
    "description": (
        "Overrides chosen by an expression on the record; the first whose `when` holds wins."
    ),
    "items": VARIANT_SCHEMA,
}

STREAMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Per incoming Singer stream, merged over the shipped default (which maps "
        "tap-aimdoc's `contacts`). Objects and fields merge key by key; `null` removes a "
        "shipped entry; lists replace."
    ),
    "additionalProperties": STREAM_SCHEMA,
}

DOMAIN_LIST_SCHEMA: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}

SETTINGS_PROPERTIES: dict[str, dict[str, Any]] = {
    "sync_leads": {
        "type": "boolean",
        "default": True,
        "description": "Sync Leads (matched by e-mail among unconverted Leads).",
    },
    "sync_contacts": {
        "type": "boolean",
        "default": False,
        "description": "Sync Contacts (matched by e-mail).",
    },
    "sync_accounts": {
        "type": "boolean",
        "default": False,
        "description": "Sync Accounts, matched by the e-mail's company domain.",
    },
    "account_match_field": {
        "type": "string",
        "pattern": FIELD_NAME,
        "default": "Website",
        "description": (
            "The Account field holding the company's domain. A URL field (Website) is "
            "compared by normalised domain (`https://www.Acme.com/about` = `acme.com`); a "
            "text field (e.g. Domain__c) exactly. Filled with the domain on Accounts the "
            "target creates."
        ),
    },
    "create_accounts": {
        "type": "boolean",
        "default": True,
        "description": "Create an Account when none matches the domain.",
    },
    "free_mail_allow": {
        **DOMAIN_LIST_SCHEMA,
        "default": [],
        "description": "Company domains to remove from the shipped free-mail lists.",
    },
    "free_mail_deny": {
        **DOMAIN_LIST_SCHEMA,
        "default": [],
        "description": "More domains never to match or create an Account for.",
    },
    "lead_when_contact_exists": {
        "type": "boolean",
        "default": False,
        "description": "Also create or update a Lead when a Contact with the e-mail exists.",
    },
    "converted_lead_policy": {
        "type": "string",
        "enum": ["update_contact", "skip", "create_lead"],
        "default": "update_contact",
        "description": (
            "When the only Lead with the e-mail is converted: update its converted Contact, "
            "skip, or create a new Lead."
        ),
    },
    "contact_account_policy": {
        "type": "string",
        "enum": ["if_empty", "always", "never"],
        "default": "if_empty",
        "description": "When to set an existing Contact's AccountId to the matched Account.",
    },
    "tie_break": {
        "type": "string",
        "enum": ["last_modified", "oldest"],
        "default": "last_modified",
        "description": "Which record wins when several match: most recently modified or oldest.",
    },
    "streams": STREAMS_SCHEMA,
    **ORG_RULES_PROPERTIES,
    "external_id_fields": EXTERNAL_ID_SCHEMA,
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": SETTINGS_PROPERTIES,
    "additionalProperties": True,
}


# --- the shipped default -----------------------------------------------------------------

PLACEHOLDER = "[not provided]"

_PERSON_FIELDS: dict[str, Any] = {
    "FirstName": {"expr": "first_name", "policy": "if_empty"},
    "LastName": {"expr": "last_name", "policy": "if_empty"},
    "Email": {"expr": "email", "policy": "on_create"},
    "Phone": {"expr": "phone", "policy": "if_empty"},
    "Title": {"expr": "job_title", "policy": "if_empty"},
}

DEFAULT_STREAMS: dict[str, Any] = {
    "contacts": {
        "key": "id",
        "email": "email",
        "filters": [
            {"name": "has_email", "expr": "bool(email)"},
            {"name": "not_disqualified", "expr": "captured('status') != 'disqualified'"},
        ],
        "objects": {
            "Lead": {
                "policy": "always",
                "fields": {
                    **_PERSON_FIELDS,
                    "Company": {"expr": "company or company_domain(email)", "policy": "if_empty"},
                    "Website": {"expr": "website", "policy": "if_empty"},
                    "Description": {
                        "expr": "qualification_text(captured('qualification'))",
                        "policy": "always",
                    },
                },
                "defaults": {"LastName": PLACEHOLDER, "Company": PLACEHOLDER, "LeadSource": "Web"},
            },
            "Contact": {
                "policy": "always",
                "fields": {
                    **_PERSON_FIELDS,
                    "Description": {
                        "expr": "qualification_text(captured('qualification'))",
                        "policy": "if_empty",
                    },
                },
                "defaults": {"LastName": PLACEHOLDER, "LeadSource": "Web"},
            },
            "Account": {
                "policy": "if_empty",
                "fields": {
                    "Name": "company or company_domain(email)",
                    "Website": "'https://' + company_domain(email)",
                },
            },
        },
    }
}
"""tap-aimdoc's ``contacts`` stream: a Lead per contact with an e-mail that is not
disqualified; Contact and Account too once ``sync_contacts`` / ``sync_accounts`` are on.
Standard fields only. Person and company fields are ``if_empty`` (reps' edits win), the
qualification summary in Lead.Description is ``always``, Email is ``on_create`` (it is the
match key). An Account is only mapped for a company (not free-mail) domain."""


# --- dataclasses -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    """One Salesforce field: an expression and/or a constant default, and a write policy."""

    name: str
    expr: CompiledExpression | None
    constant: Any
    policy: Policy
    path: str


@dataclass(frozen=True)
class ObjectConfig:
    """What one stream writes to one Salesforce object."""

    sobject: str
    enabled: bool
    fields: dict[str, FieldRule]
    defaults: dict[str, Any]
    policy: Policy
    path: str


@dataclass(frozen=True)
class NotesRule:
    """Whether a stream's contacts get transcript notes, and rules on the transcripts."""

    enabled: bool = True
    filters: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Variant:
    """A stream's config for the records where ``when`` holds (``agents`` / ``variants``)."""

    name: str
    when: CompiledExpression
    config: StreamConfig


@dataclass(frozen=True)
class StreamConfig:
    """How one incoming Singer stream feeds Salesforce.

    ``variant`` names a per-agent (or per-expression) config ("" for the stream's own);
    ``variants`` are the stream's, in the order they are tried.
    """

    name: str
    key: CompiledExpression
    email: CompiledExpression
    filters: list[Rule]
    objects: dict[str, ObjectConfig]
    updated_at: CompiledExpression | None = None
    account_match_field: str | None = None
    account_match_path: str = "account_match_field"  # where the match field is set
    notes: NotesRule = field(default_factory=NotesRule)
    variant: str = ""
    variants: tuple[Variant, ...] = ()

    @property
    def enabled_objects(self) -> list[ObjectConfig]:
        """The enabled objects in write order: Account, Contact, Lead."""
        found = [self.objects.get(name) for name in OBJECT_ORDER]
        return [obj for obj in found if obj is not None and obj.enabled]

    @property
    def configs(self) -> list[StreamConfig]:
        """The stream's own config, then every variant's."""
        return [self, *(variant.config for variant in self.variants)]

    def config_named(self, variant: str) -> StreamConfig:
        """The variant's config by name ("" or an unknown name: this one)."""
        return next((c for c in self.configs if c.variant == variant), self)


@dataclass(frozen=True)
class SyncSettings:
    """Everything the data path needs to know about mapping, matching and writing."""

    streams: dict[str, StreamConfig]
    account_match_field: str
    create_accounts: bool
    lead_when_contact_exists: bool
    converted_lead_policy: Literal["update_contact", "skip", "create_lead"]
    contact_account_policy: Literal["if_empty", "always", "never"]
    tie_break: Literal["last_modified", "oldest"]
    free_mail: FreeMail
    map_config: dict[str, Any]
    org_rules: OrgRules = field(default_factory=OrgRules)

    def stream(self, name: str) -> StreamConfig | None:
        """The config of an incoming stream, or None when it is not synced."""
        return self.streams.get(name)

    def match_field(self, stream: StreamConfig | None) -> str:
        """The Account match field of a stream (or variant): its own, else the top-level one."""
        return (stream.account_match_field if stream else None) or self.account_match_field

    @property
    def all_configs(self) -> list[StreamConfig]:
        """Every stream's config and its variants'."""
        return [config for stream in self.streams.values() for config in stream.configs]

    @property
    def sobjects(self) -> set[str]:
        """Objects enabled in any stream or variant: the describes the checks need."""
        return {obj.sobject for config in self.all_configs for obj in config.enabled_objects}


# --- validation --------------------------------------------------------------------------


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _schema_error(error: ValidationError) -> ConfigError:
    deepest = best_match([error])
    return ConfigError(_path(deepest.absolute_path) or "config", deepest.message)


def schema_errors(config: Mapping[str, Any]) -> list[ConfigError]:
    """The JSON Schema problems of the sync keys, each naming its setting path."""
    validator = jsonschema.Draft202012Validator(SETTINGS_SCHEMA)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.path)))
    return [_schema_error(error) for error in errors]


# --- merging -----------------------------------------------------------------------------


def _normal_filters(items: list[Any] | None) -> list[dict[str, Any]]:
    return [{"name": f, "expr": f} if isinstance(f, str) else {"name": f["expr"], **f}
            for f in items or []]


def _normal_part(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Shorthands expanded: a field string becomes ``{expr}``, a filter string ``{name, expr}``."""
    part = copy.deepcopy(dict(raw))
    for obj in (part.get("objects") or {}).values():
        fields = (obj or {}).get("fields") or {}
        for name, rule in fields.items():
            if isinstance(rule, str):
                fields[name] = {"expr": rule}
    if "filters" in part:
        part["filters"] = _normal_filters(part["filters"])
    if isinstance(part.get("notes"), dict) and "filters" in part["notes"]:
        part["notes"]["filters"] = _normal_filters(part["notes"]["filters"])
    return part


def _normal_stream(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stream's shorthands expanded, its agents' and variants' too."""
    stream = _normal_part(raw)
    if isinstance(stream.get("agents"), dict):
        stream["agents"] = {agent: None if item is None else _normal_part(item)
                            for agent, item in stream["agents"].items()}
    if isinstance(stream.get("variants"), list):
        stream["variants"] = [_normal_part(item) for item in stream["variants"]]
    return stream


def merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: dicts merge key by key, ``None`` deletes, others replace."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value)
    return merged


def merged_streams(user: Mapping[str, Any] | None) -> dict[str, Any]:
    """The user's ``streams`` over ``DEFAULT_STREAMS``, shorthands expanded."""
    base = {name: _normal_stream(raw) for name, raw in DEFAULT_STREAMS.items()}
    override = {
        name: None if raw is None else _normal_stream(raw) for name, raw in (user or {}).items()
    }
    return merge(base, override)


# --- building ----------------------------------------------------------------------------


def _has(tree: Any, parts: tuple[str, ...]) -> bool:
    for part in parts:
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


class _Places:
    """Where a setting of a stream or variant config is written, for error paths.

    A variant's setting is named under the variant (``streams.contacts.agents.bot.objects
    .Lead``) when the variant writes it, else under the stream it inherits it from.
    """

    def __init__(self, base: str, prefix: str | None = None,
                 override: Mapping[str, Any] | None = None) -> None:
        self.base = base
        self.prefix = prefix
        self.override = override

    def __call__(self, *parts: str) -> str:
        own = self.prefix is not None and _has(self.override, parts)
        return ".".join([self.prefix if own else self.base, *parts])  # type: ignore[list-item]


class _Builder:
    """Compiles merged stream config into dataclasses, collecting every problem."""

    def __init__(self, config: Mapping[str, Any], functions: dict[str, Any]) -> None:
        self.config = config
        self.functions = functions
        self.errors: list[ConfigError] = []

    def compile(self, source: str, path: str) -> CompiledExpression | None:
        try:
            return compile_expression(source, path, self.functions)
        except ConfigError as exc:
            self.errors.append(exc)
            return None

    def rule(self, name: str, raw: dict[str, Any], obj: dict[str, Any], path: str) -> FieldRule:
        expr = self.compile(raw["expr"], f"{path}.expr") if "expr" in raw else None
        constant = raw.get("default", (obj.get("defaults") or {}).get(name))
        if "expr" not in raw and constant is None:
            self.errors.append(ConfigError(path, "give an `expr`, a `default`, or both"))
        policy = raw.get("policy") or obj.get("policy") or "always"
        return FieldRule(name=name, expr=expr, constant=constant, policy=policy, path=path)

    def sobject(self, sobject: str, raw: dict[str, Any], where: _Places) -> ObjectConfig:
        mapped = raw.get("fields") or {}
        defaults = {k: v for k, v in (raw.get("defaults") or {}).items() if v is not None}
        obj = {**raw, "defaults": defaults}
        places = [(name, where("objects", sobject, "fields", name)) for name in mapped]
        places += [(name, where("objects", sobject, "defaults", name))
                   for name in defaults if name not in mapped]
        rules = {
            name: self.rule(name, dict(mapped.get(name) or {}), obj, path)
            for name, path in places
        }
        enabled = raw.get("enabled", self.config.get(SWITCHES[sobject], sobject == "Lead"))
        return ObjectConfig(
            sobject=sobject,
            enabled=bool(enabled),
            fields=rules,
            defaults={n: r.constant for n, r in rules.items() if r.constant is not None},
            policy=raw.get("policy") or "always",
            path=where("objects", sobject),
        )

    def rules(self, items: list[dict[str, Any]], path: str) -> list[Rule]:
        found = []
        for i, item in enumerate(items):
            expr = self.compile(item["expr"], f"{path}[{i}]")
            if expr is not None:
                found.append(Rule(name=item.get("name") or item["expr"], expr=expr))
        return found

    def notes(self, raw: Mapping[str, Any] | None, where: _Places) -> NotesRule:
        raw = raw or {}
        filters = self.rules(raw.get("filters") or [], where("notes", "filters"))
        return NotesRule(enabled=raw.get("enabled", True) is not False, filters=tuple(filters))

    def build(self, name: str, raw: dict[str, Any], where: _Places) -> StreamConfig | None:
        """One stream's (or variant's) config, merged already."""
        key = self.compile(raw.get("key") or "id", where("key"))
        email = self.compile(raw.get("email") or "email", where("email"))
        updated_at_source = raw.get("updated_at", "updated_at")
        updated_at = (self.compile(updated_at_source, where("updated_at"))
                      if updated_at_source else None)
        filters = self.rules(raw.get("filters") or [], where("filters"))
        objects = {
            sobject: self.sobject(sobject, obj, where)
            for sobject, obj in (raw.get("objects") or {}).items()
            if obj is not None
        }
        if not objects:
            self.errors.append(ConfigError(where("objects"), "map at least one object"))
        if key is None or email is None:
            return None
        return StreamConfig(name=name, key=key, email=email, filters=filters, objects=objects,
                            updated_at=updated_at,
                            account_match_field=raw.get("account_match_field"),
                            account_match_path=where("account_match_field")
                            if raw.get("account_match_field") else "account_match_field",
                            notes=self.notes(raw.get("notes"), where))

    def stream(self, name: str, raw: dict[str, Any]) -> StreamConfig | None:
        path = f"streams.{name}"
        own = {k: v for k, v in raw.items() if k not in {"agents", "variants"}}
        base = self.build(name, own, _Places(path))
        variants = [self.variant(name, own, source) for source in self.variant_sources(path, raw)]
        if base is None or any(v is None for v in variants):
            return None
        return dataclasses.replace(base, variants=tuple(v for v in variants if v is not None))

    def variant_sources(self, path: str, raw: dict[str, Any]) -> list[tuple[
            str, CompiledExpression | None, dict[str, Any], str]]:
        """(name, when, override, path) of each agent and variant, in the order tried."""
        found = []
        for agent, override in (raw.get("agents") or {}).items():
            if override is None:
                continue
            literal = json.dumps(agent)
            source = f"str(coalesce(agent_id, '')) == {literal} or agent_name == {literal}"
            prefix = f"{path}.agents.{agent}"
            found.append((f"agents.{agent}", self.compile(source, prefix), override, prefix))
        for i, item in enumerate(raw.get("variants") or []):
            prefix = f"{path}.variants[{i}]"
            override = {k: v for k, v in item.items() if k not in {"when", "name"}}
            when = self.compile(item["when"], f"{prefix}.when")
            found.append((item.get("name") or f"variants[{i}]", when, override, prefix))
        names = [label for label, *_ in found]
        self.errors += [ConfigError(prefix, f"two variants are named {label!r}")
                        for label, _, _, prefix in found if names.count(label) > 1]
        return found

    def variant(self, name: str, own: dict[str, Any], source: tuple[
            str, CompiledExpression | None, dict[str, Any], str]) -> Variant | None:
        label, when, override, prefix = source
        merged = merge(own, override)
        config = self.build(name, merged, _Places(f"streams.{name}", prefix, override))
        if config is None or when is None:
            return None
        return Variant(name=label, when=when, config=dataclasses.replace(config, variant=label))

    def unique_errors(self) -> list[ConfigError]:
        """The problems, each once (a variant inherits its stream's)."""
        seen: set[tuple[str, str]] = set()
        found = []
        for error in self.errors:
            if (error.path, error.message) not in seen:
                seen.add((error.path, error.message))
                found.append(error)
        return found


def _free_mail(config: Mapping[str, Any]) -> tuple[FreeMail, list[ConfigError]]:
    allow = config.get("free_mail_allow") or []
    deny = config.get("free_mail_deny") or []
    errors = [
        ConfigError(f"free_mail_{name}[{i}]", f"{domain!r} is not a domain")
        for name, domains in (("allow", allow), ("deny", deny))
        for i, domain in enumerate(domains)
        if normalize_host(website_host(domain) or domain) is None
    ]
    free_mail = FreeMail.from_lists(allow, deny)
    errors += [
        ConfigError("free_mail_deny", f"{domain!r} is also in free_mail_allow")
        for domain in sorted(free_mail.allow & free_mail.deny)
    ]
    return free_mail, errors


def load_sync_settings(config: Mapping[str, Any]) -> SyncSettings:
    """Validate and normalise the sync part of the target config.

    Raises ConfigError (or ConfigErrors, for several) naming each setting at fault.
    """
    raise_all(schema_errors(config))
    free_mail, errors = _free_mail(config)
    org_rules, rule_errors = load_org_rules(config)
    errors += rule_errors
    builder = _Builder(config, default_functions(free_mail))
    merged = merged_streams(config.get("streams"))
    streams = {name: builder.stream(name, raw) for name, raw in merged.items()}
    raise_all(errors + builder.unique_errors())
    return SyncSettings(
        streams={name: stream for name, stream in streams.items() if stream is not None},
        account_match_field=config.get("account_match_field") or "Website",
        create_accounts=config.get("create_accounts", True),
        lead_when_contact_exists=config.get("lead_when_contact_exists", False),
        converted_lead_policy=config.get("converted_lead_policy") or "update_contact",
        contact_account_policy=config.get("contact_account_policy") or "if_empty",
        tie_break=config.get("tie_break") or "last_modified",
        free_mail=free_mail,
        map_config=dict(config.get("stream_map_config") or {}),
        org_rules=org_rules,
    )
