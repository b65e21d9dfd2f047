"""An echoing HTTPS proxy for the secrets tests: what a gateway that echoes requests does.

``EchoProxy(upstream)`` forwards every request to ``upstream`` (the Salesforce emulator) and
answers as it does, with the upstream's address in bodies rewritten to the proxy's (so the
instance URL a login returns points back here). Rules pick requests to answer instead with
``status`` (500 by default) and a JSON body echoing the whole request: method, path, query,
headers (``Authorization`` included), the raw body and the parsed form. Without an upstream
every request is echoed.

It records what a leak would show: every bearer token sent to it and every token a login
answered with (``tokens``), and every echoed body (``echoes``).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import requests

from aimdoc_emulators.server import ThreadedServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

HOP_HEADERS = {"connection", "content-length", "content-encoding", "transfer-encoding",
               "keep-alive", "host"}
_SESSION_ID = re.compile(rb"<sessionId>([^<]+)</sessionId>")


@dataclass
class EchoRule:
    """Requests whose path contains ``path`` (and body ``body``) are echoed ``times`` times.

    ``oauth``: the echo is an OAuth error (``error_description`` holds the request) instead of
    a REST error list.
    """

    path: str = ""
    body: str | None = None
    status: int = 500
    times: int | None = None
    oauth: bool = False

    def matches(self, path: str, body: bytes) -> bool:
        """Whether this rule answers the request (and counts it)."""
        if self.times == 0 or self.path not in path:
            return False
        if self.body is not None and self.body.encode("utf-8") not in body:
            return False
        if self.times is not None:
            self.times -= 1
        return True


@dataclass
class EchoProxy:
    """The proxy; ``start()`` it, point ``login_url`` / ``instance_url`` at ``url``."""

    upstream: str | None = None
    upstream_ca: str | None = None
    work_dir: Path | None = None
    rules: list[EchoRule] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    echoes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.server = ThreadedServer(self.app, tls=True, tls_dir=self.work_dir)
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = self.upstream_ca or True

    def start(self) -> EchoProxy:
        """Serve on a background thread."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return self.server.url

    def echo(self, path: str, *, body: str | None = None, status: int = 500,
             times: int | None = None, oauth: bool = False) -> None:
        """Echo requests whose path contains ``path`` (and body ``body``)."""
        with self.lock:
            self.rules.append(EchoRule(path, body, status, times, oauth))

    def ca_bundle(self, path: Path) -> Path:
        """Write a CA file trusting both the proxy and the upstream; return its path."""
        parts = [Path(str(self.server.ca_file)).read_text(encoding="utf-8")]
        if self.upstream_ca:
            parts.append(Path(self.upstream_ca).read_text(encoding="utf-8"))
        path.write_text("\n".join(parts), encoding="utf-8")
        return path

    # ------------------------------------------------------------------ WSGI
    def app(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        """Echo or forward one request."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        bearer = headers.get("Authorization", "")
        with self.lock:
            if bearer.startswith("Bearer "):
                self.tokens.add(bearer[7:])
            rule = next((r for r in self.rules if r.matches(path, body)), None)
        if rule is not None or self.upstream is None:
            return self._echo(rule or EchoRule(), environ, path, query, headers, body,
                              start_response)
        return self._forward(environ["REQUEST_METHOD"], path, query, headers, body,
                             start_response)

    def _echo(self, rule: EchoRule, environ: dict[str, Any], path: str, query: str,
              headers: dict[str, str], body: bytes, start_response: Callable) -> list[bytes]:
        text = body.decode("utf-8", "replace")
        form = {key: values[0] for key, values in parse_qs(text).items()}
        request = {"method": environ["REQUEST_METHOD"], "path": path, "query": query,
                   "headers": headers, "body": text, "form": form}
        message = f"upstream failed for {json.dumps(request)}"
        answer = json.dumps({"error": "invalid_request", "error_description": message}
                            if rule.oauth else
                            [{"errorCode": "GATEWAY_ERROR", "request": request,
                              "message": message}])
        with self.lock:
            self.echoes.append(answer)
        start_response(f"{rule.status} Echo", [("Content-Type", "application/json")])
        return [answer.encode("utf-8")]

    def _forward(self, method: str, path: str, query: str, headers: dict[str, str],
                 body: bytes, start_response: Callable) -> list[bytes]:
        assert self.upstream is not None
        sent = {key: value for key, value in headers.items() if key.lower() not in HOP_HEADERS}
        url = f"{self.upstream}{path}" + (f"?{query}" if query else "")
        answer = self.http.request(method, url, headers=sent, data=body, timeout=120)
        content = answer.content
        self._remember_tokens(content)
        own_host = self.url.split("://", 1)[1].encode("ascii")
        content = content.replace(self.upstream.split("://", 1)[1].encode("ascii"), own_host)
        out = [(key, value) for key, value in answer.headers.items()
               if key.lower() not in HOP_HEADERS]
        start_response(f"{answer.status_code} {answer.reason or 'OK'}", out)
        return [content]

    def _remember_tokens(self, content: bytes) -> None:
        found = [match.decode("utf-8") for match in _SESSION_ID.findall(content)]
        if content.startswith(b"{"):
            try:
                data = json.loads(content)
            except ValueError:
                data = {}
            found += [str(data[key]) for key in ("access_token", "refresh_token")
                      if isinstance(data, dict) and data.get(key)]
        with self.lock:
            self.tokens.update(found)
