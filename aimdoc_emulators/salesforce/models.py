"""SalesforceBackend: the emulated org's records and operations; no HTTP here.

Every public method runs under one lock, so the threaded server sees a serial org, and raises
``ApiError`` (whole call) or ``RecordFailure`` (one record) as the real service would answer.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimdoc_emulators.salesforce import soql, store
from aimdoc_emulators.salesforce.assignment import (
    DEFAULT_QUEUES,
    DEFAULT_RULE,
    ENTERPRISE_AE,
    AssignmentRules,
    extend_catalog,
)
from aimdoc_emulators.salesforce.duplicates import (
    DuplicateHeader,
    DuplicateManager,
    DuplicatesFound,
    duplicate_error,
    extend_address_fields,
)
from aimdoc_emulators.salesforce.errors import (
    ApiError,
    RecordFailure,
    not_found,
    printable,
    record_error,
)
from aimdoc_emulators.salesforce.ids import ADMIN_ID_18, USER_ID_18, make_id, normalize_id
from aimdoc_emulators.salesforce.metadata import Catalog, FieldMeta, SObjectMeta
from aimdoc_emulators.salesforce.validation import (
    RecordValidator,
    decode_note_content,
    format_datetime,
    note_text_preview,
)

PAGE_SIZE = 2000
ORGS = ("default", "bare")


@dataclass(frozen=True)
class WriteOptions:
    """What a write request's headers ask for.

    ``duplicates``: ``Sforce-Duplicate-Rule-Header``; ``auto_assign``: ``Sforce-Auto-Assign``
    (None when absent, which REST reads as TRUE); ``api_version``: the request's version, for
    the URLs in answers. REST handlers build these from the request; Python callers of the
    backend (Bulk jobs, helpers) get ``DEFAULT_OPTIONS``: duplicate rules as a request without
    the header, and no assignment rule (as Bulk without ``assignmentRuleId``).
    """

    duplicates: DuplicateHeader = field(default_factory=DuplicateHeader)
    auto_assign: str | None = None
    api_version: str | None = None


@dataclass
class ObjectPlan:
    """What writes of one object need from its metadata, built once per metadata revision."""

    obj: SObjectMeta
    revision: int
    validator: RecordValidator
    defaults: dict[str, Any]
    references: frozenset[str]
    person_name: bool


@dataclass
class QueryCursor:
    """Rows of a query not yet returned, keyed by its locator."""

    sobject: str
    records: list[dict[str, Any]]
    total_size: int
    api_version: str = "59.0"


@dataclass
class Counters:
    """Record-level write counts, for the admin stats."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    by_object: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, sobject: str, kind: str) -> None:
        """Count one record written."""
        setattr(self, kind, getattr(self, kind) + 1)
        per = self.by_object.setdefault(sobject, {"created": 0, "updated": 0, "deleted": 0})
        per[kind] += 1


