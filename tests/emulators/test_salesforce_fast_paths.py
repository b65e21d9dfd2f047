"""The Salesforce emulator's fast paths answer exactly as the paths they stand in for."""

from __future__ import annotations

import random

import pytest

from aimdoc_emulators.salesforce import store
from aimdoc_emulators.salesforce.composite import _reference_free
from aimdoc_emulators.salesforce.errors import RecordFailure, record_error
from aimdoc_emulators.salesforce.metadata import Catalog
from aimdoc_emulators.salesforce.models import SalesforceBackend
from aimdoc_emulators.salesforce.soql import to_sql
from aimdoc_emulators.salesforce.soql_lexer import tokenize


# -- OR of LIKE '%word%' ----------------------------------------------------------------------
def test_or_of_plain_likes_on_one_column_is_one_contains_term():
    sql, params = to_sql(
        Catalog(), "SELECT Id FROM Account WHERE Website LIKE '%acme%' OR Website LIKE '%b.io%'"
    )
    assert "sf_contains(?, t0.\"Website\")" in sql
    assert "LIKE" not in sql
    assert params[0] == store.contains_pattern(["acme", "b.io"])


@pytest.mark.parametrize("where", [
    "Website LIKE '%a_c%' OR Website LIKE '%b%'",  # a wildcard inside
    "Website LIKE 'acme%' OR Website LIKE '%b%'",  # not %word%
    "Website LIKE '%acme%' OR Name LIKE '%b%'",  # two columns
    "Website LIKE '%acme%' AND Website LIKE '%b%'",
    "Website LIKE '%é%' OR Website LIKE '%b%'",  # not ASCII: sf_like
])
def test_other_likes_keep_their_sql(where):
    sql, _ = to_sql(Catalog(), f"SELECT Id FROM Account WHERE {where}")
    assert "sf_contains" not in sql


def test_sf_contains_answers_as_sqlite_like():
    rng = random.Random(11)
    conn = store.connect()
    conn.execute('CREATE TABLE t (v TEXT COLLATE SFCI)')
    alphabet = "abcAB-.k_%\\ \x00KſıİéÉ"  # Kelvin sign, long s, dotted/dotless i, NUL
    values = [None] + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                       for _ in range(1500)]
    conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    for _ in range(300):
        words = ["".join(rng.choice("abcABk-. ") for _ in range(rng.randint(1, 4)))
                 for _ in range(rng.randint(2, 20))]
        chain = " OR ".join("(COALESCE(v LIKE ? ESCAPE '\\', 0) = 1)" for _ in words)
        patterns = [f"%{w}%" for w in words]
        source = store.contains_pattern(words)
        for wrap in ("{}", "NOT ({})"):
            expected = conn.execute(
                f"SELECT rowid FROM t WHERE {wrap.format(chain)}", patterns).fetchall()
            got = conn.execute(
                f"SELECT rowid FROM t WHERE {wrap.format('(sf_contains(?, v) = 1)')}", (source,)
            ).fetchall()
            assert got == expected, words


# -- composite bodies without references ------------------------------------------------------
@pytest.mark.parametrize(("raw", "free"), [
    (b'{"compositeRequest": [{"body": {"Name": "x"}}]}', True),
    (b'{"body": {"Name": "@{a.id}"}}', False),
    (b'{"body": {"Name": "\\u0040{a.id}"}}', False),
    (b'{"body": {"Name": "@\\u007Ba.id}"}}', False),
    (b"", False),
    ('{"body": {"Name": "x"}}'.encode("utf-16"), False),
])
def test_reference_free_bodies(raw, free):
    assert _reference_free(raw) is free


# -- string literals --------------------------------------------------------------------------
def test_plain_string_literal_token_matches_the_decoding_loop():
    plain, escaped = tokenize("'ab c' 'a\\'b'")[:2]
    assert (plain.value, plain.pattern, plain.like_escape, plain.text) == (
        "ab c", "ab c", "", "'ab c'")
    assert (escaped.value, escaped.text) == ("a'b", "'a\\'b'")


# -- per-record operations --------------------------------------------------------------------
def test_a_record_failing_before_any_write_leaves_nothing():
    backend = SalesforceBackend()
    before = backend._write_mark()
    with pytest.raises(RecordFailure), backend.transaction(), backend.record_operation():
        backend.create("Contact", {"Email": "no-last-name@example.com"})
    assert backend._write_mark() == before


def test_a_record_failing_after_a_write_fails_the_call():
    backend = SalesforceBackend()

    def write_then_fail() -> None:
        with backend.transaction(), backend.record_operation():
            backend.create("Account", {"Name": "written"})
            raise RecordFailure([record_error("UNKNOWN", "late failure")])

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert backend.count("Account") == 0  # the enclosing transaction rolled it back
