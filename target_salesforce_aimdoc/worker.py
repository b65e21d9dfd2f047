"""Workers beside the message reader: batches in order, and independent work a few at once.

The target hands each drained batch over and goes back to reading and validating the next
one while Salesforce answers, so neither waits for the other. Batches still run one at a
time and in the order they were drained (Accounts, Contacts and Leads before the notes that
attach to them), so matching always sees what earlier batches wrote.

``flush()`` waits until everything handed over has run: the target calls it before emitting
state, so state never gets ahead of the writes. A failure stops the worker (nothing after it
runs) and is raised again by every later ``submit`` or ``flush``.

``ParallelLane`` runs work that needs no order (the notes of different conversations) a few
calls at a time, so one batch's rendering overlaps another's wait for Salesforce.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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

    @property
    def busy(self) -> bool:
        """Whether a submitted call is still running or waiting to run."""
        return self._calls.unfinished_tasks > 0

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


class ParallelLane:
    """Up to ``width`` calls at once; calls whose keys overlap never run at the same time.

    Results come back through ``submit`` (those finished meanwhile) and ``drain`` on the
    caller's thread, so whatever they change is changed on that one thread. A call's
    failure is raised there too.
    """

    def __init__(self, width: int = 2, name: str = "salesforce-notes") -> None:
        self.width = max(1, width)
        self._pool = ThreadPoolExecutor(max_workers=self.width, thread_name_prefix=name)
        self._running: dict[Future[Any], frozenset[str]] = {}

    def submit(self, keys: set[str], call: Callable[..., Any], *args: Any) -> list[Any]:
        """Start ``call(*args)`` when a thread is free and no running call shares a key.

        Returns the results of the calls that finished meanwhile.
        """
        finished = self._collect(block=False)
        while len(self._running) >= self.width or any(keys & held
                                                      for held in self._running.values()):
            finished += self._collect(block=True)
        self._running[self._pool.submit(call, *args)] = frozenset(keys)
        return finished

    def drain(self) -> list[Any]:
        """Wait for every running call; their results."""
        results: list[Any] = []
        while self._running:
            results += self._collect(block=True)
        return results

    def _collect(self, *, block: bool) -> list[Any]:
        if not self._running:
            return []
        done, _ = wait(self._running, timeout=None if block else 0,
                       return_when=FIRST_COMPLETED)
        results = []
        for future in done:
            del self._running[future]
            results.append(future.result())
        return results
