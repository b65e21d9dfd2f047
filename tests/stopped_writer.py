"""Read a process's Singer lines slowly while stopping and continuing it, as job control does.

With ``PYTHONUNBUFFERED`` a text stream writes straight to the pipe, and a write that a signal
cuts short loses the rest of its line (python/cpython#85393). A process stopped while its pipe
is full is such a case: job control, a paused container, a sampling profiler.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Read:
    """What came out: the parsed messages, the numbers of broken lines, the exit code."""

    messages: list[dict] = field(default_factory=list)
    broken: list[int] = field(default_factory=list)
    returncode: int | None = None


def stop_and_continue(pid: int, done: threading.Event) -> None:
    """SIGSTOP then SIGCONT the process every few milliseconds until ``done``."""
    while not done.wait(0.005):
        try:
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.001)
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            return


def read_while_stopping(code: str, pause_every: int) -> Read:
    """Run ``code`` unbuffered; read its lines, pausing every ``pause_every`` (the pipe fills)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    done = threading.Event()
    disturber = threading.Thread(target=stop_and_continue, args=(writer.pid, done))
    disturber.start()
    read = Read()
    try:
        for number, line in enumerate(writer.stdout, 1):
            if number % pause_every == 0:
                time.sleep(0.005)
            try:
                read.messages.append(json.loads(line))
            except ValueError:
                read.broken.append(number)
    finally:
        done.set()
        disturber.join()
        if writer.poll() is None:
            os.kill(writer.pid, signal.SIGCONT)
        read.returncode = writer.wait(timeout=30)
    return read
