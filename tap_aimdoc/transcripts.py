"""Transcripts: one record per new or changed conversation, with all its messages in order.

A consumer (the Salesforce target's notes) can render a whole session from one record
without holding the messages stream. The stream lists ``/conversations`` itself, with its own
bookmark, spools the changed ones to a temporary SQLite file, then gathers their messages the
cheaper of two ways (see ``gather``), and emits each transcript from the spool: during a scan of
``/messages`` as soon as the scan is past its last message, the others once all is gathered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_aimdoc import schemas
from tap_aimdoc.conform import RootConformer
from tap_aimdoc.gather import MessageGatherer
from tap_aimdoc.spool import TranscriptSpool
from tap_aimdoc.streams import ConversationListing
from tap_aimdoc.timestamps import is_canonical, parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

CONTEXT_FIELDS = ("agent_id", "agent_name", "lead_id", "contact_id", "visitor_id", "status",
                  "escalated", "escalation_reason", "buyer_intent", "buyer_intent_reason",
                  "page_url", "referrer", "utm", "session_url", "created_at", "updated_at",
                  "last_message_at")
MESSAGE_FIELDS = ("id", "role", "sender_name", "content", "created_at")
UTM_FIELDS = frozenset(schemas.TRANSCRIPT["properties"]["utm"]["properties"])
RECORD_FIELDS = frozenset(("conversation_id", *CONTEXT_FIELDS, "message_count", "messages"))


class TranscriptsStream(ConversationListing):
    """The session context of a conversation and its full, ordered message list."""

    name = "transcripts"
    primary_keys = ("conversation_id",)
    schema = schemas.TRANSCRIPT
    # Records are built field by field from the schema (see ``header``): only the top level
    # needs conforming, not every message; ``RootConformer`` does that when it can.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY
    _conform: RootConformer | None = None

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """The transcript of every conversation changed since the bookmark."""
        self._conform = RootConformer.for_schema(self.effective_schema, RECORD_FIELDS)
        if self._conform is not None:
            self.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
        self.start_tracking()
        with TranscriptSpool(MESSAGE_FIELDS) as spool:
            for row in self.request_records(context):
                conversation = self.admit(row, context)
                if conversation is not None:
                    self.spool_conversation(spool, conversation)
            if spool.count():
                for head, messages in MessageGatherer(self, spool).gather():
                    yield assemble(head, messages)
            for head, messages in spool.transcripts():
                yield assemble(head, messages)
        self.finish_tracking()

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Transcripts are built from conversations already normalised and filtered."""
        return self._conform(row) if self._conform is not None else row

    def spool_conversation(self, spool: TranscriptSpool, conversation: dict) -> None:
        """Keep a changed conversation, with what tells the cost of fetching its messages."""
        count = conversation.get("message_count")
        expected = count if isinstance(count, int) and not isinstance(count, bool) else None
        pages = max(1, -(-(expected or 0) // self.page_size))
        spool.add_conversation(conversation["id"], header(conversation),
                               created_day=start_day(conversation.get("created_at")),
                               pages=pages, expected=expected, last_at=last_at(conversation))


def last_at(conversation: dict) -> str | None:
    """When the conversation's last message came (else its last change), if that is known."""
    return next((conversation[name] for name in ("last_message_at", "updated_at")
                 if is_canonical(conversation.get(name))), None)


def start_day(created_at: Any) -> str | None:
    """The UTC day of a timestamp, or None if it is not one."""
    if not isinstance(created_at, str) or not created_at:
        return None
    try:
        return parse_timestamp(created_at).date().isoformat()
    except ValueError:
        return None


def header(conversation: dict) -> dict:
    """The conversation part of its transcript record (``utm`` kept to its schema)."""
    head = {"conversation_id": conversation["id"],
            **{name: conversation.get(name) for name in CONTEXT_FIELDS}}
    utm = head["utm"]
    if isinstance(utm, dict) and not utm.keys() <= UTM_FIELDS:
        head["utm"] = {key: value for key, value in utm.items() if key in UTM_FIELDS}
    return head


def transcript(conversation: dict, messages: list[dict]) -> dict:
    """The transcript record of a conversation and its (already ordered) messages."""
    return assemble(header(conversation),
                    [tuple(m.get(name) for name in MESSAGE_FIELDS) for m in messages])


def assemble(head: dict, messages: list[tuple]) -> dict:
    """A transcript record from its header and its ordered messages' ``MESSAGE_FIELDS``."""
    # The names of MESSAGE_FIELDS, in their order, written out: a dict display is twice
    # as fast as dict(zip(...)) for a record's every message.
    return {**head, "message_count": len(messages),
            "messages": [{"id": id_, "role": role, "sender_name": sender, "content": content,
                          "created_at": created}
                         for id_, role, sender, content, created in messages]}

