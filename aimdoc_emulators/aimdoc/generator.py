"""Seeded synthetic Aimdoc data: agents, contacts, conversations, messages, visitor profiles.

``generate_dataset(seed=1, contacts=1000, free_mail_share=0.2)`` needs no HTTP: the records are
plain dicts in the API's JSON shape, so tests can also build Singer messages from them. The
same options always give the same data. Small data sets still hold every edge case: the first
people, companies and sessions are forced to the awkward ones in ``vocabulary``.
"""

from __future__ import annotations

import gc
import random
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aimdoc_emulators.aimdoc import vocabulary as words
from aimdoc_emulators.aimdoc.conversations import (
    Agent,
    ConversationWriter,
    Visit,
    Written,
    long_message,
    make_agents,
)
from aimdoc_emulators.aimdoc.people import (
    NONE,
    Company,
    Person,
    case_variant,
    make_companies,
    make_person,
    plan_duplicates,
    plan_email_kinds,
    unique_email,
)
from aimdoc_emulators.aimdoc.timeutil import DEFAULT_NOW, iso, parse_iso

if TYPE_CHECKING:
    from collections.abc import Iterator

KINDS = ("contacts", "conversations", "messages", "visitor_profiles")


@dataclass(frozen=True)
class GeneratorOptions:
    """Knobs of a synthetic data set. Shares are fractions of the number of contacts."""

    seed: int = 0
    contacts: int = 200
    agents: int = 4
    free_mail_share: float = 0.2
    no_email_share: float = 0.05
    duplicate_email_share: float = 0.05
    repeat_visitor_share: float = 0.15
    anonymous_share: float = 0.3
    escalation_share: float = 0.15
    edge_case_share: float = 0.03
    long_conversation_share: float = 0.02
    history_days: int = 60
    now: datetime = DEFAULT_NOW


@dataclass
class Dataset:
    """Everything the emulator serves, as API-shaped dicts, plus the clock it was made at."""

    options: GeneratorOptions
    now: datetime
    agents: list[Agent]
    companies: list[Company]
    contacts: list[dict] = field(default_factory=list)
    conversations: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    visitor_profiles: list[dict] = field(default_factory=list)

    def records(self, kind: str) -> list[dict]:
        """The records of one kind: contacts, conversations, messages or visitor_profiles."""
        return getattr(self, kind)

    def counts(self) -> dict[str, int]:
        """How many records of each kind."""
        return {kind: len(self.records(kind)) for kind in KINDS}

    def to_json(self) -> dict:
        """The whole data set as JSON-ready data."""
        return {"now": iso(self.now), "agents": [{"id": a.id, "name": a.name}
                                                  for a in self.agents],
                **{kind: self.records(kind) for kind in KINDS}}


