"""One run at a time against one org on one machine: an advisory file lock per org.

Two target processes writing one org at once (two schedules, or pipelines split by agent with
separate state ids) each match before the other has created, and both create. The lock makes a
second run wait for the first (logging who holds it) and, past ``run_lock_wait_seconds``, stop
before any write with a clear message. The OS releases the lock when the process ends, however
it ends, so a killed run never leaves a stale lock behind. Across machines, an external-id
field makes Salesforce itself refuse a second record (see the README's failure model).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

LOGGER = logging.getLogger("target_salesforce_aimdoc.run_lock")
DEFAULT_WAIT_SECONDS = 3600.0
_HELD: dict[Path, list[Any]] = {}  # lock file -> [open handle, holders in this process]
_HELD_GUARD = threading.Lock()


class RunLocked(RuntimeError):
    """Another run holds the org's lock for longer than we may wait."""


def lock_path(org: str, directory: str | None = None) -> Path:
    """The lock file for an org id (or instance URL)."""
    base = Path(directory or os.environ.get("TARGET_SALESFORCE_AIMDOC_LOCK_DIR")
                or Path(tempfile.gettempdir()) / "target-salesforce-aimdoc-locks")
    base.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(org.encode()).hexdigest()[:24]
    return base / f"org-{name}.lock"


class OrgLock:
    """Holds the org's lock from ``acquire`` until the process ends (or ``release``)."""

    def __init__(self, org: str, wait_seconds: float = DEFAULT_WAIT_SECONDS,
                 directory: str | None = None, poll_seconds: float = 0.5) -> None:
        self.org = org
        self.path = lock_path(org, directory)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.handle: IO[str] | None = None
        self.generation: int | None = None  # this holding's number (``_next_generation``)

    def acquire(self) -> OrgLock:
        """Take the lock, waiting for another run to finish; RunLocked past the wait.

        A process holds an org's lock once: a second run in the same process (a test, an
        embedding program) shares it rather than waiting on itself.
        """
        with _HELD_GUARD:
            held = _HELD.get(self.path)
            if held is not None:
                held[1] += 1
                self.handle = held[0]
                self.generation = _next_generation(held[0])
                return self
        handle = self.path.open("a+", encoding="utf-8")
        deadline = time.monotonic() + self.wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    LOGGER.warning("Another run is writing to org %s (%s); waiting for it to "
                                   "finish (at most %.0f s)", self.org, _holder(handle),
                                   self.wait_seconds)
                    told = True
                if time.monotonic() >= deadline:
                    handle.close()
                    raise RunLocked(
                        f"another run has been writing to org {self.org} for over "
                        f"{self.wait_seconds:.0f} s ({self.path}); nothing was written. Runs "
                        "against one org are serialised; raise run_lock_wait_seconds or "
                        "stagger the schedules") from None
                time.sleep(self.poll_seconds)
        self.generation = _next_generation(handle)
        self.handle = handle
        with _HELD_GUARD:
            _HELD[self.path] = [handle, 1]
        return self

    def release(self) -> None:
        """Let the next run in (once every holder in this process has released)."""
        if self.handle is None:
            return
        with _HELD_GUARD:
            held = _HELD.get(self.path)
            self.handle = None
            if held is None:
                return
            held[1] -= 1
            if held[1] > 0:
                return
            del _HELD[self.path]
        fcntl.flock(held[0].fileno(), fcntl.LOCK_UN)
        held[0].close()


def _next_generation(handle: IO[str]) -> int:
    """Count one more holding of the lock in its file, with who holds it; the new count.

    Every acquisition (by any run, on any thread) gets the next number, so a run can tell
    whether anyone else held the lock between two of its own holdings.
    """
    handle.seek(0)
    found = re.search(r"generation (\d+)", handle.read())
    generation = int(found.group(1)) + 1 if found else 1
    handle.seek(0)
    handle.truncate()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    handle.write(f"pid {os.getpid()} since {since} generation {generation}\n")
    handle.flush()
    return generation


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip() or "holder unknown"
