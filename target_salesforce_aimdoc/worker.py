"""SerialWorker: the run's batches, in order, on one thread beside the message reader.

The target hands each drained batch over and goes back to reading and validating the next
one while Salesforce answers, so neither waits for the other. Batches still run one at a
time and in the order they were drained (Accounts, Contacts and Leads before the notes that
attach to them), so matching always sees what earlier batches wrote.

``flush()`` waits until everything handed over has run: the target calls it before emitting
state, so state never gets ahead of the writes. A failure stops the worker (nothing after it
runs) and is raised again by every later ``submit`` or ``flush``.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


class SerialWorker:
    """Runs submitted calls one at a time, in order, on its own daemon thread."""

    def __init__(self, depth: int = 2, name: str = "salesforce-writes") -> None:
        """``depth``: calls waiting at most (bounded, so memory stays flat)."""
        self._calls: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue(
            maxsize=max(1, depth))
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        """Run ``call(*args)`` after everything submitted before it (waits when full)."""
        self.raise_error()
        self._calls.put((call, args))

    def flush(self) -> None:
        """Wait until every submitted call has run; raise the failure if one failed."""
        self._calls.join()
        self.raise_error()

    def raise_error(self) -> None:
        """Raise the failure that stopped the worker, if any."""
        if self.error is not None:
            raise self.error

    def _loop(self) -> None:
        while True:
            call, args = self._calls.get()
            try:
                if self.error is None:
                    call(*args)
            except BaseException as exc:  # handed to the thread that submits or flushes
                self.error = exc
            finally:
                self._calls.task_done()
