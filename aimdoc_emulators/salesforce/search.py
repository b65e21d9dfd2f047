r"""A basic SOSL ``FIND`` for ``GET /search?q=`` (simple-salesforce's ``sf.search``).

Supported: ``FIND {term} [IN ALL|NAME|EMAIL|PHONE|SIDEBAR FIELDS] [RETURNING Object[(fields
[WHERE ...] [ORDER BY ...] [LIMIT n])], ...] [LIMIT n]``, keywords in any case. The term is
words and ``"quoted phrases"``, joined by ``AND`` (also implied between words), ``OR`` or
``AND NOT``; ``*`` (any run of letters) and ``?`` (one letter) are wildcards and ``\`` escapes
a reserved character. Matching is by whole words, case-insensitively: field text and each term
are cut into letters-and-digits tokens, so ``acme`` finds ``Acme Corp`` and ``jd@acme.com``, and
``jd@acme.com`` finds that address. A record matches when every term (as the operators join
them) is found in one of the searched fields: ``ALL``/``SIDEBAR`` = the text fields,
``NAME`` = Name, FirstName, LastName (and Lead.Company, Note.Title, Task.Subject), ``EMAIL`` =
email fields, ``PHONE`` = phone fields. Without ``RETURNING`` every object is searched and only
``Id`` comes back. The answer is ``{"searchRecords": [...]}``, records grouped by object in
``RETURNING`` order, at most 2,000 (or ``LIMIT``).

Not modelled: relevance ranking (rows come in creation order), parentheses in the term,
stemming and synonyms, ``WITH`` clauses, ``OFFSET``, ``UPDATE TRACKING``, ``toLabel`` and other
functions, ``/parameterizedSearch``. A malformed search answers 400 ``MALFORMED_SEARCH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import ApiError
from aimdoc_emulators.salesforce.soql_lexer import EOF, IDENT, NUMBER, SoqlError, tokenize

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.metadata import SObjectMeta
    from aimdoc_emulators.salesforce.models import SalesforceBackend

MAX_RESULTS = 2000
SEARCH_TYPES = frozenset({"string", "email", "phone", "url", "textarea", "combobox"})
NAME_FIELDS = {"Lead": ("Company",), "Note": ("Title",), "Task": ("Subject",),
               "ContentNote": ("Title",)}
SCOPES = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
NOT_SEARCHED = frozenset({"ContentDocumentLink", "ContentDocument"})
_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"|((?:[^\s"\\]|\\.)+)')
_NON_WORD = re.compile(r"[^\w*?]+")


def malformed_search(message: str) -> ApiError:
    """400 MALFORMED_SEARCH."""
    return ApiError.of(400, "MALFORMED_SEARCH", message)


@dataclass
class Returning:
    """One object of the RETURNING clause and the SOQL-like text in its parentheses."""

    sobject: str
    clause: str | None = None


@dataclass
class Search:
    """A parsed ``FIND``: the term as (operator, matcher) pairs, scope, objects, limit."""

    terms: list[tuple[str, re.Pattern[str]]]
    scope: str
    returning: list[Returning]
    limit: int


def run(backend: SalesforceBackend, text: str | None, api_version: str) -> dict[str, Any]:
    """``GET /search?q=``: the matching records as ``{"searchRecords": [...]}``."""
    search = parse(text or "")
    targets = search.returning or [
        Returning(obj.name) for obj in backend.catalog.objects.values()
        if obj.name not in NOT_SEARCHED
    ]
    found: list[dict[str, Any]] = []
    for target in targets:
        obj = backend.catalog.sobject(target.sobject)
        if obj is None:
            raise malformed_search(f"sObject type '{target.sobject}' is not supported.")
        ids = _matching_ids(backend, obj, search)[:MAX_RESULTS]
        if ids:
            found += _records(backend, obj, target, ids, api_version)
        if len(found) >= search.limit:
            break
    return {"searchRecords": found[: search.limit]}


# ---------------------------------------------------------------------- parsing
def parse(text: str) -> Search:
    """Parse a SOSL statement of the supported subset."""
    stripped = text.strip()
    if not re.match(r"(?i)FIND\s*\{", stripped):
        raise malformed_search(
            "No search term found. The search term must be enclosed in braces."
        )
    start = stripped.index("{") + 1
    end = _closing_brace(stripped, start)
    terms = _terms(stripped[start:end])
    rest = stripped[end + 1 :]
    try:
        tokens = tokenize(rest)
    except SoqlError as exc:
        raise malformed_search(exc.message) from None
    reader = _Reader(rest, tokens)
    scope = "ALL"
    if reader.accept("IN"):
        scope = reader.word().upper()
        if scope not in SCOPES or not reader.accept("FIELDS"):
            raise malformed_search(f"unexpected token: '{scope}' after IN")
    returning = reader.returning() if reader.accept("RETURNING") else []
    limit = MAX_RESULTS
    if reader.accept("LIMIT"):
        limit = min(MAX_RESULTS, reader.number())
    if reader.peek.kind != EOF:
        raise malformed_search(f"unexpected token: '{reader.peek.text}'")
    return Search(terms, scope, returning, limit)


def _closing_brace(text: str, start: int) -> int:
    index = start
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "}":
            return index
        index += 1
    raise malformed_search("No search term found. The search term must be enclosed in braces.")


def _terms(term: str) -> list[tuple[str, re.Pattern[str]]]:
    """``[(operator, pattern)]``; the operator (AND, OR, NOT) joins a term to what precedes."""
    terms: list[tuple[str, re.Pattern[str]]] = []
    operator = "AND"
    for match in _WORD.finditer(term):
        phrase, word = match.group(1), match.group(2)
        if phrase is None and word.upper() in ("AND", "OR", "NOT") and terms:
            operator = "NOT" if word.upper() == "NOT" else word.upper()
            continue
        pattern = _pattern(phrase if phrase is not None else word)
        if pattern is not None:
            terms.append((operator, pattern))
        operator = "AND"
    if not terms:
        raise malformed_search("search term must be longer than one character")
    return terms


def _pattern(text: str) -> re.Pattern[str] | None:
    """A regex matching the text's tokens, in order, as whole words of normalised field text."""
    literal = re.sub(r"\\(.)", lambda m: " " if m.group(1) not in "*?" else m.group(1), text)
    tokens = [t for t in _NON_WORD.split(literal.casefold()) if t]
    if not tokens or sum(len(t.replace("*", "").replace("?", "")) for t in tokens) < 2:
        if tokens:
            raise malformed_search("search term must be longer than one character")
        return None
    parts = [re.escape(t).replace(r"\*", r"\w*").replace(r"\?", r"\w") for t in tokens]
    return re.compile(r"(?<!\w)" + " ".join(parts) + r"(?!\w)")


