"""What a run learns of the API's undocumented ([C]) behaviour, and says once.

Each stream's first request (one record, for the server's clock) is its probe: it shows the
envelope, whether records carry ``updated_at``, how conversations name their contact
(``lead_id``, the documented name, or ``contact_id``), and where a contact's captured data
sits (own fields or ``attributes{}``). ``/messages`` honouring ``conversation_id`` is probed
by the first per-conversation request (see ``gather``); the date filter's field is learnt from
the data over runs (see ``tracking``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tap_aimdoc.paging import Page

CAPTURED = ("status", "score", "qualification", "data_capture")


class Readings:
    """Findings of this run, each logged once."""

    def __init__(self, logger: logging.Logger) -> None:
        """No findings yet."""
        self.logger = logger
        self.found: dict[str, Any] = {}

    def note(self, name: str, value: object, meaning: str = "") -> None:
        """Record a finding; log it the first time."""
        if name in self.found:
            return
        self.found[name] = value
        self.logger.info("Aimdoc reading: %s = %s%s", name, value,
                         f" ({meaning})" if meaning else "")

    def observe(self, stream: Any, page: Page) -> None:
        """What a stream's probe page shows."""
        self.note("envelope", page.envelope, "" if page.envelope == "envelope" else
                  "no total: a short or empty page ends a listing")
        record = page.records[0] if page.records else None
        if record is None:
            return
        path = stream.path.strip("/")
        if path in ("contacts", "conversations"):
            self.note(f"{path}.updated_at", "updated_at" in record,
                      "" if "updated_at" in record else
                      "changes found by content digest" if path == "contacts" else
                      "last_message_at tells changes")
        if path == "contacts":
            attributes = record.get("attributes") or {}
            where = "fields" if any(name in record for name in CAPTURED) else \
                "attributes" if any(name in attributes for name in CAPTURED) else "unknown"
            self.note("contacts.captured", where, "status, score, qualification and Data "
                      "Capture fields " + ("in attributes{}" if where == "attributes" else
                                           "in their own fields" if where == "fields" else
                                           "not seen"))
        if path == "conversations":
            keys = [name for name in ("lead_id", "contact_id") if name in record]
            self.note("conversations.contact_key", "+".join(keys) or "none",
                      "transcripts carry both lead_id and contact_id")

    def messages_filter(self, honoured: bool) -> None:
        """Whether ``/messages`` honours ``conversation_id``."""
        self.note("messages.conversation_id_filter", "honoured" if honoured else "ignored",
                  "" if honoured else "messages gathered by one scan of /messages")
