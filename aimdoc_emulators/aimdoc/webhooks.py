"""Aimdoc's webhooks, emulated: the documented events POSTed to subscribed URLs as time travels.

What Aimdoc documents **[D]**: events ``new-session``, ``new-contact`` (``new-lead``, legacy),
``session-active``, ``session-escalated``, ``buyer-intent-detected``, ``new-question``,
``visitor-identified``; a JSON POST whose fields vary by event (``agent_id``, ``agent_name``,
``visitor``, ``conversation`` with optional ``messages``, ``lead``, ``escalation_reason``,
``buyer_intent_reason``); up to 3 retries with exponential backoff; a 410 answer removes the
subscription; no signature (the URL is the secret). Our guesses **[C]**: the event name is sent
as ``event`` in the body and as the ``X-Aimdoc-Event`` header; a failure is a connection error,
a timeout or any status but 2xx; retries wait ``backoff`` s, then twice, then four times that.

What an advance sends (``timetravel``): a new contact, ``new-session`` and ``new-contact``; an
enriched contact, ``visitor-identified``; new messages, ``session-active``; a reactivated
session, ``session-active`` and ``buyer-intent-detected``, plus ``session-escalated`` when it
was escalated. ``new-question`` is never sent (the data set flags no questions).

Payloads are built while the advance holds the backend's lock (snapshots, so a later change does
not alter them) and sent by worker threads, so an advance stays fast. Every POST has a timeout.

Admin (``/__emulator/webhooks``, through ``WebhookHub.admin``): ``GET`` lists subscriptions and
recent deliveries; ``POST {"url", "events"?, "verify"?}`` subscribes; ``DELETE {"id"?}`` removes
one or all.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

if TYPE_CHECKING:
    from aimdoc_emulators.aimdoc.generator import Dataset

logger = logging.getLogger(__name__)
EVENTS = ("new-session", "new-contact", "new-lead", "session-active", "session-escalated",
          "buyer-intent-detected", "new-question", "visitor-identified")
RETRIES = 3  # after the first try [D]
WORKERS = 4
MESSAGES_PER_PAYLOAD = 20  # the latest messages a conversation carries
LEAD_FIELDS = ("id", "email", "first_name", "last_name", "company", "attributes")


@dataclass
class Subscription:
    """A URL that receives events (all, or those listed)."""

    url: str
    events: frozenset[str] | None = None
    verify: bool | str = True
    baseline: bool = False  # survives ``reset()`` (given on the command line)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def wants(self, event: str) -> bool:
        """Whether this subscription receives ``event``."""
        return self.events is None or event in self.events

    def to_json(self) -> dict:
        """JSON-ready; the URL's path is the receiver's secret, so only its origin shows."""
        parts = urlsplit(self.url)
        return {"id": self.id, "url": f"{parts.scheme}://{parts.netloc}/***",
                "events": sorted(self.events) if self.events is not None else "all",
                "baseline": self.baseline}


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    subscription: Subscription = field(compare=False)
    event: str = field(compare=False)
    body: dict = field(compare=False)
    attempts: int = field(default=0, compare=False)
    queued_at: float = field(default_factory=time.time, compare=False)


class WebhookHub:
    """Subscriptions, and the workers that deliver events to them with retries."""

    def __init__(self, *, backoff: float = 1.0, timeout: float = 5.0,
                 retries: int = RETRIES, log_size: int = 1000) -> None:
        self.backoff, self.timeout, self.retries = backoff, timeout, retries
        self._cond = threading.Condition()
        self._subscriptions: dict[str, Subscription] = {}
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._workers: list[threading.Thread] = []
        self._closed = False
        self.log: deque[dict] = deque(maxlen=log_size)

    # -- subscriptions -------------------------------------------------------------------------

    def subscribe(self, url: str, events: list[str] | None = None, verify: bool | str = True,
                  *, baseline: bool = False) -> dict:
        """Send ``events`` (None: all) to ``url``; returns the subscription."""
        if urlsplit(url).scheme not in ("http", "https"):
            msg = "the webhook URL must be http(s)"
            raise ValueError(msg)
        unknown = set(events or ()) - set(EVENTS)
        if unknown:
            msg = f"unknown events {sorted(unknown)}; known: {EVENTS}"
            raise ValueError(msg)
        subscription = Subscription(url, frozenset(events) if events else None, verify,
                                    baseline)
        with self._cond:
            self._subscriptions[subscription.id] = subscription
        return subscription.to_json()

    def unsubscribe(self, subscription_id: str | None = None) -> dict:
        """Remove one subscription (or all, and their queued deliveries)."""
        with self._cond:
            removed = [subscription_id] if subscription_id is not None \
                else list(self._subscriptions)
            for key in removed:
                if self._subscriptions.pop(key, None) is None:
                    msg = f"no subscription {key}"
                    raise KeyError(msg)
            self._queue = [d for d in self._queue if d.subscription.id in self._subscriptions]
            heapq.heapify(self._queue)
        return {"removed": removed}

    def reset(self) -> None:
        """Back to the baseline subscriptions; nothing queued; an empty log."""
        with self._cond:
            self._subscriptions = {k: s for k, s in self._subscriptions.items() if s.baseline}
            self._queue = []
            self.log.clear()

    def subscriptions(self) -> list[dict]:
        """The subscriptions (URLs masked)."""
        with self._cond:
            return [s.to_json() for s in self._subscriptions.values()]

    def admin(self, method: str, body: dict) -> dict:
        """The admin call ``/__emulator/webhooks``: GET lists, POST subscribes, DELETE removes."""
        if method == "POST":
            return self.subscribe(str(body["url"]), body.get("events"),
                                  body.get("verify", True))
        if method == "DELETE":
            return self.unsubscribe(body.get("id"))
        with self._cond:
            return {"subscriptions": [s.to_json() for s in self._subscriptions.values()],
                    "queued": len(self._queue), "in_flight": self._in_flight,
                    "deliveries": list(self.log)[-int(body.get("limit", 100)):]}

    # -- events --------------------------------------------------------------------------------

    def notify(self, dataset: Dataset, changes: dict) -> int:
        """Queue the events of an advance (``Changes.to_json()``); returns how many."""
        with self._cond:
            if not self._subscriptions:
                return 0
        events = build_events(dataset, changes)
        queued = 0
        with self._cond:
            for event, body in events:
                for subscription in self._subscriptions.values():
                    if subscription.wants(event):
                        heapq.heappush(self._queue, _Delivery(
                            time.monotonic(), next(self._seq), subscription, event, body))
                        queued += 1
            self._start_workers()
            self._cond.notify_all()
        return queued

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or in flight (retries included); True if so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.1))
        return True

    def close(self) -> None:
        """Stop the workers (queued deliveries are dropped)."""
        with self._cond:
            self._closed, self._queue = True, []
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout=self.timeout + 1)

    # -- delivery ------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        """Start the worker threads on first use (under the lock)."""
        if self._workers or self._closed:
            return
        for number in range(WORKERS):
            worker = threading.Thread(target=self._work, name=f"aimdoc-webhooks-{number}",
                                      daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        session = requests.Session()
        while True:
            with self._cond:
                delivery = self._next()
                if delivery is None:
                    return
                self._in_flight += 1
            try:
                self._deliver(session, delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _next(self) -> _Delivery | None:
        """The next due delivery (waits for it, under the lock); None when closed."""
        while not self._closed:
            if self._queue and self._queue[0].due <= time.monotonic():
                return heapq.heappop(self._queue)
            wait = self._queue[0].due - time.monotonic() if self._queue else None
            self._cond.wait(timeout=wait)
        return None

    def _deliver(self, session: requests.Session, delivery: _Delivery) -> None:
        subscription = delivery.subscription
        delivery.attempts += 1
        try:
            response = session.post(subscription.url, json=delivery.body, timeout=self.timeout,
                                    verify=subscription.verify, allow_redirects=False,
                                    headers={"X-Aimdoc-Event": delivery.event,
                                             "User-Agent": "Aimdoc-Webhooks (emulator)"})
            status: int | None = response.status_code
            response.close()
        except requests.RequestException as exc:
            status = None
            logger.debug("webhook delivery failed: %s", type(exc).__name__)
        with self._cond:
            outcome = self._outcome(delivery, status)
            self.log.append({"event": delivery.event, "subscription": subscription.id,
                             "attempt": delivery.attempts, "status": status,
                             "outcome": outcome, "at": time.time(),
                             "queued_at": delivery.queued_at})

    def _outcome(self, delivery: _Delivery, status: int | None) -> str:
        """What a try's status means (under the lock): done, gone, a retry, or given up."""
        if status is not None and 200 <= status < 300:
            return "delivered"
        if status == 410:  # [D] the endpoint is gone: remove the subscription
            gone = delivery.subscription.id
            self._subscriptions.pop(gone, None)
            self._queue = [d for d in self._queue if d.subscription.id != gone]
            heapq.heapify(self._queue)
            return "gone"
        if delivery.attempts > self.retries:
            return "failed"
        delivery.due = time.monotonic() + self.backoff * 2 ** (delivery.attempts - 1)
        heapq.heappush(self._queue, delivery)
        return "retry"


