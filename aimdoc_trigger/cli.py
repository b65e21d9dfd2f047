"""``aimdoc-trigger``: serve the receiver (cheroot) until SIGTERM or SIGINT, then stop cleanly.

On a signal: the server stops taking requests (those in flight finish), no new run starts,
and a running command gets ``shutdown_grace`` seconds to finish before SIGTERM (then SIGKILL
after 15 s). The exit code is 0 after a clean stop, 2 on bad settings.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from aimdoc_trigger import settings as config
from aimdoc_trigger.app import TriggerApp
from aimdoc_trigger.runner import Runner

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

logger = logging.getLogger("aimdoc_trigger")
THREADS = 8  # webhook requests served at once; each is answered at once


class Trigger:
    """The runner, the app and the server, started and stopped together."""

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings
        self.runner = Runner(settings.command, min_interval=settings.min_interval,
                             debounce=settings.debounce,
                             fallback_interval=settings.fallback_interval,
                             run_at_start=settings.run_at_start,
                             run_timeout=settings.run_timeout,
                             retry_interval=settings.retry_interval)
        self.app = TriggerApp(self.runner, token=settings.token,
                              path_prefix=settings.path_prefix,
                              max_body_bytes=settings.max_body_bytes)
        self.server = wsgi.Server((settings.host, settings.port), self.app,
                                  numthreads=THREADS, timeout=30, request_queue_size=64,
                                  server_name=settings.host)
        if settings.tls_cert is not None and settings.tls_key is not None:
            self.server.ssl_adapter = BuiltinSSLAdapter(str(settings.tls_cert),
                                                        str(settings.tls_key))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (known after ``start()``)."""
        return self.server.bind_addr[1]

    def start(self) -> Trigger:
        """Bind, serve on a thread, start scheduling."""
        self.server.prepare()
        self._thread = threading.Thread(target=self.server.serve, name="aimdoc-trigger-http",
                                        daemon=True)
        self._thread.start()
        self.runner.start()
        return self

    def stop(self) -> None:
        """Stop taking requests, then stop the runner (a running command may finish)."""
        self.app.shutting_down = True
        self.runner.close(grace=self.settings.shutdown_grace)
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.runner.stop(grace=self.settings.shutdown_grace)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the settings, serve until a signal, stop cleanly."""
    args = config.build_parser().parse_args(argv)
    if args.generate_token:
        print(config.new_token())
        return 0
    try:
        settings = config.load(argv)
    except (config.SettingsError, OSError) as exc:
        print(f"aimdoc-trigger: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        trigger = Trigger(settings).start()
    except OSError as exc:  # the port is taken, a TLS file is missing, ...
        logger.error("cannot serve on %s:%d: %s", settings.host, settings.port, exc)
        return 2
    scheme = "https" if settings.tls_cert else "http"
    print(f"aimdoc-trigger listening on {scheme}://{settings.host}:{trigger.port}", flush=True)
    logger.info("listening on %s://%s:%d (webhook path %s<token>, /healthz, /last-run); "
                "settings %s", scheme, settings.host, trigger.port, settings.path_prefix,
                {k: v for k, v in settings.describe().items() if k not in ("host", "port")})
    while not stop.wait(timeout=1):
        pass
    trigger.stop()
    logger.info("stopped")
    return 0
