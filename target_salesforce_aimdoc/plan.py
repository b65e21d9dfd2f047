"""Ordered steps for one batch: Account -> Contact (with its AccountId) -> Lead (pure).

A step is one Salesforce record: created, updated with only the fields that differ from the
matched record (per write policy), left unchanged, or skipped with a reason. Records of a batch
that share an email (or, for Accounts, a domain) become one step, so one person is one record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.mapping import field_index, needs_write, required_fields
from target_salesforce_aimdoc.matching import pick

if TYPE_CHECKING:
    from target_salesforce_aimdoc.links import LinkStore
    from target_salesforce_aimdoc.mapping import MappedRecord, Payload
    from target_salesforce_aimdoc.matching import Matches
    from target_salesforce_aimdoc.settings import StreamConfig, SyncSettings

PERSON_FIELDS_NOT_ON_CONTACT = frozenset({"Company", "Status", "IsConverted", "Website",
                                          "Industry", "Rating", "NumberOfEmployees"})


@dataclass
class Step:
    """One Salesforce record to create or update, or why nothing is written."""

    sobject: str
    action: str  # create | update | unchanged | skip | fail
    sources: list[tuple[str, str]]
    match_key: str
    record_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, list[Any]] = field(default_factory=dict)
    reason: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    via: str | None = None  # e.g. "converted_lead" when a Lead's data goes to its Contact
    # What a create was planned from, so a duplicate rule's single match can be updated
    # instead: the source records and the merged payload.
    origin: tuple[list[MappedRecord], Payload] | None = field(default=None, repr=False)
    duplicates: dict[str, Any] | None = None  # what the org's duplicate rule matched
    assignment: str | None = None  # how a Lead write is assigned (report, dry run)
    upsert_field: str | None = None  # a create sent as an upsert on this external-id field
    fresh: bool = False  # Salesforce answered that this write created the record

    @property
    def writes(self) -> bool:
        """True when this step sends a create or an update."""
        return self.action in {"create", "update"}


def _newest_last(record: MappedRecord) -> tuple[bool, Any]:
    return (record.updated_at is not None, record.updated_at)


def merge_payloads(records: list[MappedRecord], sobject: str) -> Payload:
    """One payload for records that are one Salesforce record: the newest source wins."""
    merged: Payload = {}
    for record in sorted(records, key=_newest_last):
        merged.update(record.payloads.get(sobject, {}))
    return merged


def newest(records: list[MappedRecord]) -> Any:
    """The latest source ``updated_at`` of a group (None when unknown)."""
    times = [record.updated_at for record in records if record.updated_at is not None]
    return max(times) if times else None


def _source_key(records: list[MappedRecord]) -> str:
    """The key of the newest source record of a group (what an external id holds)."""
    dated = [record for record in records if record.updated_at is not None]
    if not dated:
        return records[-1].key
    return max(dated, key=lambda record: record.updated_at).key


def group_by(records: list[MappedRecord], sobject: str, key: str) -> dict[str, list[MappedRecord]]:
    """Records that feed ``sobject``, grouped by their email or domain, in input order."""
    groups: dict[str, list[MappedRecord]] = {}
    for record in records:
        value = getattr(record, key)
        if value and sobject in record.payloads:
            groups.setdefault(value, []).append(record)
    return groups


class Planner:
    """Builds a batch's steps object by object; the caller writes each object in between."""

    def __init__(self, stream: StreamConfig, settings: SyncSettings,
                 describes: dict[str, dict[str, Any]], links: LinkStore, *,
                 user_id: str | None = None,
                 external_ids: dict[str, str] | None = None) -> None:
        self.stream = stream
        self.user_id = user_id
        self.external_ids = external_ids or {}
        self.settings = settings
        self.links = links
        self.fields = {name: field_index(describe) for name, describe in describes.items()}

    # ---------------------------------------------------------------- objects
    def accounts(self, batch: list[MappedRecord], matches: Matches) -> list[Step]:
        """One step per company domain: update the matched Account or create one."""
        steps = []
        for domain, records in group_by(batch, "Account", "domain").items():
            payload = merge_payloads(records, "Account")
            found = matches.accounts.get(domain)
            if found:
                current = pick(found, self.settings.tie_break, f"Account domain {domain}")
                steps.append(self._update("Account", records, domain, payload, current))
            elif self.settings.create_accounts:
                steps.append(self._create("Account", records, domain, payload))
            else:
                steps.append(self._step("Account", "skip", records, domain,
                                        reason="no_matching_account"))
        return steps

    def contacts(self, batch: list[MappedRecord], matches: Matches,
                 account_ids: dict[str, str]) -> list[Step]:
        """One step per email: update the matched Contact or create one, linked to its Account."""
        steps = []
        for email, records in group_by(batch, "Contact", "email").items():
            payload = dict(merge_payloads(records, "Contact"))
            account_id = account_ids.get(records[-1].domain or "")
            found = matches.contacts.get(email)
            if found:
                current = pick(found, self.settings.tie_break, f"Contact email {email}")
                if account_id and self._link_account(current.get("AccountId"), account_id):
                    payload["AccountId"] = (account_id, "always")
                steps.append(self._update("Contact", records, email, payload, current))
            else:
                if account_id:
                    payload["AccountId"] = (account_id, "on_create")
                steps.append(self._create("Contact", records, email, payload))
        return steps

    def leads(self, batch: list[MappedRecord], matches: Matches) -> list[Step]:
        """One step per email: update the open Lead, follow a converted one, or create one."""
        steps = []
        for email, records in group_by(batch, "Lead", "email").items():
            payload = merge_payloads(records, "Lead")
            rows = matches.leads.get(email, [])
            open_leads = [row for row in rows if not row.get("IsConverted")]
            if open_leads:
                current = pick(open_leads, self.settings.tie_break, f"Lead email {email}")
                steps.append(self._update("Lead", records, email, payload, current))
            elif rows:
                steps.append(self._converted(records, email, payload, rows, matches))
            elif self._known_contact(matches, email) and not self.settings.lead_when_contact_exists:
                steps.append(self._step("Lead", "skip", records, email, reason="contact_exists"))
            else:
                steps.append(self._create("Lead", records, email, payload))
        return steps

    # ---------------------------------------------------------------- helpers
    def _converted(self, records: list[MappedRecord], email: str, payload: Payload,
                   rows: list[dict[str, Any]], matches: Matches) -> Step:
        policy = self.settings.converted_lead_policy
        if policy == "create_lead":
            return self._create("Lead", records, email, payload)
        lead = pick(rows, self.settings.tie_break, f"converted Lead email {email}")
        contact = matches.contacts_by_id.get(lead.get("ConvertedContactId") or "")
        if policy == "skip" or contact is None:
            return self._step("Lead", "skip", records, email, record_id=lead["Id"],
                              reason="lead_converted")
        if "Contact" in self.stream.objects and self.stream.objects["Contact"].enabled and (
                matches.contacts.get(email)):
            return self._step("Lead", "skip", records, email, record_id=lead["Id"],
                              reason="lead_converted_contact_synced")
        contact_fields = self.fields.get("Contact", {})
        moved = {name: value for name, value in payload.items()
                 if name in contact_fields and name not in PERSON_FIELDS_NOT_ON_CONTACT}
        step = self._update("Contact", records, email, moved, contact)
        step.via = "converted_lead"
        return step

    def _known_contact(self, matches: Matches, email: str) -> bool:
        """A Contact with the email that people made (not this integration): no new Lead.

        Contacts this integration created don't count, so a run that stopped between writing
        a person's Contact and Lead creates the Lead when it runs again.
        """
        return any(row.get("CreatedById") is None or row["CreatedById"][:15] != (
            self.user_id or "")[:15] for row in matches.contacts.get(email, []))

    def _link_account(self, current: str | None, account_id: str) -> bool:
        policy = self.settings.contact_account_policy
        if policy == "never" or (current or "")[:15] == account_id[:15]:
            return False
        return policy == "always" or not current

    def _create(self, sobject: str, records: list[MappedRecord], key: str,
                payload: Payload) -> Step:
        missing = [name for name in self._required(sobject) if name not in payload]
        if missing:
            return self._step(sobject, "fail", records, key, errors=[{
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": f"Required fields are missing: [{', '.join(missing)}]",
                "fields": missing,
            }])
        fields = {name: value for name, (value, _) in payload.items()}
        upsert_field = self._external_id(sobject)
        if upsert_field:  # Salesforce itself then rules out a second record for the source
            fields[upsert_field] = _source_key(records)
        return self._step(sobject, "create", records, key, fields=fields,
                          changes={name: [None, value] for name, value in fields.items()},
                          origin=(records, payload), upsert_field=upsert_field,
                          assignment=self.settings.org_rules.describe(sobject, "create"))

    def update_instead(self, step: Step, current: dict[str, Any]) -> Step:
        """A refused create re-planned as an update of the record a duplicate rule matched."""
        assert step.origin is not None
        records, payload = step.origin
        return self._update(step.sobject, records, step.match_key, payload, current)

    def _update(self, sobject: str, records: list[MappedRecord], key: str, payload: Payload,
                current: dict[str, Any]) -> Step:
        metas = self.fields.get(sobject, {})
        defaults = self._defaults(sobject)
        fields: dict[str, Any] = {}
        changes: dict[str, list[Any]] = {}
        written = self.links.watermark(current["Id"])
        source = newest(records)
        stale = written is not None and source is not None and source <= written
        for name, (value, rule_policy) in payload.items():
            # A source no newer than the last write only fills gaps: replays, lookback
            # re-reads and older duplicates of a person cost no writes.
            policy = "if_empty" if stale and rule_policy == "always" else rule_policy
            meta = metas.get(name)
            if meta is not None and not meta.get("updateable", True):
                continue
            if needs_write(value, policy, current.get(name), exists=True,
                           placeholder=defaults.get(name), meta=meta):
                fields[name] = value
                changes[name] = [current.get(name), value]
        external = self._external_id(sobject)
        if external and not current.get(external) and external in current:
            fields[external] = _source_key(records)  # found by e-mail: make it findable by id
            changes[external] = [None, fields[external]]
        action = "update" if fields else "unchanged"
        return self._step(sobject, action, records, key, record_id=current["Id"], fields=fields,
                          changes=changes,
                          assignment=self.settings.org_rules.describe(sobject, "update")
                          if fields else None)

    def _external_id(self, sobject: str) -> str | None:
        """The object's external-id field, unless this stream maps that field itself."""
        field_name = self.external_ids.get(sobject)
        obj = self.stream.objects.get(sobject)
        if field_name and obj is not None and field_name in obj.fields:
            return None  # the user's own values: plain data, not our source key
        return field_name

    def _required(self, sobject: str) -> list[str]:
        return required_fields(self.fields.get(sobject, {}))

    def _defaults(self, sobject: str) -> dict[str, Any]:
        obj = self.stream.objects.get(sobject)
        return dict(obj.defaults) if obj else {}

    @staticmethod
    def _step(sobject: str, action: str, records: list[MappedRecord], key: str,
              **details: Any) -> Step:
        return Step(sobject=sobject, action=action, sources=[(r.stream, r.key) for r in records],
                    match_key=key, **details)
