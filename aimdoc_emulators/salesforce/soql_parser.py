"""Recursive-descent parser for the emulator's SOQL subset (spec §5.1): text -> ``Query`` tree.

The parser only checks syntax; names and value types are checked against metadata when the
query is compiled (``soql.run_query``). Anything outside the subset is a MALFORMED_QUERY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypeAlias

from aimdoc_emulators.salesforce.soql_lexer import (
    DATE,
    DATE_N,
    DATETIME,
    EOF,
    IDENT,
    NUMBER,
    STRING,
    SoqlError,
    Token,
    malformed,
    tokenize,
)

MAX_OFFSET = 2000
MAX_INT = 2_147_483_647
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_PERIODS = ("WEEK", "MONTH", "QUARTER", "YEAR", "FISCAL_QUARTER", "FISCAL_YEAR")
_N_PERIODS = ("DAYS", "WEEKS", "MONTHS", "QUARTERS", "YEARS", "FISCAL_QUARTERS", "FISCAL_YEARS")
DATE_FUNCTIONS = frozenset(
    {"TODAY", "YESTERDAY", "TOMORROW", "LAST_90_DAYS", "NEXT_90_DAYS"}
    | {f"{when}_{period}" for when in ("THIS", "LAST", "NEXT") for period in _PERIODS}
)
DATE_N_FUNCTIONS = frozenset(
    {f"{when}_N_{period}" for when in ("LAST", "NEXT") for period in _N_PERIODS}
    | {f"N_{period}_AGO" for period in _N_PERIODS}
)
_CLAUSE_ENDS = ("WHERE", "ORDER", "LIMIT", "OFFSET")


@dataclass(frozen=True)
class Literal:
    """A value: kind is string, number, boolean, null, date, datetime or date_function."""

    kind: str
    value: object
    pos: int
    text: str
    pattern: str | None = None
    like_escape: str = ""


@dataclass(frozen=True)
class FieldRef:
    """A field path as written, e.g. ``("Account", "Name")``."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        """The path as written."""
        return ".".join(self.parts)


@dataclass(frozen=True)
class Comparison:
    """``field op value``."""

    field: FieldRef
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    """``field [NOT] IN (values)``."""

    field: FieldRef
    negated: bool
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Like:
    """``field LIKE 'pattern'``."""

    field: FieldRef
    value: Literal


@dataclass(frozen=True)
class Not:
    """``NOT term``."""

    operand: Condition


@dataclass(frozen=True)
class Junction:
    """Terms joined by one operator: ``AND`` or ``OR``."""

    op: str
    operands: tuple[Condition, ...]


Condition: TypeAlias = Comparison | InList | Like | Not | Junction


@dataclass(frozen=True)
class OrderItem:
    """``field [ASC|DESC] [NULLS FIRST|LAST]``."""

    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Count:
    """``COUNT()`` (field None) or the aggregate ``COUNT(field) [alias]``."""

    field: FieldRef | None
    alias: str | None
    pos: int


@dataclass(frozen=True)
class SubQuery:
    """A parent-to-child subquery in the SELECT list: ``(SELECT ... FROM Contacts)``.

    ``position`` is the number of plain fields before it, which places its key in records.
    """

    position: int
    query: Query
    pos: int


@dataclass(frozen=True)
class Query:
    """A parsed statement (``source`` is the text, for error messages)."""

    source: str
    fields: tuple[FieldRef, ...]
    count: Count | None
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    subqueries: tuple[SubQuery, ...] = ()


def parse(soql: str) -> Query:
    """Parse a statement of the subset, or raise SoqlError (MALFORMED_QUERY)."""
    return _Parser(soql).query()


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------
    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != EOF:
            self.index += 1
        return token

    def unexpected(self, token: Token | None = None, detail: str | None = None) -> Exception:
        token = token or self.peek
        return malformed(self.soql, token.pos, detail or f"unexpected token: {token.shown()}")

    def expect_keyword(self, word: str) -> Token:
        if not self.peek.keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, symbol: str) -> Token:
        if not self.peek.is_punct(symbol):
            raise self.unexpected()
        return self.advance()

    def accept_keyword(self, *words: str) -> Token | None:
        return self.advance() if self.peek.keyword(*words) else None

    def identifier(self) -> Token:
        if self.peek.kind != IDENT:
            raise self.unexpected()
        return self.advance()

    # -- statement -----------------------------------------------------------------------
    def query(self, *, nested: bool = False) -> Query:
        start = self.expect_keyword("SELECT")
        fields, count, subqueries = self.select_list(nested=nested)
        self.expect_keyword("FROM")
        sobject = self.identifier()
        where = self.condition() if self.accept_keyword("WHERE") else None
        order_by = self.order_by() if self.peek.keyword("ORDER") else ()
        limit = self.integer("LIMIT", MAX_INT)
        offset = self.integer("OFFSET", MAX_INT)
        if not (self.peek.is_punct(")") if nested else self.peek.kind == EOF):
            raise self.unexpected()
        if nested and (count is not None or offset is not None):
            raise self.unexpected(start, "unsupported in a relationship subquery: COUNT() and "
                                  "OFFSET (the emulator's SOQL subset)")
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        if count is not None and count.field is not None and order_by:
            raise malformed(
                self.soql,
                order_by[0].field.pos,
                f"Ordered field must be grouped or aggregated: {order_by[0].field.text}",
            )
        return Query(
            self.soql, fields, count, sobject.text, sobject.pos, where, order_by, limit, offset,
            subqueries,
        )

    def select_list(
        self, *, nested: bool = False
    ) -> tuple[tuple[FieldRef, ...], Count | None, tuple[SubQuery, ...]]:
        if self.peek.keyword("COUNT") and self.tokens[self.index + 1].is_punct("("):
            return (), self.count(), ()
        fields: list[FieldRef] = []
        subqueries: list[SubQuery] = []
        while True:
            if self.peek.is_punct("(") and self.tokens[self.index + 1].keyword("SELECT"):
                opening = self.advance()
                if nested:
                    raise self.unexpected(opening, "unexpected token: '(' (a relationship "
                                          "subquery cannot contain another)")
                inner = self.query(nested=True)
                self.expect_punct(")")
                subqueries.append(SubQuery(len(fields), inner, opening.pos))
            else:
                fields.append(self.field_ref())
            if not self.peek.is_punct(","):
                return tuple(fields), None, tuple(subqueries)
            self.advance()

    def count(self) -> Count:
        start = self.advance()
        self.expect_punct("(")
        field = None if self.peek.is_punct(")") else self.field_ref()
        self.expect_punct(")")
        alias = None
        if field is not None and self.peek.kind == IDENT and not self.peek.keyword("FROM"):
            alias = self.advance().text
        return Count(field, alias, start.pos)

    def field_ref(self) -> FieldRef:
        first = self.identifier()
        if self.peek.is_punct("("):
            raise self.unexpected(
                first,
                f"unsupported function '{first.text}': the emulator's SOQL subset "
                "only has COUNT() and COUNT(field) alone in the SELECT list",
            )
        parts = [first.text]
        while self.peek.is_punct("."):
            self.advance()
            parts.append(self.identifier().text)
        return FieldRef(tuple(parts), first.pos)

    def integer(self, keyword: str, maximum: int) -> int | None:
        if not self.accept_keyword(keyword):
            return None
        token = self.peek
        if token.kind != NUMBER or not isinstance(token.value, int) or token.text[0] in "+-":
            raise self.unexpected()
        self.advance()
        if token.value > maximum:
            raise self.unexpected(token, f"numeric value out of range: {token.text}")
        return token.value

    def order_by(self) -> tuple[OrderItem, ...]:
        self.expect_keyword("ORDER")
        self.expect_keyword("BY")
        items = [self.order_item()]
        while self.peek.is_punct(","):
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        field = self.field_ref()
        direction = self.accept_keyword("ASC", "DESC")
        descending = direction is not None and direction.text.upper() == "DESC"
        nulls_last = False
        if self.accept_keyword("NULLS"):
            which = self.accept_keyword("FIRST", "LAST")
            if which is None:
                raise self.unexpected()
            nulls_last = which.text.upper() == "LAST"
        return OrderItem(field, descending, nulls_last)

    # -- conditions ----------------------------------------------------------------------
    def condition(self) -> Condition:
        first = self.term()
        if not self.peek.keyword("AND", "OR"):
            return first
        op = self.peek.text.upper()
        other = "OR" if op == "AND" else "AND"
        operands = [first]
        while self.accept_keyword(op):
            operands.append(self.term())
        if self.peek.keyword(other):
            raise self.unexpected()
        return Junction(op, tuple(operands))

    def term(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.term())
        if self.peek.is_punct("("):
            self.advance()
            if self.peek.keyword("SELECT"):
                raise self.unexpected(
                    detail="unexpected token: 'SELECT' (subqueries are not "
                    "supported by the emulator)"
                )
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        field = self.field_ref()
        token = self.peek
        if token.kind == "punct" and token.text in COMPARISONS:
            self.advance()
            return Comparison(field, token.text, self.literal())
        if token.keyword("LIKE"):
            self.advance()
            value = self.peek
            if value.kind != STRING:
                raise self.unexpected()
            return Like(field, self.literal())
        negated = self.accept_keyword("NOT") is not None
        if self.peek.keyword("IN"):
            self.advance()
            return InList(field, negated, self.value_list())
        raise self.unexpected()

    def value_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        if self.peek.keyword("SELECT"):
            raise self.unexpected(
                detail="unexpected token: 'SELECT' (semi-join subqueries are "
                "not supported by the emulator)"
            )
        values = [self.literal()]
        while self.peek.is_punct(","):
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.peek
        kind = {STRING: "string", NUMBER: "number", DATE: "date", DATETIME: "datetime"}.get(
            token.kind
        )
        value = token.value
        if token.kind == IDENT:
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                kind, value = "boolean", word == "TRUE"
            elif word == "NULL":
                kind, value = "null", None
            elif word in DATE_FUNCTIONS:
                kind, value = "date_function", (word, 0)
        elif token.kind == DATE_N:
            name, days = token.value  # type: ignore[misc]
            if name.upper() in DATE_N_FUNCTIONS:
                kind, value = "date_function", (name.upper(), days)
        elif token.kind in (DATE, DATETIME):
            value = self.temporal(token)
        if kind is None:
            raise self.unexpected()
        self.advance()
        return Literal(kind, value, token.pos, token.text, token.pattern, token.like_escape)

    def temporal(self, token: Token) -> str:
        """A date as ``YYYY-MM-DD``, a datetime in UTC as stored (``...T...000+0000``)."""
        try:
            if token.kind == DATE:
                return date.fromisoformat(token.text).isoformat()
            year, month, day, hour, minute, second, fraction, zone = token.value  # type: ignore[misc]
            offset = timedelta(0)
            if zone != "Z":
                sign = -1 if zone[0] == "-" else 1
                digits = zone[1:].replace(":", "")
                offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                int((fraction or "0").ljust(3, "0")[:3]) * 1000,
                tzinfo=timezone(offset),
            ).astimezone(UTC)
        except ValueError as exc:
            raise self.unexpected(token, f"invalid date or datetime literal: {token.text}") from exc
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
