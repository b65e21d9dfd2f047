"""Serve a WSGI app on a background thread: start(), stop(), url; port 0 picks a free port."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from aimdoc_emulators.tls import make_tls

if TYPE_CHECKING:
    from collections.abc import Callable


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request (the emulators keep their own request logs)."""

    def log_request(self, *_args: object, **_kwargs: object) -> None:
        """Skip the access log."""


class ThreadedServer:
    """A threaded werkzeug server on 127.0.0.1, over TLS by default."""

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
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``https://127.0.0.1:8443``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def bind(self) -> ThreadedServer:
        """Bind the socket (so the port is known) without serving yet."""
        context = None
        if self.tls:
            material = make_tls(self.tls_dir)
            self.ca_file = material.ca_file
            context = material.context
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, ssl_context=context,
            request_handler=None if self.access_log else QuietRequestHandler,
        )
        self._server.daemon_threads = True
        self.port = self._server.server_port
        return self

    def start(self) -> ThreadedServer:
        """Bind if needed and serve on a daemon thread."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"emulator-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind if needed and serve in the calling thread (the command-line mode)."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
