"""SOQL for the Salesforce emulator: parse, check against metadata, run on SQLite, shape records.

Supported (spec §5.1): ``SELECT`` field paths (parent relationships such as ``Account.Name`` or
``Account.Owner.Name``) or ``COUNT()`` alone (or ``COUNT(field) [alias]``, one AggregateResult);
parent-to-child subqueries in the SELECT list (``SELECT Id, (SELECT Id FROM Contacts WHERE ...
ORDER BY ... LIMIT n) FROM Account``; the relationship names come from describe's
``childRelationships``; each record carries ``{"totalSize", "done": true, "records"}`` or null
when it has no children; LIMIT applies per parent); ``FROM`` one object; ``WHERE`` with
``= != < <= > >=``, ``[NOT] IN (...)``, ``LIKE``, ``AND``, ``OR``, ``NOT`` and parentheses;
literals: strings, numbers, ``TRUE``/``FALSE``, ``NULL``, dates, datetimes and every date
literal: ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_90_DAYS``, ``NEXT_90_DAYS``,
``THIS_/LAST_/NEXT_`` + ``WEEK``, ``MONTH``, ``QUARTER``, ``YEAR``, ``FISCAL_QUARTER``,
``FISCAL_YEAR``, and ``LAST_N_``/``NEXT_N_``/``N_..._AGO`` + ``DAYS``, ``WEEKS``, ``MONTHS``,
``QUARTERS``, ``YEARS``, ``FISCAL_QUARTERS``, ``FISCAL_YEARS`` (``:n``). Ranges are computed in
UTC for an en_US user: weeks start on Sunday, the fiscal year is the calendar year (the
default), ``LAST_N_DAYS:n`` includes today while ``LAST_N_WEEKS/MONTHS/QUARTERS/YEARS:n`` are the
n whole periods before the current one. ``ORDER BY`` with ``ASC``/``DESC`` and ``NULLS FIRST``/
``LAST``; ``LIMIT``; ``OFFSET`` (at most 2,000). Filters use two-valued logic as Salesforce
does: ``Email != 'x'`` and ``Email NOT IN ('x')`` include rows whose Email is null.

Not supported (all raise MALFORMED_QUERY; nothing is ignored): ``GROUP BY``, ``HAVING``,
aggregates other than COUNT, functions (``toLabel``, ``FORMAT``, ``CALENDAR_YEAR``, ``FIELDS()``,
...), nested subqueries and semi-/anti-joins (``IN (SELECT ...)``), ``COUNT()`` or ``OFFSET`` in a
subquery, ``TYPEOF``, polymorphic relationship paths (``Who.Name``, ``What.Name``,
``Parent.Name``, ``LinkedEntity.Name``), ``INCLUDES``/``EXCLUDES``, object aliases, ``WITH``,
``USING SCOPE``, ``FOR VIEW/REFERENCE/UPDATE``, bind variables, ``NOT LIKE``. Multi-select
picklists compare as plain strings. Child records come back in one page (no
``nextRecordsUrl`` inside a subquery).

Errors carry Salesforce's codes: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, and also
INVALID_QUERY_FILTER_OPERATOR (a malformed Id value, LIKE on a non-text field) and
NUMBER_OUTSIDE_VALID_RANGE (OFFSET above 2,000), as the real service answers.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.ids import normalize_id
from aimdoc_emulators.salesforce.metadata import ID_TYPES, NUMBER_TYPES, TEXT_TYPES
from aimdoc_emulators.salesforce.soql_lexer import SoqlError, error_at, malformed
from aimdoc_emulators.salesforce.soql_parser import (
    Comparison,
    Condition,
    FieldRef,
    InList,
    Junction,
    Like,
    Literal,
    Not,
    Query,
    SubQuery,
    parse,
)
from aimdoc_emulators.salesforce.store import contains_pattern, folds_in_python

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.metadata import (
        Catalog,
        ChildRelationship,
        FieldMeta,
        SObjectMeta,
    )

__all__ = [
    "QueryResult", "SoqlError", "date_literal_span", "parse", "run_query", "select_paths",
    "to_sql",
]

MAX_RELATIONSHIP_HOPS = 5
_NAMES_HINT = "Please reference your WSDL or the describe call for the appropriate names."
_NOT_FILTERABLE = frozenset({"textarea", "base64"})
_NOT_SORTABLE = frozenset({"textarea", "base64", "multipicklist"})
_TYPE_WORDS = {
    "boolean": "boolean",
    "int": "integer",
    "double": "double",
    "currency": "currency",
    "percent": "percent",
    "date": "date",
    "datetime": "dateTime",
    "id": "id",
    "reference": "id",
}


@dataclass
class QueryResult:
    """What a query matched: ``total_size`` is the count for COUNT(), else len(records)."""

    sobject: str
    total_size: int
    records: list[dict[str, Any]]


# An ASCII LIKE pattern whose only backslashes escape % or _ (SQLite reads it the same way).
_NATIVE_LIKE = re.compile(r"^(?:[\x20-\x5b\x5d-\x7e]|\\[%_])*$")


# ``%word%``: a printable ASCII word with no wildcard or backslash in it (and not too long for
# the regex ``contains_pattern`` builds).
_PLAIN_CONTAINS = re.compile(r"%[\x20-\x24\x26-\x5b\x5d\x5e\x60-\x7e]{1,200}%\Z")
_NATIVE_HEAD = "(COALESCE("
_NATIVE_TAIL = " LIKE ? ESCAPE '\\', 0) = 1)"


def _balanced(op: str, terms: list[str]) -> str:
    """``a OP b OP c ...`` grouped as a balanced tree.

    SQLite's parser nests a flat chain one level per term and refuses trees deeper than 1,000
    (a long OR of LIKEs would be one).
    """
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return f"({_balanced(op, terms[:middle])} {op} {_balanced(op, terms[middle:])})"

def run_query(
    conn: sqlite3.Connection,
    catalog: Catalog,
    soql: str,
    *,
    include_deleted: bool = False,
    api_version: str = "59.0",
    now: datetime | None = None,
) -> QueryResult:
    """Run a SOQL statement; every matching record, shaped as the REST API returns it.

    Paging (``done``/``nextRecordsUrl``) is the caller's job. ``now`` fixes TODAY and friends.
    """
    query = parse(soql)
    compiler = _Compiler(catalog, query, include_deleted, now or datetime.now(UTC))
    return compiler.compile().run(conn, api_version)


def select_paths(catalog: Catalog, soql: str) -> tuple[Query, list[tuple[str, str]]]:
    """The parsed query and its selected ``(field path, field type)`` pairs.

    Paths are in canonical case, e.g. ``("Account.Name", "string")``. Raises SoqlError for
    a query that would not run (names are checked against metadata).
    """
    query = parse(soql)
    compiler = _Compiler(catalog, query, False, datetime.now(UTC))
    compiler.compile()
    return query, [(column.path, column.meta.type) for column in compiler.select_columns()]


def to_sql(
    catalog: Catalog, soql: str, *, include_deleted: bool = False, now: datetime | None = None
) -> tuple[str, list[Any]]:
    """The SQLite statement and parameters a query compiles to (for tests and debugging)."""
    plan = _Compiler(catalog, parse(soql), include_deleted, now or datetime.now(UTC)).compile()
    return plan.sql, list(plan.params)




# -- plan --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Hop:
    """One parent relationship step: its JSON key, the parent object and its SQL alias."""

    key: str
    sobject: str
    alias: str


@dataclass(frozen=True)
class _Column:
    """A resolved field path."""

    hops: tuple[_Hop, ...]
    meta: FieldMeta
    sql: str
    path: str


@dataclass(frozen=True)
class _Range:
    """A date literal such as TODAY: ``start <= value < end`` in the field's stored form."""

    start: str
    end: str


