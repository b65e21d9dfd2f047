"""Agents and chat sessions: who says what, in which role, at which millisecond."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING

from aimdoc_emulators.aimdoc import vocabulary as words
from aimdoc_emulators.aimdoc.timeutil import epoch_ms, iso, iso_ms

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from aimdoc_emulators.aimdoc.people import Person

SITE = "https://www.acme-saas.example"
APP = "https://app.aimdoc.ai"
# Seconds a line of each role takes to arrive after the previous one.
_GAPS = {"user": (5, 120), "assistant": (1, 8), "human": (15, 240), "system": (0, 2)}
# The gap in ms is randint(low * 1000, high * 1000) + 1, drawn as randint draws it:
# least + _randbelow(span), without randint's argument checks.
_GAP_DRAWS = {role: (low * 1000 + 1, (high - low) * 1000 + 1)
              for role, (low, high) in _GAPS.items()}

_MS = timedelta(milliseconds=1)
Line = tuple[str, str | None, str]  # role, sender_name, content


@dataclass(frozen=True)
class Agent:
    """An AI website agent, the questions it qualifies with and the reps behind it."""

    id: str
    name: str
    questions: tuple[tuple[str, str, tuple[str, ...]], ...]
    reps: tuple[str, ...]


def make_agents(rng: random.Random, count: int, new_id: Callable[[], str]) -> list[Agent]:
    """Several agents, each with two to four qualification questions and two reps."""
    agents = []
    for index in range(count):
        name = words.AGENT_NAMES[index % len(words.AGENT_NAMES)]
        questions = tuple(rng.sample(words.QUESTIONS, rng.randint(2, 4)))
        agents.append(Agent(new_id(), name, questions, tuple(rng.sample(words.REPS, 2))))
    return agents


@dataclass
class Visit:
    """What one session is about: who chats with which agent, how long, what happens."""

    agent: Agent
    visitor_id: str
    start: datetime
    length: int
    person: Person | None = None
    contact_id: str | None = None
    edge_message: str | None = None
    escalate: bool = False
    buyer_intent: bool = False
    capture: bool = True
    qualification: list[dict] = field(default_factory=list)


@dataclass
class Written:
    """A written session: conversation record, messages, and when the contact was captured."""

    conversation: dict
    messages: list[dict]
    identified_at: datetime


def long_message(rng: random.Random) -> str:
    """A pasted wall of text, 8 to 25 kB."""
    return words.LONG_PARAGRAPH * rng.randint(30, 90)


class ConversationWriter:
    """Writes sessions and their messages from a seeded random source."""

    def __init__(self, rng: random.Random, new_id: Callable[[], str], *,
                 edge_case_share: float = 0.1) -> None:
        self.rng = rng
        self.new_id = new_id
        self.edge_case_share = edge_case_share

    def write(self, visit: Visit, *, now: datetime, not_before: datetime | None = None,
              ) -> Written:
        """Write a session that ends before ``now`` (and starts after ``not_before``)."""
        lines = self._script(visit)
        start, offsets = self._timing(lines, visit.start, now, not_before)
        conversation_id = self.new_id()
        messages = self._messages(conversation_id, lines, start, offsets)
        identified = next((i for i, line in enumerate(lines)
                           if line[0] == "system" and line[2].startswith("Visitor identified")),
                          -1)
        last = start + timedelta(milliseconds=offsets[-1])
        conversation = self._conversation(conversation_id, visit, start, last, now)
        conversation["message_count"] = len(messages)
        return Written(conversation, messages, start + timedelta(milliseconds=offsets[identified]))

    def follow_up(self, conversation: dict, *, agent: Agent, sender: str | None,
                  count: int, start: datetime, now: datetime, escalate: bool = False,
                  ) -> list[dict]:
        """New messages in an existing session, from ``start`` on and before ``now``."""
        lines: list[Line] = []
        if escalate:
            lines += self._escalation(agent, sender)
        talker = ("human", agent.reps[0]) if escalate else ("assistant", agent.name)
        while len(lines) < count:
            lines += [("user", sender, self._user_line()),
                      (talker[0], talker[1], self._reply(talker[0], agent))]
        if not escalate:
            lines = lines[:count]
        start, offsets = self._timing(lines, start, now, start)
        return self._messages(conversation["id"], lines, start, offsets)

    def _script(self, visit: Visit) -> list[Line]:
        agent, user = visit.agent, visit.person.display_name if visit.person else None
        lines: list[Line] = [("assistant", agent.name,
                              self.rng.choice(words.GREETINGS).format(agent=agent.name))]
        if visit.edge_message is not None:
            lines.append(("user", user, visit.edge_message))
        for answer in visit.qualification:
            lines += [("assistant", agent.name, answer["question"]),
                      ("user", user, answer["answer"])]
        if visit.person and visit.capture:
            lines += self._capture(agent, visit.person)
        escalate_at = max(len(lines), int(visit.length * 0.6)) if visit.escalate else None
        while len(lines) < visit.length:
            if escalate_at is not None and len(lines) >= escalate_at:
                lines += self._escalation(agent, user)
                escalate_at = None
                continue
            talker = "human" if visit.escalate and escalate_at is None else "assistant"
            lines += [("user", user, self._user_line()),
                      (talker, agent.reps[0] if talker == "human" else agent.name,
                       self._reply(talker, agent))]
        return lines[:max(visit.length, 2)]

    def _capture(self, agent: Agent, person: Person) -> list[Line]:
        if person.email:
            answer = f"Sure, it's {person.email}"
        elif person.phone:
            answer = f"I'd rather not share my email, call me at {person.phone}"
        else:
            answer = "Maybe later."
        return [("assistant", agent.name,
                 "Could I get your work email so the team can follow up?"),
                ("user", person.display_name, answer),
                ("system", None, f"Visitor identified as {person.display_name}")]

    def _escalation(self, agent: Agent, user: str | None) -> list[Line]:
        rep = agent.reps[0]
        return [("user", user, "Can I talk to a real person?"),
                ("system", None, f"Conversation escalated to {rep}"),
                ("human", rep, words.HUMAN_LINES[0].format(rep=rep))]

    def _user_line(self) -> str:
        if self.rng.random() < self.edge_case_share:
            return self.rng.choice(words.EDGE_MESSAGES)
        return self.rng.choice(words.USER_LINES)

    def _reply(self, role: str, agent: Agent) -> str:
        if role == "human":
            return self.rng.choice(words.HUMAN_LINES[1:])
        return self.rng.choice(words.ASSISTANT_LINES).replace("{agent}", agent.name)

    def _timing(self, lines: list[Line], start: datetime, now: datetime,
                not_before: datetime | None) -> tuple[datetime, list[int]]:
        """When the session starts and each line's ms after it (gaps add up).

        The session is moved (or squeezed) to end before ``now``.
        """
        below = self.rng._randbelow  # the draw randint makes
        gaps = [least + below(span)
                for least, span in (_GAP_DRAWS[role] for role, _, _ in lines)]
        total = sum(gaps)
        latest_start = now - timedelta(milliseconds=total + 1000)
        if not_before is not None and latest_start <= not_before:
            room = (now - not_before) / _MS - 2
            gaps = [max(1, int(gap * room * 0.9 / total)) for gap in gaps]
            return not_before + _MS, list(accumulate(gaps))
        return min(start, latest_start), list(accumulate(gaps))

    def _messages(self, conversation_id: str, lines: list[Line], start: datetime,
                  offsets: list[int]) -> list[dict]:
        """A message per line, ``offsets`` ms after ``start``."""
        base = epoch_ms(start)
        return [self._message(conversation_id, role, sender, content, iso_ms(base + offset))
                for (role, sender, content), offset in zip(lines, offsets, strict=True)]

    def _message(self, conversation_id: str, role: str, sender: str | None, content: str,
                 created_at: str) -> dict:
        return {"id": self.new_id(), "conversation_id": conversation_id, "role": role,
                "sender_name": sender, "content": content, "created_at": created_at}

    def _conversation(self, conversation_id: str, visit: Visit, start: datetime,
                      last: datetime, now: datetime) -> dict:
        agent, rng = visit.agent, self.rng
        source, medium = rng.choice(words.UTM_SOURCES)
        return {
            "id": conversation_id, "agent_id": agent.id, "agent_name": agent.name,
            "lead_id": visit.contact_id, "contact_id": visit.contact_id,
            "visitor_id": visit.visitor_id,
            "status": "active" if now - last < timedelta(minutes=30) else "ended",
            "escalated": visit.escalate,
            "escalation_reason": rng.choice(words.ESCALATION_REASONS) if visit.escalate
            else None,
            "buyer_intent": visit.buyer_intent,
            "buyer_intent_reason": rng.choice(words.BUYER_INTENT_REASONS)
            if visit.buyer_intent else None,
            "message_count": 0,
            "page_url": SITE + rng.choice(words.PAGES),
            "referrer": rng.choice(words.REFERRERS),
            "utm": {"source": source, "medium": medium,
                    "campaign": rng.choice(words.CAMPAIGNS)},
            "session_url": f"{APP}/agents/{agent.id}/conversations/{conversation_id}",
            "created_at": iso(start), "updated_at": iso(last), "last_message_at": iso(last),
        }