class SalesforceBackend:
    """All state of the emulated org: SQLite records, metadata, cursors, duplicate rules."""

    def __init__(
        self,
        *,
        db_path: str = ":memory:",
        api_version: str = "59.0",
        seed_file: str | Path | None = None,
        org: str = "default",
    ) -> None:
        self.db_path = db_path
        self.api_version = api_version
        self.seed_file = Path(seed_file) if seed_file else None
        self.org = _org(org)
        self.lock = threading.RLock()
        self.conn = store.connect(db_path)
        self.reset()

    # ----------------------------------------------------------------- lifecycle
    def reset(self, org: str | None = None) -> None:
        """Empty the org and re-apply the seed file.

        ``org``: ``default`` (a new org of today: the standard duplicate rules and one active
        Lead assignment rule) or ``bare`` (neither); kept for later resets.
        """
        with self.lock:
            if org is not None:
                self.org = _org(org)
            for (name,) in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall():
                self.conn.execute(f'DROP TABLE "{name}"')
            self.catalog = Catalog()
            extend_address_fields(self.catalog)
            extend_catalog(self.catalog)
            self.plans: dict[str, ObjectPlan] = {}
            self.insert_sql: dict[tuple[str, ...], str] = {}
            self.last_note: tuple[str, str] | None = None
            self.sequences: dict[str, int] = {}
            self.cursors: dict[str, QueryCursor] = {}
            self.counters = Counters()
            self.duplicate_key = "duplicateResut"
            self.dupes = DuplicateManager(self._match_rows, self._account_name)
            self.assignment = AssignmentRules(self._store_system_row, self._resolve_owner,
                                              self._next_sequence)
            store.create_schema(self.conn, self.catalog)
            user = self.catalog.sobject("User")
            self._insert_row(user, self._system_audit() | {
                "Id": USER_ID_18, "Username": "demo@example.com", "LastName": "Emulator",
                "FirstName": "Demo", "Name": "Demo Emulator", "Email": "demo@example.com",
                "IsActive": 1})
            self._insert_row(user, self._system_audit() | {
                "Id": ADMIN_ID_18, "Username": "admin@example.com", "LastName": "Admin",
                "FirstName": "Org", "Name": "Org Admin", "Email": "admin@example.com",
                "IsActive": 1})
            if self.org == "default":
                self._default_org()
            if self.seed_file:
                self.seed(json.loads(self.seed_file.read_text(encoding="utf-8")))

    def _default_org(self) -> None:
        """What a new org of today has: standard duplicate rules, a Lead assignment rule."""
        self.dupes.use_standard_rules()
        self._store_system_row("User", {
            "Id": make_id("005", self._next_sequence("005")), **ENTERPRISE_AE})
        for name in DEFAULT_QUEUES:
            self._store_system_row("Group", {
                "Id": make_id("00G", self._next_sequence("00G")), "Name": name,
                "DeveloperName": name.replace(" ", "_"), "Type": "Queue"})
        self.assignment.define(DEFAULT_RULE)

    def _system_audit(self) -> dict[str, Any]:
        """Audit fields of records the org came with (made by its admin)."""
        stamp = format_datetime(self.now())
        return {"CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp,
                "CreatedById": ADMIN_ID_18, "LastModifiedById": ADMIN_ID_18, "IsDeleted": 0}

    def _store_system_row(self, type_name: str, row: dict[str, Any]) -> None:
        """Insert or replace a setup record (User, Group, AssignmentRule)."""
        obj = self.catalog.sobject(type_name)
        existing = self._select_by_id(obj, row["Id"], '"CreatedDate"')
        audit = self._system_audit()
        if existing is None:
            self._insert_row(obj, audit | row)
        else:
            audit.pop("CreatedDate")
            self._write_row(obj, audit | row)

    def _resolve_owner(self, name: str) -> str | None:
        """A user or queue by id, queue name or username."""
        normalized = normalize_id(name)
        for type_name, column in (("Group", "Name"), ("User", "Username")):
            obj = self.catalog.sobject(type_name)
            if normalized and normalized.startswith(obj.key_prefix):
                found = self._select_by_id(obj, normalized, '"Id"')
            else:
                found = self.conn.execute(
                    f'SELECT "Id" FROM "{obj.name}" WHERE "{column}" = ? AND "IsDeleted" = 0',
                    (name,)).fetchone()
            if found:
                return found[0]
        return None

    def _match_rows(self, type_name: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Live records for a match index (converted Leads are not candidates)."""
        obj = self.catalog.sobject(type_name)
        columns = ", ".join(f'"{name}"' for name in ["Id", *fields] if obj.field(name))
        extra = ' AND "IsConverted" = 0' if obj.name == "Lead" else ""
        for row in self.conn.execute(
                f'SELECT {columns} FROM "{obj.name}" WHERE "IsDeleted" = 0{extra}'):
            yield dict(row)

    def _account_name(self, account_id: Any) -> Any:
        if not account_id:
            return None
        found = self._select_by_id(self.catalog.sobject("Account"), str(account_id), '"Name"')
        return found[0] if found else None

    def seed(self, data: dict[str, Any]) -> dict[str, list[str]]:
        """Apply ``{"org", "metadata", "duplicate_rules", "assignment_rules", "records"}``.

        ``"org": "bare"`` (or ``"default"``) first resets the org to that profile (keeping it
        for later resets); ``duplicate_rules`` and ``assignment_rules`` take what the admin
        calls take (docs/emulator-duplicate-rules.md).

        Seed records bypass createable checks (so IsConverted, ConvertedContactId or Id can be
        set) but not types; a record may carry ``"Id"``. Seeded records are created and owned
        by the org's admin user, not the API user logins run as (as pre-existing data is).
        Returns the ids created per object.
        """
        with self.lock:
            if data.get("org") and (_org(data["org"]) != self.org or data.get("reset")):
                seed_file, self.seed_file = self.seed_file, None
                try:
                    self.reset(data["org"])
                finally:
                    self.seed_file = seed_file
            if data.get("metadata"):
                self.catalog.extend(data["metadata"])
                store.create_schema(self.conn, self.catalog)
                self.dupes.invalidate()
            created: dict[str, list[str]] = {}
            for type_name, rows in data.get("records", {}).items():
                obj = self.sobject(type_name)
                created[obj.name] = [self._seed_record(obj, row) for row in rows]
            if data.get("duplicate_rules"):
                self.configure_duplicate_rules(data["duplicate_rules"])
            if data.get("assignment_rules"):
                self.assignment.configure(data["assignment_rules"])
            self.dupes.invalidate()
            return created

    def set_duplicate_rule(self, sobject: str, **options: Any) -> None:
        """Change one rule (by object or rule name): ``active``, ``action``, alerts, ..."""
        self.configure_duplicate_rules({sobject: options})

    def configure_duplicate_rules(self, spec: dict[str, Any]) -> None:
        """Change, add or remove duplicate rules (see ``DuplicateManager.configure``)."""
        with self.lock:
            self.dupes.configure(spec)

    def configure_assignment_rules(self, spec: dict[str, Any]) -> None:
        """Define, activate or deactivate Lead assignment rules, set the default owner."""
        with self.lock:
            self.assignment.configure(spec)

    # ----------------------------------------------------------------- metadata
    def sobject(self, name: str) -> SObjectMeta:
        """The object called ``name``; 404 NOT_FOUND otherwise, as the REST paths answer."""
        obj = self.catalog.sobject(name)
        if obj is None:
            raise not_found()
        return obj

    def describe_global(self, version: str | None = None) -> dict[str, Any]:
        """``GET /sobjects`` (URLs in the request's API version)."""
        version = version or self.api_version
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [obj.summary(version) for obj in self.catalog.objects.values()],
        }

    def describe(self, name: str, version: str | None = None) -> dict[str, Any]:
        """``GET /sobjects/{Type}/describe``."""
        return self.sobject(name).describe(version or self.api_version)

    # ----------------------------------------------------------------- reads
    def get(self, type_name: str, record_id: str, fields: list[str] | None = None,
            version: str | None = None) -> dict:
        """One record by id, all fields (or the named ones)."""
        with self.lock:
            obj = self.sobject(type_name)
            row = self._row(obj, record_id)
            if row is None or row["IsDeleted"]:
                raise not_found() if row is None else ApiError.of(
                    404, "ENTITY_IS_DELETED", "entity is deleted", []
                )
            return self.render(obj, dict(row), fields, version)

    def find_ids(self, obj: SObjectMeta, meta: FieldMeta, value: Any) -> list[str]:
        """Ids of live records whose field equals ``value`` (case-insensitive for text)."""
        if isinstance(value, str) and printable(value) != value:
            return []  # an unpaired surrogate: nothing stored can equal it
        rows = self.conn.execute(
            f'SELECT "Id" FROM "{obj.name}" WHERE "{meta.name}" = ? AND "IsDeleted" = 0',
            (value,),
        ).fetchall()
        return [row[0] for row in rows]

    def query(
        self, text: str, *, include_deleted: bool = False, batch_size: int = PAGE_SIZE,
        version: str | None = None,
    ) -> dict[str, Any]:
        """Run SOQL and return the first page, keeping the rest behind a locator."""
        version = version or self.api_version
        with self.lock:
            self._check_content_document_link_filter(text)
            try:
                result = soql.run_query(
                    self.conn, self.catalog, text, include_deleted=include_deleted,
                    api_version=version,
                )
            except soql.SoqlError as exc:
                raise ApiError.of(400, exc.error_code, exc.message) from None
            records = [self._base64_urls(result.sobject, rec, version)
                       for rec in result.records]
            cursor = QueryCursor(result.sobject, records, result.total_size, version)
            return self._page(cursor, 0, batch_size)

    def query_more(self, locator: str, batch_size: int = PAGE_SIZE) -> dict[str, Any]:
        """The next page of a query (``/query/{locator}-{offset}``)."""
        with self.lock:
            name, _, offset = locator.partition("-")
            cursor = self.cursors.get(name)
            if cursor is None or not offset.isdigit():
                raise ApiError.of(
                    400, "INVALID_QUERY_LOCATOR", "invalid query locator"
                )
            return self._page(cursor, int(offset), batch_size, locator=name)

    def _page(
        self, cursor: QueryCursor, offset: int, batch_size: int, locator: str | None = None
    ) -> dict[str, Any]:
        batch = max(200, min(PAGE_SIZE, batch_size))
        chunk = cursor.records[offset : offset + batch]
        page: dict[str, Any] = {"totalSize": cursor.total_size, "done": True, "records": chunk}
        if offset + batch < len(cursor.records):
            locator = locator or make_id("01g", self._next_sequence("01g"))
            self.cursors[locator] = cursor
            page["done"] = False
            page["nextRecordsUrl"] = (
                f"/services/data/v{cursor.api_version}/query/{locator}-{offset + batch}"
            )
        elif locator:
            self.cursors.pop(locator, None)
        return page

    @staticmethod
    def _check_content_document_link_filter(text: str) -> None:
        lowered = " ".join(text.lower().split())
        if not re.search(r"\bfrom contentdocumentlink\b", lowered):
            return
        where = lowered.partition(" where ")[2]
        if "linkedentityid" not in where and "contentdocumentid" not in where:
            raise ApiError.of(
                400, "MALFORMED_QUERY",
                "Implementation restriction: ContentDocumentLink requires a filter by a single Id "
                "on ContentDocumentId or LinkedEntityId using the equals operator or multiple "
                "Id's using the IN operator.",
            )

    # ----------------------------------------------------------------- writes
    def create(
        self, type_name: str, payload: dict[str, Any], *, allow_duplicates: bool = False,
        options: WriteOptions | None = None,
    ) -> str:
        """Insert one record; returns its 18-character id.

        Runs the org's duplicate rules and (for Leads) an assignment rule as a REST create
        with ``options``' headers does (no options: ``DEFAULT_OPTIONS``);
        ``allow_duplicates`` is ``allowSave=true``.
        """
        options = options or _options(allow_duplicates)
        with self.lock:
            obj = self.sobject(type_name)
            if not obj.createable:
                raise RecordFailure([record_error(
                    "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert"
                )])
            plan = self._plan(obj)
            resolved = plan.validator.resolve_fields(payload)
            if "Id" in resolved:
                raise RecordFailure([record_error(
                    "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                )])
            values = plan.validator.check(resolved, creating=True)
            values = self._normalize_references(plan, values)
            self._check_special(obj, values, None)
            row = plan.defaults | values
            self._check_duplicates(obj, row, None, options, creating=True)
            self._assign(obj, row, options, creating=True)
            record_id = make_id(obj.key_prefix, self._next_sequence(obj.key_prefix))
            row = row | self._audit(created=True) | {"Id": record_id}
            self._derive(obj, row)
            self._insert_row(obj, row)
            self._after_write(obj, row)
            self.counters.add(obj.name, "created")
            return record_id

    def update(
        self,
        type_name: str,
        record_id: str,
        payload: dict[str, Any],
        *,
        allow_duplicates: bool = False,
        options: WriteOptions | None = None,
    ) -> None:
        """Update one record's given fields (duplicate and assignment rules as ``create``)."""
        options = options or _options(allow_duplicates)
        with self.lock:
            obj = self.sobject(type_name)
            current = self._live_row(obj, record_id)
            plan = self._plan(obj)
            validator = plan.validator
            resolved = validator.resolve_fields(payload)
            resolved.pop("Id", None)
            if obj.name == "Lead" and current.get("IsConverted"):
                raise RecordFailure([record_error(
                    "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
                )])
            values = validator.check(resolved, creating=False, record_id=current["Id"])
            values = self._normalize_references(plan, values)
            self._check_special(obj, values, current)
            row = current | values
            self._check_duplicates(obj, row, current["Id"], options, creating=False)
            self._assign(obj, row, options, creating=False)
            row = row | self._audit(created=False)
            self._derive(obj, row)
            self._write_row(obj, row)
            self._after_write(obj, row)
            self.counters.add(obj.name, "updated")

    def delete(self, type_name: str, record_id: str) -> None:
        """Move a record to the recycle bin (IsDeleted, still visible to queryAll)."""
        with self.lock:
            obj = self.sobject(type_name)
            current = self._live_row(obj, record_id)
            stamp = format_datetime(self.now())
            deleted = ('"IsDeleted" = 1, "SystemModstamp" = ?, "LastModifiedDate" = ?, '
                       '"LastModifiedById" = ?')
            stamps = (stamp, stamp, USER_ID_18, current["Id"])
            self.conn.execute(f'UPDATE "{obj.name}" SET {deleted} WHERE "Id" = ?', stamps)
            self.dupes.removed(obj.name, current["Id"])
            if obj.name in {"ContentNote", "ContentDocument"}:
                for twin in ("ContentNote", "ContentDocument"):
                    self.conn.execute(f'UPDATE "{twin}" SET {deleted} WHERE "Id" = ?', stamps)
                self.conn.execute(
                    'DELETE FROM "ContentDocumentLink" WHERE "ContentDocumentId" = ?',
                    (current["Id"],),
                )
            self.counters.add(obj.name, "deleted")

    def upsert(
        self,
        type_name: str,
        field_name: str,
        value: Any,
        payload: dict[str, Any],
        *,
        allow_duplicates: bool = False,
        options: WriteOptions | None = None,
    ) -> tuple[str, bool]:
        """Upsert by an external-id or idLookup field: (id, created)."""
        options = options or _options(allow_duplicates)
        with self.lock:
            obj = self.sobject(type_name)
            meta = self.external_id_field(obj, field_name)
            body = {k: v for k, v in payload.items() if k.lower() != meta.name.lower()}
            if meta.name == "Id":
                matches = [value] if value and self._row(obj, value) else []
            else:
                matches = self.find_ids(obj, meta, value) if value not in (None, "") else []
            if len(matches) > 1:
                raise RecordFailure([record_error(
                    "DUPLICATE_EXTERNAL_ID",
                    "A user-specified external ID matches more than one record during an upsert.",
                )], status=300)
            if matches:
                self.update(obj.name, matches[0], body, options=options)
                return normalize_id(matches[0]) or matches[0], False
            if meta.name != "Id" and value not in (None, ""):
                body[meta.name] = value
            return self.create(obj.name, body, options=options), True

    def external_id_field(self, obj: SObjectMeta, field_name: str) -> FieldMeta:
        """The upsert key field, which must be an external id, idLookup, or Id."""
        meta = obj.field(field_name)
        if meta is None or not (meta.external_id or meta.id_lookup):
            raise ApiError.of(
                400, "INVALID_FIELD",
                f"Field name provided, {field_name} is not an External ID or indexed field for "
                f"{obj.name}",
            )
        return meta

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A savepoint: rolled back if the block raises (allOrNone)."""
        with self.lock:
            self.conn.execute("SAVEPOINT tx")
            saved = (dict(self.sequences), Counters(
                self.counters.created, self.counters.updated, self.counters.deleted,
                {k: dict(v) for k, v in self.counters.by_object.items()},
            ))
            mark = self.dupes.mark()
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK TO tx")
                self.conn.execute("RELEASE tx")
                self.sequences, self.counters = saved
                self.dupes.release(mark, undo=True)
                raise
            self.conn.execute("RELEASE tx")
            self.dupes.release(mark, undo=False)

    @contextlib.contextmanager
    def record_operation(self) -> Iterator[None]:
        """One record of a collection call, run inside the call's ``transaction()``.

        A record that fails leaves the org as it was without a savepoint of its own:
        ``create``, ``update``, ``upsert`` and ``delete`` raise ``RecordFailure`` only before
        their first write or sequence step (checks first, then writes), and any other error
        rolls back the enclosing transaction. (A SAVEPOINT per record cost as much as the
        record's INSERT.) A ``RecordFailure`` after a write would break that, so it fails the
        whole call instead, as an emulator bug.
        """
        with self.lock:
            mark = self._write_mark()
            try:
                yield
            except RecordFailure:
                if self._write_mark() != mark:
                    raise RuntimeError("a record failed after it was written") from None
                raise

    def _write_mark(self) -> tuple[int, int, int]:
        """Changes so far: rows written, sequence steps, records counted."""
        counters = self.counters
        return (self.conn.total_changes, sum(self.sequences.values()),
                counters.created + counters.updated + counters.deleted)

    def convert_lead(
        self, lead_id: str, contact_id: str | None = None, account_id: str | None = None
    ) -> dict[str, str]:
        """Mark a Lead converted (creating its Account and Contact unless given)."""
        with self.lock:
            lead_obj = self.sobject("Lead")
            lead = self._live_row(lead_obj, lead_id)
            internal = WriteOptions(DuplicateHeader(allow_save=True), auto_assign="FALSE")
            if not account_id:
                account_id = self.create("Account", {"Name": lead["Company"]}, options=internal)
            if not contact_id:
                contact_id = self.create("Contact", {
                    "FirstName": lead["FirstName"], "LastName": lead["LastName"],
                    "Email": lead["Email"], "AccountId": account_id,
                }, options=internal)
            row = lead | {
                "IsConverted": 1, "ConvertedContactId": normalize_id(contact_id),
                "ConvertedAccountId": normalize_id(account_id),
                "ConvertedDate": self.now().date().isoformat(), "Status": "Closed - Converted",
            } | self._audit(created=False)
            self._write_row(lead_obj, row)
            self.dupes.removed("Lead", row["Id"])
            return {"lead_id": row["Id"], "contact_id": row["ConvertedContactId"],
                    "account_id": row["ConvertedAccountId"]}

    def note_content(self, record_id: str) -> bytes:
        """The decoded body of a ContentNote (``/sobjects/ContentNote/{id}/Content``)."""
        with self.lock:
            return self._note_bytes(self._live_row(self.sobject("ContentNote"), record_id))

    # ----------------------------------------------------------------- stats
    def count(self, type_name: str, *, include_deleted: bool = False) -> int:
        """Number of records of an object."""
        with self.lock:
            obj = self.sobject(type_name)
            where = "" if include_deleted else ' WHERE "IsDeleted" = 0'
            return self.conn.execute(f'SELECT COUNT(*) FROM "{obj.name}"{where}').fetchone()[0]

    def all_records(self, type_name: str) -> list[dict[str, Any]]:
        """Every live record of an object, rendered (for tests and the admin state dump)."""
        with self.lock:
            obj = self.sobject(type_name)
            rows = self.conn.execute(f'SELECT * FROM "{obj.name}" WHERE "IsDeleted" = 0')
            return [self.render(obj, dict(row)) for row in rows.fetchall()]

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def now() -> dt.datetime:
        """The org's clock (UTC)."""
        return dt.datetime.now(dt.UTC)

    def _next_sequence(self, prefix: str) -> int:
        self.sequences[prefix] = self.sequences.get(prefix, 0) + 1
        return self.sequences[prefix]

    def _validator(self, obj: SObjectMeta) -> RecordValidator:
        return self._plan(obj).validator

    def _plan(self, obj: SObjectMeta) -> ObjectPlan:
        """The object's write plan, rebuilt when its metadata changed."""
        plan = self.plans.get(obj.name)
        if plan is None or plan.obj is not obj or plan.revision != obj.revision:
            plan = self.plans[obj.name] = ObjectPlan(
                obj, obj.revision, RecordValidator(obj, self._exists, self._unique_owner(obj)),
                self._defaults(obj),
                frozenset(m.name for m in obj.fields.values() if m.type == "reference"),
                all(obj.field(name) for name in ("FirstName", "Name", "LastName")),
            )
        return plan

    @staticmethod
    def _normalize_references(plan: ObjectPlan, values: dict[str, Any]) -> dict[str, Any]:
        """Reference fields stored in their 18-character form."""
        references = plan.references
        for name, value in values.items():
            if value and name in references:
                values[name] = normalize_id(str(value)) or value
        return values

    def _exists(self, record_id: str, types: tuple[str, ...], *, prefix_only: bool) -> bool:
        prefix = record_id[:3]
        for type_name in types:
            obj = self.catalog.sobject(type_name)
            if obj is None or obj.key_prefix != prefix:
                continue
            if prefix_only:
                return True
            if self._is_live(obj, record_id):
                return True
        return False

    def _is_live(self, obj: SObjectMeta, record_id: str) -> bool:
        """Whether a record with this id exists and is not deleted."""
        row = self._select_by_id(obj, record_id, '"IsDeleted"')
        return row is not None and not row[0]

    def _select_by_id(self, obj: SObjectMeta, record_id: str, columns: str = "*") -> Any:
        """``columns`` of the record with this id (in any id form), or None."""
        normalized = normalize_id(record_id)
        if normalized is None:
            return None
        return self.conn.execute(
            f'SELECT {columns} FROM "{obj.name}" WHERE "Id" = ?', (normalized,)
        ).fetchone()

    def _unique_owner(self, obj: SObjectMeta) -> Any:
        def owner(field_name: str, value: Any, own_id: str | None) -> str | None:
            for found in self.find_ids(obj, obj.field(field_name), value):
                if found != own_id:
                    return found
            return None

        return owner

    def _row(self, obj: SObjectMeta, record_id: str) -> dict[str, Any] | None:
        row = self._select_by_id(obj, record_id)
        return dict(row) if row else None

    def _live_row(self, obj: SObjectMeta, record_id: str) -> dict[str, Any]:
        row = self._row(obj, record_id)
        if row is None:
            raise RecordFailure([record_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
            )], status=404)
        if row["IsDeleted"]:
            raise RecordFailure(
                [record_error("ENTITY_IS_DELETED", "entity is deleted", [])], status=404
            )
        return row

    def _defaults(self, obj: SObjectMeta) -> dict[str, Any]:
        defaults: dict[str, Any] = {"OwnerId": USER_ID_18} if obj.field("OwnerId") else {}
        for meta in obj.fields.values():
            if meta.defaulted_on_create and meta.default_value is not None:
                value = meta.default_value
                defaults[meta.name] = int(value) if isinstance(value, bool) else value
        return defaults

    def _audit(self, *, created: bool) -> dict[str, Any]:
        stamp = format_datetime(self.now())
        audit = {"LastModifiedDate": stamp, "SystemModstamp": stamp,
                 "LastModifiedById": USER_ID_18}
        if created:
            audit |= {"CreatedDate": stamp, "CreatedById": USER_ID_18, "IsDeleted": 0}
        return audit

    def _derive(self, obj: SObjectMeta, row: dict[str, Any]) -> None:
        """Computed fields: Name of people, ContentNote size and preview."""
        if self._plan(obj).person_name:
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        if obj.name == "ContentNote" and row.get("Content") is not None:
            text = self._note_text(row)
            row |= {
                "FileType": "SNOTE", "FileExtension": "snote",
                "ContentSize": len(text.encode("utf-8")), "TextPreview": note_text_preview(text),
                "LatestPublishedVersionId": make_id("068", self._next_sequence("068")),
            }

    @staticmethod
    def _note_bytes(row: dict[str, Any]) -> bytes:
        return base64.b64decode(row.get("Content") or "")

    def _note_text(self, row: dict[str, Any]) -> str:
        """The row's note content as text (decoded once when the write checked it)."""
        last = self.last_note
        if last is not None and last[0] == row.get("Content"):
            return last[1]
        return self._note_bytes(row).decode("utf-8")

    def _check_special(
        self, obj: SObjectMeta, values: dict[str, Any], current: dict[str, Any] | None
    ) -> None:
        """Object-specific rules: note content, note titles, duplicate document links."""
        if obj.name == "ContentNote":
            title = values.get("Title", current.get("Title") if current else None)
            if title is None or not str(title).strip():
                raise RecordFailure([record_error(
                    "REQUIRED_FIELD_MISSING", "Required fields are missing: [Title]", ["Title"]
                )])
            if values.get("Content") is not None:
                self.last_note = None  # cleared first: content that fails leaves nothing stale
                self.last_note = (values["Content"], decode_note_content(values["Content"]))
        if obj.name == "ContentDocumentLink" and current is None:
            taken = self.conn.execute(
                'SELECT "Id" FROM "ContentDocumentLink" WHERE "ContentDocumentId" = ? '
                'AND "LinkedEntityId" = ?',
                (values.get("ContentDocumentId"), values.get("LinkedEntityId")),
            ).fetchone()
            if taken:
                raise RecordFailure([record_error(
                    "DUPLICATE_VALUE",
                    f"Document with ID: {values.get('ContentDocumentId')} is already linked with "
                    f"the entity with ID: {values.get('LinkedEntityId')}",
                    [],
                )])

    def _check_duplicates(self, obj: SObjectMeta, row: dict[str, Any], own_id: str | None,
                          options: WriteOptions, *, creating: bool) -> None:
        """The org's duplicate rules; DUPLICATES_DETECTED as the real service answers it."""
        if not self.dupes.rules:
            return
        try:
            self.dupes.check(obj.name, row, own_id, creating=creating,
                             header=options.duplicates)
        except DuplicatesFound as found:
            version = options.api_version or self.api_version
            details = None
            if options.duplicates.include_record_details:
                def details(type_name: str, record_id: str) -> dict[str, Any]:
                    return self.get(type_name, record_id, version=version)
            raise RecordFailure([duplicate_error(
                found.rule, found.matches, found.allow_save, key=self.duplicate_key,
                url=lambda type_name, record_id: self._url(type_name, record_id, version),
                details=details,
            )]) from None

    def _assign(self, obj: SObjectMeta, row: dict[str, Any], options: WriteOptions, *,
                creating: bool) -> None:
        """Run the Lead assignment rule the ``Sforce-Auto-Assign`` value asks for."""
        if obj.name != "Lead":
            return
        rule = self.assignment.choose(options.auto_assign, creating=creating)
        if rule is not None:
            row["OwnerId"] = self.assignment.owner(rule, row)

    def _after_write(self, obj: SObjectMeta, row: dict[str, Any]) -> None:
        """Keep match indexes and ContentDocument (a ContentNote's 069 twin) in step."""
        if obj.name in self.dupes.indexes:
            if row.get("IsConverted"):
                self.dupes.removed(obj.name, row["Id"])
            else:
                self.dupes.written(obj.name, row)
        if obj.name != "ContentNote":
            return
        doc = self.catalog.sobject("ContentDocument")
        twin = {
            key: row.get(key)
            for key in ("Id", "Title", "FileType", "ContentSize", "LatestPublishedVersionId",
                        "OwnerId", "CreatedDate", "CreatedById", "LastModifiedDate",
                        "LastModifiedById", "SystemModstamp", "IsDeleted")
        }
        if self._select_by_id(doc, row["Id"], "1") is None:  # deleted or not
            self._insert_row(doc, twin)
        else:
            self._write_row(doc, twin)

    def _insert_row(self, obj: SObjectMeta, row: dict[str, Any]) -> None:
        key = (obj.name, *row)
        sql = self.insert_sql.get(key)
        if sql is None:
            columns = ", ".join(f'"{name}"' for name in row)
            marks = ", ".join("?" for _ in row)
            sql = self.insert_sql[key] = f'INSERT INTO "{obj.name}" ({columns}) VALUES ({marks})'
        self.conn.execute(sql, tuple(row.values()))

    def _write_row(self, obj: SObjectMeta, row: dict[str, Any]) -> None:
        assignments = ", ".join(f'"{name}" = ?' for name in row if name != "Id")
        values = [value for name, value in row.items() if name != "Id"]
        self.conn.execute(
            f'UPDATE "{obj.name}" SET {assignments} WHERE "Id" = ?', (*values, row["Id"])
        )

    def _seed_record(self, obj: SObjectMeta, raw: dict[str, Any]) -> str:
        validator = self._validator(obj)
        payload = {k: v for k, v in raw.items() if k not in {"attributes"}}
        record_id = payload.pop("Id", None)
        values = {name: value for name, (_, value) in validator.resolve_fields(payload).items()}
        values = self._normalize_references(self._plan(obj), values)
        if record_id:
            record_id = normalize_id(record_id) or record_id
        else:
            record_id = make_id(obj.key_prefix, self._next_sequence(obj.key_prefix))
        audit = self._audit(created=True)
        audit |= {"CreatedById": ADMIN_ID_18, "LastModifiedById": ADMIN_ID_18}
        audit.update({k: v for k, v in values.items() if k in audit})
        owner = {"OwnerId": ADMIN_ID_18} if obj.field("OwnerId") else {}
        row = self._defaults(obj) | owner | values | audit | {"Id": record_id}
        self._derive(obj, row)
        self._insert_row(obj, row)
        self._after_write(obj, row)
        return record_id

    def _url(self, type_name: str, record_id: str, version: str | None = None) -> str:
        return (f"/services/data/v{version or self.api_version}/sobjects/{type_name}/"
                f"{record_id}")

    def _base64_urls(self, sobject: str, record: dict[str, Any],
                     version: str | None = None) -> dict[str, Any]:
        obj = self.catalog.sobject(sobject)
        for meta in obj.fields.values():
            if meta.type == "base64" and record.get(meta.name) is not None:
                record[meta.name] = f"{self._url(obj.name, record['Id'], version)}/{meta.name}"
        return record

    def render(
        self, obj: SObjectMeta, row: dict[str, Any], fields: list[str] | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        """A stored row as REST JSON (attributes first, every field, typed)."""
        metas = list(obj.fields.values())
        if fields:
            metas = [m for m in (obj.field(f.strip()) for f in fields) if m is not None]
        url = self._url(obj.name, row["Id"], version)
        record: dict[str, Any] = {"attributes": {"type": obj.name, "url": url}}
        for meta in metas:
            value = row.get(meta.name)
            if value is not None and meta.type == "boolean":
                value = bool(value)
            elif value is not None and meta.type == "base64":
                value = f"{url}/{meta.name}"
            record[meta.name] = value
        return record


def _org(name: str) -> str:
    """A known org profile name."""
    if name not in ORGS:
        raise ValueError(f"org must be one of {ORGS}, not {name!r}")
    return name


def _options(allow_duplicates: bool) -> WriteOptions:
    if not allow_duplicates:
        return DEFAULT_OPTIONS
    return WriteOptions(DuplicateHeader(allow_save=True), auto_assign="FALSE")


DEFAULT_OPTIONS = WriteOptions(auto_assign="FALSE")
