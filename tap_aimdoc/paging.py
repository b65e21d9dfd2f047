"""Aimdoc listings: the tolerant envelope reader and the page-number paginator.

The envelope is ``{"data": [...], "page", "per_page", "total", "has_more"}``, but a bare JSON
array, or a ``data`` without ``total``/``has_more``, is read too: then a short page ends it.

Page-number paging over a list that changes under the reader can skip records. A list sorted
by ``updated_at`` ascending moves every changed record to its end, which shifts the records
behind it one place towards the front: read front to back, a record slides from an unread page
onto a page already read and is missed. Read back to front, the same shift only moves a record
already read onto a page still to come (read twice, never missed), and the changed record
itself, now at the end, is newer than the sync's start and is picked up by the next run.
So when the first page shows a sorted list that spans several pages and the API reports its
``total``, the paginator throws that page away and reads from the last page back to page 1.
Lists in any other order are read front to back (records inserted into a stable order shift
later, so they are at worst read twice).
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from singer_sdk.pagination import BaseAPIPaginator

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests


@dataclass(frozen=True)
class Page:
    """One listing response: its records and what it says about the rest."""

    records: list[dict]
    total: int | None = None
    has_more: bool | None = None
    per_page: int | None = None
    # "envelope" ({data, total, ...}), "data only" ({data}) or "bare array".
    envelope: str = field(default="envelope", compare=False)


class UnreadablePageError(ValueError):
    """A 200 response that is no page of records: ``{}``, ``{"data": null}``, an error."""


def read_page(payload: object) -> Page:
    """Read an envelope, a ``{"data": [...]}`` or a bare array of records.

    Anything else (``{}``, ``{"data": null}``, an error object, a string) is no page: reading
    it as an empty one would end the listing early and skip the records after it.
    """
    if isinstance(payload, list):
        return Page([record for record in payload if isinstance(record, dict)],
                    envelope="bare array")
    if not isinstance(payload, dict):
        msg = f"a JSON {type(payload).__name__} instead of a page of records"
        raise UnreadablePageError(msg)
    records = payload.get("data")
    if not isinstance(records, list):
        raise UnreadablePageError(_why_not_a_page(payload))
    total = _int_or_none(payload.get("total"))
    return Page(records, total,
                payload["has_more"] if isinstance(payload.get("has_more"), bool) else None,
                _int_or_none(payload.get("per_page")),
                "envelope" if total is not None or "has_more" in payload else "data only")


def page_of(response: requests.Response) -> Page:
    """The page the stream's ``validate_response`` read from a response (else read it now)."""
    page = getattr(response, "aimdoc_page", None)
    return page if page is not None else read_page(response.json(parse_float=decimal.Decimal))


def _why_not_a_page(payload: dict) -> str:
    error = payload.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else error
        return f"an error object instead of a page of records: {str(message)[:200]}"
    if "data" in payload:
        return f"'data' is {type(payload['data']).__name__}, not a list of records"
    return "no 'data' list of records" if payload else "an empty JSON object"


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


class AimdocPaginator(BaseAPIPaginator[int]):
    """Page numbers, front to back, or back to front for sorted multi-page lists."""

    def __init__(self, page_size: int, *,
                 is_sorted: Callable[[list[dict]], bool] | None = None) -> None:
        """Page numbers of ``page_size`` records.

        ``is_sorted`` tells whether a page is in the API's sort order; None: never read
        back to front (for append-only lists).
        """
        super().__init__(1)
        self.page_size = page_size
        self.backwards = False
        self._probe = is_sorted
        self._page: Page | None = None

    def accept(self, page: Page) -> list[dict]:
        """Take the page just read; return the records to emit from it."""
        self._page = page
        probe, self._probe = self._probe, None
        if probe is None or page.total is None or not self._more_pages(page):
            return page.records
        last = math.ceil(page.total / (page.per_page or self.page_size))
        if last < 2 or not probe(page.records):
            return page.records
        self.backwards, self._last = True, last
        return []

    def has_more(self, response: requests.Response) -> bool:
        """Whether another page is to be read."""
        if self.backwards:
            return not (self.current_value == 1 and self.count > 1)
        return self._page is not None and self._more_pages(self._page)

    def get_next(self, response: requests.Response) -> int | None:
        """The next page number."""
        if self.backwards:
            return self._last if self.count == 1 else self.current_value - 1
        return self.current_value + 1

    def continue_if_empty(self, response: requests.Response) -> bool:
        """Keep reading backwards past the discarded first page or an empty page."""
        return self.backwards and self.has_more(response)

    def _more_pages(self, page: Page) -> bool:
        if page.has_more is not None:
            return page.has_more
        if page.total is not None:
            return self.current_value * (page.per_page or self.page_size) < page.total
        return len(page.records) >= (page.per_page or self.page_size)
