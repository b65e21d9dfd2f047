"""Records as the API would show them under each reading of the [C] parts of the contract.

The backend stores one shape (every guessed field present, captured data in its own fields);
``shape`` turns a record into what a listing sends under the current ``ApiSettings``:

- ``updated_at=False``: contacts and conversations carry no ``updated_at`` (the server still
  filters and sorts on its own clock);
- ``conversation_key``: conversations name their contact as ``lead_id`` (the documented
  name), ``contact_id``, or ``both``;
- ``captured="attributes"``: a contact's ``status``, ``score``, ``qualification`` and Data
  Capture fields sit in ``attributes{}`` (the one documented place) instead of their own
  fields.

``conversation_id`` on ``/messages`` (honoured or ignored) and the date filter's field act on
the query, not the shape (see ``models``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aimdoc_emulators.aimdoc.models import ApiSettings

CONVERSATION_KEYS = ("both", "lead_id", "contact_id")
CAPTURED = ("fields", "attributes")
# A contact's captured data: in its own fields, or in ``attributes``.
CAPTURED_FIELDS = ("status", "score", "qualification")


def plain(settings: ApiSettings) -> bool:
    """Whether every record goes out as stored (the fast path)."""
    return settings.updated_at and settings.conversation_key == "both" and \
        settings.captured == "fields"


def shape(kind: str, record: dict, settings: ApiSettings) -> dict:
    """The record as a listing sends it under ``settings`` (the stored dict if unchanged)."""
    if kind == "contacts":
        return shape_contact(record, settings)
    if kind == "conversations":
        return shape_conversation(record, settings)
    return record


def shape_contact(record: dict, settings: ApiSettings) -> dict:
    """A contact without ``updated_at`` and/or with its captured data in ``attributes``."""
    if settings.updated_at and settings.captured == "fields":
        return record
    shaped = dict(record)
    if not settings.updated_at:
        shaped.pop("updated_at", None)
    if settings.captured == "attributes":
        attributes = dict(shaped.get("attributes") or {})
        attributes.update(shaped.pop("data_capture", None) or {})
        for name in CAPTURED_FIELDS:
            if name in shaped:
                attributes[name] = shaped.pop(name)
        shaped["attributes"] = attributes
    return shaped


def shape_conversation(record: dict, settings: ApiSettings) -> dict:
    """A conversation without ``updated_at`` and/or naming its contact one way only."""
    if settings.updated_at and settings.conversation_key == "both":
        return record
    shaped = dict(record)
    if not settings.updated_at:
        shaped.pop("updated_at", None)
    if settings.conversation_key == "lead_id":
        shaped.pop("contact_id", None)
    elif settings.conversation_key == "contact_id":
        shaped.pop("lead_id", None)
    return shaped
