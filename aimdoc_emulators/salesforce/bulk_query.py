"""Bulk API 2.0 query jobs (``/jobs/query``): create, poll, results by locator, list, abort, delete.

The flow of simple-salesforce's ``sf.bulk2.<Type>.query(soql, max_records=...)``: ``POST
/jobs/query`` ``{"operation": "query"|"queryAll", "query": ...}`` answers JobInfo in state
``UploadComplete``; ``GET /jobs/query/{id}`` until ``JobComplete``; then ``GET .../results``
``?maxRecords=n&locator=...`` pages of CSV, each with ``Sforce-NumberOfRecords`` and
``Sforce-Locator`` (the next page's locator, the text ``null`` on the last page). A locator is
the base64 of the row offset, as the real ones are, and stays valid while the job exists.

The query runs when the job is created, through the same SOQL engine as REST (so a bad query is
refused at creation with the REST error code, e.g. 400 INVALID_FIELD); the next
``in_progress_polls`` reads (default 0) still answer ``InProgress``. Results are CSV with every
value quoted, in the job's delimiter and line ending: a header of the selected field paths
(``Account.Name``), null as an empty string, booleans ``true``/``false``, datetimes in UTC with a
``Z``. Bulk queries refuse ``COUNT()`` and parent-to-child subqueries, as the real service does
(400 ``FEATURENOTENABLED``). ``queryAll`` includes deleted rows.

Not modelled: PK chunking, ``/resultPages`` (parallel results), gzip compression, the 409 for a
different API version, result expiry after 7 days, and the daily limits of query jobs.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce import soql
from aimdoc_emulators.salesforce.bulk_common import JobTable
from aimdoc_emulators.salesforce.errors import ApiError
from aimdoc_emulators.salesforce.ids import USER_ID_18, make_id
from aimdoc_emulators.salesforce.validation import format_datetime

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.models import SalesforceBackend

OPERATIONS = ("query", "queryAll")
DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";",
              "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DEFAULT_PAGE = 100_000
ID_OFFSET = 3_000_000  # query job ids never collide with ingest job ids (same 750 prefix)
ABORTABLE = frozenset({"UploadComplete", "InProgress"})


def bulk_error(status: int, code: str, message: str) -> ApiError:
    """A Bulk API 2.0 error (the REST error array)."""
    return ApiError.of(status, code, message)


@dataclass
class QueryJob:
    """One query job and its result rows (already rendered as CSV lines)."""

    id: str
    operation: str
    sobject: str
    query: str
    api_version: str
    column_delimiter: str
    line_ending: str
    created_date: str
    modstamp: str
    state: str = "UploadComplete"
    header: str = ""
    rows: list[str] = field(default_factory=list)
    processing_ms: int = 0
    polls_left: int = 0

    def info(self, state: str | None = None, *, full: bool = False,
             listing: bool = False) -> dict[str, Any]:
        """JobInfo as the real service renders it."""
        state = state or self.state
        info: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.sobject,
            "createdById": USER_ID_18, "createdDate": self.created_date,
            "systemModstamp": self.modstamp, "state": state, "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(self.api_version),
        }
        if listing or full:
            info["jobType"] = "V2Query"
        info |= {"lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter}
        if full:
            done = state == "JobComplete"
            info |= {
                "numberRecordsProcessed": len(self.rows) if done else 0,
                "retries": 0,
                "totalProcessingTime": self.processing_ms if done else 0,
                "isPkChunkingSupported": True,
            }
        return info

    def visible_state(self, *, consume: bool) -> str:
        """``InProgress`` for the first polls after the job ran, then its real state."""
        if self.state == "JobComplete" and self.polls_left > 0:
            if consume:
                self.polls_left -= 1
            return "InProgress"
        return self.state


class BulkQueryJobs(JobTable):
    """The org's Bulk API 2.0 query jobs; each public method is one HTTP resource's work."""

    def __init__(self, backend: SalesforceBackend) -> None:
        self.backend = backend
        self.lock = threading.RLock()
        self.in_progress_polls = 0
        self.reset()

    def reset(self) -> None:
        """Forget every job."""
        with self.lock:
            self.jobs: dict[str, QueryJob] = {}
            self.sequence = 0

    # ------------------------------------------------------------------ resources
    def create(self, body: Any, version: str) -> dict[str, Any]:
        """``POST /jobs/query``: run the query, answer JobInfo (``UploadComplete``)."""
        if not isinstance(body, dict):
            raise bulk_error(400, "JSON_PARSER_ERROR", "Unable to parse the job definition")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Invalid operation for a query job: {operation}")
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise bulk_error(400, "INVALIDJOB", "InvalidJob : A query must be specified")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if body.get("contentType", "CSV") != "CSV":
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Invalid content type: {body.get('contentType')}")
        if delimiter not in DELIMITERS:
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Invalid column delimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid line ending: {line_ending}")
        started = time.perf_counter()
        sobject, paths, records = self._run(text, include_deleted=operation == "queryAll")
        stamp = format_datetime(self.backend.now())
        with self.lock:
            self.sequence += 1
            job = QueryJob(
                id=make_id("750", ID_OFFSET + self.sequence), operation=operation,
                sobject=sobject, query=text, api_version=version, column_delimiter=delimiter,
                line_ending=line_ending, created_date=stamp, modstamp=stamp,
            )
            answer = job.info()
            job.header, job.rows = csv_lines(paths, records, DELIMITERS[delimiter],
                                              LINE_ENDINGS[line_ending])
            job.state = "JobComplete"
            job.polls_left = self.in_progress_polls
            job.processing_ms = max(1, round((time.perf_counter() - started) * 1000))
            self.jobs[job.id] = job
            return answer

    def listing(self, params: dict[str, str]) -> dict[str, Any]:
        """``GET /jobs/query``: every query job (one page)."""
        with self.lock:
            jobs = list(self.jobs.values())
            if params.get("jobType") not in (None, "", "V2Query"):
                jobs = []
            return {"done": True, "nextRecordsUrl": None,
                    "records": [job.info(job.visible_state(consume=False), listing=True)
                                for job in jobs]}

    def set_state(self, job_id: str, body: Any) -> dict[str, Any]:
        """``PATCH /jobs/query/{id}`` ``{"state": "Aborted"}``."""
        wanted = body.get("state") if isinstance(body, dict) else None
        with self.lock:
            job = self.job(job_id)
            shown = job.visible_state(consume=False)
            if wanted != "Aborted":
                raise bulk_error(400, "INVALIDJOBSTATE",
                                 f"InvalidJobState : Invalid state: {wanted}")
            if shown not in ABORTABLE:
                raise bulk_error(400, "INVALIDJOBSTATE",
                                 f"InvalidJobState : Aborting already {shown} Job not allowed")
            job.state, job.rows, job.polls_left = "Aborted", [], 0
            job.modstamp = format_datetime(self.backend.now())
            return job.info()

    def delete(self, job_id: str) -> None:
        """``DELETE /jobs/query/{id}``: a finished or aborted job and its results."""
        with self.lock:
            job = self.job(job_id)
            shown = job.visible_state(consume=False)
            if shown in ABORTABLE:
                raise bulk_error(400, "INVALIDJOBSTATE",
                                 f"InvalidJobState : Job {job.id} can't be deleted in state "
                                 f"{shown}")
            del self.jobs[job.id]

    def results(self, job_id: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        """``GET /jobs/query/{id}/results``: one page of CSV and its paging headers."""
        with self.lock:
            job = self.job(job_id)
            shown = job.visible_state(consume=False)
            if shown != "JobComplete":
                raise bulk_error(400, "INVALIDJOBSTATE",
                                 f"InvalidJobState : Job {job.id} is not complete; its state "
                                 f"is {shown}")
            offset = _offset(params.get("locator"))
            size = _page_size(params.get("maxRecords"))
            page = job.rows[offset : offset + size]
            more = offset + size < len(job.rows)
            body = (job.header + "".join(page)) if job.header else ""
            headers = {
                "Sforce-NumberOfRecords": str(len(page)),
                "Sforce-Locator": _locator(offset + size) if more else "null",
            }
            return body.encode("utf-8"), headers

    # ------------------------------------------------------------------ the query
    def _run(self, text: str, *, include_deleted: bool) -> tuple[
            str, list[tuple[str, str]], list[dict[str, Any]]]:
        backend = self.backend
        try:
            with backend.lock:
                parsed, paths = soql.select_paths(backend.catalog, text)
        except soql.SoqlError as exc:
            raise bulk_error(400, exc.error_code, exc.message) from None
        if parsed.count is not None or parsed.subqueries:
            what = "Aggregate Relationships" if parsed.subqueries else "Aggregate queries"
            raise bulk_error(400, "FEATURENOTENABLED",
                             f"FeatureNotEnabled : {what} not supported in Bulk Query")
        page = backend.query(text, include_deleted=include_deleted)
        records = list(page["records"])
        while not page["done"]:
            page = backend.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1])
            records += page["records"]
        sobject = backend.sobject(parsed.sobject).name
        return sobject, paths, records


def csv_lines(paths: list[tuple[str, str]], records: list[dict[str, Any]], delimiter: str,
               newline: str) -> tuple[str, list[str]]:
    """The header line and one line per record, every value quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_ALL)

    def line(values: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    header = line([path for path, _ in paths])
    parts = [(path.split("."), kind) for path, kind in paths]
    return header, [line([_cell(record, keys, kind) for keys, kind in parts])
                    for record in records]


def _cell(record: dict[str, Any], keys: list[str], kind: str) -> str:
    """One value as Bulk CSV writes it: null empty, booleans lower case, datetimes with Z."""
    value: Any = record
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"
    return str(value)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode("ascii")).decode("ascii").rstrip("=")


def _offset(locator: str | None) -> int:
    if not locator or locator == "null":
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True)
        offset = int(text.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bulk_error(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None
    if offset < 0:
        raise bulk_error(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
    return offset


def _page_size(text: str | None) -> int:
    if text in (None, ""):
        return DEFAULT_PAGE
    if not str(text).isdigit() or int(str(text)) < 1:
        raise bulk_error(400, "INVALIDREQUEST",
                         f"maxRecords must be a positive integer: {text}")
    return int(str(text))