_PARENT_IDS = object()  # stands for the parent ids (a JSON array) in a child plan's params


@dataclass
class _Plan:
    """Compiled SQL and what is needed to shape its rows."""

    query: Query
    sobject: str
    sql: str
    params: list[Any]
    columns: list[_Column]
    hops: list[_Hop]
    children: list[_ChildPlan] = field(default_factory=list)

    def run(self, conn: sqlite3.Connection, api_version: str) -> QueryResult:
        rows = conn.execute(self.sql, self.params).fetchall()
        count = self.query.count
        if count is not None and count.field is None:
            return QueryResult(self.sobject, int(rows[0][0]), [])
        if count is not None:
            record = {"attributes": {"type": "AggregateResult"}, count.alias or "expr0": rows[0][0]}
            start = self.query.offset or 0
            stop = None if self.query.limit is None else start + self.query.limit
            records = [record][start:stop]
            return QueryResult(self.sobject, len(records), records)
        nested = [child.fetch(conn, [row[0] for row in rows], api_version)
                  for child in self.children]
        records = []
        for row in rows:
            extra = [(child.sub.position, child.key, found.get(row[0]))
                     for child, found in zip(self.children, nested, strict=True)]
            records.append(self.shape(row, api_version, extra))
        return QueryResult(self.sobject, len(records), records)

    def shape(
        self,
        row: sqlite3.Row,
        api_version: str,
        children: list[tuple[int, str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One record as JSON: attributes, then the selected fields (and subqueries) in order."""
        base = f"/services/data/v{api_version}/sobjects"
        record: dict[str, Any] = {
            "attributes": {"type": self.sobject, "url": f"{base}/{self.sobject}/{row[0]}"}
        }
        parent_ids = {hop.alias: row[1 + index] for index, hop in enumerate(self.hops)}
        first = 1 + len(self.hops)
        pending = list(children or [])
        for index, column in enumerate(self.columns):
            while pending and pending[0][0] <= index:
                _, key, value = pending.pop(0)
                record[key] = value
            container: dict[str, Any] | None = record
            for hop in column.hops:
                assert container is not None
                if hop.key not in container:
                    parent_id = parent_ids[hop.alias]
                    container[hop.key] = (
                        None
                        if parent_id is None
                        else {
                            "attributes": {
                                "type": hop.sobject,
                                "url": f"{base}/{hop.sobject}/{parent_id}",
                            }
                        }
                    )
                container = container[hop.key]
                if container is None:
                    break
            if container is not None:
                container[column.meta.name] = _json_value(column.meta, row[first + index])
        for _, key, value in pending:
            record[key] = value
        return record


@dataclass
class _ChildPlan:
    """A parent-to-child subquery: the child plan, run once for every parent of the page."""

    sub: SubQuery
    key: str
    plan: _Plan

    def fetch(
        self, conn: sqlite3.Connection, parent_ids: list[str], api_version: str
    ) -> dict[str, dict[str, Any]]:
        """``{parent id: {"totalSize", "done", "records"}}`` for parents with children."""
        if not parent_ids:
            return {}
        ids = json.dumps(parent_ids)
        params = [ids if value is _PARENT_IDS else value for value in self.plan.params]
        grouped: dict[str, list[dict[str, Any]]] = {}
        limit = self.sub.query.limit
        for row in conn.execute(self.plan.sql, params):
            records = grouped.setdefault(row[-1], [])
            if limit is None or len(records) < limit:
                records.append(self.plan.shape(row, api_version))
        return {parent: {"totalSize": len(records), "done": True, "records": records}
                for parent, records in grouped.items()}


def _json_value(meta: FieldMeta, value: Any) -> Any:
    if value is None:
        return None
    if meta.type == "boolean":
        return bool(value)
    if meta.type == "int":
        return int(value)
    if meta.type in NUMBER_TYPES:
        return float(value)
    return value


# -- compiler ----------------------------------------------------------------------------------
class _Compiler:
    """Resolves names against metadata and builds parameterised SQL."""

    def __init__(
        self,
        catalog: Catalog,
        query: Query,
        include_deleted: bool,
        now: datetime,
        parent: ChildRelationship | None = None,
    ) -> None:
        self.catalog = catalog
        self.query = query
        self.soql = query.source
        self.include_deleted = include_deleted
        self.now = now
        self.today = now.astimezone(UTC).date()
        self.parent = parent
        self.root = self.root_object()
        self.joins: dict[tuple[str, ...], _Hop] = {}
        self.join_sql: list[str] = []
        self.params: list[Any] = []

    def error(self, code: str, pos: int, detail: str) -> SoqlError:
        return error_at(code, self.soql, pos, detail)

    def root_object(self) -> SObjectMeta:
        obj = self.catalog.sobject(self.query.sobject)
        if obj is None:
            raise self.error(
                "INVALID_TYPE",
                self.query.sobject_pos,
                f"sObject type '{self.query.sobject}' is not supported. If you are attempting "
                "to use a custom object, be sure to append the '__c' after the entity name. "
                + _NAMES_HINT,
            )
        return obj

    def compile(self) -> _Plan:
        query = self.query
        columns = self.select_columns()
        counted = self.resolve(query.count.field) if query.count and query.count.field else None
        where = self.condition(query.where) if query.where is not None else None
        if self.parent is not None:
            link = f't0."{self.parent.field.name}"'
            parent_filter = f"{link} IN (SELECT value FROM json_each({self.param(_PARENT_IDS)}))"
            where = f"({where}) AND {parent_filter}" if where else parent_filter
        order = self.order_by()
        filters = [] if self.include_deleted else ['t0."IsDeleted" IS NOT 1']
        if where:
            filters.append(where)
        tail = f'FROM "{self.root.name}" AS t0'
        tail += "".join(f" {join}" for join in self.join_sql)
        if filters:
            tail += " WHERE " + " AND ".join(filters)
        hops = list(self.joins.values())
        if query.count is not None and counted is not None:
            sql = f"SELECT COUNT({counted.sql}) {tail}"
        elif query.count is not None:
            sql = f"SELECT COUNT(*) FROM (SELECT 1 {tail}{self.limit_sql()})"
        else:
            selected = ['t0."Id"', *(f'{hop.alias}."Id"' for hop in hops)]
            selected += [column.sql for column in columns]
            if self.parent is not None:  # the link to the parent, last; LIMIT is per parent
                selected.append(f't0."{self.parent.field.name}"')
                sql = f"SELECT {', '.join(selected)} {tail} ORDER BY {order}"
            else:
                sql = f"SELECT {', '.join(selected)} {tail} ORDER BY {order}{self.limit_sql()}"
        children = [self.child_plan(sub) for sub in query.subqueries]
        return _Plan(query, self.root.name, sql, self.params, columns, hops, children)

    def child_plan(self, sub: SubQuery) -> _ChildPlan:
        """Compile ``(SELECT ... FROM Relationship)`` against the child object."""
        relationship = self.root.child_relationship(sub.query.sobject)
        if relationship is None:
            raise self.error(
                "INVALID_TYPE",
                sub.query.sobject_pos,
                f"Didn't understand relationship '{sub.query.sobject}' in FROM part of query "
                "call. If you are attempting to use a custom relationship, be sure to append "
                "the '__r' after the custom relationship name. " + _NAMES_HINT,
            )
        child_query = replace(sub.query, sobject=relationship.child)
        compiler = _Compiler(self.catalog, child_query, self.include_deleted, self.now,
                             parent=relationship)
        return _ChildPlan(sub, str(relationship.name), compiler.compile())

    def limit_sql(self) -> str:
        if self.query.limit is None and self.query.offset is None:
            return ""
        limit = -1 if self.query.limit is None else self.query.limit
        return f" LIMIT {self.param(limit)} OFFSET {self.param(self.query.offset or 0)}"

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    # -- names ---------------------------------------------------------------------------
    def select_columns(self) -> list[_Column]:
        columns: list[_Column] = []
        seen: set[str] = set()
        for ref in self.query.fields:
            column = self.resolve(ref)
            if column.path.lower() in seen:
                raise SoqlError("INVALID_FIELD", f"duplicate field selected: {column.path}")
            seen.add(column.path.lower())
            columns.append(column)
        return columns

    def resolve(self, ref: FieldRef) -> _Column:
        """Resolve a field path, adding a LEFT JOIN per parent relationship."""
        if len(ref.parts) > MAX_RELATIONSHIP_HOPS + 1:
            raise self.error(
                "MALFORMED_QUERY",
                ref.pos,
                "SOQL statements cannot query more than 5 levels of relationships",
            )
        obj, alias, hops = self.root, "t0", []
        for depth, name in enumerate(ref.parts[:-1]):
            obj, hop, reference = self.hop(obj, name, ref)
            key = tuple(part.lower() for part in ref.parts[: depth + 1])
            if key not in self.joins:
                self.joins[key] = hop
                self.join_sql.append(
                    f'LEFT JOIN "{obj.name}" AS {hop.alias} '
                    f'ON {hop.alias}."Id" = {alias}."{reference.name}"'
                )
            hop = self.joins[key]
            hops.append(hop)
            alias = hop.alias
        meta = obj.field(ref.parts[-1])
        if meta is None:
            raise self.error(
                "INVALID_FIELD",
                ref.pos,
                f"No such column '{ref.parts[-1]}' on entity '{obj.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the "
                "custom field name. " + _NAMES_HINT,
            )
        path = ".".join([*(hop.key for hop in hops), meta.name])
        return _Column(tuple(hops), meta, f'{alias}."{meta.name}"', path)

    def hop(
        self, obj: SObjectMeta, name: str, ref: FieldRef
    ) -> tuple[SObjectMeta, _Hop, FieldMeta]:
        reference = obj.relationship(name)
        parent = None
        if reference is not None and len(reference.reference_to) == 1:
            parent = self.catalog.sobject(reference.reference_to[0])
        if reference is not None and len(reference.reference_to) > 1:
            raise self.error(
                "MALFORMED_QUERY",
                ref.pos,
                f"polymorphic relationship '{reference.relationship_name}' is not supported "
                "by the emulator's SOQL subset",
            )
        if reference is None or parent is None:
            raise self.error(
                "INVALID_FIELD",
                ref.pos,
                f"Didn't understand relationship '{name}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. " + _NAMES_HINT,
            )
        hop = _Hop(str(reference.relationship_name), parent.name, f"t{len(self.joins) + 1}")
        return parent, hop, reference

    def filterable(self, ref: FieldRef) -> _Column:
        column = self.resolve(ref)
        if column.meta.type in _NOT_FILTERABLE:
            raise self.error(
                "INVALID_FIELD",
                ref.pos,
                f"field '{column.meta.name}' can not be filtered in a query call",
            )
        return column

    def order_by(self) -> str:
        terms = []
        for item in self.query.order_by:
            column = self.resolve(item.field)
            if column.meta.type in _NOT_SORTABLE:
                raise self.error(
                    "INVALID_FIELD",
                    item.field.pos,
                    f"field '{column.meta.name}' can not be sorted in a query call",
                )
            direction = "DESC" if item.descending else "ASC"
            nulls = "LAST" if item.nulls_last else "FIRST"
            terms.append(f"{column.sql} {direction} NULLS {nulls}")
        terms.append("t0.rowid ASC")
        return ", ".join(terms)

    # -- conditions ----------------------------------------------------------------------
    def condition(self, cond: Condition) -> str:
        if isinstance(cond, Junction):
            start = len(self.params)
            terms = [self.condition(item) for item in cond.operands]
            return self.contains_any(cond, terms, start) or _balanced(cond.op, terms)
        if isinstance(cond, Not):
            return f"(NOT {self.condition(cond.operand)})"
        if isinstance(cond, Comparison):
            return self.comparison(cond)
        if isinstance(cond, InList):
            return self.in_list(cond)
        return self.like(cond)

    def contains_any(self, cond: Junction, terms: list[str], start: int) -> str | None:
        """``x LIKE '%a%' OR x LIKE '%b%' OR ...`` as one ``sf_contains`` term, or None.

        Only when every operand is a native LIKE of a plain word (no wildcard inside, no
        escape) on the same column: SQLite would try every pattern on every row; one search
        of a regex built from the words answers the same (see ``store.sf_contains``).
        """
        patterns = self.params[start:]
        if cond.op != "OR" or len(terms) < 2 or len(patterns) != len(terms):
            return None
        columns = set()
        for term, pattern, operand in zip(terms, patterns, cond.operands, strict=True):
            if not (isinstance(operand, Like) and isinstance(pattern, str)
                    and _PLAIN_CONTAINS.match(pattern) and term.startswith(_NATIVE_HEAD)
                    and term.endswith(_NATIVE_TAIL)):
                return None
            columns.add(term[len(_NATIVE_HEAD):-len(_NATIVE_TAIL)])
        if len(columns) != 1:
            return None
        del self.params[start:]
        source = contains_pattern([pattern[1:-1] for pattern in patterns])
        return f"(sf_contains({self.param(source)}, {columns.pop()}) = 1)"

    def comparison(self, cond: Comparison) -> str:
        column = self.filterable(cond.field)
        value = self.coerce(column, cond.value, cond.field)
        if isinstance(value, _Range):
            return self.range_sql(column, cond.op, value)
        if cond.op not in ("=", "!=") and column.meta.type == "boolean":
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", cond.field.pos, "invalid operator on boolean field"
            )
        if value is None:
            return {"=": f"({column.sql} IS NULL)", "!=": f"({column.sql} IS NOT NULL)"}.get(
                cond.op, "(0)"
            )
        if cond.op == "=":
            return f"({column.sql} IS {self.param(value)})"
        if cond.op == "!=":
            return f"({column.sql} IS NOT {self.param(value)})"
        return f"coalesce({column.sql} {cond.op} {self.param(value)}, 0)"

    def range_sql(self, column: _Column, op: str, span: _Range) -> str:
        col = column.sql
        if op in ("=", "!="):
            inside = f"coalesce({col} >= {self.param(span.start)} AND {col} < "
            inside += f"{self.param(span.end)}, 0)"
            return inside if op == "=" else f"(NOT {inside})"
        bound, sql_op = {
            "<": (span.start, "<"),
            "<=": (span.end, "<"),
            ">": (span.end, ">="),
            ">=": (span.start, ">="),
        }[op]
        return f"coalesce({col} {sql_op} {self.param(bound)}, 0)"

    def in_list(self, cond: InList) -> str:
        column = self.filterable(cond.field)
        scalars: list[Any] = []
        spans: list[_Range] = []
        with_null = False
        for literal in cond.values:
            value = self.coerce(column, literal, cond.field)
            if value is None:
                with_null = True
            elif isinstance(value, _Range):
                spans.append(value)
            else:
                scalars.append(value)
        parts = []
        if scalars and folds_in_python(column.meta) and all(
            isinstance(value, str) for value in scalars
        ):
            marks = ", ".join(self.param(value.casefold()) for value in scalars)
            parts.append(f"({column.sql} IS NOT NULL AND sf_fold({column.sql}) IN ({marks}))")
        elif scalars:
            marks = ", ".join(self.param(value) for value in scalars)
            parts.append(f"({column.sql} IS NOT NULL AND {column.sql} IN ({marks}))")
        if with_null:
            parts.append(f"({column.sql} IS NULL)")
        parts += [self.range_sql(column, "=", span) for span in spans]
        sql = "(" + " OR ".join(parts) + ")"
        return f"(NOT {sql})" if cond.negated else sql

    def like(self, cond: Like) -> str:
        column = self.filterable(cond.field)
        if column.meta.type not in TEXT_TYPES:
            word = _TYPE_WORDS.get(column.meta.type, column.meta.type)
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", cond.field.pos, f"invalid operator on {word} field"
            )
        pattern = cond.value.pattern
        if _NATIVE_LIKE.match(pattern):
            # ASCII pattern: SQLite's own LIKE (ASCII case-insensitive, C speed) means the same.
            # COALESCE: a null value is "not like", as sf_like answers (NOT LIKE keeps it).
            return f"(COALESCE({column.sql} LIKE {self.param(pattern)} ESCAPE '\\', 0) = 1)"
        return f"(sf_like({self.param(pattern)}, {column.sql}) = 1)"

    # -- values --------------------------------------------------------------------------
    def coerce(self, column: _Column, literal: Literal, ref: FieldRef) -> Any:
        """The stored form of a literal compared with ``column`` (None for null)."""
        kind, ftype = literal.kind, column.meta.type
        if kind == "null":
            return 0 if ftype == "boolean" else None
        if literal.like_escape:
            raise malformed(
                self.soql,
                literal.pos,
                f"Invalid string literal '{literal.text[1:-1]}'. Illegal character sequence "
                f"'{literal.like_escape}' in string literal.",
            )
        wanted = {"boolean": "boolean", "date": "date", "datetime": "datetime"}.get(ftype)
        if ftype in TEXT_TYPES or ftype in ID_TYPES:
            wanted = "string"
        elif ftype in NUMBER_TYPES:
            wanted = "number"
        if kind == "date_function" and ftype in ("date", "datetime"):
            return self.date_range(literal, ftype)
        if kind != wanted:
            raise self.type_error(column, ref, quoted=wanted == "string")
        if ftype in ID_TYPES:
            return self.record_id(literal)
        if ftype == "boolean":
            return int(bool(literal.value))
        return literal.value

    def type_error(self, column: _Column, ref: FieldRef, quoted: bool) -> SoqlError:
        word = _TYPE_WORDS.get(column.meta.type, "string")
        should = "should" if quoted else "should not"
        return self.error(
            "INVALID_FIELD",
            ref.pos,
            f"value of filter criterion for field '{column.meta.name}' must be of type {word} "
            f"and {should} be enclosed in quotes",
        )

    def record_id(self, literal: Literal) -> str:
        value = str(literal.value)
        normalised = normalize_id(value)
        if normalised is None:
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", literal.pos, f"invalid ID field: {value}"
            )
        return normalised

    def date_range(self, literal: Literal, ftype: str) -> _Range:
        name, count = literal.value  # type: ignore[misc]
        try:
            start, end = date_literal_span(name, count, self.today)
        except (ValueError, OverflowError):
            raise self.error(
                "MALFORMED_QUERY", literal.pos, f"date literal out of range: {literal.text}"
            ) from None
        return _Range(_stored_day(start, ftype), _stored_day(end, ftype))


_SHIFTS = {"THIS": 0, "LAST": -1, "NEXT": 1, "TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
_PERIOD_LITERAL = re.compile(r"(THIS|LAST|NEXT)_(WEEK|MONTH|QUARTER|YEAR)")
_N_LITERAL = re.compile(r"(LAST|NEXT)_N_(DAY|WEEK|MONTH|QUARTER|YEAR)S")
_AGO_LITERAL = re.compile(r"N_(DAY|WEEK|MONTH|QUARTER|YEAR)S_AGO")
_MONTHS_IN = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}


def date_literal_span(name: str, count: int, today: date) -> tuple[date, date]:
    """``(first day, day after the last)`` of a SOQL date literal such as ``LAST_N_MONTHS:3``.

    Weeks start on Sunday (en_US) and the fiscal year is the calendar year.
    """
    word = name.upper().replace("FISCAL_", "").replace("_90_DAYS", "_N_DAYS")
    if "_90_" in name:
        count = 90
    if word in ("TODAY", "YESTERDAY", "TOMORROW"):
        unit, first, last = "DAY", _SHIFTS[word], _SHIFTS[word] + 1
    elif match := _PERIOD_LITERAL.fullmatch(word):
        unit, first = match.group(2), _SHIFTS[match.group(1)]
        last = first + 1
    elif match := _N_LITERAL.fullmatch(word):
        unit = match.group(2)
        if match.group(1) == "NEXT":
            first, last = 1, count + 1
        else:  # LAST_N_DAYS includes today; the other units stop before the current period
            first, last = -count, 1 if unit == "DAY" else 0
    elif match := _AGO_LITERAL.fullmatch(word):
        unit, first, last = match.group(1), -count, -count + 1
    else:
        raise ValueError(name)
    return _period_start(unit, today, first), _period_start(unit, today, last)


def _period_start(unit: str, today: date, shift: int) -> date:
    """The first day of the period ``shift`` periods away from the one holding ``today``."""
    if unit == "DAY":
        return today + timedelta(days=shift)
    if unit == "WEEK":
        sunday = today - timedelta(days=(today.weekday() + 1) % 7)
        return sunday + timedelta(weeks=shift)
    size = _MONTHS_IN[unit]
    index = today.year * 12 + (today.month - 1) // size * size + shift * size
    return date(index // 12, index % 12 + 1, 1)


def _stored_day(day: date, ftype: str) -> str:
    """Midnight UTC of ``day`` in the stored form of a date or datetime field."""
    return day.isoformat() if ftype == "date" else f"{day.isoformat()}T00:00:00.000+0000"
