"""Bulk API 1.0 (``/services/async/XX.X/job``): ingest and query jobs in XML, CSV or JSON.

The calls (header ``X-SFDC-Session: <token>``, or ``Authorization: Bearer``):

| call | answer |
|---|---|
| ``POST job`` (``<jobInfo>`` XML or JSON) | 201 JobInfo, state ``Open`` |
| ``GET job/{id}``, ``POST job/{id}`` ``state`` ``Closed``/``Aborted`` | JobInfo with counts |
| ``POST job/{id}/batch`` (records, or the SOQL text of a query job) | 201 BatchInfo ``Queued`` |
| ``GET job/{id}/batch``, ``GET job/{id}/batch/{bid}`` | BatchInfo list / one BatchInfo |
| ``GET .../batch/{bid}/request`` | the batch as uploaded |
| ``GET .../batch/{bid}/result`` | per-row results in upload order; a query's result ids |
| ``GET .../batch/{bid}/result/{rid}`` | a query's records |

JobInfo and BatchInfo come back as XML, or JSON for a JSON job (or a JSON request). Ingest
results per row: CSV ``"Id","Success","Created","Error"`` (``Error`` as ``CODE:message:fields
--``), XML ``<results><result><id/><success/><created/><errors>...``, JSON
``[{"success", "created", "id", "errors": [{"statusCode", "message", "fields"}]}]``. Records go
through the same backend operations as REST (validation and error codes match); a CSV cell
``#N/A`` (XML ``xsi:nil="true"``, JSON null) sets null, an empty CSV cell leaves the field
unset; ``Relationship.ExternalIdField`` columns (XML/JSON nested objects) resolve lookups.
Query results: CSV with every value quoted (as Bulk 2.0), JSON records with ``attributes`` and
dates/datetimes as epoch milliseconds, or XML ``<queryResult><records xsi:type="sObject">``.

Batches run when they are uploaded, so the first poll answers ``Completed`` (or ``Failed`` with
a ``stateMessage``: a bad CSV header, more than 10,000 records, a refused query); jobs and
batches are kept in memory. Errors of a whole call answer 400 with ``<error><exceptionCode>``
(or JSON ``{"exceptionCode", "exceptionMessage"}``): ``InvalidSessionId``, ``InvalidJob``,
``InvalidBatch``, ``InvalidJobState``, ``InvalidUrl``. Not modelled: PK chunking, ZIP content
types, serial/parallel scheduling (every batch runs at once), binary attachments, assignment
rule ids, 10-minute batch retries, the daily batch allocation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from aimdoc_emulators.salesforce import soql
from aimdoc_emulators.salesforce.bulk import RowError, format_row_error, parse_csv, typed_value
from aimdoc_emulators.salesforce.bulk_common import update_or_delete
from aimdoc_emulators.salesforce.bulk_query import csv_lines
from aimdoc_emulators.salesforce.errors import ApiError, RecordFailure
from aimdoc_emulators.salesforce.ids import USER_ID_18, make_id, normalize_id
from aimdoc_emulators.salesforce.responses import ApiResponse

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.metadata import FieldMeta, SObjectMeta
    from aimdoc_emulators.salesforce.models import SalesforceBackend
    from aimdoc_emulators.salesforce.responses import ApiRequest

NS = "http://www.force.com/2009/06/asyncapi/dataload"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
INGEST = ("insert", "update", "upsert", "delete", "hardDelete")
QUERIES = ("query", "queryAll")
CONTENT_TYPES = ("XML", "CSV", "JSON")
MAX_RECORDS = 10_000
NULL_MARKER = "#N/A"
ID_OFFSET = 6_000_000  # Bulk 1.0 job ids never collide with Bulk 2.0 ids (same 750 prefix)


class BulkError(Exception):
    """A whole call refused: ``exceptionCode`` and ``exceptionMessage``, HTTP 400 by default."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Batch:
    """One uploaded batch and what processing it produced."""

    id: str
    job_id: str
    created: str
    request: bytes
    request_type: str
    state: str = "Queued"
    state_message: str | None = None
    modstamp: str = ""
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    rows: list[tuple[str | None, bool, bool, list[dict[str, Any]]]] = field(
        default_factory=list)
    results: dict[str, bytes] = field(default_factory=dict)  # query: result id -> data
    polled: bool = False

    def info(self) -> dict[str, Any]:
        """BatchInfo; the upload's own answer says ``Queued``, later reads the real state."""
        state = self.state if self.polled else "Queued"
        info: dict[str, Any] = {"id": self.id, "jobId": self.job_id, "state": state}
        if state == "Failed" and self.state_message:
            info["stateMessage"] = self.state_message
        done = state in ("Completed", "Failed")
        info |= {"createdDate": self.created, "systemModstamp": self.modstamp or self.created,
                 "numberRecordsProcessed": self.processed if done else 0,
                 "numberRecordsFailed": self.failed if done else 0,
                 "totalProcessingTime": self.processing_ms if done else 0,
                 "apiActiveProcessingTime": self.processing_ms if done else 0,
                 "apexProcessingTime": 0}
        return info


