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
from target_salesforce_aimdoc.salesforce import chunk_in_values, chunk_values

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
    configs = settings.all_configs  # every stream's, and its per-agent variants'
    if sobject == "Account":
        wanted.append(settings.account_match_field)
        wanted.extend(settings.match_field(config) for config in configs)
    for config in configs:
        obj = config.objects.get(sobject)
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
    """Runs the batched matching queries for one batch of mapped records.

    Every query of a batch goes out together in Composite calls (five queries a call, the SOQL
    in the body, so long ``IN`` lists need no URI-sized chunks): one call for a batch of up
    to a few thousand records, however many objects are matched.
    """

    def __init__(self, client: SalesforceClient, settings: SyncSettings,
                 describes: dict[str, dict[str, Any]],
                 external_ids: dict[str, str] | None = None) -> None:
        self.client = client
        self.settings = settings
        self.describes = describes
        self.external_ids = external_ids if external_ids is not None else {}

    def find(self, batch: list[MappedRecord], objects: set[str],
             linked: dict[str, dict[str, str]] | None = None,
             match_field: str | None = None) -> Matches:
        """Existing Leads, Contacts and Accounts for a batch, by email and domain.

        ``match_field``: the Account field domains match on (default: the settings').

        ``linked`` (email -> {object: id}) holds the records the batch's people were synced
        to before: while such a record exists it is the match, whatever its email is now
        (a person whose email changed in the source keeps their Lead and Contact).
        """
        emails = sorted({r.email for r in batch if r.email})
        domains = sorted({r.domain for r in batch if r.domain})
        linked = {email: dict(ids) for email, ids in (linked or {}).items()}
        keys = {r.key: r.email for r in batch if r.email and r.key}
        queries: list[tuple[str, str]] = []
        if "Lead" in objects and emails:
            queries += self._in_queries("Lead", "Email", emails)
        if {"Contact", "Lead"} & objects and emails:
            queries += self._in_queries("Contact", "Email", emails)
        for sobject in ("Lead", "Contact"):
            if sobject not in objects:
                continue
            external = self.external_ids.get(sobject)
            if external and keys:  # records we wrote carry the source key: found by it
                queries += self._in_queries(sobject, external, sorted(keys))
                continue
            ids = sorted({ids[sobject] for ids in linked.values() if ids.get(sobject)})
            if ids:
                queries += self._in_queries(sobject, "Id", ids)
        if {"Account", "Contact"} & objects and domains and "Account" in self.describes:
            queries += self._account_queries(domains, match_field)
        rows = self._run(queries)
        self._link_by_external_id(rows, keys, linked)
        matches = Matches(leads=_by_email(rows["Lead"]), contacts=_by_email(rows["Contact"]))
        _prefer_linked(matches, rows, linked)
        for found in matches.contacts.values():
            matches.contacts_by_id.update({row["Id"]: row for row in found})
        matches.accounts = self._accounts(rows["Account"], domains, match_field)
        converted = {row["ConvertedContactId"] for found in matches.leads.values()
                     for row in found if row.get("IsConverted") and row.get("ConvertedContactId")}
        missing = sorted(converted - set(matches.contacts_by_id))
        if missing:
            for row in self._run(self._in_queries("Contact", "Id", missing))["Contact"]:
                matches.contacts_by_id[row["Id"]] = row
        return matches

    def _link_by_external_id(self, rows: dict[str, list[dict[str, Any]]], keys: dict[str, str],
                             linked: dict[str, dict[str, str]]) -> None:
        """Link records holding a source key in their external-id field to that source.

        A link the state may have lost; the state's own links come first.
        """
        for sobject, external in self.external_ids.items():
            for row in rows.get(sobject, []):
                email = keys.get(str(row.get(external) or ""))
                if email and not row.get("IsConverted"):
                    linked.setdefault(email, {}).setdefault(sobject, row["Id"])

    def by_ids(self, sobject: str, ids: list[str]) -> list[dict[str, Any]]:
        """Records of ``sobject`` by id, with every field the plan compares."""
        return self._run(self._in_queries(sobject, "Id", ids))[sobject] if ids else []

    def _run(self, queries: list[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
        rows: dict[str, list[dict[str, Any]]] = {"Lead": [], "Contact": [], "Account": []}
        if queries:
            results = self.client.query_many([soql for _, soql in queries])
            for (sobject, _), found in zip(queries, results, strict=True):
                rows[sobject].extend(found)
        return rows

    def _fields(self, sobject: str) -> str:
        extra = [self.external_ids[sobject]] if sobject in self.external_ids else []
        return ", ".join(select_fields(sobject, self.settings, self.describes[sobject], extra))

    def _in_queries(self, sobject: str, field_name: str,
                    values: list[str]) -> list[tuple[str, str]]:
        if sobject not in self.describes:
            return []
        template = f"SELECT {self._fields(sobject)} FROM {sobject} WHERE {field_name} IN {{}}"
        return [(sobject, format_soql(template, chunk))
                for chunk in chunk_in_values(values, template)]

    def _url_match_field(self, match_field: str) -> bool:
        meta = next((f for f in self.describes["Account"]["fields"] if f["name"] == match_field),
                    {})
        return meta.get("type") == "url"

    def _account_queries(self, domains: list[str],
                         match_field: str | None) -> list[tuple[str, str]]:
        match_field = match_field or self.settings.account_match_field
        if not self._url_match_field(match_field):
            return self._in_queries("Account", match_field, domains)
        fields = self._fields("Account")

        def render(part: list[str]) -> str:
            likes = " OR ".join(
                format_soql(f"{match_field} LIKE '%{{:like}}%'", domain) for domain in part
            )
            return f"SELECT {fields} FROM Account WHERE {likes}"

        return [("Account", render(chunk)) for chunk in chunk_values(domains, render)]

    def _accounts(self, rows: list[dict[str, Any]], domains: list[str],
                  match_field: str | None) -> dict[str, list[dict[str, Any]]]:
        """Accounts by the domain they match.

        A URL field compares normalised registrable domains (the LIKE query over-selects:
        ``acme.com`` also finds ``notacme.com``); any other field compares exactly.
        """
        if not rows:
            return {}
        match_field = match_field or self.settings.account_match_field
        if self._url_match_field(match_field):
            wanted = set(domains)
            grouped = _group(rows, website_domain, match_field)
            return {domain: found for domain, found in grouped.items() if domain in wanted}
        return _group(rows, lambda value: str(value).strip().casefold(), match_field)


def _group(rows: list[dict[str, Any]], key: Any,
           match_field: str) -> dict[str, list[dict[str, Any]]]:
    """Accounts by the normalised value of their match field."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        value = row.get(match_field)
        domain = key(value) if value else None
        if domain:
            grouped.setdefault(domain, []).append(row)
    return grouped


def _prefer_linked(matches: Matches, rows: dict[str, list[dict[str, Any]]],
                   linked: dict[str, dict[str, str]]) -> None:
    """A person's linked Lead or Contact, when it still exists, is their only match."""
    by_id = {row["Id"][:15]: row for sobject in ("Lead", "Contact") for row in rows[sobject]}
    for email, ids in linked.items():
        for sobject, found in (("Lead", matches.leads), ("Contact", matches.contacts)):
            row = by_id.get((ids.get(sobject) or "")[:15])
            if row is not None and not row.get("IsConverted"):
                found[email] = [row]


def _by_email(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("Email"):
            found.setdefault(row["Email"].strip().casefold(), []).append(row)
    return found
