"""Reading the Singer message stream: ahead, on a thread; a bad line fails fast, named."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable
    from typing import IO


class MalformedMessageStream(InvalidInputLine):
    """The input is not a Singer message stream at some line."""


class LineNumberedReader(SingerReader):
    """The SDK's reader, with the line number in every message-stream error."""

    read_ahead: ReadAhead | None = None  # the input being read (its backlog sizes batches)

    def process_lines(self, file_input: IO[Any] | None,
                      callbacks: dict[str, Callable[[dict], None]]) -> Counter[str]:
        """Process lines; a bad line or a RECORD before its SCHEMA names its line number."""
        self.line_number = 0
        self.read_ahead = ReadAhead(file_input or self.default_input)
        try:
            return super().process_lines(self.read_ahead, callbacks)
        except (InvalidInputLine, RecordsWithoutSchemaException) as exc:
            text = str(self._current_message or "")[:200].strip()
            raise MalformedMessageStream(
                f"input line {self.line_number}: {exc} (line starts: {text!r})") from None

    def deserialize_json(self, line: str) -> dict:
        """Parse one line (and count it)."""
        self.line_number += 1
        message = super().deserialize_json(line)
        if not isinstance(message, dict):
            raise InvalidInputLine("a Singer message must be a JSON object")
        return message


class ReadAhead:
    """The lines of a stream, read on a thread while the target works.

    At most ``limit`` characters wait to be processed. Without this a tap writing into the
    pipe stops whenever the target waits for Salesforce; with it the two overlap. 16 MB holds
    about 3,000 transcripts, so the tap goes on while the contacts before them are synced.
    The bound keeps memory flat whatever the input's size.
    """

    def __init__(self, source: IO[str], limit: int = 4 * 1024 * 1024) -> None:
        self._source, self._limit = source, limit
        self._lines: deque[str] = deque()
        self._size = 0
        self._done = False
        self._error: BaseException | None = None
        self._ready = threading.Condition()
        threading.Thread(target=self._fill, name="singer-input", daemon=True).start()

    def _fill(self) -> None:
        try:
            for line in self._source:
                with self._ready:
                    while self._size >= self._limit:
                        self._ready.wait()
                    self._lines.append(line)
                    self._size += len(line)
                    self._ready.notify()
        except BaseException as exc:  # handed to the reading thread
            self._error = exc
        finally:
            with self._ready:
                self._done = True
                self._ready.notify()

    @property
    def waiting(self) -> int:
        """Characters read from the input and not yet processed (the backlog)."""
        return self._size

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> str:
        with self._ready:
            while not self._lines and not self._done:
                self._ready.wait()
            if self._lines:
                line = self._lines.popleft()
                self._size -= len(line)
                self._ready.notify()
                return line
        if self._error is not None:
            raise self._error
        raise StopIteration
