"""The tap's pure parts: timestamps, starting points, envelopes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tap_aimdoc.incremental import Since, starting_point
from tap_aimdoc.paging import Page, UnreadablePageError, read_page
from tap_aimdoc.timestamps import canonical, parse_http_date

MOMENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00.000Z"),
    ("2026-03-01T13:00:00.5+01:00", "2026-03-01T12:00:00.500Z"),
    ("2026-03-01T12:00:00.123456", "2026-03-01T12:00:00.123Z"),
    ("2026-03-01T12:00:00.123Z", "2026-03-01T12:00:00.123Z"),
    ("2026-13-01T12:00:00.000Z", "2026-13-01T12:00:00.000Z"),
    ("not a date", "not a date"),
    (None, None),
])
def test_timestamps_become_canonical(raw, expected):
    assert canonical(raw) == expected


def test_http_dates():
    assert parse_http_date("Sun, 01 Mar 2026 12:00:00 GMT") == MOMENT
    assert parse_http_date("yesterday") is None
    assert parse_http_date(None) is None


def test_a_bookmark_is_exclusive_and_start_date_inclusive():
    bookmark = Since(MOMENT, inclusive=False)
    start = Since(MOMENT, inclusive=True)
    assert not bookmark.admits("2026-03-01T12:00:00.000Z")
    assert bookmark.admits("2026-03-01T12:00:00.001Z")
    assert start.admits("2026-03-01T12:00:00.000Z")
    assert not start.admits("2026-03-01T11:59:59.999Z")
    assert bookmark.admits(None)
    assert bookmark.admits("garbage")


def test_the_request_day_looks_back():
    assert Since(MOMENT, inclusive=False).request_day(7) == date(2026, 2, 22)
    assert Since(MOMENT).request_day(0) == date(2026, 3, 1)
    assert Since().request_day(7) is None


def test_starting_point_prefers_a_newer_bookmark_over_start_date():
    state = {"replication_key": "updated_at", "replication_key_value": "2026-03-01T12:00:00Z"}
    assert starting_point(state, "updated_at", "2026-01-01") == Since(MOMENT, inclusive=False)
    assert starting_point(state, "updated_at", "2026-04-01T00:00:00Z") == Since(
        datetime(2026, 4, 1, tzinfo=UTC))
    assert starting_point(state, "created_at", None) == Since()
    assert starting_point({}, "updated_at", None) == Since()


@pytest.mark.parametrize(("payload", "expected"), [
    ({"data": [{"id": 1}], "page": 1, "per_page": 50, "total": 1, "has_more": False},
     Page([{"id": 1}], 1, False, 50)),
    ({"data": [{"id": 1}]}, Page([{"id": 1}])),
    ([{"id": 1}, "junk"], Page([{"id": 1}])),
])
def test_envelopes_are_read_tolerantly(payload, expected):
    assert read_page(payload) == expected


@pytest.mark.parametrize(("payload", "why"), [
    ("<html>", "a JSON str instead of a page"),
    ({}, "an empty JSON object"),
    ({"data": None, "total": "12"}, "'data' is NoneType"),
    ({"error": {"code": "x", "message": "Boom"}}, "an error object instead of a page .*Boom"),
    ({"items": []}, "no 'data' list"),
])
def test_a_body_that_is_no_page_is_an_error(payload, why):
    with pytest.raises(UnreadablePageError, match=why):
        read_page(payload)
