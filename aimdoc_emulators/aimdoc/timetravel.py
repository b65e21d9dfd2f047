"""Time travel: move a data set's clock forward and change it the way real traffic would.

Between the old and the new clock the data gains new contacts (each with a session), contacts
enriched with more fields, new messages in existing sessions, and ended sessions reactivated
(escalated to a human, buyer intent detected). Every change is stamped strictly between the
two clocks, so a tap's bookmark from before the advance sees all of them. Changes touch only
records created in the last ``recent_days`` (None: any record), which keeps them visible to a
tap that looks back that far when the API filters dates on ``created_at``.

Given a ``WebhookHub``, an advance also queues the webhook events its changes make (see
``webhooks``); they are sent on the hub's threads, so the advance does not wait for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aimdoc_emulators.aimdoc import vocabulary as words
from aimdoc_emulators.aimdoc.generator import DatasetBuilder, data_capture
from aimdoc_emulators.aimdoc.people import COMPANY, FREE, NONE, Person, make_person
from aimdoc_emulators.aimdoc.timeutil import iso, parse_iso

if TYPE_CHECKING:
    import random

    from aimdoc_emulators.aimdoc.generator import Dataset
    from aimdoc_emulators.aimdoc.webhooks import WebhookHub


@dataclass
class Changes:
    """What an advance did, by record id."""

    clock: str
    previous_clock: str
    new_contacts: list[str] = field(default_factory=list)
    new_conversations: list[str] = field(default_factory=list)
    enriched_contacts: list[str] = field(default_factory=list)
    conversations_with_new_messages: list[str] = field(default_factory=list)
    reactivated_conversations: list[str] = field(default_factory=list)
    escalated_conversations: list[str] = field(default_factory=list)
    changed_visitor_profiles: list[str] = field(default_factory=list)
    new_messages: int = 0

    def to_json(self) -> dict:
        """JSON-ready summary (lists sorted, duplicates removed)."""
        return {key: sorted(set(value)) if isinstance(value, list) else value
                for key, value in self.__dict__.items()}


@dataclass(frozen=True)
class Plan:
    """How much to change; ``None`` counts scale with the data set (about 3 %)."""

    seconds: int
    new_contacts: int | None = None
    enriched_contacts: int | None = None
    conversations_with_new_messages: int | None = None
    reactivated_conversations: int | None = None
    recent_days: float | None = 5


def advance_dataset(dataset: Dataset, plan: Plan, rng: random.Random, *,
                    webhooks: WebhookHub | None = None) -> Changes:
    """Advance ``dataset.now`` by ``plan.seconds`` (at least 1) and apply the changes.

    With ``webhooks``, queue the events the changes make for its subscribers.
    """
    old_now = dataset.now
    new_now = old_now + timedelta(seconds=max(1, int(plan.seconds)))
    dataset.now = new_now
    changes = Changes(clock=iso(new_now), previous_clock=iso(old_now))
    travel = _Travel(dataset, rng, old_now, plan.recent_days, changes)
    size = len(dataset.contacts)
    travel.enrich(_count(plan.enriched_contacts, size))
    travel.add_messages(_count(plan.conversations_with_new_messages, size))
    travel.reactivate(_count(plan.reactivated_conversations, size, share=0.01))
    travel.add_contacts(_count(plan.new_contacts, size))
    if webhooks is not None:
        webhooks.notify(dataset, changes.to_json())
    return changes


def _count(wanted: int | None, size: int, share: float = 0.03) -> int:
    return max(1, round(size * share)) if wanted is None else max(0, wanted)


class _Travel:
    """The changes of one advance, drawn from one random source."""

    def __init__(self, dataset: Dataset, rng: random.Random, old_now: datetime,
                 recent_days: float | None, changes: Changes) -> None:
        self.data, self.rng, self.old_now, self.changes = dataset, rng, old_now, changes
        self.since = iso(old_now - timedelta(days=recent_days)) if recent_days else ""
        self.builder = DatasetBuilder(dataset.options, rng=rng, dataset=dataset,
                                      forced_edges=False)
        self.agents = {agent.id: agent for agent in dataset.agents}
        self._senders: dict[str, str | None] | None = None
        self._profiles = {p["visitor_id"]: p for p in dataset.visitor_profiles}

    def moment(self) -> datetime:
        """A random moment strictly between the old and the new clock (whole ms)."""
        span = int((self.data.now - self.old_now).total_seconds() * 1000)
        return self.old_now + timedelta(milliseconds=self.rng.randint(1, max(1, span - 1)))

    def pick(self, records: list[dict], count: int, *, ended: bool = False) -> list[dict]:
        eligible = [r for r in records if r["created_at"] >= self.since
                    and (not ended or r.get("status") == "ended")]
        return self.rng.sample(eligible, min(count, len(eligible)))

    def enrich(self, count: int) -> None:
        for contact in self.pick(self.data.contacts, count):
            self._enrich(contact, self.moment())
            self.changes.enriched_contacts.append(contact["id"])

    def _enrich(self, contact: dict, moment: datetime) -> None:
        rng = self.rng
        contact["job_title"] = contact["job_title"] or rng.choice(words.JOB_TITLES)
        contact["phone"] = contact["phone"] or f"+44 20 7946 {rng.randint(0, 9999):04d}"
        person = Person(contact["first_name"], contact["last_name"],
                        rng.choice(self.data.companies), contact["email"], None, None)
        contact["data_capture"] = {**data_capture(rng, person), **contact["data_capture"]}
        asked = {answer["question_id"] for answer in contact["qualification"]}
        agent = self.agents.get(contact["agent_id"])
        for qid, text, answers in agent.questions if agent else ():
            if qid not in asked:
                contact["qualification"].append(
                    {"question_id": qid, "question": text, "answer": rng.choice(answers)})
                break
        if contact["status"] == "new":
            contact["status"], contact["score"] = "qualified", max(contact["score"], 75)
        contact["updated_at"] = iso(moment)

    def add_messages(self, count: int) -> None:
        for conversation in self.pick(self.data.conversations, count):
            self._follow_up(conversation, escalate=False)
            self.changes.conversations_with_new_messages.append(conversation["id"])

    def reactivate(self, count: int) -> None:
        for conversation in self.pick(self.data.conversations, count, ended=True):
            escalate = not conversation["escalated"] and self.rng.random() < 0.5
            self._follow_up(conversation, escalate=escalate)
            conversation["buyer_intent"] = True
            conversation["buyer_intent_reason"] = self.rng.choice(words.BUYER_INTENT_REASONS)
            if escalate:
                conversation["escalated"] = True
                conversation["escalation_reason"] = self.rng.choice(words.ESCALATION_REASONS)
                self.changes.escalated_conversations.append(conversation["id"])
            self.changes.reactivated_conversations.append(conversation["id"])

    def _follow_up(self, conversation: dict, *, escalate: bool) -> None:
        agent = self.agents.get(conversation["agent_id"]) or self.data.agents[0]
        sender = self._sender(conversation["id"])
        start = max(self.moment(), parse_iso(conversation["last_message_at"]))
        messages = self.builder.writer.follow_up(
            conversation, agent=agent, sender=sender, count=2 * self.rng.randint(1, 3),
            start=start, now=self.data.now, escalate=escalate)
        self.data.messages.extend(messages)
        last = messages[-1]["created_at"]
        conversation.update(message_count=conversation["message_count"] + len(messages),
                            last_message_at=last, updated_at=last,
                            status=_status(self.data.now, last))
        self.changes.new_messages += len(messages)
        self._seen(conversation["visitor_id"], last, conversation["id"])

    def _sender(self, conversation_id: str) -> str | None:
        """How the visitor of a session signs their messages (one pass, on first use)."""
        if self._senders is None:
            self._senders = {}
            for message in self.data.messages:
                if message["role"] == "user":
                    self._senders.setdefault(message["conversation_id"], message["sender_name"])
        return self._senders.get(conversation_id)

    def _seen(self, visitor_id: str, moment: str, conversation_id: str) -> None:
        profile = self._profiles.get(visitor_id)
        if profile is not None:
            profile["last_seen_at"] = max(profile["last_seen_at"], moment)
            profile["latest_conversation_id"] = conversation_id
            self.changes.changed_visitor_profiles.append(visitor_id)

    def add_contacts(self, count: int) -> None:
        options = self.data.options
        for _ in range(count):
            draw = self.rng.random()
            kind = FREE if draw < options.free_mail_share else (
                NONE if draw < options.free_mail_share + options.no_email_share else COMPANY)
            person = make_person(self.rng, kind, self.rng.choice(self.data.companies))
            contact = self.builder.add_contact(person, start=self.moment(),
                                               not_before=self.old_now)
            visitor = next(c["visitor_id"] for c in reversed(self.data.conversations)
                           if c["lead_id"] == contact["id"])
            self.data.visitor_profiles.append(self.builder.profile(visitor))
            self.changes.new_contacts.append(contact["id"])
            self.changes.new_conversations.append(contact["latest_conversation_id"])
            self.changes.changed_visitor_profiles.append(visitor)


def _status(now: datetime, last_message_at: str) -> str:
    return "active" if now - parse_iso(last_message_at) < timedelta(minutes=30) else "ended"
