"""SyncRun.run_batch: the data path of a batch, one line per step.

records -> filters -> mapping -> matching -> plan (Account -> Contact -> Lead) -> writes -> report
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.checks import ensure_valid
from target_salesforce_aimdoc.filters import skip_reason
from target_salesforce_aimdoc.links import LinkStore
from target_salesforce_aimdoc.mapping import map_record
from target_salesforce_aimdoc.matching import Matcher
from target_salesforce_aimdoc.plan import Planner, Step
from target_salesforce_aimdoc.report import Outcome, RunReport
from target_salesforce_aimdoc.salesforce import SalesforceClient
from target_salesforce_aimdoc.settings import load_sync_settings
from target_salesforce_aimdoc.writes import apply_steps

if TYPE_CHECKING:
    from target_salesforce_aimdoc.mapping import MappedRecord
    from target_salesforce_aimdoc.settings import StreamConfig

LOGGER = logging.getLogger("target_salesforce_aimdoc")


class SyncRun:
    """One run of the target: settings, the Salesforce connection, describes, the report."""

    def __init__(self, config: dict[str, Any], links: LinkStore | None = None) -> None:
        """Validate config, log in, describe, check the mapping: all before any write."""
        self.started = time.monotonic()
        self.settings = load_sync_settings(config)
        self.dry_run = bool(config.get("dry_run", False))
        self.client = SalesforceClient(config).login()
        self.describes = {name: self.client.describe(name) for name in self._objects_needed()}
        ensure_valid(self.settings, self.describes)
        self.matcher = Matcher(self.client, self.settings, self.describes)
        self.report = RunReport()
        self.links = links or LinkStore()
        self.links.instance_url = self.client.instance_url
        self._warned_streams: set[str] = set()

    def _objects_needed(self) -> list[str]:
        objects = set(self.settings.sobjects)
        if objects & {"Lead", "Contact"}:
            objects |= {"Lead", "Contact"}  # converted Leads and existing Contacts
        return [name for name in ("Account", "Contact", "Lead") if name in objects]

    def run_batch(self, stream_name: str, records: list[dict[str, Any]]) -> list[Step]:
        """Sync one batch of a stream's records; returns the steps (for tests and reports)."""
        stream = self.settings.stream(stream_name)
        if stream is None:
            self._warn_unconfigured(stream_name, len(records))
            return []
        batch = self._mapped(stream, records)
        objects = {obj.sobject for obj in stream.enabled_objects}
        batch = self._skip_unchanged(batch, objects)
        matches = self.matcher.find(batch, objects)
        planner = Planner(stream, self.settings, self.describes, self.links)
        accounts = self._write(planner.accounts(batch, matches))
        account_ids = self._account_ids(accounts, matches)
        contacts = self._write(planner.contacts(batch, matches, account_ids))
        leads = self._write(planner.leads(batch, matches))
        steps = accounts + contacts + leads
        self._remember(steps, batch)
        for step in steps:
            self.report.add_step(step)
        return steps

    def _skip_unchanged(self, batch: list[MappedRecord], objects: set[str]) -> list[MappedRecord]:
        """Records synced before and not changed since: no query, no write."""
        kept = []
        for mapped in batch:
            wanted = [name for name in objects if name in mapped.payloads]
            link = self.links.unchanged(mapped.stream, mapped.key, mapped.updated_at, wanted)
            if link is None:
                kept.append(mapped)
                continue
            for name in wanted:
                self.report.add(Outcome(mapped.stream, mapped.key, name, "unchanged",
                                        link.ids.get(name), "not changed since the last sync"))
        return kept

    def _remember(self, steps: list[Step], batch: list[MappedRecord]) -> None:
        """Keep link records for every source record now tied to a Salesforce record."""
        if self.dry_run:
            return
        times = {(m.stream, m.key): m.updated_at for m in batch}
        for step in steps:
            if step.action == "fail" or (step.record_id is None and step.action != "skip"):
                continue
            # A deliberate skip (e.g. a Lead for a known Contact) is remembered with no id.
            for stream, key in step.sources:
                self.links.record(stream, key, step.sobject, step.record_id or "",
                                  times.get((stream, key)))

    def _mapped(self, stream: StreamConfig, records: list[dict[str, Any]]) -> list[MappedRecord]:
        batch = []
        for record in records:
            self.report.records_seen[stream.name] += 1
            skip = skip_reason(record, stream, self.settings)
            mapped = map_record(record, stream, self.settings, self.describes)
            for warning in mapped.warnings:
                LOGGER.warning(warning)
            if skip is not None:
                self.report.add_skip(stream.name, mapped.key or "?", skip.rule)
                continue
            for issue in mapped.issues:
                self.report.add_issue(mapped, issue)
            if mapped.ok and mapped.payloads:
                batch.append(mapped)
        return batch

    def _write(self, steps: list[Step]) -> list[Step]:
        if not self.dry_run:
            apply_steps(self.client, steps)
        return steps

    @staticmethod
    def _account_ids(steps: list[Step], matches: Any) -> dict[str, str]:
        ids = {domain: rows[0]["Id"] for domain, rows in matches.accounts.items() if rows}
        ids.update({step.match_key: step.record_id for step in steps if step.record_id})
        return ids

    def _warn_unconfigured(self, stream_name: str, count: int) -> None:
        if stream_name not in self._warned_streams:
            LOGGER.warning("Stream %r is not in the `streams` setting; its records are ignored",
                           stream_name)
            self._warned_streams.add(stream_name)
        self.report.records_seen[stream_name] += count

    def finish(self) -> None:
        """Log the run's summary."""
        usage = self.client.usage
        LOGGER.info("Run summary (%s):", "dry run" if self.dry_run else "applied")
        for line in self.report.summary_lines():
            LOGGER.info("  %s", line)
        LOGGER.info("  Salesforce API calls: %d (%s); org daily remaining: %s; %.1f s",
                    usage.calls, dict(sorted(usage.by_kind.items())), usage.remaining,
                    time.monotonic() - self.started)