@dataclass
class Job:
    """One Bulk 1.0 job and its batches."""

    id: str
    operation: str
    sobject: str
    content_type: str
    api_version: str
    created: str
    external_id: str | None = None
    concurrency: str = "Parallel"
    state: str = "Open"
    modstamp: str = ""
    batches: dict[str, Batch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """JobInfo with the batch and record counts."""
        batches = [batch.info() | {"state": batch.state} for batch in self.batches.values()]
        states = [b["state"] for b in batches]
        info: dict[str, Any] = {"id": self.id, "operation": self.operation,
                                "object": self.sobject, "createdById": USER_ID_18,
                                "createdDate": self.created,
                                "systemModstamp": self.modstamp or self.created,
                                "state": self.state}
        if self.external_id:
            info["externalIdFieldName"] = self.external_id
        processing = sum(b["totalProcessingTime"] for b in batches)
        info |= {
            "concurrencyMode": self.concurrency, "contentType": self.content_type,
            "numberBatchesQueued": states.count("Queued"),
            "numberBatchesInProgress": states.count("InProgress"),
            "numberBatchesCompleted": states.count("Completed"),
            "numberBatchesFailed": states.count("Failed"),
            "numberBatchesTotal": len(batches),
            "numberRecordsProcessed": sum(b["numberRecordsProcessed"] for b in batches),
            "numberRetries": 0, "apiVersion": float(self.api_version),
            "numberRecordsFailed": sum(b["numberRecordsFailed"] for b in batches),
            "totalProcessingTime": processing, "apiActiveProcessingTime": processing,
            "apexProcessingTime": 0,
        }
        return info


@dataclass
class Column:
    """A CSV column: a field, or a lookup through the parent's external id."""

    name: str
    meta: FieldMeta | None = None
    reference: FieldMeta | None = None
    target: SObjectMeta | None = None
    key: FieldMeta | None = None


class BulkV1:
    """The org's Bulk API 1.0 jobs; ``handle`` answers one ``/services/async`` call."""

    def __init__(self, backend: SalesforceBackend) -> None:
        self.backend = backend
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every job."""
        with self.lock:
            self.jobs: dict[str, Job] = {}
            self.sequence = 0

    # ------------------------------------------------------------------ HTTP
    def handle(self, handler: str, request: ApiRequest) -> ApiResponse:
        """Run one call; refusals come back in the Bulk API's error format."""
        try:
            return getattr(self, handler.removeprefix("bulkv1_"))(request)
        except BulkError as error:
            return self.error_response(error, _wants_json(request))
        except ApiError as error:
            failure = BulkError("InvalidJob", error.errors[0].get("message", ""), error.status)
            return self.error_response(failure, _wants_json(request))

    @staticmethod
    def error_response(error: BulkError, as_json: bool) -> ApiResponse:
        """``<error><exceptionCode>`` or its JSON twin."""
        if as_json:
            return ApiResponse(error.status, {"exceptionCode": error.code,
                                              "exceptionMessage": error.message})
        body = (f'<?xml version="1.0" encoding="UTF-8"?><error xmlns="{NS}">'
                f"<exceptionCode>{escape(error.code)}</exceptionCode>"
                f"<exceptionMessage>{escape(error.message)}</exceptionMessage></error>")
        return ApiResponse(error.status, raw=body.encode("utf-8"),
                           content_type="application/xml;charset=UTF-8")

    def fault_response(self, error: ApiError, as_json: bool) -> ApiResponse:
        """A REST-style error (injected fault, API limit) as the Bulk API renders it."""
        if error.code == "INVALID_SESSION_ID":
            return self.error_response(BulkError("InvalidSessionId", "Invalid session id"),
                                       as_json)
        message = error.errors[0].get("message", "") if error.errors else ""
        refusal = self.error_response(BulkError(error.code, message, error.status), as_json)
        refusal.headers.update(error.headers)
        return refusal

    def session_error(self, request: ApiRequest) -> ApiResponse:
        """The answer to a missing or expired session (400 InvalidSessionId)."""
        return self.error_response(BulkError("InvalidSessionId", "Invalid session id"),
                                   _wants_json(request))

    # ------------------------------------------------------------------ jobs
    def create_job(self, request: ApiRequest) -> ApiResponse:
        """``POST job``."""
        as_json = _wants_json(request)
        spec = _job_spec(request.raw_body, as_json)
        operation = spec.get("operation")
        if operation not in INGEST + QUERIES:
            raise BulkError("InvalidJob", f"Invalid operation: {operation}")
        obj = self.backend.catalog.sobject(str(spec.get("object") or ""))
        if obj is None:
            raise BulkError("InvalidJob", f"Unable to find object: {spec.get('object')}")
        content_type = str(spec.get("contentType") or "XML").upper()
        if content_type not in CONTENT_TYPES:
            raise BulkError("InvalidJob", f"Invalid content type: {spec.get('contentType')}")
        external_id = None
        if operation == "upsert":
            name = spec.get("externalIdFieldName")
            if not name:
                raise BulkError("InvalidJob", f"External ID was blank for {obj.name}. An "
                                "External ID must be specified for upsert.")
            try:
                external_id = self.backend.external_id_field(obj, str(name)).name
            except ApiError as error:
                raise BulkError("InvalidJob", error.errors[0]["message"]) from None
        mode = spec.get("concurrencyMode")
        concurrency = "Serial" if str(mode).lower() in {"serial", "1"} else "Parallel"
        stamp = _stamp(self.backend.now())
        with self.lock:
            self.sequence += 1
            job = Job(make_id("750", ID_OFFSET + self.sequence), operation, obj.name,
                      content_type, request.version, stamp, external_id, concurrency)
            self.jobs[job.id] = job
            return self._info(job.info(), "jobInfo", as_json or job.content_type == "JSON",
                              201)

    def job(self, request: ApiRequest) -> ApiResponse:
        """``GET job/{id}``."""
        job = self._job(request)
        with self.lock:
            return self._info(job.info(), "jobInfo", self._json(job, request))

    def update_job(self, request: ApiRequest) -> ApiResponse:
        """``POST job/{id}`` with ``state`` ``Closed`` or ``Aborted``."""
        job = self._job(request)
        spec = _job_spec(request.raw_body, _wants_json(request))
        wanted = spec.get("state")
        with self.lock:
            if wanted not in ("Closed", "Aborted"):
                raise BulkError("InvalidJobState", f"Invalid state: {wanted}")
            if job.state != "Open":
                raise BulkError("InvalidJobState",
                                f"Job {job.id} is {job.state}, it can't be {wanted}")
            job.state = wanted
            job.modstamp = _stamp(self.backend.now())
            return self._info(job.info(), "jobInfo", self._json(job, request))

    # ------------------------------------------------------------------ batches
    def add_batch(self, request: ApiRequest) -> ApiResponse:
        """``POST job/{id}/batch``: store the batch and run it."""
        job = self._job(request)
        with self.lock:
            if job.state != "Open":
                raise BulkError("InvalidJobState",
                                f"Job {job.id} is not open for new batches: {job.state}")
            self.sequence += 1
            stamp = _stamp(self.backend.now())
            batch = Batch(make_id("751", ID_OFFSET + self.sequence), job.id, stamp,
                          request.raw_body, request.header("Content-Type") or "")
            job.batches[batch.id] = batch
        started = time.perf_counter()
        if job.operation in QUERIES:
            self._run_query(job, batch)
        else:
            self._run_ingest(job, batch)
        with self.lock:
            batch.processing_ms = max(1, round((time.perf_counter() - started) * 1000))
            batch.modstamp = _stamp(self.backend.now())
            answer = self._info(batch.info(), "batchInfo", job.content_type == "JSON", 201)
            batch.polled = True
            return answer

    def batches(self, request: ApiRequest) -> ApiResponse:
        """``GET job/{id}/batch``."""
        job = self._job(request)
        with self.lock:
            infos = [batch.info() for batch in job.batches.values()]
            if self._json(job, request):
                return ApiResponse(200, {"batchInfo": infos})
            inner = "".join(_xml_fields("batchInfo", info) for info in infos)
            return _xml(f'<batchInfoList xmlns="{NS}">{inner}</batchInfoList>')

    def batch(self, request: ApiRequest) -> ApiResponse:
        """``GET job/{id}/batch/{bid}``."""
        job, batch = self._batch(request)
        with self.lock:
            return self._info(batch.info(), "batchInfo", self._json(job, request))

    def batch_request(self, request: ApiRequest) -> ApiResponse:
        """``GET .../batch/{bid}/request``: the batch as uploaded."""
        job, batch = self._batch(request)
        return ApiResponse(200, raw=batch.request, content_type=_media_type(job.content_type))

    def batch_result(self, request: ApiRequest) -> ApiResponse:
        """``GET .../batch/{bid}/result``: per-row results, or a query's result ids."""
        job, batch = self._batch(request)
        with self.lock:
            if batch.state == "Failed":
                raise BulkError("InvalidBatch", f"Batch {batch.id} failed: "
                                f"{batch.state_message}")
            if job.operation in QUERIES:
                ids = list(batch.results)
                if job.content_type == "JSON":
                    return ApiResponse(200, ids)
                inner = "".join(f"<result>{rid}</result>" for rid in ids)
                return _xml(f'<result-list xmlns="{NS}">{inner}</result-list>')
            return self._ingest_results(job, batch)

    def query_result(self, request: ApiRequest) -> ApiResponse:
        """``GET .../batch/{bid}/result/{rid}``: a query's records."""
        job, batch = self._batch(request)
        data = batch.results.get(normalize_id(request.args["result_id"]) or "")
        if data is None:
            raise BulkError("InvalidBatch", f"Invalid result id: {request.args['result_id']}")
        return ApiResponse(200, raw=data, content_type=_media_type(job.content_type))

    # ------------------------------------------------------------------ processing
    def _run_ingest(self, job: Job, batch: Batch) -> None:
        try:
            records = self._records(job, batch.request)
        except BulkError as error:
            self._fail(batch, f"{error.code} : {error.message}")
            return
        if len(records) > MAX_RECORDS:
            self._fail(batch, f"InvalidBatch : Records not processed: a batch can hold at most "
                       f"{MAX_RECORDS:,} records, this one has {len(records):,}")
            return
        obj = self.backend.sobject(job.sobject)
        for payload in records:
            batch.rows.append(self._one(job, obj, payload))
        batch.processed = len(batch.rows)
        batch.failed = sum(1 for row in batch.rows if not row[1])
        batch.state = "Completed"

    def _one(self, job: Job, obj: SObjectMeta, payload: Any) -> tuple[
            str | None, bool, bool, list[dict[str, Any]]]:
        given = None
        try:
            if isinstance(payload, RowError):
                raise payload
            values = self._resolve(obj, payload)
            given = _pop(dict(values), "Id")[1] if job.operation in (
                "update", "delete", "hardDelete") else None
            with self.backend.transaction():
                record_id, created = self._apply(job, obj, values)
            return record_id, True, created, []
        except RowError as error:
            errors = [getattr(error, "error", None) or {
                "errorCode": "INVALID_FIELD", "message": str(error), "fields": []}]
        except (RecordFailure, ApiError) as failure:
            errors = list(failure.errors)
        shown = normalize_id(str(given)) if given else None
        return shown, False, False, errors

    def _apply(self, job: Job, obj: SObjectMeta, values: dict[str, Any]) -> tuple[str, bool]:
        backend = self.backend
        if job.operation == "insert":
            return backend.create(obj.name, values), True
        if job.operation == "upsert":
            key = job.external_id or "Id"
            body, value = _pop(values, key)
            return backend.upsert(obj.name, key, value, body)
        body, record_id = _pop(values, "Id")
        if not record_id:
            verb = "an update" if job.operation == "update" else "a delete"
            raise RecordFailure([{"errorCode": "MISSING_ARGUMENT",
                                  "message": f"Id not specified in {verb} call", "fields": []}])
        record_id = normalize_id(str(record_id)) or str(record_id)
        return update_or_delete(backend, obj.name, job.operation, record_id, body)

    def _records(self, job: Job, data: bytes) -> list[Any]:
        """The batch's records: dicts of raw values (CSV/XML text, JSON values)."""
        if job.content_type == "JSON":
            try:
                records = json.loads(data or b"null")
            except ValueError as exc:
                raise BulkError("InvalidBatch", f"Failed to parse JSON: {exc}") from None
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise BulkError("InvalidBatch", "The batch must be a JSON array of records")
            return [{k: v for k, v in r.items() if k != "attributes"} for r in records]
        if job.content_type == "XML":
            return _xml_records(data)
        header, rows, problem = parse_csv(data, ",")
        if problem:
            raise BulkError("InvalidBatch", problem)
        obj = self.backend.sobject(job.sobject)
        columns = [self._column(obj, name) for name in header]
        return [self._csv_record(columns, row) for row in rows]

    def _column(self, obj: SObjectMeta, name: str) -> Column:
        if "." not in name:
            meta = obj.field(name)
            if meta is None:
                raise BulkError("InvalidBatch", f"Field name not found : {name}")
            return Column(name, meta=meta)
        relationship, _, key = name.partition(".")
        reference = obj.relationship(relationship)
        target = (self.backend.catalog.sobject(reference.reference_to[0])
                  if reference is not None and len(reference.reference_to) == 1 else None)
        key_meta = target.field(key) if target else None
        if key_meta is None or not (key_meta.external_id or key_meta.id_lookup):
            raise BulkError("InvalidBatch", f"Field name not found : {name}")
        return Column(name, reference=reference, target=target, key=key_meta)

    @staticmethod
    def _csv_record(columns: list[Column], row: list[str]) -> Any:
        if len(row) > len(columns):
            return RowError("INVALID_FIELD",
                            f"Row has {len(row)} columns but the header has {len(columns)}")
        record: dict[str, Any] = {}
        for column, text in zip(columns, row, strict=False):
            if text == "":
                continue
            value = None if text == NULL_MARKER else text
            if column.reference is not None:
                record[column.reference.relationship_name or column.name] = (
                    None if value is None else {column.key.name: value})
            else:
                record[column.meta.name] = value
        return record

    def _resolve(self, obj: SObjectMeta, record: dict[str, Any]) -> dict[str, Any]:
        """Raw values typed per describe; nested ``{Parent: {ExtId: v}}`` become lookups."""
        values: dict[str, Any] = {}
        for name, given in record.items():
            raw = given
            if isinstance(raw, dict):
                reference = obj.relationship(name)
                if reference is None:
                    raise _row_error("INVALID_FIELD",
                                     f"No such relation '{name}' on entity '{obj.name}'")
                values[reference.name] = self._lookup(reference, raw)
                continue
            meta = obj.field(name)
            if isinstance(raw, str) and meta is not None and meta.type not in (
                    "string", "textarea", "email", "url", "phone", "picklist",
                    "multipicklist", "combobox", "id", "reference"):
                try:
                    raw = typed_value(meta, raw)
                except RowError:
                    raise _row_error("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                     f"{meta.label}: value not of required type: {raw}",
                                     [meta.name]) from None
            values[name] = raw
        return values

    def _lookup(self, reference: FieldMeta, key: dict[str, Any]) -> str | None:
        target = self.backend.catalog.sobject(reference.reference_to[0])
        pairs = [(k, v) for k, v in key.items() if k != "attributes"]
        if target is None or len(pairs) != 1:
            raise _row_error("INVALID_FIELD", f"Invalid foreign key for {reference.name}")
        name, value = pairs[0]
        meta = target.field(name)
        if meta is None or not (meta.external_id or meta.id_lookup):
            raise _row_error("INVALID_FIELD", f"Field name not found : {name}")
        if value is None:
            return None
        with self.backend.lock:
            ids = self.backend.find_ids(target, meta, value)
        if len(ids) != 1:
            detail = "not found" if not ids else "matches more than one record"
            raise _row_error("INVALID_FIELD", f"Foreign key external ID: {value} {detail} for "
                             f"field {meta.name} in entity {target.name}")
        return ids[0]

    def _run_query(self, job: Job, batch: Batch) -> None:
        text = batch.request.decode("utf-8", errors="replace").strip()
        try:
            with self.backend.lock:
                parsed, paths = soql.select_paths(self.backend.catalog, text)
            if parsed.count is not None or parsed.subqueries:
                self._fail(batch, "FeatureNotEnabled : Aggregate Relationships not supported "
                           "in Bulk Query" if parsed.subqueries else
                           "FeatureNotEnabled : Aggregate queries not supported in Bulk Query")
                return
            if parsed.sobject.lower() != job.sobject.lower():
                self._fail(batch, f"InvalidBatch : Failed to process query: the query's object "
                           f"{parsed.sobject} is not the job's object {job.sobject}")
                return
            page = self.backend.query(text, include_deleted=job.operation == "queryAll")
            records = list(page["records"])
            while not page["done"]:
                page = self.backend.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1])
                records += page["records"]
        except soql.SoqlError as exc:
            self._fail(batch, f"InvalidBatch : Failed to process query: {exc.error_code}: "
                       f"{exc.message}")
            return
        except ApiError as error:
            first = error.errors[0]
            self._fail(batch, f"InvalidBatch : Failed to process query: "
                       f"{first.get('errorCode')}: {first.get('message')}")
            return
        with self.lock:
            self.sequence += 1
            result_id = make_id("752", ID_OFFSET + self.sequence)
        batch.results[result_id] = _query_data(job, paths, records)
        batch.processed = len(records)
        batch.state = "Completed"

    @staticmethod
    def _fail(batch: Batch, message: str) -> None:
        batch.state, batch.state_message = "Failed", message

    def _ingest_results(self, job: Job, batch: Batch) -> ApiResponse:
        if job.content_type == "JSON":
            return ApiResponse(200, [
                {"success": ok, "created": created, "id": record_id,
                 "errors": [{"statusCode": e.get("errorCode"), "message": e.get("message"),
                             "fields": e.get("fields") or []} for e in errors]}
                for record_id, ok, created, errors in batch.rows])
        if job.content_type == "CSV":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
            writer.writerow(["Id", "Success", "Created", "Error"])
            for record_id, ok, created, errors in batch.rows:
                error = format_row_error(errors[0]) if errors else ""
                writer.writerow([record_id or "", str(ok).lower(), str(created).lower(), error])
            return ApiResponse(200, raw=buffer.getvalue().encode("utf-8"),
                               content_type="text/csv;charset=UTF-8")
        parts = []
        for record_id, ok, created, errors in batch.rows:
            inner = f"<id>{record_id}</id>" if record_id else ""
            for error in errors:
                fields = "".join(f"<fields>{escape(f)}</fields>" for f in error.get("fields")
                                 or [])
                inner += (f"<errors>{fields}<message>{escape(str(error.get('message')))}"
                          f"</message><statusCode>{escape(str(error.get('errorCode')))}"
                          "</statusCode></errors>")
            inner += f"<success>{str(ok).lower()}</success>"
            inner += f"<created>{str(created).lower()}</created>"
            parts.append(f"<result>{inner}</result>")
        return _xml(f'<results xmlns="{NS}">{"".join(parts)}</results>')

    # ------------------------------------------------------------------ lookups
    def _job(self, request: ApiRequest) -> Job:
        with self.lock:
            job = self.jobs.get(normalize_id(request.args["job_id"]) or "")
        if job is None:
            raise BulkError("InvalidJob", f"Invalid job id: {request.args['job_id']}")
        return job

    def _batch(self, request: ApiRequest) -> tuple[Job, Batch]:
        job = self._job(request)
        batch = job.batches.get(normalize_id(request.args["batch_id"]) or "")
        if batch is None:
            raise BulkError("InvalidBatch", f"Invalid batch id: {request.args['batch_id']}")
        return job, batch

    @staticmethod
    def _json(job: Job, request: ApiRequest) -> bool:
        """JSON for a JSON job; else JSON only for a JSON ``jobInfo`` body (reads are XML).

        Clients send ``Content-Type: application/json`` on every call (singer-io's
        tap-salesforce does, and parses the BatchInfo of its CSV jobs as XML).
        """
        return job.content_type == "JSON" or (request.method == "POST" and _wants_json(request))

    @staticmethod
    def _info(info: dict[str, Any], tag: str, as_json: bool, status: int = 200) -> ApiResponse:
        if as_json:
            return ApiResponse(status, info)
        return _xml(_xml_fields(tag, info, NS), status)


