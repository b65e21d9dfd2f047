"""Contacts, Conversations, Messages (a child of Conversations) and VisitorProfiles."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from tap_aimdoc import schemas
from tap_aimdoc.client import AimdocStream
from tap_aimdoc.incremental import Since, earliest
from tap_aimdoc.timestamps import canonical

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk.helpers.types import Context


class ContactsStream(AimdocStream):
    """The people Aimdoc captured (``/contacts``; ``/leads`` is its deprecated alias)."""

    name = "contacts"
    path = "/contacts"
    primary_keys = ("id",)
    schema = schemas.CONTACT


class CurrentConversation:
    """The conversation whose children are being synced, and its messages.

    Messages and transcripts both need the messages of the same conversation, right after
    each other: they are fetched once and kept until the next conversation, so memory holds
    one conversation at a time.
    """

    def __init__(self) -> None:
        self.record: dict = {}
        self._key: tuple | None = None
        self._messages: list[dict] = []

    def messages(self, fetch: Callable[[], Iterable[dict]]) -> list[dict]:
        """The current conversation's messages, oldest first (fetched on first use)."""
        key = (self.record.get("id"), self.record.get("updated_at"))
        if key != self._key:
            self._messages, self._key = [], None
            self._messages = sorted(fetch(), key=lambda m: (m["created_at"] or "", m["id"]))
            self._key = key
        return self._messages


class ConversationsStream(AimdocStream):
    """Chat sessions; they reactivate and grow after creation."""

    name = "conversations"
    path = "/conversations"
    primary_keys = ("id",)
    schema = schemas.CONVERSATION
    timestamp_fields = ("created_at", "updated_at", "last_message_at")
    replication_fallbacks = ("last_message_at", "created_at")

    def __init__(self, *args: Any, current: CurrentConversation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current

    def starting_since(self) -> Since:
        """Its own bookmark, widened to what selected children need: a child without a
        bookmark yet (newly selected) or under an unselected parent reads from its own.
        """
        own = super().starting_since()
        children = [child for child in self.child_streams
                    if isinstance(child, AimdocStream) and child.selected]
        points = [own] if self.selected else []
        points += [child.since for child in children
                   if not self.selected or not child.stream_state.get("replication_key_value")]
        return earliest(points) if points else own

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        """Children get the conversation id; the record itself waits in ``current``."""
        self.current.record = record
        return {"conversation_id": record["id"]}


class ConversationChildStream(AimdocStream):
    """A stream built from one conversation's messages (``/messages?conversation_id=``)."""

    parent_stream_type = ConversationsStream
    path = "/messages"
    state_partitioning_keys = ()
    order_field = "created_at"
    read_backwards = False  # a conversation's messages are only appended

    def __init__(self, *args: Any, current: CurrentConversation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self._warned = False

    def query_params(self, context: Context | None) -> dict:
        """All messages of the conversation, whatever their date."""
        return {"conversation_id": (context or {}).get("conversation_id")}

    def conversation_messages(self, context: Context | None) -> list[dict]:
        """The conversation's messages, normalised, oldest first."""
        conversation_id = (context or {}).get("conversation_id")
        return self.current.messages(lambda: self._fetch(context, conversation_id))

    def _fetch(self, context: Context | None, conversation_id: str) -> Iterable[dict]:
        for message in self.request_records(context):
            if message.get("conversation_id") not in (None, conversation_id):
                self._warn_foreign()
                continue
            yield normalize_message(message, conversation_id)

    def _warn_foreign(self) -> None:
        if not self._warned:
            self._warned = True
            self.logger.warning("The API ignored the conversation_id filter on /messages; "
                                "messages of other conversations are skipped (slow).")


class MessagesStream(ConversationChildStream):
    """Messages of new or changed conversations, newer than the bookmark."""

    name = "messages"
    primary_keys = ("id",)
    schema = schemas.MESSAGE
    replication_key = "created_at"
    timestamp_fields = ("created_at",)

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """Copies, so the SDK's per-record edits never reach the shared list."""
        for message in self.conversation_messages(context):
            yield dict(message)


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
    """A message with its conversation id, a canonical ``created_at`` and an id (derived
    from its content when the API sends none).
    """
    record = dict(message)
    record["conversation_id"] = conversation_id
    record["created_at"] = canonical(record.get("created_at"))
    if not record.get("id"):
        text = "|".join(str(record.get(k)) for k in ("created_at", "role", "content"))
        digest = hashlib.sha256(f"{conversation_id}|{text}".encode()).hexdigest()
        record["id"] = f"msg_{digest[:32]}"
    return record
