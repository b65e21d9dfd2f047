"""REST handlers: read the request, call the backend, render Salesforce JSON and errors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aimdoc_emulators.salesforce.bulk import BulkIngest
from aimdoc_emulators.salesforce.duplicates import DuplicateHeader
from aimdoc_emulators.salesforce.errors import (
    ApiError,
    RecordFailure,
    as_collection_error,
    json_parser_error,
    not_found,
    record_error,
)
from aimdoc_emulators.salesforce.models import PAGE_SIZE, WriteOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from aimdoc_emulators.salesforce.faults import FaultInjector
    from aimdoc_emulators.salesforce.limits import ApiLimits
    from aimdoc_emulators.salesforce.models import SalesforceBackend

COLLECTION_LIMIT = 200
ROLLED_BACK = record_error(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
    [],
)


@dataclass
class ApiRequest:
    """One REST call, parsed: path arguments, query parameters, JSON body, headers, raw bytes."""

    method: str
    version: str
    args: dict[str, str]
    params: dict[str, str]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def allow_duplicates(self) -> bool:
        """``Sforce-Duplicate-Rule-Header: allowSave=true`` (``;``-separated, any case)."""
        return self.duplicate_header.allow_save

    @property
    def duplicate_header(self) -> DuplicateHeader:
        """``Sforce-Duplicate-Rule-Header``, parsed."""
        return DuplicateHeader.parse(self.header("Sforce-Duplicate-Rule-Header"))

    def write_options(self) -> WriteOptions:
        """The duplicate-rule and assignment-rule headers, and the API version."""
        return WriteOptions(self.duplicate_header, self.header("Sforce-Auto-Assign"),
                            self.version)


@dataclass
class ApiResponse:
    """A status, a JSON body (None for an empty body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json;charset=UTF-8"


def error_response(error: ApiError) -> ApiResponse:
    """An ApiError as the real service renders it."""
    return ApiResponse(error.status, error.errors, dict(error.headers))


class SalesforceResponses:
    """The REST resources; each handler takes an ApiRequest and returns an ApiResponse."""

    def __init__(
        self, backend: SalesforceBackend, limits: ApiLimits, faults: FaultInjector
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.faults = faults
        self.bulk = BulkIngest(backend, faults)

    def handle(self, handler: str, request: ApiRequest) -> ApiResponse:
        """Run a handler, turning ApiError and RecordFailure into error responses."""
        try:
            return getattr(self, handler)(request)
        except ApiError as error:
            return error_response(error)
        except RecordFailure as failure:
            return ApiResponse(failure.status, failure.errors)

    def method_not_allowed(self, request: ApiRequest) -> ApiResponse:
        """405 for a known path and the wrong method."""
        raise ApiError.of(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. "
        )

    # ---------------------------------------------------------------- resources
    def describe_global(self, request: ApiRequest) -> ApiResponse:
        """Global describe."""
        return ApiResponse(200, self.backend.describe_global(request.version))

    def describe(self, request: ApiRequest) -> ApiResponse:
        """Per-object describe."""
        return ApiResponse(200, self.backend.describe(request.args["sobject"], request.version))

    def sobject_info(self, request: ApiRequest) -> ApiResponse:
        """``GET /sobjects/{Type}``: basic information."""
        obj = self.backend.sobject(request.args["sobject"])
        return ApiResponse(200, {"objectDescribe": obj.summary(request.version),
                                 "recentItems": []})

    def org_limits(self, _request: ApiRequest) -> ApiResponse:
        """``GET /limits``."""
        return ApiResponse(200, self.limits.payload())

    # ---------------------------------------------------------------- single records
    def create(self, request: ApiRequest) -> ApiResponse:
        """``POST /sobjects/{Type}`` -> 201."""
        body = self._object_body(request)
        record_id = self.backend.create(
            request.args["sobject"], body, options=request.write_options()
        )
        return ApiResponse(
            201, {"id": record_id, "success": True, "errors": []},
            {"Location": self._url(request, record_id)},
        )

    def retrieve(self, request: ApiRequest) -> ApiResponse:
        """``GET /sobjects/{Type}/{Id}`` (``?fields=``)."""
        fields = request.params.get("fields")
        record = self.backend.get(
            request.args["sobject"], request.args["record_id"],
            fields.split(",") if fields else None, version=request.version,
        )
        return ApiResponse(200, record)

    def blob(self, request: ApiRequest) -> ApiResponse:
        """A base64 field's content, e.g. ``/sobjects/ContentNote/{Id}/Content``."""
        if request.args["blob_field"].lower() != "content":
            raise not_found()
        data = self.backend.note_content(request.args["record_id"])
        return ApiResponse(200, raw=data, content_type="text/plain;charset=UTF-8")

    def update(self, request: ApiRequest) -> ApiResponse:
        """``PATCH /sobjects/{Type}/{Id}`` -> 204."""
        self.backend.update(
            request.args["sobject"], request.args["record_id"], self._object_body(request),
            options=request.write_options(),
        )
        return ApiResponse(204)

    def delete(self, request: ApiRequest) -> ApiResponse:
        """``DELETE /sobjects/{Type}/{Id}`` -> 204."""
        self.backend.delete(request.args["sobject"], request.args["record_id"])
        return ApiResponse(204)

    def _external_ids(self, request: ApiRequest) -> tuple[str, list[str]]:
        obj = self.backend.sobject(request.args["sobject"])
        meta = obj.field(request.args["field"])
        if meta is None or not (meta.external_id or meta.id_lookup):
            raise not_found()
        value = unquote(request.args["value"])
        return value, self.backend.find_ids(obj, meta, value)

    def retrieve_external(self, request: ApiRequest) -> ApiResponse:
        """``GET /sobjects/{Type}/{Field}/{Value}``: 200, or 300 with the candidates."""
        _, ids = self._external_ids(request)
        if not ids:
            raise not_found()
        if len(ids) > 1:
            return ApiResponse(300, [self._url(request, i) for i in ids])
        return ApiResponse(200, self.backend.get(request.args["sobject"], ids[0],
                                                 version=request.version))

    def delete_external(self, request: ApiRequest) -> ApiResponse:
        """``DELETE /sobjects/{Type}/{Field}/{Value}``."""
        _, ids = self._external_ids(request)
        if not ids:
            raise not_found()
        if len(ids) > 1:
            return ApiResponse(300, [self._url(request, i) for i in ids])
        self.backend.delete(request.args["sobject"], ids[0])
        return ApiResponse(204)

    def upsert(self, request: ApiRequest) -> ApiResponse:
        """``PATCH /sobjects/{Type}/{Field}/{Value}``: 201 created, 200 updated, 300 ambiguous."""
        value, ids = self._external_ids(request)
        if len(ids) > 1:
            return ApiResponse(300, [self._url(request, i) for i in ids])
        body = self._object_body(request)
        field_name = request.args["field"]
        if any(key.lower() in {field_name.lower(), "id"} for key in body):
            raise ApiError.of(
                400, "INVALID_FIELD",
                f"The {field_name} field should not be specified in the sobject data.",
            )
        record_id, created = self.backend.upsert(
            request.args["sobject"], field_name, value, body,
            options=request.write_options(),
        )
        return ApiResponse(
            201 if created else 200,
            {"id": record_id, "success": True, "errors": [], "created": created},
        )

    # ---------------------------------------------------------------- collections
    def collections_create(self, request: ApiRequest) -> ApiResponse:
        """``POST /composite/sobjects``: create up to 200 records, results in order."""
        records, all_or_none = self._collection_body(request)
        options = request.write_options()

        def create(record: dict[str, Any]) -> dict[str, Any]:
            if record.get("id") or record.get("Id"):
                raise RecordFailure([record_error(
                    "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                )])
            record_id = self.backend.create(self._record_type(record), record, options=options)
            return {"id": record_id, "success": True, "errors": []}

        return self._run_collection(records, all_or_none, create, "insert")

    def collections_update(self, request: ApiRequest) -> ApiResponse:
        """``PATCH /composite/sobjects``: update records carrying ``id``."""
        records, all_or_none = self._collection_body(request)
        options = request.write_options()

        def update(record: dict[str, Any]) -> dict[str, Any]:
            record_id = record.get("id") or record.get("Id")
            if not record_id:
                raise RecordFailure([record_error(
                    "MISSING_ARGUMENT", "Id not specified in an update call", []
                )])
            body = {k: v for k, v in record.items() if k not in {"id", "Id"}}
            self.backend.update(self._record_type(record), record_id, body, options=options)
            return {"id": self._id18(record_id), "success": True, "errors": []}

        return self._run_collection(records, all_or_none, update, "update")

    def collections_upsert(self, request: ApiRequest) -> ApiResponse:
        """``PATCH /composite/sobjects/{Type}/{Field}``: upsert by an external id."""
        records, all_or_none = self._collection_body(request)
        obj = self.backend.sobject(request.args["sobject"])
        meta = self.backend.external_id_field(obj, request.args["field"])
        keys = [self._key_value(record, meta.name) for record in records]
        folded = Counter(k.casefold() for k in keys if k)
        repeated = {k for k, n in folded.items() if n > 1}
        options = request.write_options()

        def upsert(record: dict[str, Any]) -> dict[str, Any]:
            if self._record_type(record).lower() != obj.name.lower():
                raise RecordFailure([record_error(
                    "INVALID_FIELD", f"Record type must be {obj.name} in this call", []
                )])
            value = self._key_value(record, meta.name)
            if value and value.casefold() in repeated:
                raise RecordFailure([record_error(
                    "DUPLICATE_VALUE", f"Duplicate external id specified: {value}", [meta.name]
                )])
            body = {k: v for k, v in record.items() if k.lower() != meta.name.lower()}
            record_id, created = self.backend.upsert(obj.name, meta.name, value, body,
                                                     options=options)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return self._run_collection(records, all_or_none, upsert, "upsert")

    def collections_delete(self, request: ApiRequest) -> ApiResponse:
        """``DELETE /composite/sobjects?ids=…&allOrNone=…``."""
        ids = [i for i in request.params.get("ids", "").split(",") if i]
        if len(ids) > COLLECTION_LIMIT:
            raise self._too_many()
        all_or_none = request.params.get("allOrNone", "false").lower() == "true"

        def delete(record_id: str) -> dict[str, Any]:
            obj = self.backend.catalog.by_prefix(record_id[:3])
            if obj is None:
                raise RecordFailure([record_error("MALFORMED_ID", "malformed id " + record_id)])
            self.backend.delete(obj.name, record_id)
            return {"id": self._id18(record_id), "success": True, "errors": []}

        return self._run_collection(ids, all_or_none, delete, "delete")

    def collections_retrieve(self, request: ApiRequest) -> ApiResponse:
        """``GET /composite/sobjects/{Type}?ids=…&fields=…`` (also POST with a JSON body)."""
        source = request.body if isinstance(request.body, dict) else request.params
        ids = source.get("ids") or []
        fields = source.get("fields") or []
        ids = ids.split(",") if isinstance(ids, str) else ids
        fields = fields.split(",") if isinstance(fields, str) else fields
        if not fields:
            raise ApiError.of(400, "MISSING_ARGUMENT", "fields not specified")
        results = []
        for record_id in ids:
            try:
                results.append(self.backend.get(request.args["sobject"], record_id, fields,
                                                version=request.version))
            except ApiError:
                results.append(None)
        return ApiResponse(200, results)

    def _run_collection(
        self,
        items: list[Any],
        all_or_none: bool,
        operation: Callable[[Any], dict[str, Any]],
        kind: str,
    ) -> ApiResponse:
        results: list[dict[str, Any]] = []
        try:
            with self.backend.transaction(), self.backend.dupes.batch():
                for item in items:
                    results.append(self._one(item, operation, kind))
                if all_or_none and any(not r["success"] for r in results):
                    raise _RollBack
        except _RollBack:
            results = [r if not r["success"] else {
                "id": None, "success": False, "errors": [as_collection_error(ROLLED_BACK)],
            } for r in results]
            for result in results:
                result.pop("id", None) if result.get("id") is None else None
        return ApiResponse(200, results)

    def _one(
        self, item: Any, operation: Callable[[Any], dict[str, Any]], kind: str
    ) -> dict[str, Any]:
        injected = self.faults.for_record(kind, item)
        if injected is not None:
            return {"success": False, "errors": [as_collection_error(injected)]}
        try:
            with self.backend.record_operation():
                return operation(item)
        except RecordFailure as failure:
            result: dict[str, Any] = {
                "success": False,
                "errors": [self._collection_error(e) for e in failure.errors],
            }
            record_id = item.get("id") if isinstance(item, dict) else item
            if record_id and kind in {"update", "delete"}:
                result = {"id": self._id18(record_id), **result}
            return result

    def _collection_error(self, error: dict[str, Any]) -> dict[str, Any]:
        """A per-record error as Collections render it (no duplicate result, ``statusCode``)."""
        rendered = as_collection_error(error)
        for key in ("duplicateResut", "duplicateResult", self.backend.duplicate_key):
            rendered.pop(key, None)
        return rendered

    # ---------------------------------------------------------------- query
    def query(self, request: ApiRequest) -> ApiResponse:
        """``GET /query?q=``."""
        return self._query(request, include_deleted=False)

    def query_all(self, request: ApiRequest) -> ApiResponse:
        """``GET /queryAll?q=``: deleted rows too."""
        return self._query(request, include_deleted=True)

    def query_more(self, request: ApiRequest) -> ApiResponse:
        """``GET /query/{locator}-{offset}``."""
        page = self.backend.query_more(request.args["locator"], self._batch_size(request))
        return ApiResponse(200, page)

    def _query(self, request: ApiRequest, *, include_deleted: bool) -> ApiResponse:
        text = request.params.get("q")
        if not text:
            raise ApiError.of(400, "MALFORMED_QUERY", "A query string has to be specified")
        page = self.backend.query(
            text, include_deleted=include_deleted, batch_size=self._batch_size(request),
            version=request.version,
        )
        return ApiResponse(200, page)

    @staticmethod
    def _batch_size(request: ApiRequest) -> int:
        options = request.header("Sforce-Query-Options") or ""
        for part in options.split(","):
            name, _, value = part.partition("=")
            if name.strip().lower() == "batchsize" and value.strip().isdigit():
                return int(value)
        return PAGE_SIZE

    # ---------------------------------------------------------------- bulk API 2.0 ingest
    def bulk_create(self, request: ApiRequest) -> ApiResponse:
        """``POST /jobs/ingest``: 200 + JobInfo (state Open)."""
        return ApiResponse(200, self.bulk.create(request.body, request.version))

    def bulk_list(self, request: ApiRequest) -> ApiResponse:
        """``GET /jobs/ingest``: every ingest job."""
        return ApiResponse(200, self.bulk.listing(request.params, request.version))

    def bulk_job(self, request: ApiRequest) -> ApiResponse:
        """``GET /jobs/ingest/{id}``: JobInfo with the processing figures."""
        return ApiResponse(200, self.bulk.info(request.args["job_id"]))

    def bulk_state(self, request: ApiRequest) -> ApiResponse:
        """``PATCH /jobs/ingest/{id}``: ``UploadComplete`` or ``Aborted``."""
        return ApiResponse(200, self.bulk.set_state(request.args["job_id"], request.body))

    def bulk_delete(self, request: ApiRequest) -> ApiResponse:
        """``DELETE /jobs/ingest/{id}`` -> 204."""
        self.bulk.delete(request.args["job_id"])
        return ApiResponse(204)

    def bulk_upload(self, request: ApiRequest) -> ApiResponse:
        """``PUT /jobs/ingest/{id}/batches`` (CSV) -> exactly 201, empty body."""
        self.bulk.upload(request.args["job_id"], request.raw_body)
        return ApiResponse(201)

    def bulk_results(self, request: ApiRequest) -> ApiResponse:
        """``successfulResults`` / ``failedResults`` / ``unprocessedRecords`` (any case): CSV."""
        data = self.bulk.results(request.args["job_id"], request.args["result_type"])
        return ApiResponse(200, raw=data, content_type="text/csv")

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _object_body(request: ApiRequest) -> dict[str, Any]:
        if not isinstance(request.body, dict):
            raise json_parser_error(
                "Cannot deserialize instance of SObject from START_ARRAY value at "
                "[line:1, column:1]"
            )
        return request.body

    def _collection_body(self, request: ApiRequest) -> tuple[list[dict[str, Any]], bool]:
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise json_parser_error("Unrecognized or missing field: records at [line:1, column:1]")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise self._too_many()
        for record in records:
            if not isinstance(record, dict):
                raise json_parser_error("Cannot deserialize instance of SObject at [line:1]")
            self._record_type(record)
        return records, bool(body.get("allOrNone", False))

    @staticmethod
    def _too_many() -> ApiError:
        return ApiError.of(
            400, "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )

    def _record_type(self, record: dict[str, Any]) -> str:
        attributes = record.get("attributes")
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        if not type_name:
            raise ApiError.of(400, "INVALID_TYPE", "No SObject Type defined in the Record.")
        if self.backend.catalog.sobject(type_name) is None:
            raise ApiError.of(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        return type_name

    @staticmethod
    def _key_value(record: dict[str, Any], field_name: str) -> str | None:
        for key, value in record.items():
            if key.lower() == field_name.lower():
                return None if value is None else str(value)
        return None

    @staticmethod
    def _id18(record_id: str) -> str:
        from aimdoc_emulators.salesforce.ids import normalize_id

        return normalize_id(record_id) or record_id

    def _url(self, request: ApiRequest, record_id: str) -> str:
        return f"/services/data/v{request.version}/sobjects/{request.args['sobject']}/{record_id}"


class _RollBack(Exception):
    """Raised inside a collection's transaction to undo it (allOrNone)."""
