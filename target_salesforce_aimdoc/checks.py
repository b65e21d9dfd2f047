"""Start-up checks of the sync settings against Salesforce describe metadata (pure).

``check_settings`` returns every problem as a ConfigError naming stream, object and field
(``streams.contacts.objects.Lead.fields.Foo__c: no such field on Lead``), so the target can
fail before its first write. ``ensure_valid`` raises them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from target_salesforce_aimdoc.mapping import (
    FieldValueError,
    coerce,
    field_index,
    required_on_create,
)
from target_salesforce_aimdoc.settings import (
    ConfigError,
    FieldRule,
    ObjectConfig,
    StreamConfig,
    SyncSettings,
    raise_all,
)

Describes = Mapping[str, Mapping[str, Any]]
UNWRITABLE_TYPES = frozenset({"address", "location", "anyType", "complexvalue", "base64"})
DOMAIN_TYPES = frozenset({"string", "url"})
UPDATE_POLICIES = frozenset({"always", "if_empty"})


def _unknown_field(obj: ObjectConfig, name: str, fields: Mapping[str, Any]) -> str:
    by_case = {known.casefold(): known for known in fields}
    if name.casefold() in by_case:
        return f"no such field on {obj.sobject}; the API name is {by_case[name.casefold()]}"
    close = difflib.get_close_matches(name, list(fields), n=3, cutoff=0.8)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"no such field on {obj.sobject}{hint}"


def _policies(rule: FieldRule) -> set[str]:
    """The policies a rule can write with: its own, and a default's (never above if_empty)."""
    policies = {rule.policy} if rule.expr is not None else set()
    if rule.constant is not None:
        policies.add("on_create" if rule.policy == "on_create" else "if_empty")
    return policies


def _rule_problems(
    obj: ObjectConfig, rule: FieldRule, fields: Mapping[str, Mapping[str, Any]]
) -> list[ConfigError]:
    meta = fields.get(rule.name)
    if meta is None:
        return [ConfigError(rule.path, _unknown_field(obj, rule.name, fields))]
    where = f"{obj.sobject}.{rule.name}"
    problems = []
    if meta.get("type") in UNWRITABLE_TYPES:
        problems.append(f"{where} is a {meta.get('type')} field and cannot be written")
    if not meta.get("createable"):
        problems.append(f"{where} is not createable (Salesforce sets it); remove the mapping")
    elif _policies(rule) & UPDATE_POLICIES and not meta.get("updateable"):
        problems.append(f"{where} is not updateable; use policy on_create")
    if rule.constant is not None:
        try:
            coerce(rule.constant, meta)
        except FieldValueError as exc:
            problems.append(f"default {rule.constant!r} does not fit: {exc}")
    return [ConfigError(rule.path, message) for message in problems]


def _object_problems(
    stream: StreamConfig, obj: ObjectConfig, describe: Mapping[str, Any] | None, match_field: str
) -> list[ConfigError]:
    if describe is None:
        message = f"no describe for {obj.sobject}: the object is missing or not visible"
        return [ConfigError(obj.path, message)]
    fields = field_index(describe)
    problems = [
        ConfigError(obj.path, f"{obj.sobject} is not {ability} for this user")
        for ability in ("createable", "updateable")
        if describe.get(ability) is False
    ]
    for rule in obj.fields.values():
        problems += _rule_problems(obj, rule, fields)
    filled = {match_field} if obj.sobject == "Account" else set()
    problems += [
        ConfigError(
            f"{obj.path}.fields.{name}",
            f"required on {obj.sobject} (not nillable, no default on create): "
            "map it or give a default",
        )
        for name, meta in fields.items()
        if required_on_create(meta) and name not in obj.fields and name not in filled
    ]
    account = stream.objects.get("Account")
    if obj.sobject == "Contact" and "AccountId" in obj.fields and account and account.enabled:
        message = "Account sync sets the Contact's AccountId; remove this mapping"
        problems.append(ConfigError(f"{obj.path}.fields.AccountId", message))
    return problems


def _match_field_problems(settings: SyncSettings, name: str,
                          describe: Mapping[str, Any]) -> list[str]:
    meta = field_index(describe).get(name)
    if meta is None:
        return [f"no such field on Account: {name}"]
    kind = meta.get("type")
    problems = []
    if kind not in DOMAIN_TYPES:
        problems.append(f"Account.{name} is a {kind} field and cannot hold a domain")
    if meta.get("filterable") is False:
        problems.append(f"Account.{name} cannot be used in a SOQL filter")
    if settings.create_accounts and not meta.get("createable"):
        problems.append(
            f"Account.{name} is not createable, so created Accounts would never match; "
            "choose another field or turn off create_accounts"
        )
    return problems


def check_settings(settings: SyncSettings, describes: Describes) -> list[ConfigError]:
    """Every problem of the settings against the describes of their enabled objects.

    ``describes`` maps object name (``"Lead"``, ``"Contact"``, ``"Account"``) to its
    ``/sobjects/{Type}/describe`` payload; ``settings.sobjects`` says which are needed.
    Every stream's per-agent variants are checked too; a problem a variant inherits from its
    stream is reported once.
    """
    problems: list[ConfigError] = []
    match_fields: dict[str, str] = {}  # field -> where it is set
    for stream in settings.all_configs:
        match_field = settings.match_field(stream)
        for obj in stream.enabled_objects:
            describe = describes.get(obj.sobject)
            problems += _object_problems(stream, obj, describe, match_field)
            if obj.sobject == "Account":
                match_fields.setdefault(match_field, stream.account_match_path)
    account = describes.get("Account")
    if account is not None:
        problems += [
            ConfigError(path, message)
            for name, path in match_fields.items()
            for message in _match_field_problems(settings, name, account)
        ]
    return _unique(problems)


def _unique(problems: list[ConfigError]) -> list[ConfigError]:
    seen: set[tuple[str, str]] = set()
    found = []
    for problem in problems:
        if (problem.path, problem.message) not in seen:
            seen.add((problem.path, problem.message))
            found.append(problem)
    return found


def ensure_valid(settings: SyncSettings, describes: Describes) -> None:
    """Raise ConfigError (ConfigErrors for several) when ``check_settings`` finds problems."""
    raise_all(check_settings(settings, describes))
