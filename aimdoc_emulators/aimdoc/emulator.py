"""AimdocEmulator: the backend, the WSGI app and a threaded server, as one Python object.

    with AimdocEmulator(seed=1, contacts=200) as emulator:
        requests.get(f"{emulator.api_url}/contacts",
                     headers={"Authorization": f"Bearer {emulator.api_key}"})
        emulator.backend.advance(days=1)

The HTTP ``Date`` header carries the emulator's clock, not the wall clock, so a client that
takes the server's time from it (as tap-aimdoc does) lives in the emulator's time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from aimdoc_emulators.aimdoc.app import AimdocApp
from aimdoc_emulators.aimdoc.models import DEFAULT_API_KEY, NO_ACCESS_API_KEY, AimdocBackend
from aimdoc_emulators.server import ThreadedServer

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType


class AimdocEmulator:
    """The Aimdoc External API on 127.0.0.1 (plain HTTP unless ``tls=True``)."""

    api_key = DEFAULT_API_KEY
    no_access_api_key = NO_ACCESS_API_KEY

    def __init__(self, seed: int = 0, contacts: int = 200, *, port: int = 0,
                 host: str = "127.0.0.1", tls: bool = False, tls_dir: Path | None = None,
                 settings: dict | None = None, verbose: bool = False,
                 **knobs: object) -> None:
        self.backend = AimdocBackend(seed, contacts, settings=settings, **knobs)
        self.app = AimdocApp(self.backend)
        self.server = ThreadedServer(self.app, host=host, port=port, tls=tls, tls_dir=tls_dir,
                                     access_log=verbose)

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:40123``."""
        return self.server.url

    @property
    def api_url(self) -> str:
        """The API base URL, the tap's ``api_url``: ``<url>/api/v1``."""
        return f"{self.server.url}/api/v1"

    @property
    def admin_url(self) -> str:
        """The admin surface: ``<url>/__emulator``."""
        return f"{self.server.url}/__emulator"

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate clients must trust when serving TLS."""
        return self.server.ca_file

    def bind(self) -> Self:
        """Open the socket (the port is known afterwards) without serving yet."""
        self.server.bind()
        return self

    def start(self) -> Self:
        """Serve on a background thread."""
        if not self.server.bound:
            self.bind()
        self.server.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command-line mode)."""
        if not self.server.bound:
            self.bind()
        self.server.serve_forever()

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.stop()
