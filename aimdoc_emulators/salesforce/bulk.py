"""Bulk API 2.0 ingest jobs: the job store, CSV parsing, per-record processing, result CSVs.

The flow simple-salesforce's ``sf.bulk2.<Type>.<op>()`` drives (spec §2.8): create a job (state
``Open``), upload one CSV (``PUT .../batches``, answered 201), ``PATCH {"state":
"UploadComplete"}``, poll the job until ``JobComplete``/``Failed``/``Aborted``, then read
``successfulResults``, ``failedResults`` and ``unprocessedRecords``.

Processing runs synchronously when the upload is marked complete, each row through the same
backend operation REST uses (``create``/``update``/``upsert``/``delete``), so validation and error
codes match, allOrNone false per row. To keep clients' polling loops honest the next
``in_progress_polls`` job reads (default 1) still answer ``InProgress``; the count is fixed, so
call counts are deterministic.

CSV semantics (Bulk 2.0): a header row of field API names (any case; ``Relationship.ExtIdField``
columns resolve a lookup by the parent's external id), the job's column delimiter, LF or CRLF.
An empty cell leaves the field unset, ``#N/A`` sets it to null. Cells are typed per describe:
booleans ``true``/``false`` (also ``1``/``0``), numbers, ``YYYY-MM-DD`` dates, ISO-8601 datetimes.

Result CSVs put the quoted ``sf__`` columns first, then the original columns as uploaded, in the
job's delimiter and line ending; rows keep upload order (the real service doesn't promise one).
``hardDelete`` is a delete that also removes the row (no recycle bin; no permission check).

Org rules: rows run the org's duplicate rules as REST does without the duplicate-rule header
(DUPLICATES_DETECTED in ``sf__Error``), unless the ``bulk_allow_duplicates`` setting saves past
Allow rules as ``allowSave=true`` would (Block rules refuse either way); rows of one 200-row
chunk are one save, so they are not compared with each other. No Lead assignment rule runs
unless the job names one (``assignmentRuleId``, active or not): it runs for rows that create a
record (inserts, and upserts that insert).

Not modelled [U]: Bulk query jobs (``/jobs/query`` answers 404), Bulk API 1.0, the daily batch
allocation (``/limits`` DailyBulkApiBatches does not move), internal 10,000-row chunking and
retries, strict line-ending checks (CRLF data in an LF job is accepted).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.bulk_common import JobTable, update_or_delete
from aimdoc_emulators.salesforce.duplicates import DuplicateHeader
from aimdoc_emulators.salesforce.errors import ApiError, RecordFailure
from aimdoc_emulators.salesforce.ids import USER_ID_18, make_id, normalize_id
from aimdoc_emulators.salesforce.metadata import NUMBER_TYPES
from aimdoc_emulators.salesforce.models import WriteOptions
from aimdoc_emulators.salesforce.validation import format_datetime, parse_datetime

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.faults import FaultInjector
    from aimdoc_emulators.salesforce.metadata import FieldMeta, SObjectMeta
    from aimdoc_emulators.salesforce.models import SalesforceBackend

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";",
              "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
ABORTABLE = frozenset({"Open", "UploadComplete", "InProgress"})
DELETABLE = frozenset({"UploadComplete", "JobComplete", "Aborted", "Failed"})
NULL_MARKER = "#N/A"
RESULT_KINDS = {"successfulresults": "successful", "failedresults": "failed",
                "unprocessedrecords": "unprocessed"}
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
LIST_PAGE = 1000
SAVE_CHUNK = 200  # rows saved together (duplicate rules compare a row with the org, not these)
TRUE_TEXT = frozenset({"true", "1"})
FALSE_TEXT = frozenset({"false", "0"})


def bulk_error(status: int, code: str, message: str) -> ApiError:
    """A Bulk API 2.0 error: the REST error array, without ``fields``."""
    return ApiError.of(status, code, message)


def format_row_error(error: dict[str, Any]) -> str:
    """``CODE:message:fields --`` as ``sf__Error`` shows it, e.g. ``...:Company --``."""
    fields = ",".join(error.get("fields") or [])
    tail = f"{fields} --" if fields else "--"
    return f"{error['errorCode']}:{error['message']}:{tail}"


class RowError(Exception):
    """One row's failure, already rendered for ``sf__Error``; ``record_id`` fills ``sf__Id``."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None,
                 record_id: str = "") -> None:
        super().__init__(message)
        self.text = format_row_error({"errorCode": code, "message": message, "fields": fields})
        self.record_id = record_id


