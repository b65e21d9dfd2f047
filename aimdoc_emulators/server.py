"""Serve a WSGI app on a background thread: start(), stop(), url; port 0 picks a free port.

The server is cheroot (CherryPy's HTTP/1.1 server): like the real Salesforce and Aimdoc APIs
it keeps connections alive between requests, so clients pay one TCP and TLS handshake per
connection, not per call. (werkzeug's development server closes every connection.)
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from aimdoc_emulators.tls import make_tls

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

SOCKET_KEY = "emulator.socket"  # environ key: the connection's socket (to drop it on purpose)
THREADS = 32  # requests served at once; Salesforce's limit for long calls is 25 per org
IDLE_TIMEOUT = 60  # seconds a kept-alive connection may stay idle


class _Gateway(wsgi.Gateway_10):
    """The standard WSGI 1.0 gateway, plus the connection's socket in the environ."""

    def get_environ(self) -> dict[str, Any]:
        """The environ, with ``emulator.socket``."""
        environ = super().get_environ()
        environ[SOCKET_KEY] = self.req.conn.socket
        return environ


class _Server(wsgi.Server):
    """cheroot's WSGI server with the gateway above and errors kept quiet unless asked."""

    def __init__(self, *args: Any, error_log: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = _Gateway
        self._error_log = error_log

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """Server-side errors (a client that went away, a bad TLS hello) only when asked."""
        if self._error_log or level >= logging.ERROR:
            super().error_log(msg, level, traceback)


def access_logged(app: Callable) -> Callable:
    """Wrap a WSGI app so each request writes one access-log line to stderr."""

    def logged(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            query = environ.get("QUERY_STRING")
            path = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            print(f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD")} '
                  f'{path}" {status.split(" ", 1)[0]}', file=sys.stderr, flush=True)
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


class ThreadedServer:
    """A threaded HTTP/1.1 server on 127.0.0.1, over TLS by default."""

    def __init__(
        self,
        app: Callable,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        tls_dir: Path | None = None,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.tls = tls
        self.tls_dir = tls_dir
        self.access_log = access_log
        self.ca_file: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``https://127.0.0.1:8443``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def bound(self) -> bool:
        """Whether the socket is open."""
        return self._server is not None

    def bind(self) -> ThreadedServer:
        """Bind the socket (so the port is known) without serving yet."""
        app = access_logged(self.app) if self.access_log else self.app
        server = _Server((self.host, self.port), app, numthreads=THREADS,
                         timeout=IDLE_TIMEOUT, request_queue_size=128,
                         server_name=self.host)
        if self.tls:
            material = make_tls(self.tls_dir)
            self.ca_file = material.ca_file
            adapter = BuiltinSSLAdapter(str(material.cert_file), str(material.key_file))
            adapter.context = material.context
            server.ssl_adapter = adapter
        server.prepare()
        self._server = server
        self.port = server.bind_addr[1]
        return self

    def start(self) -> ThreadedServer:
        """Bind if needed and serve on a daemon thread."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve, name=f"emulator-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C raises KeyboardInterrupt here), then stop.

        cheroot serves on its own thread while this one waits. Raised inside cheroot's own
        loop, the interrupt could leave a worker waiting on the request queue for a shutdown
        request it never got, and stop() joined it forever (seen about once in ten runs).
        """
        self.start()
        try:
            threading.Event().wait()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
