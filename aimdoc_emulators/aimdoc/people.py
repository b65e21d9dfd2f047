"""Synthetic B2B people and companies, and who gets which kind of email address."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aimdoc_emulators.aimdoc import vocabulary as words

if TYPE_CHECKING:
    import random

COMPANY, FREE, NONE = "company", "free", "none"


@dataclass(frozen=True)
class Company:
    """A company a visitor works for; ``domain`` is where its work emails live."""

    name: str
    domain: str
    industry: str
    size: str

    def to_json(self) -> dict:
        """The shape Aimdoc uses for a visitor profile's company."""
        return {"name": self.name, "domain": self.domain, "industry": self.industry,
                "size": self.size}


@dataclass(frozen=True)
class Person:
    """One human visitor: a name, a company, maybe an email, job title and phone."""

    first_name: str
    last_name: str
    company: Company
    email: str | None
    job_title: str | None
    phone: str | None

    @property
    def display_name(self) -> str:
        """First and last name, as the Aimdoc app shows them."""
        return f"{self.first_name} {self.last_name}"


def make_companies(rng: random.Random, count: int) -> list[Company]:
    """The awkward edge-case companies first, then generated ones with unique domains."""
    companies = [Company(name, domain, industry, rng.choice(words.COMPANY_SIZES))
                 for name, domain, industry in words.EDGE_COMPANIES[:count]]
    seen = {company.domain for company in companies}
    while len(companies) < count:
        head, tail = rng.choice(words.COMPANY_HEADS), rng.choice(words.COMPANY_TAILS)
        industry = rng.choice(words.INDUSTRIES)
        legal, tld = rng.choice(words.LEGAL_FORMS)
        domain = f"{head}{tail}-{industry}".lower() + tld
        if domain in seen:
            domain = f"{head}{tail}{len(companies)}".lower() + tld
        seen.add(domain)
        name = f"{head}{tail} {industry} {legal}".strip()
        companies.append(Company(name, domain, industry, rng.choice(words.COMPANY_SIZES)))
    return companies


def plan_email_kinds(rng: random.Random, count: int, *, free_share: float,
                     none_share: float) -> list[str]:
    """Exactly ``round(count * share)`` free-mail and email-less people, in random order."""
    free, none = round(count * free_share), round(count * none_share)
    kinds = [FREE] * free + [NONE] * none + [COMPANY] * max(0, count - free - none)
    rng.shuffle(kinds)
    return kinds[:count]


def plan_duplicates(rng: random.Random, kinds: list[str], share: float) -> dict[int, int]:
    """Pick people who reappear as a second contact: index -> index of the original.

    A duplicate copies an earlier person with the same kind of address, so the free-mail and
    no-email shares stay exact. At least one duplicate exists whenever ``share`` > 0.
    """
    wanted = round(len(kinds) * share) or (1 if share > 0 else 0)
    first_of_kind: dict[str, int] = {}
    for index, kind in enumerate(kinds):
        first_of_kind.setdefault(kind, index)
    candidates = [index for index, kind in enumerate(kinds)
                  if kind != NONE and index > first_of_kind[kind]]
    chosen = set(rng.sample(candidates, min(wanted, len(candidates))))
    originals: dict[str, list[int]] = {COMPANY: [], FREE: []}
    duplicates: dict[int, int] = {}
    for index, kind in enumerate(kinds):
        if kind == NONE:
            continue
        if index in chosen:
            duplicates[index] = rng.choice(originals[kind])
        else:
            originals[kind].append(index)
    return duplicates


def make_person(rng: random.Random, kind: str, company: Company, *,
                edge: tuple[str, str, str] | None = None) -> Person:
    """A person with an address of the given kind; ``edge`` forces an awkward name."""
    if edge:
        first, last, local = edge
    else:
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        local = email_local_part(rng, first, last)
    email = None
    if kind == COMPANY:
        email = f"{local}@{company.domain}"
    elif kind == FREE:
        email = f"{local}@{rng.choice(words.FREE_MAIL_DOMAINS)}"
    title = rng.choice(words.JOB_TITLES) if rng.random() < 0.8 else None
    phone = f"+1 ({rng.randint(200, 989)}) 555-{rng.randint(0, 9999):04d}" \
        if rng.random() < 0.6 else None
    return Person(first, last, company, email, title, phone)


def unique_email(email: str, taken: set[str]) -> str:
    """``email``, or ``jane.doe2@...`` if it is ``taken`` (ignoring case); then taken."""
    local, _, domain = email.rpartition("@")
    candidate, number = email, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{local}{number}@{domain}"
    taken.add(candidate.lower())
    return candidate


def email_local_part(rng: random.Random, first: str, last: str) -> str:
    """A plausible mailbox name: ``jane.doe``, ``jdoe``, ``o'neill`` or ``jane+aimdoc``."""
    first_ascii, last_ascii = _ascii(first) or "user", _ascii(last) or "visitor"
    patterns = (f"{first_ascii}.{last_ascii}", f"{first_ascii[0]}{last_ascii}", first_ascii,
                f"{first_ascii}_{last_ascii}", f"{first_ascii}+aimdoc")
    return rng.choice(patterns)


def case_variant(rng: random.Random, email: str) -> str:
    """The same address with different letter case, as people retype it."""
    local, _, domain = email.rpartition("@")
    variants = (f"{local.title()}@{domain.title()}", email.upper(), f"{local}@{domain.upper()}",
                f"{local.capitalize()}@{domain}")
    different = [variant for variant in variants if variant != email]
    return rng.choice(different) if different else email.upper()


_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae",
                       "đ": "d", "ı": "i"})


def _ascii(text: str) -> str:
    """Fold accents away and keep what a mailbox name may hold (letters, digits, . ' - _)."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    folded = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9.'_-]", "", folded.lower())