def generate_dataset(seed: int = 0, contacts: int = 200, **knobs: object) -> Dataset:
    """A deterministic data set; ``knobs`` are the other ``GeneratorOptions`` fields."""
    options = GeneratorOptions(seed=seed, contacts=contacts, **knobs)  # type: ignore[arg-type]
    with gc_paused():
        return DatasetBuilder(options).build()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile.

    Building a data set makes only live objects, and the collector would walk the growing
    data set again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class DatasetBuilder:
    """Adds people, sessions and profiles to a data set from one seeded random source."""

    def __init__(self, options: GeneratorOptions, *, rng: random.Random | None = None,
                 dataset: Dataset | None = None, forced_edges: bool = True) -> None:
        self.options = options
        self.rng = rng or random.Random(options.seed)
        self.writer = ConversationWriter(self.rng, self.new_id,
                                         edge_case_share=options.edge_case_share)
        self.dataset = dataset or Dataset(options, options.now, [], [])
        self._visitors: dict[str, list[dict]] = {}
        self._people: dict[str, Person] = {}
        self._statuses: dict[str, str] = {}
        self._forced_edges = [*words.EDGE_MESSAGES, None] if forced_edges else []

    def new_id(self) -> str:
        """A version-4 UUID drawn from the seeded source."""
        return random_uuid(self.rng)

    def build(self) -> Dataset:
        """Generate the whole data set described by the options."""
        options, rng, data = self.options, self.rng, self.dataset
        data.agents = make_agents(rng, max(1, options.agents), self.new_id)
        data.companies = make_companies(rng, max(len(words.EDGE_COMPANIES),
                                                 options.contacts // 3 + 1))
        visitor_of: dict[int, str] = {}
        for index, (person, same_visitor_as, visits) in enumerate(self._plan_people()):
            visitor_of[index] = visitor_of.get(same_visitor_as, self.new_id())
            start = options.now - timedelta(milliseconds=rng.randint(
                3_600_000, options.history_days * 86_400_000))
            self.add_contact(person, start=start, visits=visits, visitor_id=visitor_of[index])
        for index in range(round(options.contacts * options.anonymous_share)):
            start = options.now - timedelta(milliseconds=rng.randint(
                60_000, options.history_days * 86_400_000))
            self.add_anonymous(start=start, length=2 if index == 0 else None)
        data.visitor_profiles = [self.profile(visitor) for visitor in self._visitors]
        return data

    def _plan_people(self) -> list[tuple[Person, int, int]]:
        """Who the contacts are: (person, index whose visitor they share or -1, sessions)."""
        options, rng, companies = self.options, self.rng, self.dataset.companies
        kinds = plan_email_kinds(rng, options.contacts, free_share=options.free_mail_share,
                                 none_share=options.no_email_share)
        duplicates = plan_duplicates(rng, kinds, options.duplicate_email_share)
        wanted = max(round(options.contacts * options.repeat_visitor_share), 1)
        repeat = set(rng.sample(range(options.contacts), min(options.contacts, wanted)))
        edges, taken = iter(words.EDGE_PEOPLE), set()
        planned: list[tuple[Person, int, int]] = []
        for index, kind in enumerate(kinds):
            visits = 1 + (rng.randint(1, 2) if index in repeat else 0)
            if index in duplicates:
                original = planned[duplicates[index]][0]
                email = case_variant(rng, original.email) if original.email else None
                shared = duplicates[index] if rng.random() < 0.5 else -1
                planned.append((replace(original, email=email), shared, visits))
                continue
            edge = next(edges, None) if kind != NONE else None
            company = companies[index] if index < len(words.EDGE_COMPANIES) \
                else rng.choice(companies)
            person = make_person(rng, kind, company, edge=edge)
            if person.email:
                person = replace(person, email=unique_email(person.email, taken))
            planned.append((person, -1, visits))
        return planned

    def add_contact(self, person: Person, *, start: datetime, visits: int = 1,
                    visitor_id: str | None = None, not_before: datetime | None = None,
                    ) -> dict:
        """A contact captured in a first session, then maybe back for more sessions."""
        rng, now = self.rng, self.dataset.now
        visitor_id = visitor_id or self.new_id()
        contact_id, agent = self.new_id(), rng.choice(self.dataset.agents)
        qualification = self._qualification(agent)
        visit = Visit(agent, visitor_id, start, 0, person, contact_id,
                      qualification=qualification,
                      escalate=rng.random() < self.options.escalation_share,
                      buyer_intent=rng.random() < 0.3)
        forced_long = len(self.dataset.contacts) == 4
        written = self._write(visit, not_before, length=rng.randint(200, 260)
                              if forced_long else None, minimum=2 * len(qualification) + 6)
        sessions = [written.conversation]
        for _ in range(visits - 1):
            begin = parse_iso(sessions[-1]["last_message_at"]) + timedelta(
                milliseconds=rng.randint(3_600_000, 10 * 86_400_000))
            if begin >= now - timedelta(hours=1):
                break
            again = Visit(rng.choice(self.dataset.agents), visitor_id, begin, 0, person,
                          contact_id, capture=False)
            sessions.append(self._write(again, begin).conversation)
        contact = self._contact(contact_id, person, agent=agent, qualification=qualification,
                                sessions=sessions, identified_at=written.identified_at)
        self.dataset.contacts.append(contact)
        self._people[contact_id] = person
        self._statuses[contact_id] = contact["status"]
        return contact

    def add_anonymous(self, *, start: datetime, length: int | None = None,
                      not_before: datetime | None = None) -> dict:
        """A session of a visitor who never left contact details."""
        rng = self.rng
        visit = Visit(rng.choice(self.dataset.agents), self.new_id(), start, 0,
                      escalate=rng.random() < 0.05, buyer_intent=rng.random() < 0.05)
        return self._write(visit, not_before, length=length).conversation

    def _write(self, visit: Visit, not_before: datetime | None, *, length: int | None = None,
               minimum: int = 2) -> Written:
        visit.length = length or max(minimum, self._length())
        if visit.edge_message is None and visit.person is not None and self._forced_edges:
            forced = self._forced_edges.pop(0)
            visit.edge_message = forced if forced is not None else long_message(self.rng)
        written = self.writer.write(visit, now=self.dataset.now, not_before=not_before)
        self.dataset.conversations.append(written.conversation)
        self.dataset.messages.extend(written.messages)
        self._visitors.setdefault(visit.visitor_id, []).append(written.conversation)
        return written

    def _length(self) -> int:
        """Messages in a session: mostly short, a long tail, a few beyond 200."""
        if self.rng.random() < self.options.long_conversation_share:
            return self.rng.randint(200, 260)
        return 2 + min(int(self.rng.expovariate(1 / 12)), 150)

    def _qualification(self, agent: Agent) -> list[dict]:
        asked = agent.questions[:self.rng.randint(1, len(agent.questions))]
        return [{"question_id": qid, "question": text, "answer": self.rng.choice(answers)}
                for qid, text, answers in asked]

    def _contact(self, contact_id: str, person: Person, *, agent: Agent, qualification: list,
                 sessions: list[dict], identified_at: datetime) -> dict:
        rng, now = self.rng, self.dataset.now
        status = rng.choices(("new", "qualified", "disqualified"), (50, 35, 15))[0]
        low, high = {"new": (20, 70), "qualified": (70, 100), "disqualified": (0, 30)}[status]
        updated = max(identified_at, parse_iso(sessions[-1]["created_at"]))
        if rng.random() < 0.3:
            updated = min(now - timedelta(seconds=1),
                          updated + timedelta(milliseconds=rng.randint(60_000, 259_200_000)))
        source, _ = rng.choice(words.UTM_SOURCES)
        return {
            "id": contact_id, "email": person.email, "first_name": person.first_name,
            "last_name": person.last_name, "company": person.company.name,
            "phone": person.phone, "job_title": person.job_title,
            "website": f"https://www.{person.company.domain}" if rng.random() < 0.7 else None,
            "attributes": {"ip_country": rng.choice(words.COUNTRIES),
                           "browser": rng.choice(words.BROWSERS), "utm_source": source},
            "agent_id": agent.id, "agent_name": agent.name,
            "latest_conversation_id": sessions[-1]["id"], "status": status,
            "score": rng.randint(low, high), "qualification": qualification,
            "data_capture": data_capture(rng, person),
            "created_at": iso(identified_at), "updated_at": iso(max(updated, identified_at)),
        }

    def profile(self, visitor_id: str) -> dict:
        """The visitor profile summarising a visitor's sessions and latest contact."""
        rng = self.rng
        sessions = sorted(self._visitors[visitor_id], key=lambda c: c["created_at"])
        contact_ids = [c["lead_id"] for c in sessions if c["lead_id"]]
        person = self._people.get(contact_ids[-1]) if contact_ids else None
        first_seen = parse_iso(sessions[0]["created_at"]) - timedelta(
            milliseconds=rng.randint(0, 300_000))
        last_seen = max(c["last_message_at"] for c in sessions)
        company = person.company if person else (
            rng.choice(self.dataset.companies) if rng.random() < 0.4 else None)
        return {
            "visitor_id": visitor_id, "lead_id": contact_ids[-1] if contact_ids else None,
            "latest_conversation_id": sessions[-1]["id"],
            "summary": _summary(rng, person, len(sessions), self._status(contact_ids)),
            "company": company.to_json() if company else None,
            "first_seen_at": iso(first_seen), "last_seen_at": last_seen,
        }

    def _status(self, contact_ids: list[str]) -> str:
        if not contact_ids:
            return "anonymous"
        return self._statuses.get(contact_ids[-1], "new")


# The version (4) and variant (10) bits of a UUID: cleared, then set.
_UUID_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID_SET = 0x4000 << 64 | 0x8000 << 48


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID string from ``rng`` (deterministic, unlike ``uuid.uuid4``)."""
    raw = (rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET).to_bytes(16, "big")
    return f"{raw[:4].hex()}-{raw[4:6].hex()}-{raw[6:8].hex()}-{raw[8:10].hex()}-{raw[10:].hex()}"


def _summary(rng: random.Random, person: Person | None, sessions: int, status: str) -> dict:
    if person is None:
        city = rng.choice(words.CITIES)
        return {"status": status, "display_name": f"Visitor from {city}",
                "subtitle": f"{sessions} session{'s' if sessions > 1 else ''}"}
    subtitle = f"{person.job_title} at {person.company.name}" if person.job_title \
        else person.company.name
    return {"status": status, "display_name": person.display_name, "subtitle": subtitle}


def data_capture(rng: random.Random, person: Person) -> dict:
    """Customer-defined Data Capture fields: strings, numbers, booleans, lists of strings."""
    values = {
        "company_size": person.company.size,
        "budget_usd": rng.choice((5000, 12000, 25000, 80000, 150000)),
        "wants_demo": rng.random() < 0.5,
        "interested_in": sorted(rng.sample(words.PRODUCTS, rng.randint(1, 3))),
        "country": rng.choice(words.COUNTRIES),
        "timeline": rng.choice(("This month", "This quarter", "Next year")),
        "seats": rng.randint(1, 500),
        "use_case": rng.choice(words.QUESTIONS[3][2]),
        "newsletter_opt_in": rng.random() < 0.3,
        "current_tool": rng.choice(("Drift", "Intercom", "HubSpot chat", "None")),
    }
    keys = rng.sample(words.DATA_CAPTURE_FIELDS, rng.randint(1, 5))
    return {key: values[key] for key in sorted(keys)}