def build_events(dataset: Dataset, changes: dict) -> list[tuple[str, dict]]:
    """The (event, payload) pairs an advance's changes make, payloads as snapshots."""
    contacts = {c["id"]: c for c in dataset.contacts}
    conversations = {c["id"]: c for c in dataset.conversations}
    profiles = {p["visitor_id"]: p for p in dataset.visitor_profiles}
    touched = set(changes.get("new_conversations", ())) | set(
        changes.get("conversations_with_new_messages", ())) | set(
        changes.get("reactivated_conversations", ()))
    messages: dict[str, list[dict]] = {key: [] for key in touched}
    for message in dataset.messages:
        if message["conversation_id"] in messages:
            messages[message["conversation_id"]].append(message)
    since = changes.get("previous_clock", "")

    def session(conversation_id: str, *, new_only: bool) -> dict:
        conversation = copy.deepcopy(conversations[conversation_id])
        found = sorted(messages.get(conversation_id, ()), key=lambda m: m["created_at"])
        if new_only:
            found = [m for m in found if m["created_at"] > since]
        conversation["messages"] = [{"role": m["role"], "content": m["content"],
                                     "created_at": m["created_at"]}
                                    for m in found[-MESSAGES_PER_PAYLOAD:]]
        return conversation

    def agent(record: dict) -> dict:
        return {"agent_id": record.get("agent_id"), "agent_name": record.get("agent_name")}

    events: list[tuple[str, dict]] = []
    for contact_id in changes.get("new_contacts", ()):
        contact = contacts[contact_id]
        conversation = session(contact["latest_conversation_id"], new_only=False)
        lead = {key: copy.deepcopy(contact.get(key)) for key in LEAD_FIELDS}
        events.append(("new-session", {"event": "new-session", "conversation": conversation,
                                       **agent(contact)}))
        events.append(("new-contact", {"event": "new-contact", "lead": lead,
                                       "messages": conversation["messages"],
                                       "conversation": conversation, **agent(contact)}))
    for contact_id in changes.get("enriched_contacts", ()):
        contact = contacts[contact_id]
        latest = conversations.get(contact.get("latest_conversation_id") or "")
        profile = profiles.get(latest["visitor_id"]) if latest else None
        if profile is not None:
            events.append(("visitor-identified", {"event": "visitor-identified",
                                                  "visitor": copy.deepcopy(profile),
                                                  **agent(contact)}))
    escalated = set(changes.get("escalated_conversations", ()))
    for conversation_id in [*changes.get("conversations_with_new_messages", ()),
                            *changes.get("reactivated_conversations", ())]:
        conversation = session(conversation_id, new_only=True)
        events.append(("session-active", {"event": "session-active",
                                          "conversation": conversation,
                                          **agent(conversation)}))
    for conversation_id in changes.get("reactivated_conversations", ()):
        conversation = session(conversation_id, new_only=True)
        if conversation.get("buyer_intent"):
            events.append(("buyer-intent-detected", {
                "event": "buyer-intent-detected", "conversation": conversation,
                "buyer_intent_reason": conversation.get("buyer_intent_reason"),
                **agent(conversation)}))
        if conversation_id in escalated:
            events.append(("session-escalated", {
                "event": "session-escalated", "conversation": conversation,
                "escalation_reason": conversation.get("escalation_reason"),
                **agent(conversation)}))
    return events


__all__ = ["EVENTS", "Subscription", "WebhookHub", "build_events"]
