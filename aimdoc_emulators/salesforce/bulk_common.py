"""What the Bulk API families share: the job table and a row's update or delete."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import not_found
from aimdoc_emulators.salesforce.ids import normalize_id

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.models import SalesforceBackend, WriteOptions


class JobTable:
    """Jobs by id under a lock (``self.jobs``, ``self.lock``), looked up as the API does."""

    jobs: dict[str, Any]
    lock: threading.RLock

    def job(self, job_id: str) -> Any:
        """A job by its 15- or 18-character id; 404 NOT_FOUND otherwise."""
        with self.lock:
            job = self.jobs.get(normalize_id(job_id) or "")
            if job is None:
                raise not_found()
            return job

    def info(self, job_id: str) -> dict[str, Any]:
        """``GET .../{id}``: the full JobInfo (a poll may still see ``InProgress``)."""
        with self.lock:
            job = self.job(job_id)
            return job.info(job.visible_state(consume=True), full=True)


def update_or_delete(backend: SalesforceBackend, sobject: str, operation: str, record_id: str,
                     body: dict[str, Any], *, options: WriteOptions | None = None
                     ) -> tuple[str, bool]:
    """A row of an ``update``, ``delete`` or ``hardDelete`` job; (id, created=False)."""
    if operation == "update":
        if options is None:
            backend.update(sobject, record_id, body)
        else:
            backend.update(sobject, record_id, body, options=options)
        return record_id, False
    backend.delete(sobject, record_id)
    if operation == "hardDelete":
        with backend.lock:
            backend.conn.execute(f'DELETE FROM "{sobject}" WHERE "Id" = ?', (record_id,))
    return record_id, False