class HeaderError(Exception):
    """The upload as a whole cannot be processed: the job fails with this message."""


@dataclass
class Column:
    """One header column: a field, or a relationship resolved by the parent's external id."""

    name: str
    meta: FieldMeta | None = None
    reference: FieldMeta | None = None  # the lookup field (AccountId) for ``Account.Domain__c``
    target: SObjectMeta | None = None
    target_key: FieldMeta | None = None


@dataclass
class IngestJob:
    """One ingest job, its uploaded rows and its per-row results."""

    id: str
    operation: str
    sobject: str
    api_version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    created_date: str = ""
    modstamp: str = ""
    state: str = "Open"
    uploaded: bool = False
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    parse_error: str | None = None
    successful: list[tuple[list[str], str, bool]] = field(default_factory=list)
    failed: list[tuple[list[str], str, str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None
    polls_left: int = 0
    abort_requested: bool = False
    processing_ms: int = 0

    @property
    def processed(self) -> int:
        """Rows processed, failed ones included (as ``numberRecordsProcessed`` counts them)."""
        return len(self.successful) + len(self.failed)

    def visible_state(self, *, consume: bool) -> str:
        """The state a reader sees: ``InProgress`` for the first polls after processing."""
        if self.state in {"JobComplete", "Failed"} and self.polls_left > 0:
            if consume:
                self.polls_left -= 1
            return "InProgress"
        return self.state

    def info(self, state: str | None = None, *, full: bool = False,
             listing: bool = False) -> dict[str, Any]:
        """JobInfo as the real service renders it (``full`` adds the processing figures)."""
        state = state or self.state
        info: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.sobject,
            "createdById": USER_ID_18, "createdDate": self.created_date,
            "systemModstamp": self.modstamp, "state": state,
        }
        if self.external_id_field:
            info["externalIdFieldName"] = self.external_id_field
        if self.assignment_rule_id:
            info["assignmentRuleId"] = self.assignment_rule_id
        info |= {"concurrencyMode": "Parallel", "contentType": "CSV",
                 "apiVersion": float(self.api_version)}
        if listing:
            info["jobType"] = "V2Ingest"
        else:
            info["contentUrl"] = (
                f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
            )
        info |= {"lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter}
        if full:
            shown = state in TERMINAL
            info |= {
                "jobType": "V2Ingest",
                "numberRecordsProcessed": self.processed if shown else 0,
                "numberRecordsFailed": len(self.failed) if shown else 0,
                "retries": 0,
                "totalProcessingTime": self.processing_ms if shown else 0,
                "apiActiveProcessingTime": self.processing_ms if shown else 0,
                "apexProcessingTime": 0,
            }
            if state == "Failed" and self.error_message:
                info["errorMessage"] = self.error_message
        return info


class BulkIngest(JobTable):
    """The org's Bulk API 2.0 ingest jobs; every public method is one HTTP resource's work."""

    def __init__(self, backend: SalesforceBackend, faults: FaultInjector | None = None) -> None:
        self.backend = backend
        self.faults = faults
        self.lock = threading.RLock()
        self.in_progress_polls = 1
        self.allow_duplicates = False
        self._options_cache: tuple[tuple[Any, ...], WriteOptions] | None = None
        self.reset()

    def reset(self, *, settings: bool = False) -> None:
        """Forget every job and zero the counts (and restore the default settings)."""
        with self.lock:
            if settings:
                self.in_progress_polls = 1
                self.allow_duplicates = False
            self.jobs: dict[str, IngestJob] = {}
            self.sequence = 0
            self.jobs_created = 0
            self.records_processed = 0
            self.records_failed = 0

    def stats(self) -> dict[str, Any]:
        """Jobs created, rows processed (failed ones included) and failed, jobs by state."""
        with self.lock:
            states: dict[str, int] = {}
            for job in self.jobs.values():
                states[job.state] = states.get(job.state, 0) + 1
            return {"jobs": self.jobs_created, "records_processed": self.records_processed,
                    "records_failed": self.records_failed, "jobs_by_state": states}

    # ------------------------------------------------------------------ jobs
    def create(self, body: Any, version: str) -> dict[str, Any]:
        """``POST /jobs/ingest``: a new Open job."""
        if not isinstance(body, dict):
            raise bulk_error(400, "JSON_PARSER_ERROR", "Unable to parse the job definition")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            if operation in {"query", "queryAll"}:
                raise bulk_error(400, "INVALIDJOB",
                                 "InvalidJob : Query jobs are created at /jobs/query")
            raise bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        obj = self.backend.catalog.sobject(str(body.get("object") or ""))
        if obj is None:
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Unable to find object: {body.get('object')}")
        content_type = body.get("contentType", "CSV")
        if content_type != "CSV":
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Invalid content type: {content_type}")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS:
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Invalid column delimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid line ending: {line_ending}")
        external_id = None
        if operation == "upsert":
            name = body.get("externalIdFieldName")
            if not name:
                raise bulk_error(
                    400, "INVALIDJOB",
                    f"InvalidJob : External ID was blank for {obj.name}. An External ID must be "
                    "specified for upsert.",
                )
            try:
                external_id = self.backend.external_id_field(obj, str(name)).name
            except ApiError as error:
                raise bulk_error(400, "INVALIDJOB",
                                 f"InvalidJob : {error.errors[0]['message']}") from None
        rule_id = body.get("assignmentRuleId")
        if rule_id is not None:
            rule_id = self._assignment_rule(str(rule_id))
        stamp = format_datetime(self.backend.now())
        with self.lock:
            self.sequence += 1
            self.jobs_created += 1
            job = IngestJob(
                id=make_id("750", self.sequence), operation=operation, sobject=obj.name,
                api_version=version, column_delimiter=delimiter, line_ending=line_ending,
                external_id_field=external_id,
                assignment_rule_id=rule_id,
                created_date=stamp, modstamp=stamp,
            )
            self.jobs[job.id] = job
            return job.info()

    def _assignment_rule(self, value: str) -> str:
        """The 18-character id of a known AssignmentRule; 400 INVALIDJOB otherwise [U]."""
        rule_id = normalize_id(value)
        if rule_id is None or rule_id not in self.backend.assignment.rules:
            raise bulk_error(400, "INVALIDJOB",
                             f"InvalidJob : Invalid assignment rule id: {value}")
        return rule_id

    def listing(self, params: dict[str, str], version: str) -> dict[str, Any]:
        """``GET /jobs/ingest``: every ingest job, 1,000 a page (``queryLocator``)."""
        with self.lock:
            jobs = list(self.jobs.values())
            wanted_type = params.get("jobType")
            if wanted_type and wanted_type != "V2Ingest":
                jobs = []
            offset = 0
            locator = params.get("queryLocator") or ""
            if locator:
                tail = locator.rpartition("-")[2]
                if not tail.isdigit():
                    raise bulk_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
                offset = int(tail)
            page = jobs[offset : offset + LIST_PAGE]
            more = offset + LIST_PAGE < len(jobs)
            next_url = (f"/services/data/v{version}/jobs/ingest?queryLocator="
                        f"{make_id('01g', 1)}-{offset + LIST_PAGE}") if more else None
            return {
                "done": not more,
                "records": [job.info(job.visible_state(consume=False), listing=True)
                            for job in page],
                "nextRecordsUrl": next_url,
            }

    def upload(self, job_id: str, data: bytes) -> None:
        """``PUT /jobs/ingest/{id}/batches``: the job's one CSV upload."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise bulk_error(400, "INVALIDBATCH",
                             "InvalidBatch : The upload exceeds the 150 MB limit")
        with self.lock:
            delimiter = DELIMITERS[self.job(job_id).column_delimiter]
        header, rows, problem = parse_csv(data, delimiter)
        with self.lock:
            job = self.job(job_id)
            if job.state != "Open":
                raise bulk_error(
                    400, "INVALIDJOBSTATE",
                    f"InvalidJobState : Job {job.id} is not Open for data upload; its state is "
                    f"{job.visible_state(consume=False)}",
                )
            if job.uploaded:
                raise bulk_error(
                    400, "BULK_API_ERROR",
                    f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                    "'Delete' the current Job then create a new Job and make sure you only do "
                    "'PUT' once on a given Job.",
                )
            job.uploaded = True
            job.header, job.rows, job.parse_error = header, rows, problem
            job.modstamp = format_datetime(self.backend.now())

    def set_state(self, job_id: str, body: Any) -> dict[str, Any]:
        """``PATCH /jobs/ingest/{id}``: ``UploadComplete`` (processes the job) or ``Aborted``."""
        wanted = body.get("state") if isinstance(body, dict) else None
        with self.lock:
            job = self.job(job_id)
            shown = job.visible_state(consume=False)
            if wanted == "Aborted":
                if shown not in ABORTABLE:
                    raise self._state_error(job, shown, wanted)
                self._abort(job)
                return job.info()
            if wanted != "UploadComplete":
                raise bulk_error(400, "INVALIDJOBSTATE",
                                 f"InvalidJobState : Invalid state: {wanted}")
            if job.state != "Open":
                raise self._state_error(job, shown, wanted)
            job.state = "UploadComplete"
            job.modstamp = format_datetime(self.backend.now())
            answer = job.info()
            job.state = "InProgress"
        self._process(job)
        return answer

    def delete(self, job_id: str) -> None:
        """``DELETE /jobs/ingest/{id}``: only once the job is closed, done or aborted."""
        with self.lock:
            job = self.job(job_id)
            shown = job.visible_state(consume=False)
            if shown not in DELETABLE:
                raise bulk_error(
                    400, "INVALIDJOBSTATE",
                    f"InvalidJobState : Job {job.id} can't be deleted in state {shown}",
                )
            del self.jobs[job.id]

    def results(self, job_id: str, kind: str) -> bytes:
        """``successfulResults``, ``failedResults`` or ``unprocessedRecords`` as CSV bytes."""
        with self.lock:
            job = self.job(job_id)
            which = RESULT_KINDS[kind.lower()]
            delimiter = DELIMITERS[job.column_delimiter]
            newline = LINE_ENDINGS[job.line_ending]
            if which == "successful":
                rows = [([rec_id, "true" if created else "false"], row)
                        for row, rec_id, created in job.successful]
                prefix = ["sf__Id", "sf__Created"]
            elif which == "failed":
                rows = [([rec_id, error], row) for row, rec_id, error in job.failed]
                prefix = ["sf__Id", "sf__Error"]
            else:
                pending = job.rows if job.state in {"Open", "UploadComplete"} else []
                rows = [([], row) for row in [*job.unprocessed, *pending]]
                prefix = []
            return render_csv(prefix, job.header, rows, delimiter, newline).encode("utf-8")

    # ------------------------------------------------------------------ processing
    @staticmethod
    def _state_error(job: IngestJob, shown: str, wanted: Any) -> ApiError:
        return bulk_error(
            400, "INVALIDJOBSTATE",
            f"InvalidJobState : Job {job.id} can't change from {shown} to {wanted}",
        )

    def _abort(self, job: IngestJob) -> None:
        job.abort_requested = True
        job.polls_left = 0
        if job.state in {"Open", "UploadComplete"}:
            job.unprocessed = job.rows
            job.rows = []
        job.state = "Aborted"
        job.modstamp = format_datetime(self.backend.now())

    def _process(self, job: IngestJob) -> None:
        started = time.perf_counter()
        try:
            columns = self._columns(job)
        except HeaderError as problem:
            with self.lock:
                job.unprocessed, job.rows = job.rows, []
                if not job.abort_requested:
                    self._finish(job, "Failed", started, str(problem))
            return
        keys = self._repeated_keys(job, columns) if job.operation == "upsert" else set()
        rows, job.rows = job.rows, []
        done = 0
        for start in range(0, len(rows), SAVE_CHUNK):
            if job.abort_requested:
                break
            with self.backend.lock, self.backend.dupes.batch():
                for row in rows[start : start + SAVE_CHUNK]:
                    if job.abort_requested:
                        break
                    self._record(job, columns, row, keys)
                    done += 1
        with self.lock:
            if job.abort_requested:  # aborted while processing: the rest stays unprocessed
                job.unprocessed = rows[done:]
                self.records_processed += job.processed
                self.records_failed += len(job.failed)
                return
            self._finish(job, "JobComplete", started, None)

    def _record(self, job: IngestJob, columns: list[Column], row: list[str],
                keys: set[str]) -> None:
        """Process one row into the job's successful or failed results."""
        try:
            record_id, created = self._one(job, columns, row, keys)
        except RowError as error:
            job.failed.append((_padded(row, job.header), error.record_id, error.text))
        else:
            job.successful.append((_padded(row, job.header), record_id, created))

    def _finish(self, job: IngestJob, state: str, started: float, message: str | None) -> None:
        job.state = state
        job.error_message = message
        job.polls_left = self.in_progress_polls
        job.processing_ms = max(1, round((time.perf_counter() - started) * 1000))
        job.modstamp = format_datetime(self.backend.now())
        self.records_processed += job.processed
        self.records_failed += len(job.failed)

    def _columns(self, job: IngestJob) -> list[Column]:
        if job.parse_error:
            raise HeaderError(f"InvalidBatch : {job.parse_error}")
        obj = self.backend.sobject(job.sobject)
        columns = [self._column(obj, name) for name in job.header]
        names = [c.meta.name if c.meta else c.name.lower() for c in columns]
        for name in names:
            if names.count(name) > 1:
                raise HeaderError(f"InvalidBatch : Duplicate field name: {name}")
        if job.operation in {"delete", "hardDelete"} and (
            len(columns) != 1 or columns[0].meta is None or columns[0].meta.name != "Id"
        ):
            raise HeaderError(
                f"InvalidBatch : The '{job.operation}' data must contain only the 'Id' field"
            )
        return columns

    def _column(self, obj: SObjectMeta, name: str) -> Column:
        if "." not in name:
            meta = obj.field(name)
            if meta is None:
                raise HeaderError(f"InvalidBatch : Field name not found : {name}")
            return Column(name, meta=meta)
        relationship, _, key = name.partition(".")
        reference = obj.relationship(relationship)
        if reference is None or len(reference.reference_to) != 1:
            raise HeaderError(f"InvalidBatch : Field name not found : {name}")
        target = self.backend.catalog.sobject(reference.reference_to[0])
        target_key = target.field(key) if target else None
        if target_key is None or not (target_key.external_id or target_key.id_lookup):
            raise HeaderError(f"InvalidBatch : Field name not found : {name}")
        return Column(name, reference=reference, target=target, target_key=target_key)

    def _repeated_keys(self, job: IngestJob, columns: list[Column]) -> set[str]:
        position = next((i for i, c in enumerate(columns)
                         if c.meta and c.meta.name == job.external_id_field), None)
        if position is None:
            return set()
        seen: dict[str, int] = {}
        for row in job.rows:
            value = row[position] if position < len(row) else ""
            if value and value != NULL_MARKER:
                key = _key(value, job.external_id_field)
                seen[key] = seen.get(key, 0) + 1
        return {key for key, count in seen.items() if count > 1}

    def _one(self, job: IngestJob, columns: list[Column], row: list[str],
             repeated: set[str]) -> tuple[str, bool]:
        kind = "delete" if job.operation == "hardDelete" else job.operation
        try:
            if len(row) > len(columns):
                raise RowError("INVALID_FIELD",
                               f"Row has {len(row)} columns but the header has {len(columns)}")
            payload = self._payload(columns, row)
            injected = self.faults.for_record(kind, payload) if self.faults else None
            if injected is not None:
                raise RowError(injected["errorCode"], injected["message"],
                               injected.get("fields"))
            obj = self.backend.sobject(job.sobject)
            try:
                with self.backend.transaction():
                    return self._apply(job, obj, payload, repeated)
            except (RecordFailure, ApiError) as failure:
                error = failure.errors[0]
                raise RowError(error.get("errorCode", "UNKNOWN_EXCEPTION"),
                               error.get("message", ""), error.get("fields"),
                               self._upsert_match(job, obj, payload)) from None
        except RowError as error:
            if not error.record_id and kind in {"update", "delete"}:
                error.record_id = _given_id(columns, row)
            raise

    def _upsert_match(self, job: IngestJob, obj: SObjectMeta, payload: dict[str, Any]) -> str:
        """The id an upsert row matched, for ``sf__Id`` of a failed update-by-upsert."""
        key_field = job.external_id_field
        value = payload.get(key_field) if job.operation == "upsert" and key_field else None
        if not value:
            return ""
        if key_field == "Id":
            return normalize_id(str(value)) or ""
        with self.backend.lock:
            ids = self.backend.find_ids(obj, obj.field(key_field), value)
        return ids[0] if len(ids) == 1 else ""

    def _apply(self, job: IngestJob, obj: SObjectMeta, payload: dict[str, Any],
               repeated: set[str]) -> tuple[str, bool]:
        backend = self.backend
        options = self._options(job)
        payload = dict(payload)
        if job.operation == "insert":
            return backend.create(obj.name, payload, options=options), True
        if job.operation == "upsert":
            key_field = job.external_id_field or "Id"
            value = payload.pop(key_field, None)
            if value and _key(str(value), key_field) in repeated:
                raise RowError("DUPLICATE_VALUE", f"Duplicate external id specified: {value}",
                               [key_field])
            if key_field == "Id" and value:
                _check_id(obj, str(value))
            return backend.upsert(obj.name, key_field, value, payload, options=options)
        record_id = payload.pop("Id", None)
        if not record_id:
            verb = "an update" if job.operation == "update" else "a delete"
            raise RowError("MISSING_ARGUMENT", f"Id not specified in {verb} call")
        record_id = _check_id(obj, str(record_id))
        return update_or_delete(backend, obj.name, job.operation, record_id, payload,
                                options=options)

    def _options(self, job: IngestJob) -> WriteOptions:
        """Bulk rows: the allow-duplicates setting, the job's assignment rule or none."""
        key = (self.allow_duplicates, job.assignment_rule_id, job.api_version)
        cached = self._options_cache
        if cached is None or cached[0] != key:
            cached = self._options_cache = (key, WriteOptions(
                DuplicateHeader(allow_save=self.allow_duplicates),
                job.assignment_rule_id or "FALSE", job.api_version))
        return cached[1]

    def _payload(self, columns: list[Column], row: list[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for column, text in zip(columns, row, strict=False):
            if text == "":
                continue
            if column.reference is not None:
                payload[column.reference.name] = (
                    None if text == NULL_MARKER else self._lookup(column, text)
                )
                continue
            meta = column.meta
            payload[meta.name] = None if text == NULL_MARKER else typed_value(meta, text)
        return payload

    def _lookup(self, column: Column, value: str) -> str:
        target, key = column.target, column.target_key
        if key.name == "Id":
            found = normalize_id(value)
            ids = [found] if found and found.startswith(target.key_prefix) else []
        else:
            with self.backend.lock:
                ids = self.backend.find_ids(target, key, value)
        if len(ids) == 1:
            return ids[0]
        detail = "not found" if not ids else "matches more than one record"
        raise RowError(
            "INVALID_FIELD",
            f"Foreign key external ID: {value} {detail} for field {key.name} in entity "
            f"{target.name}",
        )


# ---------------------------------------------------------------------- CSV
def parse_csv(data: bytes, delimiter: str) -> tuple[list[str], list[list[str]], str | None]:
    """The header and data rows of an upload (LF or CRLF); blank lines are skipped."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows = [row for row in reader if row]
    except csv.Error as exc:
        return [], [], f"Unable to parse the CSV data: {exc}"
    if not rows:
        return [], [], None
    header = [name.strip() for name in rows[0]]
    return header, rows[1:], None


def render_csv(prefix: list[str], header: list[str],
               rows: list[tuple[list[str], list[str]]], delimiter: str, newline: str) -> str:
    """A result CSV: quoted ``sf__`` columns first, then the original columns as uploaded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_MINIMAL)
    if not prefix and not header:
        return ""

    def write(extra: list[str], cells: list[str]) -> None:
        quoted = delimiter.join(_quote(value) for value in extra)
        if cells:
            buffer.write(quoted + delimiter if quoted else "")
            writer.writerow(cells)
        else:
            buffer.write(quoted + newline)

    write(prefix, header)
    for extra, cells in rows:
        write(extra, cells)
    return buffer.getvalue()


def typed_value(meta: FieldMeta, text: str) -> Any:
    """A CSV cell as the JSON value REST would receive; INVALID_TYPE_ON_FIELD_IN_RECORD else."""
    kind = meta.type
    try:
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered in TRUE_TEXT | FALSE_TEXT:
                return lowered in TRUE_TEXT
            raise ValueError(text)
        if kind in NUMBER_TYPES:
            number = float(text.strip())
            if not math.isfinite(number):
                raise ValueError(text)
            if kind == "int":
                if number != int(number):
                    raise ValueError(text)
                return int(number)
            return number
        if kind == "date":
            return dt.date.fromisoformat(text.strip()[:10]).isoformat()
        if kind == "datetime":
            parsed = parse_datetime(text.strip())
            if parsed is None:
                raise ValueError(text)
            return format_datetime(parsed)
    except ValueError:
        raise RowError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                       f"{meta.label}: value not of required type: {text}", [meta.name]) from None
    return text


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _padded(row: list[str], header: list[str]) -> list[str]:
    return row + [""] * (len(header) - len(row)) if len(row) < len(header) else row


def _key(value: str, field_name: str | None) -> str:
    if field_name == "Id":
        return normalize_id(value) or value
    return value.casefold()


def _given_id(columns: list[Column], row: list[str]) -> str:
    for column, value in zip(columns, row, strict=False):
        if column.meta is not None and column.meta.name == "Id" and value != NULL_MARKER:
            return normalize_id(value) or value
    return ""


def _check_id(obj: SObjectMeta, value: str) -> str:
    normalized = normalize_id(value)
    if normalized is None or not normalized.startswith(obj.key_prefix):
        raise RowError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {value}",
                       ["Id"])
    return normalized
