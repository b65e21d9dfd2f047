"""AimdocStream: every HTTP call of the tap goes through here.

Base URL and Bearer key, page/per_page and the date window, the tolerant envelope, retries
(429 and 5xx, honouring ``Retry-After``, a bounded number of tries), clear errors for a wrong
key, the server's clock for bookmarks, and the incremental filter on each record.
"""

from __future__ import annotations

import decimal
import os
from datetime import UTC, datetime
from functools import cached_property
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from itertools import pairwise
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk import RESTStream
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_aimdoc.changes import in_order
from tap_aimdoc.conform import Conformer
from tap_aimdoc.incremental import Since, starting_point
from tap_aimdoc.paging import AimdocPaginator, Page, UnreadablePageError, page_of, read_page
from tap_aimdoc.timestamps import canonical, format_timestamp, parse_http_date
from tap_aimdoc.tracked import TrackedStream

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

DEFAULT_API_URL = "https://api.aimdoc.ai/api/v1"
_RETRIABLE = (HTTPStatus.TOO_MANY_REQUESTS,)


def _version() -> str:
    try:
        return version("aimdoc-salesforce-sync")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


class AimdocStream(TrackedStream, RESTStream[int]):
    """A listing of the Aimdoc External API, read incrementally by ``updated_at``."""

    replication_key = "updated_at"
    # Progress is promoted to the bookmark when the stream ends, capped at the server's time
    # when the stream started, whatever order the API lists records in (see paging.py).
    is_sorted = False
    order_field = "updated_at"
    id_field = "id"
    timestamp_fields: tuple[str, ...] = ("created_at", "updated_at")
    # Where the replication key's value comes from when a record lacks it.
    replication_fallbacks: tuple[str, ...] = ("created_at",)
    read_backwards = True
    # Tracked streams learn the date filter's field, reconcile, and detect changes by digest
    # when records carry no change time (see ``tracked``).
    tracks_changes = False
    # Emit records by ascending replication key, whatever order the API lists them in.
    emit_in_order = False
    # Records are conformed in ``post_process``, which skips the SDK's work when it would
    # change nothing (nearly always).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._paginator: AimdocPaginator | None = None
        self._signpost: str | None = None
        self._since: Since | None = None
        self._probe: Page | None = None
        self.tracker = None

    # -- where and how to call ---------------------------------------------------------------

    @property
    def url_base(self) -> str:
        """``api_url`` without a trailing slash."""
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        """``Authorization: Bearer ak_...``."""
        return HeaderOnlyBearer(token=self.config["api_key"])

    @property
    def http_headers(self) -> dict:
        """Headers sent with every request."""
        return {"Accept": "application/json"}

    @cached_property
    def user_agent(self) -> str:
        """``user_agent`` setting, or ``tap-aimdoc/<version>``."""
        return self.config.get("user_agent") or f"tap-aimdoc/{_version()}"

    @property
    def timeout(self) -> int:
        """Seconds to wait for a response."""
        return self.config.get("request_timeout", 60)

    @cached_property
    def requests_session(self) -> requests.Session:
        """One session for the stream, set up once.

        TLS is verified against ``ca_file`` (else the environment's bundle); proxies are read
        from the environment once rather than on every request.
        """
        session = requests.Session()
        session.verify = self.config.get("ca_file") or os.environ.get(
            "REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.proxies = requests.utils.get_environ_proxies(self.url_base)
        session.trust_env = False
        return session

    @property
    def page_size(self) -> int:
        """Records per request."""
        return int(self.config.get("page_size", 100))

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """Add the page, page size and this stream's filters to the request."""
        request = super().get_http_request(page=page)
        request.params.update(page=page.next_page_token or 1, per_page=self.page_size,
                              **self.query_params(page.stream_context))
        return request

    def query_params(self, context: Context | None) -> dict:
        """Filters: ``start_date`` from the bookmark's day minus ``lookback_days``.

        None on a tracked stream's full read (a reconciliation).
        """
        if self.tracker is not None:
            day = self.tracker.plan.requested_day
        else:
            day = self.since.request_day(int(self.config.get("lookback_days", 7)))
        return {"start_date": day.isoformat()} if day else {}

    # -- reading responses -------------------------------------------------------------------

    def get_new_paginator(self) -> AimdocPaginator:
        """A fresh paginator (kept, so ``parse_response`` can hand it each page)."""
        probe = self._in_api_order if self.read_backwards else None
        self._paginator = AimdocPaginator(self.page_size, is_sorted=probe)
        return self._paginator

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The records of one page, as the paginator decides to emit them."""
        page = page_of(response)
        yield from self._paginator.accept(page) if self._paginator else page.records

    def read_listing(self, path: str, params: dict, context: Context | None,
                     ) -> Iterator[Page]:
        """The pages of another listing (``path``), front to back.

        Through the same requests as the stream's own listing: headers, retries, errors.
        """
        paginator = AimdocPaginator(self.page_size)
        send = self.request_decorator(self._request)
        url = f"{self.url_base}{path}"
        while not paginator.finished:
            prepared = self.listing_request(
                url, {"page": paginator.current_value, "per_page": self.page_size, **params})
            response = send(prepared, context)
            page = page_of(response)
            paginator.accept(page)
            yield page
            if not page.records:
                return
            paginator.advance(response)

    def listing_request(self, url: str, params: dict) -> requests.PreparedRequest:
        """A GET of ``url`` with ``params``, as ``build_prepared_request`` makes it.

        While the session has no cookies to send, a copy of one request prepared once, given
        its URL: preparing a request from scratch costs more than sending it.
        """
        if self.requests_session.cookies:
            return self.build_prepared_request(method="GET", url=url,
                                               headers=self.http_headers, params=params)
        prepared = self._request_template.copy()
        prepared.prepare_url(url, params)
        return prepared

    @cached_property
    def _request_template(self) -> requests.PreparedRequest:
        return self.build_prepared_request(method="GET", url=self.url_base,
                                           headers=self.http_headers)

    def _write_request_duration_log(self, endpoint: str, response: requests.Response,
                                    context: Context | None, extra_tags: dict | None,
                                    ) -> None:
        """Tag the request metric with the path asked for, which need not be ``path``."""
        asked = urlparse(response.url).path.removeprefix(self._base_path)
        super()._write_request_duration_log(asked or endpoint, response, context, extra_tags)

    @cached_property
    def _base_path(self) -> str:
        return urlparse(self.url_base).path

    def _in_api_order(self, records: list[dict]) -> bool:
        keys = [(str(canonical(r.get(self.order_field)) or ""), str(r.get(self.id_field) or ""))
                for r in records]
        return all(earlier <= later for earlier, later in pairwise(keys))

    # -- errors and retries ------------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        """401/403 fail at once with advice; 429 and 5xx are retried; other 4xx fail."""
        status = response.status_code
        if status == HTTPStatus.UNAUTHORIZED:
            msg = (f"Aimdoc rejected the API key ({self.response_error_message(response)}). "
                   "Check the api_key setting: Aimdoc keys start with 'ak_'.")
            raise FatalAPIError(msg)
        if status == HTTPStatus.FORBIDDEN:
            msg = (f"Aimdoc refused API access ({self.response_error_message(response)}). "
                   "API access is part of Aimdoc's Convert plan.")
            raise FatalAPIError(msg)
        if status in _RETRIABLE or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status >= HTTPStatus.BAD_REQUEST:
            raise FatalAPIError(self.response_error_message(response))
        response.aimdoc_page = self.read_body(response)  # type: ignore[attr-defined]

    def read_body(self, response: requests.Response) -> Page:
        """The page a 200 response holds; RetriableAPIError if it holds none.

        ``{}``, ``{"data": null}``, an error object or broken JSON is retried like a 5xx, and
        named with its URL and page if it stays broken, rather than read as the listing's end.
        """
        try:
            payload = response.json(parse_float=decimal.Decimal)
        except ValueError:
            why = f"not JSON: {response.text[:80]!r}"
        else:
            try:
                return read_page(payload)
            except UnreadablePageError as exc:
                why = str(exc)
        page = parse_qs(urlparse(response.url).query).get("page", ["1"])[0]
        msg = (f"Aimdoc answered page {page} of {urlparse(response.url).path} with "
               f"{why} (URL: {response.url})")
        raise RetriableAPIError(msg, response)

    def response_error_message(self, response: requests.Response) -> str:
        """Status, path and the API's own message; never headers or the query."""
        detail = response.text[:500]
        try:
            body = response.json()
            detail = body["error"]["message"] if isinstance(body, dict) else detail
        except (ValueError, KeyError, TypeError):
            pass
        path = urlparse(response.url).path
        return f"{response.status_code} {response.reason} for {path}: {detail}"

    def backoff_max_tries(self) -> int:
        """Tries per request, the first one included (``max_tries``)."""
        return int(self.config.get("max_tries", 8))

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Waits: ``Retry-After`` if sent, else exponential; at most ``max_retry_wait``."""
        attempt = 0
        exception = yield  # type: ignore[misc]
        while True:
            attempt += 1
            exception = yield self.retry_wait(exception, attempt)

    def retry_wait(self, exception: BaseException, attempt: int) -> float:
        """Seconds to wait before the next try."""
        response = getattr(exception, "response", None)
        wait = retry_after(response) if response is not None else None
        if wait is None:
            wait = float(self.config.get("backoff_factor", 2.0)) * 2 ** (attempt - 1)
        return min(wait, float(self.config.get("max_retry_wait", 300)))

    def backoff_jitter(self, value: float) -> float:
        """No jitter: a single-threaded tap, and ``Retry-After`` is honoured as given."""
        return value

    # -- incremental -------------------------------------------------------------------------

    @property
    def since(self) -> Since:
        """Where this run starts (fixed for the run: bookmarks move only at the end)."""
        if self._since is None:
            self._since = self.starting_since()
        return self._since

    def starting_since(self) -> Since:
        """The stream's bookmark, or ``start_date``."""
        if self.replication_method == "FULL_TABLE" or not self.replication_key:
            return starting_point({}, "", self.config.get("start_date"))
        return starting_point(self.stream_state, self.replication_key,
                              self.config.get("start_date"))

    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        """The server's time when the stream starts.

        Bookmarks never pass it, so records changed while the stream runs are read again
        next time.
        """
        if self._signpost is None:
            self._signpost = format_timestamp(self.server_time())
        return self._signpost

    def server_time(self) -> datetime:
        """The API's clock (HTTP ``Date`` of a one-record request), else the local clock.

        The request is also the stream's probe: its page shows what the records look like
        (see ``readings``).
        """
        prepared = self.build_prepared_request(
            method="GET", url=self.get_url(None), headers=self.http_headers,
            params={"page": 1, "per_page": 1})
        response = self.request_decorator(self._request)(prepared, None)
        self._probe = page_of(response)
        self.readings.observe(self, self._probe)
        return parse_http_date(response.headers.get("Date")) or datetime.now(UTC)

    @property
    def readings(self) -> Any:
        """What this run learnt of the API's undocumented behaviour (shared by the streams)."""
        return self._tap.readings

    # -- a run of the stream -----------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """The admitted records (in replication-key order if ``emit_in_order``)."""
        self.start_tracking()
        records: Iterable[dict] = (record for row in self.request_records(context)
                                   if (record := self.admit(row, context)) is not None)
        if self.emit_in_order:
            records = in_order(records, self.replication_key, self.id_field)
        yield from records
        self.finish_tracking()

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Conform an admitted record to the schema, as the SDK would.

        (See ``TYPE_CONFORMANCE_LEVEL``; records are admitted in ``get_records``.)
        """
        return self.conform(row)

    @cached_property
    def conform(self) -> Conformer:
        """The SDK's conformance, skipped for records it leaves as they are."""
        return Conformer(self.name, self.effective_schema, self.logger)

    def admit(self, row: dict, context: Context | None) -> dict | None:
        """The normalised record if it is to be emitted, else None.

        Newer than the starting point; on a tracked stream, as its tracker decides.
        """
        record = self.normalize(row, context)
        if self.tracker is not None:
            return self.tracker.admit(record)
        return record if self.since.admits(record.get(self.replication_key)) else None

    def normalize(self, row: dict, context: Context | None) -> dict:
        """Timestamps in canonical form; a missing replication key from its fallbacks."""
        for name in self.timestamp_fields:
            if name in row:
                row[name] = canonical(row[name])
        key = self.replication_key
        if key and not row.get(key):
            row[key] = next((row[name] for name in self.replication_fallbacks
                             if row.get(name)), None)
        return row


class HeaderOnlyBearer(BearerTokenAuthenticator):
    """Bearer authentication that leaves the URL alone.

    The SDK's authenticator re-encodes every request's query to add its (here: no) URL
    parameters, twice per request.
    """

    def authenticate_request(self, request: requests.PreparedRequest,
                             ) -> requests.PreparedRequest:
        """Add the ``Authorization`` header."""
        if self.auth_params:  # pragma: no cover - a Bearer token has none
            return super().authenticate_request(request)
        request.headers.update(self.auth_headers)
        return request


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        moment = parse_http_date(value)
        now = parse_http_date(response.headers.get("Date")) or datetime.now(UTC)
        return max(0.0, (moment - now).total_seconds()) if moment else None
