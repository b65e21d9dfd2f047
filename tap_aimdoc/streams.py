"""Contacts, Conversations, Messages and VisitorProfiles (Transcripts: transcripts.py)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tap_aimdoc import schemas
from tap_aimdoc.client import AimdocStream
from tap_aimdoc.timestamps import canonical

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

# A contact's captured fields copied up from ``attributes`` when only there.
LIFTED = ("status", "score", "qualification")


class ContactsStream(AimdocStream):
    """The people Aimdoc captured (``/contacts``; ``/leads`` is its deprecated alias)."""

    name = "contacts"
    path = "/contacts"
    primary_keys = ("id",)
    schema = schemas.CONTACT
    tracks_changes = True
    # Of two contacts with one email, the newer is written last, in every batch and run.
    emit_in_order = True

    def normalize(self, row: dict, context: Context | None) -> dict:
        """As ``AimdocStream.normalize``; ``status``, ``score`` and ``qualification`` lifted.

        Aimdoc documents captured data only as ``attributes{}``. When a contact carries one
        of these fields there and not on its own, it is copied up (``attributes`` is kept as
        sent), so consumers find them in one place under either reading.
        """
        attributes = row.get("attributes")
        if isinstance(attributes, dict):
            for name in LIFTED:
                if row.get(name) is None and attributes.get(name) is not None:
                    row[name] = attributes[name]
        return super().normalize(row, context)


class ConversationListing(AimdocStream):
    """The ``/conversations`` listing, read by updated_at; conversations and transcripts share it.

    Each of the two keeps its own bookmark: either can be selected without the other.
    """

    path = "/conversations"
    timestamp_fields = ("created_at", "updated_at", "last_message_at")
    replication_fallbacks = ("last_message_at", "created_at")
    tracks_changes = True

    def normalize(self, row: dict, context: Context | None) -> dict:
        """As ``AimdocStream.normalize``; ``lead_id`` and ``contact_id`` both set.

        Aimdoc documents ``lead_id``; ``contact_id`` is our guess of a newer name. Either
        one found fills the other, so a consumer reading either finds the contact.
        """
        row = super().normalize(row, context)
        contact = row.get("lead_id") or row.get("contact_id")
        if contact or "lead_id" in row or "contact_id" in row:
            row["lead_id"] = row.get("lead_id") or contact
            row["contact_id"] = row.get("contact_id") or contact
        return row


class ConversationsStream(ConversationListing):
    """Chat sessions; they reactivate and grow after creation."""

    name = "conversations"
    primary_keys = ("id",)
    schema = schemas.CONVERSATION


class MessagesStream(AimdocStream):
    """Messages, newest since the bookmark, from the ``/messages`` listing.

    A top-level stream, not a child of conversations: messages never change, so a listing
    filtered by ``created_at`` sees each one exactly when it is new, even for a conversation
    whose own change is only picked up by the next run.
    """

    name = "messages"
    path = "/messages"
    primary_keys = ("id",)
    schema = schemas.MESSAGE
    replication_key = "created_at"
    order_field = "created_at"
    timestamp_fields = ("created_at",)
    replication_fallbacks = ()
    read_backwards = False  # messages are only appended: reading forward misses none

    def normalize(self, row: dict, context: Context | None) -> dict:
        """Canonical ``created_at`` and an id (derived from the content if missing)."""
        return normalize_message(super().normalize(row, context),
                                 row.get("conversation_id"))


class VisitorProfilesStream(AimdocStream):
    """What Aimdoc knows of each website visitor, by ``last_seen_at``."""

    name = "visitor_profiles"
    path = "/visitor-profiles"
    primary_keys = ("visitor_id",)
    schema = schemas.VISITOR_PROFILE
    order_field = "last_seen_at"
    id_field = "visitor_id"
    timestamp_fields = ("first_seen_at", "last_seen_at", "updated_at")
    replication_fallbacks = ("last_seen_at", "first_seen_at")

    _ignored_warned = False

    def query_params(self, context: Context | None) -> dict:
        """``last_seen_after`` (documented) rather than ``start_date``, whose field is not."""
        day = self.since.request_day(int(self.config.get("lookback_days", 7)))
        return {"last_seen_after": day.isoformat()} if day else {}

    def admit(self, row: dict, context: Context | None) -> dict | None:
        """As ``AimdocStream.admit``; warns once if ``last_seen_after`` is not honoured."""
        day = self.since.request_day(int(self.config.get("lookback_days", 7)))
        seen = row.get("last_seen_at")
        if day and isinstance(seen, str) and seen[:10] < day.isoformat() and \
                not self._ignored_warned:
            self._ignored_warned = True
            self.logger.warning("visitor_profiles: the API ignores last_seen_after (a profile "
                                "last seen on %s came back for %s): every run reads every "
                                "profile.", seen[:10], day.isoformat())
        return super().admit(row, context)


def normalize_message(message: dict, conversation_id: str) -> dict:
    """A message with its conversation id, a canonical ``created_at`` and an id.

    The id is derived from the content when the API sends none.
    """
    record = dict(message)
    record["conversation_id"] = conversation_id
    record["created_at"] = canonical(record.get("created_at"))
    if not record.get("id"):
        text = "|".join(str(record.get(k)) for k in ("created_at", "role", "content"))
        digest = hashlib.sha256(f"{conversation_id}|{text}".encode()).hexdigest()
        record["id"] = f"msg_{digest[:32]}"
    return record
