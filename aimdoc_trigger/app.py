"""The receiver: a WSGI app (werkzeug) with three endpoints.

| request | answer |
|---|---|
| ``POST <path_prefix><token>`` | 202 ``{"status": "accepted"}``: a run is wanted |
| ``GET /healthz`` | 200 ``{"status": "ok"}`` (503 while shutting down) |
| ``GET /last-run`` | 200: the running and the last run, counters, when the next run is due |

Any other path, a wrong token included, is 404 and says nothing about why; the token is
compared in constant time and never logged (the access log shows the prefix and ``***``). A
body over ``max_body_bytes`` is 413. The body must be a JSON object (Aimdoc posts one) but is
not trusted for anything: its event name is counted if it is a known one, nothing else is read.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from typing import TYPE_CHECKING

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from aimdoc_trigger.runner import Runner

logger = logging.getLogger("aimdoc_trigger")
# Aimdoc's documented webhook events (new-lead: the legacy name of new-contact)
EVENTS = ("new-session", "new-contact", "new-lead", "session-active", "session-escalated",
          "buyer-intent-detected", "new-question", "visitor-identified")


class TriggerApp:
    """Routes a request to the webhook, health or last-run handler."""

    def __init__(self, runner: Runner, *, token: str, path_prefix: str = "/aimdoc/",
                 max_body_bytes: int = 1_048_576) -> None:
        self.runner = runner
        self.path_prefix = path_prefix
        self.max_body_bytes = max_body_bytes
        self._token = token.encode()
        self.shutting_down = False
        self.events: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        response = self.dispatch(request)
        logger.debug('"%s %s" %s', request.method, self._loggable(request.path),
                     response.status_code)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """The response to one request."""
        path = request.path
        if path == "/healthz":
            return self._health(request)
        if path == "/last-run":
            return self._last_run(request)
        if path.startswith(self.path_prefix) and self._is_token(path[len(self.path_prefix):]):
            return self._webhook(request)
        return _json(404, {"error": "not found"})

    def _is_token(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode("utf-8", "surrogateescape"), self._token)

    def _loggable(self, path: str) -> str:
        return f"{self.path_prefix}***" if path.startswith(self.path_prefix) else path

    def _webhook(self, request: Request) -> Response:
        if request.method != "POST":
            return _json(405, {"error": "use POST"}, allow="POST")
        body = self._body(request)
        if body is None:
            return _json(413, {"error": f"the body is over {self.max_body_bytes} bytes"})
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return _json(400, {"error": "the body must be a JSON object"})
        self._count(payload, request)
        self.runner.hint()
        return _json(202, {"status": "accepted"})

    def _body(self, request: Request) -> bytes | None:
        """The body, or None when it is over the limit (told by Content-Length or read)."""
        limit = self.max_body_bytes
        try:
            if request.content_length is not None:
                return request.get_data(cache=False)  # werkzeug checks it against the limit
        except RequestEntityTooLarge:
            return None
        # Chunked: the server ends the stream at the last chunk; read one byte past the limit.
        if not request.environ.get("wsgi.input_terminated"):
            return b""
        body = request.environ["wsgi.input"].read(limit + 1)
        return None if len(body) > limit else body

    def _count(self, payload: dict, request: Request) -> None:
        """Count the event by name when it is one Aimdoc documents (other text is ignored)."""
        name = payload.get("event") or request.headers.get("X-Aimdoc-Event")
        name = name if isinstance(name, str) and name in EVENTS else "other"
        with self._lock:
            self.events[name] = self.events.get(name, 0) + 1
        logger.info("webhook event: %s", name)

    def _health(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _json(405, {"error": "use GET"}, allow="GET, HEAD")
        if self.shutting_down:
            return _json(503, {"status": "shutting down"})
        return _json(200, {"status": "ok"})

    def _last_run(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _json(405, {"error": "use GET"}, allow="GET, HEAD")
        with self._lock:
            events = dict(self.events)
        return _json(200, {**self.runner.status(), "events": events})


def _json(status: int, body: dict, allow: str | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    if allow:
        response.headers["Allow"] = allow
    return response
