"""The run report as files: JSON for machines and a self-contained HTML page for people."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

if TYPE_CHECKING:
    from target_salesforce_aimdoc.links import LinkStore
    from target_salesforce_aimdoc.report import RunReport
    from target_salesforce_aimdoc.salesforce import ApiUsage

MAX_LISTED_RECORDS = 5_000


def record_url(instance_url: str | None, sobject: str, record_id: str) -> str | None:
    """``{instance}/lightning/r/{Object}/{Id}/view``, or None without an instance or id."""
    if not instance_url or not record_id or record_id.startswith("DRYRUN"):
        return None
    sobject = "ContentNote" if sobject == "Note" and record_id.startswith("069") else sobject
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{record_id}/view"


def build(report: RunReport, usage: ApiUsage, links: LinkStore, *, mode: str,
          started_at: dt.datetime, duration: float) -> dict[str, Any]:
    """The report as JSON-ready data."""
    counts = [{"stream": s, "object": o, "outcome": k, "count": n}
              for (s, o, k), n in sorted(report.counts.items())]
    failures = [o.to_json() for o in report.outcomes if o.outcome == "failed"]
    return {
        "mode": mode,
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_seconds": round(duration, 3),
        "records_seen": dict(report.records_seen),
        "counts": counts,
        "totals": _totals(report),
        "skipped_by_rule": [{"stream": s, "rule": r, "count": n}
                            for (s, r), n in sorted(report.skipped_by_rule.items())],
        "api": {"calls": usage.calls, "by_kind": dict(sorted(usage.by_kind.items())),
                "org_used": usage.org_used, "org_limit": usage.org_limit,
                "org_remaining": usage.remaining},
        "failures": failures,
        "records": _records(report, links),
    }


def _totals(report: RunReport) -> dict[str, int]:
    totals: Counter = Counter()
    for (_, _, outcome), count in report.counts.items():
        totals[outcome] += count
    return dict(totals)


def _records(report: RunReport, links: LinkStore) -> list[dict[str, Any]]:
    """Per source record: its outcome per object and the linked Salesforce records."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for outcome in report.outcomes:
        key = (outcome.stream, outcome.key)
        if key not in rows and len(rows) >= MAX_LISTED_RECORDS:
            continue
        row = rows.setdefault(key, {"stream": outcome.stream, "key": outcome.key, "objects": {}})
        if outcome.sobject:
            row["objects"][outcome.sobject] = {
                "outcome": outcome.outcome, "id": outcome.record_id,
                "url": record_url(links.instance_url, outcome.sobject.split("->")[-1],
                                  outcome.record_id or ""),
                "reason": outcome.reason, "changes": outcome.changes,
                "errors": outcome.errors,
            }
        else:
            row["outcome"] = outcome.outcome
            row["reason"] = outcome.reason or "; ".join(
                str(e.get("message")) for e in outcome.errors)
    return list(rows.values())


def write(data: dict[str, Any], directory: str | Path) -> tuple[Path, Path]:
    """Write ``run-report.json`` and ``run-report.html``; return their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "run-report.json", folder / "run-report.html"
    json_path.write_text(json.dumps(data, default=str, ensure_ascii=False),  # C encoder
                         encoding="utf-8")
    html_path.write_text(render_html(data), encoding="utf-8")
    return json_path, html_path


def render_html(data: dict[str, Any]) -> str:
    """The self-contained HTML page (every value escaped by the template engine)."""
    environment = Environment(
        loader=PackageLoader("target_salesforce_aimdoc", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["change_list"] = change_list
    return environment.get_template("report.html.j2").render(report=data)


def change_list(changes: dict[str, list[Any]]) -> str:
    """``field: old → new; ...`` as one text (escaped once by the template, not per part)."""
    return "; ".join(f"{name}: {'∅' if old is None else old} → {new}"
                     for name, (old, new) in changes.items())
