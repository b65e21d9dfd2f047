"""Transcripts: one record per new or changed conversation, with all its messages in order.

A consumer (the Salesforce target's notes) can render a whole session from one record
without holding the messages stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_aimdoc import schemas
from tap_aimdoc.streams import ConversationChildStream

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

CONTEXT_FIELDS = ("agent_id", "agent_name", "lead_id", "contact_id", "visitor_id", "status",
                  "escalated", "escalation_reason", "buyer_intent", "buyer_intent_reason",
                  "page_url", "referrer", "utm", "session_url", "created_at", "updated_at",
                  "last_message_at")
MESSAGE_FIELDS = ("id", "role", "sender_name", "content", "created_at")


class TranscriptsStream(ConversationChildStream):
    """The session context of a conversation and its full, ordered message list."""

    name = "transcripts"
    primary_keys = ("conversation_id",)
    schema = schemas.TRANSCRIPT
    timestamp_fields = ("created_at", "updated_at", "last_message_at")
    replication_fallbacks = ("last_message_at", "created_at")

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """One transcript for the conversation in ``context``."""
        conversation = self.current.record
        if conversation.get("id") != (context or {}).get("conversation_id"):
            return
        yield transcript(conversation, self.conversation_messages(context))


def transcript(conversation: dict, messages: list[dict]) -> dict:
    """The transcript record of a conversation and its (already ordered) messages."""
    return {
        "conversation_id": conversation["id"],
        **{name: conversation.get(name) for name in CONTEXT_FIELDS},
        "message_count": len(messages),
        "messages": [{name: message.get(name) for name in MESSAGE_FIELDS}
                     for message in messages],
    }
