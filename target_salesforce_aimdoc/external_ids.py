"""External-id fields: Salesforce itself rules out a second record for one source record.

Where an object has an external-id field for our source id (``Aimdoc_Id__c``, found by
describe; or one the user names in ``external_id_fields``), the target:

- creates by **upsert** on that field (sObject Collections upsert), so two processes creating
  the same person at once, or a run that lost its state, end in one record; and an upsert is
  idempotent, so an ambiguous one is simply sent again;
- matches by it too (in the batch's Composite matching call), so a person whose e-mail changed
  keeps their records even with the state lost;
- fills it on records it updates that do not have it yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from target_salesforce_aimdoc.expressions import ConfigError

DEFAULT_FIELD = "Aimdoc_Id__c"
PERSON_OBJECTS = ("Lead", "Contact")

EXTERNAL_ID_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Per object (Lead, Contact): the external-id field holding the source record's key. "
        f"Default: `{DEFAULT_FIELD}` where the object has it as an external-id field; `null` "
        "turns it off. With one, creates are upserts on it (Salesforce rules out a second "
        "record for one source record, across concurrent runs and lost state) and matching "
        "finds records by it first."
    ),
    "properties": {sobject: {"type": ["string", "null"], "pattern": "^[A-Za-z][A-Za-z0-9_]*$"}
                   for sobject in PERSON_OBJECTS},
    "additionalProperties": False,
}


def _field(describe: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((f for f in describe.get("fields", []) if f.get("name") == name), None)


def external_id_fields(config: Mapping[str, Any],
                       describes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Object -> its external-id field, for the objects that have one."""
    chosen = dict(config.get("external_id_fields") or {})
    found = {}
    for sobject in PERSON_OBJECTS:
        describe = describes.get(sobject)
        if describe is None:
            continue
        name = chosen.get(sobject, DEFAULT_FIELD)
        meta = _field(describe, name) if name else None
        if meta is not None and meta.get("externalId"):
            found[sobject] = name
    return found


def external_id_problems(config: Mapping[str, Any],
                         describes: Mapping[str, Mapping[str, Any]]) -> list[ConfigError]:
    """A field the user named that is not an external-id field of its object."""
    problems = []
    for sobject, name in (config.get("external_id_fields") or {}).items():
        if not name or sobject not in describes:
            continue
        meta = _field(describes[sobject], name)
        if meta is None or not meta.get("externalId"):
            problems.append(ConfigError(
                f"external_id_fields.{sobject}",
                f"{sobject}.{name} is not an external-id field (mark it External ID in "
                "Salesforce, or remove the setting)"))
    return problems
