"""The tap's Singer output: the SDK's lines, byte for byte, written with less work.

The SDK encodes each message with simplejson and flushes stdout after each one. Here the
standard library's C encoder writes the same line where it can (its output is identical for
JSON's own types), falling back to the SDK's encoder for what only that one writes as the SDK
does (``Decimal`` numbers, NaN and infinities); and a RECORD is left in stdout's buffer, which
is flushed by the next STATE or SCHEMA message (and at exit), so records reach the target in
blocks, never after the state that follows them.
"""

from __future__ import annotations

import datetime
import json
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.json import serialize_json

if TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message


class _Unsupported(TypeError):
    """A value only the SDK's encoder writes as the SDK does."""


def _default(value: object) -> str:
    """What the SDK's encoder writes for a value JSON has no type for (a string)."""
    if isinstance(value, Decimal):
        raise _Unsupported
    return value.isoformat(sep="T") if isinstance(value, datetime.datetime) else str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_default)


def serialize(data: dict) -> str:
    """A message's JSON line (without its newline), as the SDK's ``serialize_json`` writes it."""
    try:
        return _ENCODER.encode(data)
    except (TypeError, ValueError):  # Decimal, NaN or infinity (or what the SDK's rejects)
        return serialize_json(data)


class AimdocWriter(SingerWriter):
    """The SDK's Singer lines; records flushed with the next non-record message."""

    def serialize_message(self, message: Message) -> str:
        """A message as one line of JSON."""
        data = message.to_dict()
        if isinstance(moment := data.get("time_extracted"), datetime.datetime):
            data["time_extracted"] = moment.isoformat(sep="T")  # as ``_default`` would
        return serialize(data)

    def write_message(self, message: Message) -> None:
        """Write a message to stdout; flush unless it is a record."""
        sys.stdout.write(self.format_message(message) + "\n")
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
