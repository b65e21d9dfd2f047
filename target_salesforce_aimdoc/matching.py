"""Find the Salesforce records a batch matches: one ``IN``/``LIKE`` query per object per batch.

Lead and Contact match by email (case-insensitive, as SOQL compares strings); Account by the
email's registrable domain against the configured match field: a URL field compares normalised
domains (``https://www.Acme.com/about`` = ``acme.com``), any other field compares exactly.
Every value reaches SOQL through ``format_soql``; lists are chunked to keep each query's URI
short. Several matches for one key are resolved by the configured tie-break, and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simple_salesforce import format_soql

from target_salesforce_aimdoc.domains import website_domain
from target_salesforce_aimdoc.salesforce import chunk_values

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_salesforce_aimdoc.mapping import MappedRecord
    from target_salesforce_aimdoc.salesforce import SalesforceClient
    from target_salesforce_aimdoc.settings import SyncSettings

LOGGER = logging.getLogger("target_salesforce_aimdoc.matching")
SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate")
EXTRA_FIELDS = {
    "Lead": ("Email", "IsConverted", "ConvertedContactId", "ConvertedAccountId"),
    "Contact": ("Email", "AccountId", "CreatedById"),
    "Account": (),
}


@dataclass
class Matches:
    """Existing records by match key; rows carry every field the plan compares."""

    leads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    contacts_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def select_fields(sobject: str, settings: SyncSettings, describe: dict[str, Any],
                  extra: Iterable[str] = ()) -> list[str]:
    """Fields to read for an object: system fields, keys, and every mapped field that exists."""
    known = {f["name"] for f in describe.get("fields", []) if f.get("type") != "base64"}
    wanted = [*SYSTEM_FIELDS, *EXTRA_FIELDS.get(sobject, ()), *extra]
    if sobject == "Account":
        wanted.append(settings.account_match_field)
    for stream in settings.streams.values():
        obj = stream.objects.get(sobject)
        if obj is not None:
            wanted.extend(obj.fields)
    unique = dict.fromkeys(name for name in wanted if name in known)
    return list(unique)


def pick(rows: list[dict[str, Any]], tie_break: str, what: str) -> dict[str, Any]:
    """The one record to use when several match (logged)."""
    if len(rows) == 1:
        return rows[0]
    if tie_break == "oldest":
        chosen = min(rows, key=lambda r: (r.get("CreatedDate") or "", r["Id"]))
    else:
        chosen = max(rows, key=lambda r: (r.get("LastModifiedDate") or "", r["Id"]))
    LOGGER.info("%d records match %s; using %s (tie-break %s)", len(rows), what, chosen["Id"],
                tie_break)
    return chosen


class Matcher:
    """Runs the batched matching queries for one batch of mapped records."""

    def __init__(self, client: SalesforceClient, settings: SyncSettings,
                 describes: dict[str, dict[str, Any]]) -> None:
        self.client = client
        self.settings = settings
        self.describes = describes

    def find(self, batch: list[MappedRecord], objects: set[str]) -> Matches:
        """Existing Leads, Contacts and Accounts for a batch, by email and domain."""
        matches = Matches()
        emails = sorted({r.email for r in batch if r.email})
        if "Lead" in objects and emails:
            matches.leads = self._by_email("Lead", emails)
        if {"Contact", "Lead"} & objects and emails:
            matches.contacts = self._by_email("Contact", emails)
            for rows in matches.contacts.values():
                matches.contacts_by_id.update({row["Id"]: row for row in rows})
        converted = {row["ConvertedContactId"] for rows in matches.leads.values() for row in rows
                     if row.get("IsConverted") and row.get("ConvertedContactId")}
        missing = sorted(converted - set(matches.contacts_by_id))
        if missing:
            for row in self._query_in("Contact", "Id", missing):
                matches.contacts_by_id[row["Id"]] = row
        domains = sorted({r.domain for r in batch if r.domain})
        if {"Account", "Contact"} & objects and domains and "Account" in self.describes:
            matches.accounts = self._accounts(domains)
        return matches

    def _by_email(self, sobject: str, emails: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for row in self._query_in(sobject, "Email", emails):
            if row.get("Email"):
                found.setdefault(row["Email"].strip().casefold(), []).append(row)
        return found

    def _query_in(self, sobject: str, field_name: str, values: list[str]) -> list[dict]:
        if sobject not in self.describes:
            return []
        fields = ", ".join(select_fields(sobject, self.settings, self.describes[sobject]))
        template = f"SELECT {fields} FROM {sobject} WHERE {field_name} IN {{}}"
        rows: list[dict[str, Any]] = []
        for chunk in chunk_values(values, lambda part: format_soql(template, part)):
            rows.extend(self.client.query(format_soql(template, chunk)))
        return rows

    def _accounts(self, domains: list[str]) -> dict[str, list[dict[str, Any]]]:
        match_field = self.settings.account_match_field
        meta = next((f for f in self.describes["Account"]["fields"] if f["name"] == match_field),
                    {})
        if meta.get("type") != "url":
            rows = self._query_in("Account", match_field, domains)
            return self._group(rows, lambda value: str(value).strip().casefold())
        fields = ", ".join(select_fields("Account", self.settings, self.describes["Account"]))

        def render(part: list[str]) -> str:
            likes = " OR ".join(
                format_soql(f"{match_field} LIKE '%{{:like}}%'", domain) for domain in part
            )
            return f"SELECT {fields} FROM Account WHERE {likes}"

        rows: list[dict[str, Any]] = []
        for chunk in chunk_values(domains, render):
            rows.extend(self.client.query(render(chunk)))
        wanted = set(domains)
        grouped = self._group(rows, website_domain)
        return {domain: found for domain, found in grouped.items() if domain in wanted}

    def _group(self, rows: list[dict[str, Any]], key: Any) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            value = row.get(self.settings.account_match_field)
            domain = key(value) if value else None
            if domain:
                grouped.setdefault(domain, []).append(row)
        return grouped