class _Reader:
    """Walks the tokens after the term."""

    def __init__(self, source: str, tokens: list[Any]) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0

    @property
    def peek(self) -> Any:
        return self.tokens[self.index]

    def accept(self, word: str) -> bool:
        if self.peek.keyword(word):
            self.index += 1
            return True
        return False

    def word(self) -> str:
        token = self.peek
        if token.kind != IDENT:
            raise malformed_search(f"unexpected token: '{token.text or '<EOF>'}'")
        self.index += 1
        return token.text

    def number(self) -> int:
        token = self.peek
        if token.kind != NUMBER or not isinstance(token.value, int) or token.value < 0:
            raise malformed_search(f"unexpected token: '{token.text or '<EOF>'}'")
        self.index += 1
        return token.value

    def returning(self) -> list[Returning]:
        targets = [self.target()]
        while self.peek.is_punct(","):
            self.index += 1
            targets.append(self.target())
        return targets

    def target(self) -> Returning:
        name = self.word()
        if not self.peek.is_punct("("):
            return Returning(name)
        opening = self.peek.pos
        depth = 0
        while self.peek.kind != EOF:
            token = self.peek
            self.index += 1
            if token.is_punct("("):
                depth += 1
            elif token.is_punct(")"):
                depth -= 1
                if depth == 0:
                    return Returning(name, self.source[opening + 1 : token.pos])
        raise malformed_search("unexpected token: '<EOF>' (unbalanced parentheses)")


