"""Transcripts: one record per new or changed conversation, with all its messages in order.

A consumer (the Salesforce target's notes) can render a whole session from one record
without holding the messages stream. The messages are fetched for each conversation
(``/messages?conversation_id=``) and held for that conversation only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_aimdoc import schemas
from tap_aimdoc.client import AimdocStream
from tap_aimdoc.streams import ConversationsStream, CurrentConversation, normalize_message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

CONTEXT_FIELDS = ("agent_id", "agent_name", "lead_id", "contact_id", "visitor_id", "status",
                  "escalated", "escalation_reason", "buyer_intent", "buyer_intent_reason",
                  "page_url", "referrer", "utm", "session_url", "created_at", "updated_at",
                  "last_message_at")
MESSAGE_FIELDS = ("id", "role", "sender_name", "content", "created_at")


class TranscriptsStream(AimdocStream):
    """The session context of a conversation and its full, ordered message list."""

    name = "transcripts"
    path = "/messages"
    parent_stream_type = ConversationsStream
    state_partitioning_keys = ()  # one bookmark, not one per conversation
    primary_keys = ("conversation_id",)
    schema = schemas.TRANSCRIPT
    timestamp_fields = ("created_at", "updated_at", "last_message_at")
    replication_fallbacks = ("last_message_at", "created_at")
    order_field = "created_at"
    read_backwards = False  # a conversation's messages are only appended

    def __init__(self, *args: Any, current: CurrentConversation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self._warned = False
        self._schema_written = False

    def _write_schema_message(self) -> None:
        """Write SCHEMA once per run, not once per conversation.

        The SDK writes a child stream's schema for every parent record: kilobytes of
        repetition per conversation for transcripts.
        """
        if not self._schema_written:
            super()._write_schema_message()
            self._schema_written = True

    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        """The conversations listing's start (see ``ConversationsStream``)."""
        return self.current.signpost or super().get_replication_key_signpost(context)

    def query_params(self, context: Context | None) -> dict:
        """All messages of the conversation, whatever their date."""
        return {"conversation_id": (context or {}).get("conversation_id")}

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """One transcript for the conversation in ``context``."""
        conversation = self.current.record
        if conversation.get("id") != (context or {}).get("conversation_id"):
            return
        yield transcript(conversation, self.conversation_messages(context))

    def conversation_messages(self, context: Context | None) -> list[dict]:
        """The conversation's messages, normalised, oldest first."""
        conversation_id = (context or {})["conversation_id"]
        messages = []
        for message in self.request_records(context):
            if message.get("conversation_id") not in (None, conversation_id):
                self._warn_foreign()
                continue
            messages.append(normalize_message(message, conversation_id))
        return sorted(messages, key=lambda m: (m["created_at"] or "", m["id"]))

    def _warn_foreign(self) -> None:
        if not self._warned:
            self._warned = True
            self.logger.warning("The API ignored the conversation_id filter on /messages; "
                                "messages of other conversations are skipped (slow).")


def transcript(conversation: dict, messages: list[dict]) -> dict:
    """The transcript record of a conversation and its (already ordered) messages."""
    return {
        "conversation_id": conversation["id"],
        **{name: conversation.get(name) for name in CONTEXT_FIELDS},
        "message_count": len(messages),
        "messages": [{name: message.get(name) for name in MESSAGE_FIELDS}
                     for message in messages],
    }
