"""Splitting long IN lists into queries under Salesforce's SOQL length limit."""

from __future__ import annotations

import random

from simple_salesforce import format_soql

from target_salesforce_aimdoc.salesforce import chunk_in_values, chunk_values

TEMPLATE = "SELECT Id, Email FROM Lead WHERE Email IN {}"


def emails(count: int, seed: int = 3) -> list[str]:
    """Emails with characters SOQL must escape (quotes, backslashes) and non-ASCII ones."""
    rng = random.Random(seed)
    parts = ["o'neil", 'say"hi', "back\\slash", "zoë", "plain", "x" * 40, "%_like"]
    return [f"{rng.choice(parts)}{n}@{rng.choice(parts)}.example" for n in range(count)]


def test_in_list_chunks_equal_the_general_measure() -> None:
    values = emails(3000)
    for limit in (300, 2_000, 20_000, 100_000):
        general = chunk_values(values, lambda part: format_soql(TEMPLATE, part), limit)
        assert chunk_in_values(values, TEMPLATE, limit) == general


def test_each_query_fits_and_every_value_is_asked_once() -> None:
    values = emails(5000)
    chunks = chunk_in_values(values, TEMPLATE, 20_000)
    assert len(chunks) > 1
    assert all(len(format_soql(TEMPLATE, chunk)) <= 20_000 for chunk in chunks)
    assert [value for chunk in chunks for value in chunk] == values


def test_a_value_longer_than_the_limit_gets_a_query_of_its_own() -> None:
    long = "a" * 500 + "@example.com"
    assert chunk_in_values(["a@x.example", long, "b@x.example"], TEMPLATE, 300) == [
        ["a@x.example"], [long], ["b@x.example"]]
