"""The links webhook: each run's new or changed link records POSTed as JSON.

``links_webhook_url`` receives them (with ``links_webhook_token`` as a Bearer token), retried
and never failing the sync, so Aimdoc or anything else can show a person's Salesforce records.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import requests
from tenacity import retry, stop_after_attempt, wait_random_exponential

from target_salesforce_aimdoc import redaction
from target_salesforce_aimdoc.report_files import record_url

if TYPE_CHECKING:
    from target_salesforce_aimdoc.links import LinkStore

LOGGER = logging.getLogger("target_salesforce_aimdoc.crm_objects")
__all__ = ["changed_links", "publish"]


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
    """POST the links as JSON with retries; False (logged) instead of failing the sync.

    The payload is scrubbed of secrets first (``redaction``).
    """
    http = session or requests.Session()
    payload = redaction.scrub_obj(payload)

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
