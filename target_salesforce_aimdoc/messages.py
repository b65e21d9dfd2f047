"""Reading the Singer message stream: a malformed stream fails fast, naming the line."""

from __future__ import annotations

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

    def process_lines(self, file_input: IO[Any] | None,
                      callbacks: dict[str, Callable[[dict], None]]) -> Counter[str]:
        """Process lines; a bad line or a RECORD before its SCHEMA names its line number."""
        self.line_number = 0
        try:
            return super().process_lines(file_input, callbacks)
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
