r"""The CRM objects table: per source record, the linked Salesforce records with direct links.

    meltano state get demo:tap-aimdoc-to-target-salesforce-aimdoc \\
        | target-salesforce-aimdoc-links --state - [--contact ID] [--html crm.html] [--config C]

Reads the link records the target keeps in Meltano state (a ``meltano state get`` dump or the
state JSON itself). With ``--config`` it also fetches each record's name from Salesforce (one
query per object for the whole table). Also: ``links_webhook_url`` POSTs each run's new or
changed links as JSON (see ``publish``), so Aimdoc or anything else can show them.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from simple_salesforce import format_soql
from tenacity import retry, stop_after_attempt, wait_random_exponential

from target_salesforce_aimdoc.links import STATE_KEY, LinkStore
from target_salesforce_aimdoc.report_files import record_url

if TYPE_CHECKING:
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.crm_objects")
ORDER = ("Lead", "Contact", "Account", "Note")
NAME_FIELD = {"Lead": "Name", "Contact": "Name", "Account": "Name", "Note": "Title"}


@dataclass(frozen=True)
class Row:
    """One linked Salesforce record of a source record."""

    source: str
    sobject: str
    record_id: str
    url: str | None
    name: str | None = None


def load_links(text: str) -> LinkStore:
    """Link records from a ``meltano state get`` dump or a bare state JSON."""
    data = json.loads(text)
    state = data.get("singer_state", data) if isinstance(data, dict) else {}
    store = LinkStore(max_records=10**9)
    store.load(state)
    if STATE_KEY not in state:
        raise ValueError(f"no {STATE_KEY!r} in this state: was it saved by the target?")
    return store


def table(store: LinkStore, contact: str | None = None) -> list[Row]:
    """The rows for every source record (or one ``stream/key`` or key)."""
    rows = []
    for name, link in store.links.items():
        if contact and name != contact and name.split("/", 1)[-1] != contact:
            continue
        for sobject in ORDER:
            record_id = link.ids.get(sobject)
            if record_id:
                rows.append(Row(name, sobject, record_id,
                                record_url(store.instance_url, sobject, record_id)))
    return rows


def with_names(rows: list[Row], client: SalesforceClient) -> list[Row]:
    """The same rows with each record's name, read from Salesforce (batched)."""
    names: dict[str, str] = {}
    for sobject in ORDER:
        ids = sorted({row.record_id for row in rows if row.sobject == sobject})
        if not ids:
            continue
        target = "ContentNote" if sobject == "Note" else sobject
        soql = format_soql(f"SELECT Id, {NAME_FIELD[sobject]} FROM {target} WHERE Id IN {{}}",
                           ids)
        for found in client.query_many([soql])[0]:
            names[found["Id"]] = found.get(NAME_FIELD[sobject])
    return [Row(r.source, r.sobject, r.record_id, r.url, names.get(r.record_id)) for r in rows]


def render_text(rows: list[Row]) -> str:
    """The table for a terminal."""
    lines = [f"{'source record':42} {'object':8} {'name':28} {'id':18}  link"]
    for row in rows:
        lines.append(f"{row.source[:42]:42} {row.sobject:8} {(row.name or '')[:28]:28} "
                     f"{row.record_id:18}  {row.url or ''}")
    return "\n".join(lines)


def render_html(rows: list[Row]) -> str:
    """The table as a self-contained HTML page (every value escaped)."""
    body = "".join(
        f"<tr><td><code>{html.escape(r.source)}</code></td><td>{html.escape(r.sobject)}</td>"
        f"<td>{html.escape(r.name or '')}</td><td><code>{html.escape(r.record_id)}</code></td>"
        f"<td>{_link(r.url)}</td></tr>" for r in rows)
    return ("<!doctype html><meta charset=utf-8><title>CRM objects</title>"
            "<style>body{font:14px system-ui;margin:2rem}td,th{border:1px solid #ccd;"
            "padding:.3rem .6rem}table{border-collapse:collapse}</style><h1>CRM objects</h1>"
            "<table><tr><th>Source record</th><th>Object</th><th>Name</th><th>Id</th>"
            f"<th>Link</th></tr>{body}</table>")


def _link(url: str | None) -> str:
    if not url:
        return ""
    return f'<a href="{html.escape(url, quote=True)}">open in Salesforce</a>'


def changed_links(store: LinkStore) -> dict[str, Any]:
    """The webhook payload: this run's new or changed link records, with record URLs."""
    records = []
    for name in sorted(store.changed):
        link = store.links.get(name)
        if link is None:
            continue
        stream, _, key = name.partition("/")
        records.append({"stream": stream, "key": key, "objects": {
            sobject: {"id": record_id, "url": record_url(store.instance_url, sobject, record_id)}
            for sobject, record_id in link.ids.items() if record_id}})
    return {"instance_url": store.instance_url, "records": records}


def publish(url: str, payload: dict[str, Any], *, session: requests.Session | None = None,
            headers: dict[str, str] | None = None, tries: int = 4) -> bool:
    """POST the links as JSON with retries; False (logged) instead of failing the sync."""
    http = session or requests.Session()

    @retry(stop=stop_after_attempt(tries), wait=wait_random_exponential(multiplier=0.5, max=8),
           reraise=True)
    def send() -> None:
        response = http.post(url, json=payload, headers=headers or {}, timeout=30)
        response.raise_for_status()

    try:
        send()
    except requests.RequestException as exc:
        LOGGER.warning("Could not POST %d link records to the links webhook: %s",
                       len(payload["records"]), type(exc).__name__)
        return False
    LOGGER.info("Posted %d link records to the links webhook", len(payload["records"]))
    return True


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally write as HTML) the CRM objects table."""
    parser = argparse.ArgumentParser(prog="target-salesforce-aimdoc-links",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--state", required=True, help="state JSON file, or - for stdin")
    parser.add_argument("--contact", help="one source record: its key, or stream/key")
    parser.add_argument("--html", type=Path, help="also write the table as an HTML page")
    parser.add_argument("--config", action="append", help="target config, to show names")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.state == "-" else Path(args.state).read_text("utf-8")
    try:
        rows = table(load_links(text), args.contact)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.config:
        from target_salesforce_aimdoc.salesforce import SalesforceClient
        from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

        config = dict(TargetSalesforceAimdoc(config=args.config).config)
        rows = with_names(rows, SalesforceClient(config).login())
    print(render_text(rows))
    if args.html:
        args.html.write_text(render_html(rows), encoding="utf-8")
        print(f"HTML: {args.html}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
