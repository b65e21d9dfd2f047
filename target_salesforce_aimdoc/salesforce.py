"""SalesforceClient: the only caller of simple-salesforce. Login, queries, collection writes.

It counts every API call it makes, reads ``Sforce-Limit-Info`` after each one, re-authenticates
once on INVALID_SESSION_ID and replays the call, and retries transient failures with bounded
exponential backoff and jitter. Secrets never appear in its log lines or exceptions.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import quote_soql_value
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

from target_salesforce_aimdoc.auth import Login, SalesforceAuthError
from target_salesforce_aimdoc.describe_cache import DescribeCache
from target_salesforce_aimdoc.http_session import SalesforceSession
from target_salesforce_aimdoc.links import org_of

LOGGER = logging.getLogger("target_salesforce_aimdoc.salesforce")
COLLECTION_SIZE = 200
COMPOSITE_HEAVY = 5  # query or collection subrequests per Composite call
COMPOSITE_SUBREQUESTS = 25  # subrequests of any kind per Composite call
MAX_SOQL_CHARS = 90_000  # in a Composite body: under the 100,000-character statement limit


class StopRun(RuntimeError):
    """Stop the run cleanly: nothing more is written, no state past the last commit."""


class DailyLimitReached(StopRun):
    """Salesforce refused a call: the org's daily API allocation is used up."""


class ApiBudgetExhausted(StopRun):
    """The run used the share of the daily allocation ``max_api_share`` allows."""


class AmbiguousWrite(RuntimeError):
    """A create failed in a way that may have written records (500, timeout, reset)."""


@dataclass
class ApiUsage:
    """Calls this run made, and the org's usage as Salesforce last reported it."""

    calls: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    org_used: int | None = None
    org_limit: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str) -> None:
        """Count one call (thread-safe: independent calls may run concurrently)."""
        with self.lock:
            self.calls += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    @property
    def remaining(self) -> int | None:
        """Calls left in the org's daily allocation, when known."""
        if self.org_used is None or self.org_limit is None:
            return None
        return self.org_limit - self.org_used


def _errors(exc: SalesforceError) -> tuple[set[str], str]:
    content = exc.content if isinstance(exc.content, list) else []
    codes = {str(item.get("errorCode")) for item in content if isinstance(item, dict)}
    message = " ".join(str(item.get("message", "")) for item in content if isinstance(item, dict))
    return codes, message


def is_daily_limit(exc: BaseException) -> bool:
    """403 REQUEST_LIMIT_EXCEEDED for the daily allocation (not the concurrency limit)."""
    if not isinstance(exc, SalesforceError) or exc.status != 403:
        return False
    codes, message = _errors(exc)
    return "REQUEST_LIMIT_EXCEEDED" in codes and "ConcurrentPerOrg" not in message


def refused_unprocessed(exc: BaseException) -> bool:
    """Transient failures the service answers before doing anything: safe to send again."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, SalesforceError) or isinstance(exc, SalesforceExpiredSession):
        return False
    codes, message = _errors(exc)
    if exc.status == 503 or "SERVER_UNAVAILABLE" in codes or "UNABLE_TO_LOCK_ROW" in codes:
        return True
    return exc.status == 403 and "ConcurrentPerOrg" in message


def ambiguous(exc: BaseException) -> bool:
    """Failures after which a write may or may not have happened.

    A timeout after the request was sent, a connection cut or reset, a body that is cut
    short or is not the JSON Salesforce sends (a proxy's HTML page), or a 5xx.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                  | requests.exceptions.ChunkedEncodingError
                  | requests.exceptions.ContentDecodingError | ValueError):
        return True  # ValueError: the JSON of a body (requests' JSONDecodeError is one)
    return isinstance(exc, SalesforceError) and exc.status in {500, 502, 504}


