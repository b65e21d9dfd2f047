"""Contacts, Conversations, Messages and VisitorProfiles (Transcripts: transcripts.py)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from tap_aimdoc import schemas
from tap_aimdoc.client import AimdocStream
from tap_aimdoc.timestamps import canonical

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class ContactsStream(AimdocStream):
    """The people Aimdoc captured (``/contacts``; ``/leads`` is its deprecated alias)."""

    name = "contacts"
    path = "/contacts"
    primary_keys = ("id",)
    schema = schemas.CONTACT


class ConversationListing(AimdocStream):
    """The ``/conversations`` listing, read by updated_at; conversations and transcripts share it.

    Each of the two keeps its own bookmark: either can be selected without the other.
    """

    path = "/conversations"
    timestamp_fields = ("created_at", "updated_at", "last_message_at")
    replication_fallbacks = ("last_message_at", "created_at")


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

    def query_params(self, context: Context | None) -> dict:
        """``last_seen_after`` (documented) rather than ``start_date``, whose field is not."""
        day = self.since.request_day(int(self.config.get("lookback_days", 7)))
        return {"last_seen_after": day.isoformat()} if day else {}


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