# ---------------------------------------------------------------------- matching
def _searched_fields(obj: SObjectMeta, scope: str) -> list[str]:
    metas = list(obj.fields.values())
    if scope == "NAME":
        names = {"Name", "FirstName", "LastName", *NAME_FIELDS.get(obj.name, ())}
        return [m.name for m in metas if m.name in names]
    if scope == "EMAIL":
        return [m.name for m in metas if m.type == "email"]
    if scope == "PHONE":
        return [m.name for m in metas if m.type == "phone"]
    return [m.name for m in metas if m.type in SEARCH_TYPES]


def _matching_ids(backend: SalesforceBackend, obj: SObjectMeta, search: Search) -> list[str]:
    fields = _searched_fields(obj, search.scope)
    if not fields:
        return []
    columns = ", ".join(f'"{name}"' for name in fields)
    with backend.lock:
        rows = backend.conn.execute(
            f'SELECT "Id", {columns} FROM "{obj.name}" WHERE "IsDeleted" = 0 ORDER BY rowid'
        ).fetchall()
    found = []
    for row in rows:
        texts = [" ".join(t for t in _NON_WORD.split(str(v).casefold()) if t)
                 for v in row[1:] if v]
        if texts and _matches(search.terms, texts):
            found.append(row[0])
    return found


def _matches(terms: list[tuple[str, re.Pattern[str]]], texts: list[str]) -> bool:
    result = False
    for position, (operator, pattern) in enumerate(terms):
        hit = any(pattern.search(text) for text in texts)
        if position == 0:
            result = hit
        elif operator == "OR":
            result = result or hit
        elif operator == "NOT":
            result = result and not hit
        else:
            result = result and hit
    return result


def _records(
    backend: SalesforceBackend, obj: SObjectMeta, target: Returning, ids: list[str],
    api_version: str,
) -> list[dict[str, Any]]:
    """The records to return for one object: its field list, filters, order and limit."""
    fields, tail = "Id", ""
    if target.clause is not None and target.clause.strip():
        fields, tail = _split_clause(target.clause)
    where, order = _split_where(tail)
    id_list = ", ".join(f"'{record_id}'" for record_id in ids)
    soql = f"SELECT {fields} FROM {obj.name} WHERE Id IN ({id_list})"
    if where:
        soql += f" AND ({where})"
    soql += f" {order}" if order else ""
    page = backend.query(soql)
    records = list(page["records"])
    while not page["done"]:
        page = backend.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1])
        records += page["records"]
    return records


_CLAUSE_WORDS = ("WHERE", "ORDER", "LIMIT", "OFFSET")


def _split_clause(clause: str) -> tuple[str, str]:
    """``"Id, Name WHERE x LIMIT 2"`` -> ``("Id, Name", "WHERE x LIMIT 2")``."""
    position = _first_keyword(clause, _CLAUSE_WORDS)
    return clause[:position].strip() or "Id", clause[position:].strip()


def _split_where(tail: str) -> tuple[str, str]:
    """``"WHERE x ORDER BY y"`` -> ``("x", "ORDER BY y")``."""
    if tail[:5].upper() != "WHERE":
        return "", tail
    body = tail[5:]
    position = _first_keyword(body, ("ORDER", "LIMIT", "OFFSET"))
    return body[:position].strip(), body[position:].strip()


def _first_keyword(text: str, words: tuple[str, ...]) -> int:
    try:
        tokens = tokenize(text)
    except SoqlError as exc:
        raise malformed_search(exc.message) from None
    depth = 0
    for token in tokens:
        if token.is_punct("("):
            depth += 1
        elif token.is_punct(")"):
            depth -= 1
        elif depth == 0 and token.keyword(*words):
            return token.pos
    return len(text)