# ---------------------------------------------------------------------- helpers
def _wants_json(request: ApiRequest) -> bool:
    return "json" in (request.header("Content-Type") or "").lower()


def _media_type(content_type: str) -> str:
    return {"JSON": "application/json", "CSV": "text/csv"}.get(
        content_type, "application/xml") + ";charset=UTF-8"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def _pop(values: dict[str, Any], name: str) -> tuple[dict[str, Any], Any]:
    """``values`` without the field ``name`` (any case), and that field's value."""
    found = next((key for key in values if key.lower() == name.lower()), None)
    value = values.pop(found) if found is not None else None
    return values, value


def _row_error(code: str, message: str, fields: list[str] | None = None) -> RowError:
    error = RowError(code, message, fields)
    error.error = {"errorCode": code, "message": message, "fields": list(fields or [])}
    return error


def _xml(body: str, status: int = 200) -> ApiResponse:
    return ApiResponse(status, raw=('<?xml version="1.0" encoding="UTF-8"?>' + body)
                       .encode("utf-8"), content_type="application/xml;charset=UTF-8")


def _xml_fields(tag: str, info: dict[str, Any], namespace: str | None = None) -> str:
    attribute = f' xmlns="{namespace}"' if namespace else ""
    inner = "".join(f"<{key}>{escape(_text(value))}</{key}>" for key, value in info.items())
    return f"<{tag}{attribute}>{inner}</{tag}>"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _job_spec(data: bytes, as_json: bool) -> dict[str, Any]:
    """A ``jobInfo`` request body (XML or JSON) as a dict."""
    if as_json:
        try:
            spec = json.loads(data or b"null")
        except ValueError:
            raise BulkError("InvalidJob", "Unable to parse the JSON job definition") from None
        if not isinstance(spec, dict):
            raise BulkError("InvalidJob", "The job definition must be a JSON object")
        return spec
    try:
        root = ET.fromstring(data)  # noqa: S314 - input is a local test client's request
    except ET.ParseError:
        raise BulkError("InvalidXML", "Unable to parse the jobInfo XML") from None
    return {_local(child.tag): (child.text or "").strip() for child in root}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_records(data: bytes) -> list[Any]:
    try:
        root = ET.fromstring(data)  # noqa: S314 - input is a local test client's request
    except ET.ParseError:
        raise BulkError("InvalidBatch", "Unable to parse the sObjects XML") from None
    return [_xml_record(element) for element in root if _local(element.tag) == "sObject"]


