"""The tap's Singer output: the SDK's lines, byte for byte, written with less work.

The SDK encodes each message with simplejson and flushes stdout after each one. Here the
standard library's C encoder writes the same line where it can (its output is identical for
JSON's own types), falling back to the SDK's encoder for what only that one writes as the SDK
does (``Decimal`` numbers, NaN and infinities); and a RECORD is left in the output buffer,
which is flushed by the next STATE or SCHEMA message (and at exit), so records reach the target
in blocks, never after the state that follows them.

The lines go to the process's stdout through a buffered binary stream of its own. With
``python -u`` or ``PYTHONUNBUFFERED`` (set in many container images), ``sys.stdout`` writes
straight to the file, and a text stream on an unbuffered file drops whatever a write leaves
unwritten (python/cpython#85393): a pipe write interrupted by a signal (the tap stopped and
continued, or sampled by a profiler) lost part of a line, and the target read a broken line.
A buffered stream writes the rest.
"""

from __future__ import annotations

import atexit
import datetime
import json
import sys
from decimal import Decimal
from typing import IO, TYPE_CHECKING

from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.json import serialize_json

from tap_aimdoc.redaction import REDACTOR

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


def buffered_stdout(stdout: IO[str]) -> IO[bytes] | None:
    """A buffered binary stream on ``stdout``'s file, if it is the process's own stdout.

    None for a replaced ``sys.stdout`` (a test capturing it): that one is written as text.
    """
    if stdout is not sys.__stdout__:
        return None
    try:
        descriptor = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    stdout.flush()
    out = open(descriptor, "wb", buffering=1 << 16, closefd=False)  # noqa: SIM115
    atexit.register(out.flush)  # records after the last STATE of a failed run
    return out


class AimdocWriter(SingerWriter):
    """The SDK's Singer lines; records flushed with the next non-record message."""

    def __init__(self) -> None:
        super().__init__()
        self._stdout: IO[str] | None = None
        self._out: IO[bytes] | None = None

    def serialize_message(self, message: Message) -> str:
        """A message as one line of JSON."""
        data = message.to_dict()
        if isinstance(moment := data.get("time_extracted"), datetime.datetime):
            data["time_extracted"] = moment.isoformat(sep="T")  # as ``_default`` would
        return serialize(data)

    def write_message(self, message: Message) -> None:
        """Write a message to stdout; flush unless it is a record."""
        line = self.format_message(message) + "\n"
        if REDACTOR.secrets and REDACTOR.holds_secret(line):  # never a secret in output
            line = REDACTOR.scrub(line)
        if sys.stdout is not self._stdout:  # first message, or stdout replaced since
            if self._out is not None:
                self._out.flush()
            self._stdout, self._out = sys.stdout, buffered_stdout(sys.stdout)
        out = self._out
        if out is None:
            sys.stdout.write(line)
        else:
            out.write(line.encode(sys.stdout.encoding, sys.stdout.errors or "strict"))
        if not isinstance(message, RecordMessage):
            (out or sys.stdout).flush()
