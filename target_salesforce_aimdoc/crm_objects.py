r"""The CRM objects table: per source record, the linked Salesforce records with direct links.

    meltano state get demo:tap-aimdoc-to-target-salesforce-aimdoc \\
        | target-salesforce-aimdoc-links --state - [--contact ID] [--html crm.html] [--config C]

Reads the link records the target keeps in Meltano state (a ``meltano state get`` dump or the
state JSON itself): each contact's Lead, Contact and Account, and the notes of its
conversations (a note's link names its contact). With ``--config`` it also fetches each
record's name from Salesforce (one query per object for the whole table). ``--html`` writes
the same table as a self-contained page (no script, no outside resource; readable on a phone).

Exit codes: 0 the table was shown; 1 the state (or, with ``--config``, the login) could not be
used; 2 wrong arguments; 3 no such source record (``--contact``), or no links at all. A closed
pipe (``| head``) ends it quietly with 0.

Also: ``links_webhook_url`` POSTs each run's new or changed links as JSON (``links_webhook.py``), so
Aimdoc or anything else can show them.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simple_salesforce import format_soql

from target_salesforce_aimdoc import safe_html
from target_salesforce_aimdoc.links import STATE_KEY, LinkStore
from target_salesforce_aimdoc.report_files import record_url

if TYPE_CHECKING:
    from target_salesforce_aimdoc.salesforce import SalesforceClient

LOGGER = logging.getLogger("target_salesforce_aimdoc.crm_objects")
NOT_FOUND = 3  # exit code: no such source record
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
    """The rows for every source record (or one ``stream/key`` or key).

    Lead, Contact and Account of each record, then the notes of its conversations.
    """
    rows = []
    chosen = [name for name in store.links if _is(name, contact)] if contact else list(
        store.links)
    keys = {name.split("/", 1)[-1] for name in chosen}
    if contact:  # its conversations' notes: their link names the contact
        chosen += [name for name, link in store.links.items() if name not in chosen
                   and link.meta and str(link.meta.get("contact")) in keys]
    for name in chosen:
        link = store.links[name]
        for sobject in ORDER:
            record_id = link.ids.get(sobject)
            if record_id:
                rows.append(Row(name, sobject, record_id,
                                record_url(store.instance_url, sobject, record_id)))
    return rows


def _is(name: str, wanted: str) -> bool:
    return name == wanted or name.split("/", 1)[-1] == wanted


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


PAGE_STYLE = (
    "*{box-sizing:border-box}body{font:14px/1.45 system-ui,sans-serif;margin:2rem;"
    "color:#1d2733}td,th{border:1px solid #ccd;padding:.3rem .6rem;text-align:left;"
    "vertical-align:top;overflow-wrap:anywhere}th{background:#f2f5f8}"
    "table{border-collapse:collapse;max-width:100%}.muted{color:#66707a}"
    "@media (max-width:640px){body{margin:.75rem}table,tbody,tr,td,th{display:block;"
    "width:100%}tr:first-child{display:none}tr{border:1px solid #ccd;margin-bottom:.5rem}"
    "td{border:0;border-bottom:1px solid #eef1f4}"
    "td[data-label]::before{content:attr(data-label) \": \";font-weight:600}}"
)


def render_html(rows: list[Row], title: str = "CRM objects") -> str:
    """The table as a self-contained HTML page (every value escaped, links allow-listed).

    No script and no outside resource; on a phone each row becomes a card.
    """
    body = "".join(
        f'<tr><td data-label="Source record"><code>{html.escape(r.source)}</code></td>'
        f'<td data-label="Object">{html.escape(r.sobject)}</td>'
        f'<td data-label="Name">{html.escape(r.name or "")}</td>'
        f'<td data-label="Id"><code>{html.escape(r.record_id)}</code></td>'
        f'<td data-label="Link">{_link(r.url)}</td></tr>' for r in rows)
    names = "" if any(r.name for r in rows) else (
        '<p class="muted">Names are shown with <code>--config</code> (read from '
        "Salesforce).</p>")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{names}"
            "<table><tr><th>Source record</th><th>Object</th><th>Name</th><th>Id</th>"
            f"<th>Link</th></tr>{body}</table></body></html>")


def _link(url: str | None) -> str:
    return safe_html.link(url, "open in Salesforce") if url else ""


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally write as HTML) the CRM objects table; see the exit codes above."""
    try:
        return _main(argv)
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="target-salesforce-aimdoc-links",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--state", required=True, help="state JSON file, or - for stdin")
    parser.add_argument("--contact", help="one source record: its key, or stream/key")
    parser.add_argument("--html", type=Path, help="also write the table as an HTML page")
    parser.add_argument("--config", action="append", help="target config, to show names")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.state == "-" else Path(args.state).read_text("utf-8")
        store = load_links(text)
    except (OSError, ValueError) as problem:
        print(f"error: cannot read the state {args.state}: {problem}", file=sys.stderr)
        return 1
    rows = table(store, args.contact)
    if not rows:
        print(f"error: no source record {args.contact!r} in the state's links "
              f"({len(store.links)} records)" if args.contact else
              "error: the state holds no links yet (no record was synced)", file=sys.stderr)
        return NOT_FOUND
    if args.config:
        from target_salesforce_aimdoc.auth import SalesforceAuthError
        from target_salesforce_aimdoc.check import target_config
        from target_salesforce_aimdoc.salesforce import SalesforceClient

        config = target_config(args.config)  # validated, secrets protected; problems logged
        if config is None:
            return 1
        try:
            rows = with_names(rows, SalesforceClient(config).login())
        except SalesforceAuthError as problem:
            print(f"error: Salesforce login failed: {problem}", file=sys.stderr)
            return 1
    if args.html:
        title = f"CRM objects of {args.contact}" if args.contact else "CRM objects"
        args.html.write_text(render_html(rows, title), encoding="utf-8", errors="replace")
    print(render_text(rows))
    if args.html:
        print(f"HTML: {args.html}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
