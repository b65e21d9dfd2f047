r"""SQLite storage of the emulated org: one table per object, one column per field.

Text columns use the ``SFCI`` collation (Unicode case-folded), so ``=``, ``IN`` and ``ORDER BY``
compare strings case-insensitively as Salesforce does; ``sf_like(pattern, value)`` implements
SOQL ``LIKE`` (``%``, ``_``, ``\\%``, ``\\_``, case-insensitive). Values are stored as:
booleans 0/1, numbers as INTEGER/REAL, dates ``YYYY-MM-DD``, datetimes
``YYYY-MM-DDTHH:MM:SS.000+0000`` (UTC, so text order is time order), ids as 18-character text.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import TYPE_CHECKING

from aimdoc_emulators.salesforce.metadata import NUMBER_TYPES, TEXT_TYPES

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.metadata import Catalog, FieldMeta, SObjectMeta


def _casefold_compare(left: str, right: str) -> int:
    a, b = left.casefold(), right.casefold()
    return (a > b) - (a < b)


def sf_fold(value: object) -> object:
    """A text value case-folded (the SFCI sort key), for ``sf_fold(col) IN (folded, ...)``."""
    return value.casefold() if isinstance(value, str) else value


def is_indexed(meta: FieldMeta) -> bool:
    """Whether ``create_table`` gives the field's column an index."""
    return meta.id_lookup or meta.external_id or meta.type == "reference"


def folds_in_python(meta: FieldMeta) -> bool:
    """An SFCI column with no index: ``IN`` lists match faster on ``sf_fold`` of the column.

    ``col IN (v, ...)`` under SFCI holds when ``casefold(col)`` equals some ``casefold(v)``;
    SQLite answers it with a collation call per comparison, ``sf_fold`` with one per row.
    """
    return meta.type in TEXT_TYPES and not is_indexed(meta)


@lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "\\")
            parts.append(re.escape(escaped))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def sf_like(pattern: str | None, value: str | None) -> int:
    """SOQL LIKE: ``%`` any run, ``_`` one character, backslash escapes, case-insensitive."""
    if pattern is None or value is None:
        return 0
    return int(_like_regex(pattern).fullmatch(str(value)) is not None)


def contains_pattern(words: list[str]) -> str:
    """A regex source finding any of ``words`` (ASCII, compared case-insensitively).

    The words share a trie, so a search tries each position once rather than every word.
    A word ending in the trie makes its longer continuations redundant (it occurs already).
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word.lower():
            if "" in node:
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        if "" in node:
            return ""
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie)


@lru_cache(maxsize=64)
def _contains_regex(source: str) -> re.Pattern[str]:
    return re.compile(source, re.ASCII | re.IGNORECASE)


def sf_contains(source: str | None, value: str | None) -> int:
    """``value LIKE '%w1%' OR value LIKE '%w2%' ...`` as SQLite's LIKE answers it.

    ``source`` is ``contains_pattern`` of the words (printable ASCII, no wildcards). SQLite
    folds ASCII letters only (``re.ASCII | re.IGNORECASE``) and reads a value up to its first
    NUL; a null value is not like anything.
    """
    if source is None or value is None:
        return 0
    text = str(value).partition("\x00")[0]
    return int(_contains_regex(source).search(text) is not None)


def column_type(meta: FieldMeta) -> str:
    """The SQLite column declaration for a field."""
    if meta.type in {"boolean", "int"}:
        return "INTEGER"
    if meta.type in NUMBER_TYPES:
        return "REAL"
    if meta.type in TEXT_TYPES:
        return "TEXT COLLATE SFCI"
    return "TEXT"


def connect(path: str = ":memory:") -> sqlite3.Connection:
    """Open the database with the SFCI collation, sf_like, sf_fold and sf_contains registered."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.create_collation("SFCI", _casefold_compare)
    conn.create_function("sf_like", 2, sf_like, deterministic=True)
    conn.create_function("sf_fold", 1, sf_fold, deterministic=True)
    conn.create_function("sf_contains", 2, sf_contains, deterministic=True)
    conn.row_factory = sqlite3.Row
    return conn


def create_table(conn: sqlite3.Connection, obj: SObjectMeta) -> None:
    """Create the object's table (if missing) and add any column it lacks."""
    columns = ", ".join(f'"{meta.name}" {column_type(meta)}' for meta in obj.fields.values())
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{obj.name}" ({columns}, PRIMARY KEY ("Id"))')
    existing = {row[1].lower() for row in conn.execute(f'PRAGMA table_info("{obj.name}")')}
    for meta in obj.fields.values():
        if meta.name.lower() not in existing:
            conn.execute(f'ALTER TABLE "{obj.name}" ADD COLUMN "{meta.name}" {column_type(meta)}')
    for meta in obj.fields.values():
        if is_indexed(meta):
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "ix_{obj.name}_{meta.name}" '
                f'ON "{obj.name}" ("{meta.name}")'
            )


def create_schema(conn: sqlite3.Connection, catalog: Catalog) -> None:
    """Create every object's table."""
    for obj in catalog.objects.values():
        create_table(conn, obj)