def describe_failure(exc: BaseException) -> str:
    """One line naming what failed: the call and how.

    The redaction filter scrubs any secret an error body echoed.
    """
    if isinstance(exc, SalesforceError):
        codes, message = _errors(exc)
        message = message or " ".join(str(exc.content).split())  # a gateway's own body
        what = ", ".join(sorted(codes)) or f"HTTP {exc.status}"
        return f"Salesforce answered {what} to {exc.resource_name}: {message[:200]}".rstrip(": ")
    if isinstance(exc, requests.exceptions.Timeout):
        return "a Salesforce call timed out (http_timeout_seconds)"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS verification failed for Salesforce (set ca_file to your proxy's CA bundle)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "the connection to Salesforce failed or was cut"
    if isinstance(exc, ValueError) and "JSON" in type(exc).__name__ + str(exc):
        return "Salesforce's answer was not the JSON it sends (cut short, or a proxy's page)"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def retryable(idempotent: bool) -> Callable[[BaseException], bool]:
    """Which failures to retry: an idempotent call also retries the ambiguous ones."""
    def check(exc: BaseException) -> bool:
        if isinstance(exc, SalesforceExpiredSession):
            return True  # logged in again already; the call was refused before any work
        return refused_unprocessed(exc) or (idempotent and ambiguous(exc))

    return check


@dataclass
class CollectionCall:
    """One sObject Collections call: ≤200 records, its method, path and headers."""

    method: str
    path: str
    records: list[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def upsert(self) -> bool:
        """PATCH on ``composite/sobjects/{Type}/{Field}``: an upsert on an external id."""
        return self.path != "composite/sobjects"

    @property
    def kind(self) -> str:
        """How the call is counted: upsert, create or update."""
        return "upsert" if self.upsert else "create" if self.method == "POST" else "update"

    @property
    def idempotent(self) -> bool:
        """Whether sending it twice is harmless (not a plain create)."""
        return self.method != "POST"


class SalesforceClient:
    """A logged-in connection to one org with call accounting and bounded retries."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.max_tries = int(config.get("max_tries") or 6)
        self.max_wait = float(config.get("max_retry_wait_seconds") or 30.0)
        self.retry_max_seconds = float(config.get("max_retry_seconds") or 300.0)
        self.max_api_share = config.get("max_api_share")
        self.max_concurrency = int(config.get("max_concurrency") or 4)
        self.api_version = str(config.get("api_version") or "59.0")
        self.usage = ApiUsage()
        self.http = SalesforceSession(config.get("ca_file"),
                                      config.get("http_timeout_seconds"))
        self.auth = Login(config, self.http)
        self.flow = self.auth.flow
        self.sf: Salesforce | None = None
        self.user_id: str | None = None  # the integration user this run writes as
        self.org_id: str | None = None  # from the session id (``00D...!...``)
        self._describes: dict[str, dict[str, Any]] = {}
        self._assignment_rules: dict[str, str | None] = {}
        self.describe_cache = DescribeCache(config.get("describe_cache_minutes"),
                                            config.get("describe_cache_dir"))
        self.on_first_use: Callable[[], None] | None = None  # connects lazily (connection.py)

    # ------------------------------------------------------------------ auth
    @property
    def instance_url(self) -> str:
        """``https://host[:port]`` of the org."""
        assert self.sf is not None
        return f"https://{self.sf.sf_instance}"

    def login(self) -> SalesforceClient:
        """Authenticate with the configured flow and build the REST client."""
        if self.flow == "password":
            LOGGER.warning(
                "The OAuth username-password flow is retired for connected apps on 2027-02-20; "
                "move to client credentials or JWT bearer."
            )
        if self.flow == "soap":
            LOGGER.warning(
                "SOAP login() is not available from API 65.0 and is retired in Summer '27; "
                "move to client credentials or JWT bearer."
            )
        token, instance_url = self.auth.authenticate()
        self.user_id = self.auth.user_id
        self.org_id = org_of(token)
        self.sf = Salesforce(
            instance_url=instance_url, session_id=token, session=self.http,
            version=self.api_version,
        )
        LOGGER.info("Logged in to %s with the %s flow", instance_url, self.flow)
        if self.user_id is None and self.config.get("username"):
            rows = self.query(format_soql("SELECT Id FROM User WHERE Username = {}",
                                          self.config["username"]))
            self.user_id = rows[0]["Id"] if rows else None
        if self.user_id is None:
            self.user_id = self._user_from_userinfo(instance_url, token)
        return self

    def _user_from_userinfo(self, instance_url: str, token: str) -> str | None:
        """The session's user from ``userinfo`` (a session id says nothing else).

        So the records this integration wrote are recognised whatever the auth flow.
        """
        try:
            answer = self.http.get(f"{instance_url.rstrip('/')}/services/oauth2/userinfo",
                                   headers={"Authorization": f"Bearer {token}"})
            user = answer.json().get("user_id") if answer.ok else None
        except (requests.exceptions.RequestException, ValueError):
            user = None
        if not user:
            LOGGER.warning("Could not tell which user this session belongs to; Contacts this "
                           "integration made before are treated as made by people")
        return str(user) if user else None

    def call(self, kind: str, function: Callable[[], Any], *, idempotent: bool = True) -> Any:
        """Run one API call: counted, retried when transient, re-authenticated once on 401.

        A non-idempotent call (a create) is retried only when the service refused it before
        doing anything; after a 500, a timeout or a reset it raises AmbiguousWrite so the
        caller matches again instead of risking a duplicate. The daily limit and the run's
        API budget stop the run (StopRun).
        """

        @retry(
            retry=retry_if_exception(retryable(idempotent)),
            stop=stop_after_attempt(self.max_tries) | stop_after_delay(self.retry_max_seconds),
            wait=wait_random_exponential(multiplier=0.5, max=self.max_wait),
            reraise=True,
            before_sleep=lambda state: LOGGER.warning(
                "Retrying %s after %s (try %d)", kind,
                type(state.outcome.exception()).__name__, state.attempt_number,
            ),
        )
        def attempt() -> Any:
            self._check_budget()
            self.usage.add(kind)
            try:
                return function()
            except SalesforceExpiredSession:
                # Refused before any work: log in again and let the retry send it again
                # (bounded like any retry, however often the session is refused).
                LOGGER.info("Session expired; logging in again")
                self._relogin()
                raise
            finally:
                self._read_usage()

        try:
            return attempt()
        except SalesforceError as exc:
            if is_daily_limit(exc):
                raise DailyLimitReached(
                    "Salesforce refused the call: the org's daily API request limit is reached "
                    f"({self.usage.org_used}/{self.usage.org_limit}); stopping cleanly, run again "
                    "when the allocation recovers") from None
            if not idempotent and ambiguous(exc):
                raise AmbiguousWrite(f"{kind} failed with HTTP {exc.status}") from exc
            raise
        except (requests.exceptions.RequestException, ValueError) as exc:
            if not idempotent and ambiguous(exc):
                raise AmbiguousWrite(f"{kind} failed: {type(exc).__name__}") from exc
            raise

    def _check_budget(self) -> None:
        """Stop before the run uses more than ``max_api_share`` of the daily allocation."""
        if self.max_api_share is None or self.usage.org_limit is None:
            return
        budget = int(float(self.max_api_share) * self.usage.org_limit)
        if self.usage.calls + 1 > budget:
            raise ApiBudgetExhausted(
                f"max_api_share {float(self.max_api_share):.0%} of the daily allocation "
                f"({budget} of {self.usage.org_limit} calls) is used by this run; stopping "
                "cleanly, the next run goes on from the last saved state")

    def _relogin(self) -> None:
        if self.flow == "session":
            raise SalesforceAuthError(
                "the configured session_id expired; a session flow cannot log in again: set a "
                "fresh session_id, or use a flow that can (client_credentials or jwt)"
            )
        token, _ = self.auth.authenticate()
        assert self.sf is not None
        self.sf.session_id = token
        self.sf.headers["Authorization"] = "Bearer " + token

    def _read_usage(self) -> None:
        if self.sf is None:
            return
        usage = self.sf.api_usage.get("api-usage")
        if usage is not None:
            self.usage.org_used, self.usage.org_limit = usage.used, usage.total

    def describe(self, sobject: str) -> dict[str, Any]:
        """``/sobjects/{Type}/describe``, once per object per run.

        With ``describe_cache_minutes``, kept that long across runs (``describe_cache.py``).
        """
        if sobject not in self._describes:
            sf = self._sf()
            org = self._cache_org()
            cached = self.describe_cache.get(org, self.api_version, sobject)
            if cached is None:
                cached = self.call("describe", lambda: getattr(sf, sobject).describe())
                self.describe_cache.put(org, self.api_version, sobject, cached)
            self._describes[sobject] = cached
        return self._describes[sobject]

    def describe_many(self, sobjects: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Describes of several objects; those not cached come in one Composite call.

        A run's describes cost one API call, not one per object (a Composite subrequest may
        be any sObject resource, describes included).
        """
        names = list(dict.fromkeys(sobjects))
        org = self._cache_org()
        missing = []
        for name in names:
            cached = self._describes.get(name) or self.describe_cache.get(
                org, self.api_version, name)
            if cached is None:
                missing.append(name)
            else:
                self._describes[name] = cached
        if len(missing) == 1:
            self.describe(missing[0])
        elif missing:
            answers = [answer for start in range(0, len(missing), COMPOSITE_SUBREQUESTS)
                       for answer in self.composite(
                           [{"method": "GET", "url": f"{self._data_path}/sobjects/{name}/describe",
                             "referenceId": f"d{number}"} for number, name in
                            enumerate(missing[start:start + COMPOSITE_SUBREQUESTS])],
                           kind="describe")]
            for name, answer in zip(missing, answers, strict=True):
                described = _describe_body(answer, name)
                self.describe_cache.put(org, self.api_version, name, described)
                self._describes[name] = described
        return {name: self._describes[name] for name in names}

    def _cache_org(self) -> str:
        """The org as the describe cache names it (logs in first if needed)."""
        sf = self._sf()
        return f"{self.org_id or ''}@{sf.sf_instance}"

    def query(self, soql: str) -> list[dict[str, Any]]:
        """Every row of a query, following ``nextRecordsUrl`` (each page is one call)."""
        sf = self._sf()
        page = self.call("query", lambda: sf.query(soql))
        records = list(page["records"])
        while not page.get("done", True):
            url = page["nextRecordsUrl"]
            page = self.call("query", lambda url=url: sf.query_more(url, identifier_is_url=True))
            records.extend(page["records"])
        return records

    def create(self, records: list[dict[str, Any]],
               headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Collections create (≤200 records with ``attributes.type``), allOrNone false."""
        return self._collection("composite/sobjects", "POST", records, "create",
                                idempotent=False, headers=headers)

    def update(self, records: list[dict[str, Any]],
               headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Collections update (records carry ``id``), allOrNone false."""
        return self._collection("composite/sobjects", "PATCH", records, "update",
                                headers=headers)

    def upsert(self, path: str, records: list[dict[str, Any]],
               headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Collections upsert on an external id (``composite/sobjects/{Type}/{Field}``)."""
        return self._collection(path, "PATCH", records, "upsert", headers=headers)

    def active_assignment_rule(self, sobject: str) -> str | None:
        """The id of the object's active assignment rule (looked up once per run)."""
        if sobject not in self._assignment_rules:
            try:
                rows = self.query(format_soql(
                    "SELECT Id FROM AssignmentRule WHERE SobjectType = {} AND Active = true",
                    sobject))
            except SalesforceMalformedRequest as refused:
                LOGGER.warning("Could not read the org's active %s assignment rule (%s); Bulk "
                               "jobs run no assignment rule", sobject, _errors(refused)[0])
                rows = []
            self._assignment_rules[sobject] = rows[0]["Id"] if rows else None
        return self._assignment_rules[sobject]

    def _collection(
        self, path: str, method: str, records: list[dict[str, Any]], kind: str,
        *, idempotent: bool = True, headers: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        if not records:
            return []
        if len(records) > COLLECTION_SIZE:
            raise ValueError(f"at most {COLLECTION_SIZE} records per collection call")
        sf = self._sf()
        body = {"allOrNone": False, "records": records}
        return self.call(kind, lambda: sf.restful(path, method=method, json=body,
                                                  headers=dict(headers or {})),
                         idempotent=idempotent)

    def query_many(self, soqls: list[str]) -> list[list[dict[str, Any]]]:
        """Several queries in Composite calls, five a call; each query's rows, in order.

        The SOQL travels in the body, so long ``IN`` lists need no URI-sized chunks;
        ``nextRecordsUrl`` pages are followed.
        """
        results: list[list[dict[str, Any]]] = [[] for _ in soqls]
        pending = [(index, f"{self._data_path}/query/?q={quote_plus(soql)}")
                   for index, soql in enumerate(soqls)]
        while pending:
            groups = [pending[i:i + COMPOSITE_HEAVY]
                      for i in range(0, len(pending), COMPOSITE_HEAVY)]
            pending = []
            answered = self._concurrently(lambda group: self.composite(
                [{"method": "GET", "url": url, "referenceId": f"q{index}"}
                 for index, url in group], kind="query"), groups)
            for group, answers in zip(groups, answered, strict=True):
                for (index, _), answer in zip(group, answers, strict=True):
                    body = self._subrequest_body(answer, "query")
                    results[index].extend(body.get("records", []))
                    if not body.get("done", True):
                        pending.append((index, body["nextRecordsUrl"]))
        return results

    def _concurrently(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """Independent calls, at most ``max_concurrency`` at once; results in order."""
        if len(items) <= 1 or self.max_concurrency <= 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items))) as pool:
            return list(pool.map(work, items))

    def collections_many(self, method: str, chunks: list[list[dict[str, Any]]],
                         headers: list[dict[str, str]] | None = None, *,
                         path: str = "composite/sobjects",
                         ) -> list[list[dict[str, Any]] | SalesforceError]:
        """Collections calls (≤200 records each) of one kind, five to a Composite call.

        ``headers[i]`` (duplicate-rule and assignment headers) go with chunk ``i``.
        ``path`` ``composite/sobjects/{Type}/{Field}`` with PATCH upserts on an external id.
        See ``collections_calls``.
        """
        per_chunk = headers or [{} for _ in chunks]
        return self.collections_calls([
            CollectionCall(method, path, chunk, chunk_headers)
            for chunk, chunk_headers in zip(chunks, per_chunk, strict=True)])

    def collections_calls(self, calls: list[CollectionCall],
                          ) -> list[list[dict[str, Any]] | SalesforceError]:
        """Collections calls of any kinds, five to a Composite call, in order.

        Each call gets its per-record results, or the error that refused it as a whole. Its
        headers go on its own call, or as its Composite subrequest's ``httpHeaders``. A
        Composite call holding a plain create (POST) is not idempotent: after an unknown
        outcome it raises AmbiguousWrite instead of being sent again; upserts (PATCH on an
        external id) and updates are.
        """
        if len(calls) == 1:
            call = calls[0]
            try:
                return [self._collection(call.path, call.method, call.records, call.kind,
                                         idempotent=call.idempotent, headers=call.headers)]
            except SalesforceMalformedRequest as refused:
                return [refused]
        out: list[list[dict[str, Any]] | SalesforceError] = []
        groups = [calls[start:start + COMPOSITE_HEAVY]
                  for start in range(0, len(calls), COMPOSITE_HEAVY)]
        answered = self._concurrently(lambda group: self.composite([
            {"method": call.method, "url": f"{self._data_path}/{call.path}",
             "referenceId": f"c{number}", "body": {"allOrNone": False, "records": call.records},
             **({"httpHeaders": dict(call.headers)} if call.headers else {})}
            for number, call in enumerate(group)],
            kind="_".join(dict.fromkeys(call.kind for call in group)),
            idempotent=all(call.idempotent for call in group),
            headers=_common([(call, call.headers) for call in group])), groups)
        for group, answers in zip(groups, answered, strict=True):
            for call, answer in zip(group, answers, strict=True):
                if answer["httpStatusCode"] == 200:
                    out.append(answer["body"])
                elif call.method == "POST" and not 400 <= answer["httpStatusCode"] < 500:
                    raise AmbiguousWrite(
                        f"a create subrequest answered HTTP {answer['httpStatusCode']}: its "
                        "records may or may not have been written")
                else:
                    out.append(SalesforceMalformedRequest(
                        "composite/sobjects", answer["httpStatusCode"], "composite",
                        answer["body"]))
        return out

    def composite(self, subrequests: list[dict[str, Any]], *, kind: str,
                  idempotent: bool = True, headers: dict[str, str] | None = None,
                  ) -> list[dict[str, Any]]:
        """One ``/composite`` call (≤25 subrequests, allOrNone false); the sub-answers."""
        sf = self._sf()
        body = {"allOrNone": False, "compositeRequest": subrequests}
        answer = self.call(f"composite_{kind}",
                           lambda: sf.restful("composite", method="POST", json=body,
                                              headers=dict(headers or {})),
                           idempotent=idempotent)
        return answer["compositeResponse"]

    def _subrequest_body(self, answer: dict[str, Any], kind: str) -> dict[str, Any]:
        """A subrequest's body, or its error raised as the single call would raise it."""
        if answer["httpStatusCode"] < 300:
            return answer["body"]
        raise SalesforceMalformedRequest(kind, answer["httpStatusCode"], kind, answer["body"])

    @property
    def _data_path(self) -> str:
        return f"/services/data/v{self.api_version}"

    def _sf(self) -> Salesforce:
        if self.sf is None and self.on_first_use is not None:
            self.on_first_use()
        if self.sf is None:
            self.login()
        assert self.sf is not None
        return self.sf


def _describe_body(answer: dict[str, Any], sobject: str) -> dict[str, Any]:
    """A describe subrequest's body, or its error raised as ``sf.{Type}.describe()`` would."""
    status = answer["httpStatusCode"]
    if status < 300:
        return answer["body"]
    url = f"sobjects/{sobject}/describe"
    if status == 404:
        raise SalesforceResourceNotFound(url, status, sobject, answer["body"])
    raise SalesforceMalformedRequest(url, status, sobject, answer["body"])


def _common(group: list[tuple[Any, dict[str, str]]]) -> dict[str, str]:
    """Headers every subrequest of a Composite call shares (sent on the call too)."""
    first = group[0][1] if group else {}
    return dict(first) if all(headers == first for _, headers in group) else {}


def chunk_values(values: Iterable[str], render: Callable[[list[str]], str],
                 limit: int = MAX_SOQL_CHARS) -> list[list[str]]:
    """Split values so each rendered query stays under ``limit`` characters.

    Linear: each value's share of the query is measured once.
    """
    def costs(value: str) -> tuple[int, int]:
        alone = len(render([value]))
        return alone, len(render([value, value])) - alone  # what one more value adds

    return _split(values, costs, limit)


def chunk_in_values(values: Iterable[str], template: str,
                    limit: int = MAX_SOQL_CHARS) -> list[list[str]]:
    """``chunk_values`` for a query whose only placeholder is one ``IN {}`` list.

    Cheaper: a value adds its quoted form and a comma, so each value is quoted once and the
    template is rendered once.
    """
    frame: list[int] = []  # the query around the list, measured on the first value

    def costs(value: str) -> tuple[int, int]:
        quoted = len(quote_soql_value(value))
        if not frame:
            frame.append(len(format_soql(template, [value])) - quoted)
        return frame[0] + quoted, quoted + 1

    return _split(values, costs, limit)


def _split(values: Iterable[str], costs: Callable[[str], tuple[int, int]],
           limit: int) -> list[list[str]]:
    """Chunks within ``limit``; ``costs(value)`` is (a query of it alone, what it adds)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for value in values:
        alone, extra = costs(value)
        if current and used + extra > limit:
            chunks.append(current)
            current = []
        used = used + extra if current else alone
        current.append(value)
    if current:
        chunks.append(current)
    return chunks
