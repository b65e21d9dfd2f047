"""The run report as files: JSON for machines and a self-contained HTML page for people.

Both are scrubbed of secrets (``redaction``); links in the page are allow-listed (``safe_html``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from target_salesforce_aimdoc import redaction, safe_html
from target_salesforce_aimdoc.report import WHOLE_RECORD

if TYPE_CHECKING:
    from target_salesforce_aimdoc.links import LinkStore
    from target_salesforce_aimdoc.report import Outcome, RunReport
    from target_salesforce_aimdoc.salesforce import ApiUsage

HTML_MAX_RECORDS = 2_000  # records listed in the page; the JSON lists every kept one


def record_url(instance_url: str | None, sobject: str, record_id: str) -> str | None:
    """``{instance}/lightning/r/{Object}/{Id}/view``, or None without an instance or id.

    None too when the instance URL is not one a link may go to (``safe_html.safe_url``): it
    can come from a state file, so from anyone who could write one.
    """
    if not record_id or record_id.startswith("DRYRUN") or not safe_html.safe_url(instance_url):
        return None
    assert instance_url is not None
    sobject = "ContentNote" if sobject == "Note" and record_id.startswith("069") else sobject
    return (f"{instance_url.rstrip('/')}/lightning/r/{quote(sobject, safe='')}/"
            f"{quote(record_id, safe='')}/view")


def build(report: RunReport, usage: ApiUsage, links: LinkStore, *, mode: str,
          started_at: dt.datetime, duration: float) -> dict[str, Any]:
    """The report as JSON-ready data.

    ``counts`` are per source record and object, ``salesforce_counts`` per Salesforce record
    (several source records may feed one); ``records`` lists every source record the report
    kept (``records_left_out`` says how many outcomes past ``report_max_outcomes`` it did not).
    """
    listed = report.listed()
    counts = [{"stream": s, "object": o, "outcome": k, "count": n}
              for (s, o, k), n in sorted(report.counts.items())]
    salesforce = [{"stream": s, "object": o, "outcome": k, "count": n}
                  for (s, o, k), n in sorted(report.salesforce_counts.items())]
    failures = [{**o.to_json(), "object": o.object_label} for o in listed
                if o.outcome == "failed"]
    records = _records(report, listed, links)
    return {
        "mode": mode,
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_seconds": round(duration, 3),
        "records_seen": dict(report.records_seen),
        "counts": counts,
        "totals": _totals(report.counts),
        "salesforce_counts": salesforce,
        "salesforce_totals": _totals(report.salesforce_counts),
        "skipped_by_rule": [{"stream": s, "rule": r, "count": n}
                            for (s, r), n in sorted(report.skipped_by_rule.items())],
        "api": {"calls": usage.calls, "by_kind": dict(sorted(usage.by_kind.items())),
                "org_used": usage.org_used, "org_limit": usage.org_limit,
                "org_remaining": usage.remaining},
        "failures": failures,
        "records": records,
        "records_left_out": report.dropped_outcomes,
        "html_max_records": HTML_MAX_RECORDS,
    }


def _totals(counts: Counter) -> dict[str, int]:
    totals: Counter = Counter()
    for (_, _, outcome), count in counts.items():
        totals[outcome] += count
    return dict(totals)


def _records(report: RunReport, listed: list[Outcome],
             links: LinkStore) -> list[dict[str, Any]]:
    """Per source record: its person, its outcome per object and the linked records."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for outcome in listed:
        key = (outcome.stream, outcome.key)
        row = rows.get(key)
        if row is None:
            name, email = report.people.get(key, (None, None))
            row = rows[key] = {"stream": outcome.stream, "key": outcome.key, "name": name,
                               "email": email, "objects": {}}
        if outcome.sobject:
            row["objects"][outcome.sobject] = {
                "outcome": outcome.outcome, "id": outcome.record_id,
                "url": record_url(links.instance_url, outcome.sobject.split("->")[-1],
                                  outcome.record_id or ""),
                "reason": outcome.reason, "changes": outcome.changes,
                "errors": outcome.errors, "duplicates": outcome.duplicates,
                "assignment": outcome.assignment,
            }
        else:
            row["outcome"] = outcome.outcome
            row["object"] = WHOLE_RECORD
            row["reason"] = outcome.reason or "; ".join(
                str(e.get("message")) for e in outcome.errors)
    return list(rows.values())


def write(data: dict[str, Any], directory: str | Path, *, keep: int = 30) -> tuple[Path, Path]:
    """Write the run's report as JSON and HTML (secrets scrubbed); return the latest's paths.

    Each run gets its own ``run-report-<UTC time>.json`` and ``.html``; ``run-report.json`` and
    ``run-report.html`` are copies of the latest run's (a stable address). The ``keep`` most
    recent runs are kept, older ones removed.
    """
    data = redaction.scrub_obj(data)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S_%fZ")
    run_json, run_html = folder / f"run-report-{stamp}.json", folder / f"run-report-{stamp}.html"
    data = {**data, "files": {"json": run_json.name, "html": run_html.name}}
    text = json.dumps(data, default=str, ensure_ascii=False)  # C encoder
    page = render_html(data)
    run_json.write_text(text, encoding="utf-8", errors="replace")  # a lone surrogate: ?
    run_html.write_text(page, encoding="utf-8", errors="replace")
    json_path, html_path = folder / "run-report.json", folder / "run-report.html"
    for path, content in ((json_path, text), (html_path, page)):
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(content, encoding="utf-8", errors="replace")
        os.replace(temporary, path)
    _prune(folder, keep)
    return json_path, html_path


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` most recent runs' reports."""
    for suffix in ("json", "html"):
        runs = sorted(folder.glob(f"run-report-*.{suffix}"))
        for old in runs[:max(len(runs) - max(keep, 1), 0)]:
            old.unlink(missing_ok=True)


def render_html(data: dict[str, Any]) -> str:
    """The self-contained HTML page (every value escaped by the template engine)."""
    environment = Environment(
        loader=PackageLoader("target_salesforce_aimdoc", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["change_list"] = change_list
    environment.filters["link"] = html_link
    environment.filters["match_list"] = match_list
    return environment.get_template("report.html.j2").render(report=data)


def html_link(url: str | None, label: str | None = None) -> Markup:
    """The template's ``link`` filter: ``safe_html.link`` (allow-listed, escaped) as markup."""
    return Markup(safe_html.link(url, label))  # noqa: S704 - safe_html escapes every part


def match_list(matches: Any) -> str:
    """A duplicate rule's matched records, ``Lead 00Q…, Contact 003…`` (or ``none``)."""
    if not isinstance(matches, list) or not matches:
        return "none"
    return ", ".join(" ".join(map(str, match)) if isinstance(match, list | tuple) else str(match)
                     for match in matches)


def change_list(changes: dict[str, list[Any]]) -> str:
    """``field: old → new; ...`` as one text (escaped once by the template, not per part)."""
    return "; ".join(f"{name}: {'∅' if old is None else old} → {new}"
                     for name, (old, new) in changes.items())