def _xml_record(element: ET.Element) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if name == "type":
            continue
        if child.get(f"{{{XSI}}}nil") == "true":
            record[name] = None
        elif len(child):
            record[name] = {_local(g.tag): g.text for g in child if _local(g.tag) != "type"}
        else:
            record[name] = child.text or ""
    return record


def _query_data(job: Job, paths: list[tuple[str, str]], records: list[dict[str, Any]]) -> bytes:
    """A query result in the job's content type."""
    if job.content_type == "CSV":
        header, rows = csv_lines(paths, records, ",", "\n")
        return ((header + "".join(rows)) if records else "Records not found for this query"
                ).encode("utf-8")
    if job.content_type == "JSON":
        for record in records:
            for path, kind in paths:
                if kind in ("date", "datetime"):
                    _epoch(record, path.split("."))
        return json.dumps(records).encode("utf-8")
    inner = "".join(_xml_sobject("records", record) for record in records)
    return (f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NS}" '
            f'xmlns:xsi="{XSI}">{inner}</queryResult>').encode()


def _epoch(record: dict[str, Any], keys: list[str]) -> None:
    """Bulk 1.0 JSON renders dates and datetimes as epoch milliseconds."""
    container: Any = record
    for key in keys[:-1]:
        container = container.get(key) if isinstance(container, dict) else None
    value = container.get(keys[-1]) if isinstance(container, dict) else None
    if not isinstance(value, str):
        return
    text = value if "T" in value else f"{value}T00:00:00.000+0000"
    moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    container[keys[-1]] = int(moment.timestamp() * 1000)


def _xml_sobject(tag: str, record: dict[str, Any]) -> str:
    kind = (record.get("attributes") or {}).get("type", "")
    inner = f"<type>{escape(kind)}</type>"
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            inner += _xml_sobject(key, value)
        elif value is None:
            inner += f'<{key} xsi:nil="true"/>'
        else:
            inner += f"<{key}>{escape(_text(value))}</{key}>"
    return f'<{tag} xsi:type="sObject">{inner}</{tag}>'
