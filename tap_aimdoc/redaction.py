"""The one place the tap knows its secrets, and scrubs them by value from all it writes.

``REDACTOR.install(config, schema)`` learns every secret setting (``api_key`` and any property
the config schema marks ``secret``) and then:

- every log record, whoever logs it (the tap, singer-sdk, requests, urllib3, backoff), is
  scrubbed where it is made: its message, its exception text and traceback, its stack;
- every handler's formatter already installed is wrapped to scrub the final text too (for
  formatters that format exceptions their own way);
- an uncaught exception is scrubbed before the CLI prints or logs it (``sys.excepthook``);
- every Singer line the tap writes (records and STATE) is scrubbed (see ``writer``).

A secret is replaced by ``[redacted]`` wherever it appears, also percent-encoded.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

MASK = "[redacted]"
MIN_LENGTH = 4  # shorter values would scrub ordinary text


class ScrubbingFormatter(logging.Formatter):
    """A formatter whose every output is scrubbed (wrapping another formatter)."""

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        """Wrap ``inner``."""
        super().__init__()
        self.inner, self.redactor = inner, redactor

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text, scrubbed."""
        return self.redactor.scrub(self.inner.format(record))


class _ScrubbingStream:
    """A text stream that scrubs what is written to it (for the excepthook's print)."""

    def __init__(self, stream: IO[str], redactor: Redactor) -> None:
        self.stream, self.redactor = stream, redactor

    def write(self, text: str) -> int:
        return self.stream.write(self.redactor.scrub(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Redactor:
    """Known secret values, and the hooks that keep them out of logs and output."""

    def __init__(self) -> None:
        """No secrets, nothing installed."""
        self.secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._factory_installed = False
        self._hook_installed = False

    # -- the secrets -------------------------------------------------------------------------

    def add(self, values: Iterable[object]) -> None:
        """Know these values as secrets (with their percent-encoded forms)."""
        found = set(self.secrets)
        for value in values:
            if isinstance(value, str) and len(value) >= MIN_LENGTH:
                found.update({value, quote(value, safe=""), quote(value)})
        with self._lock:
            # Longest first: a secret containing another is masked whole.
            self.secrets = tuple(sorted(found, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` with every known secret masked."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def holds_secret(self, text: str) -> bool:
        """Whether ``text`` contains a known secret."""
        return any(secret in text for secret in self.secrets)

    # -- installing --------------------------------------------------------------------------

    def install(self, config: dict, schema: dict) -> None:
        """Learn the config's secrets; scrub logs, formatters and uncaught exceptions."""
        self.add(secret_values(config, schema))
        self._install_record_factory()
        self.wrap_handlers()
        self._install_excepthook()

    def _install_record_factory(self) -> None:
        if self._factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            self.scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        self._factory_installed = True

    def scrub_record(self, record: logging.LogRecord) -> None:
        """Scrub a log record's message, exception and stack in place."""
        if not self.secrets:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts
            message = f"{record.msg} {record.args}"
        if self.holds_secret(message):
            record.msg, record.args = self.scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if self.holds_secret(text):
                record.exc_text, record.exc_info = self.scrub(text), None
        if record.exc_text and self.holds_secret(record.exc_text):
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info and self.holds_secret(record.stack_info):
            record.stack_info = self.scrub(record.stack_info)

    def wrap_handlers(self) -> None:
        """Wrap the formatter of every handler of every logger known now."""
        loggers = [logging.getLogger(), *(item for item in
                                          logging.Logger.manager.loggerDict.values()
                                          if isinstance(item, logging.Logger))]
        for logger in loggers:
            for handler in logger.handlers:
                inner = handler.formatter or logging.Formatter()
                if not isinstance(inner, ScrubbingFormatter):
                    handler.setFormatter(ScrubbingFormatter(inner, self))

    def _install_excepthook(self) -> None:
        if self._hook_installed:
            return
        self._hook_installed = True
        sys.excepthook = self.excepthook(sys.excepthook)

    def excepthook(self, previous: Callable) -> Callable:
        """An excepthook calling ``previous`` with stderr scrubbed (logging is already)."""

        def hook(kind: type[BaseException], error: BaseException,
                 trace: TracebackType | None) -> None:
            stderr = sys.stderr
            sys.stderr = _ScrubbingStream(stderr, self)  # type: ignore[assignment]
            try:
                previous(kind, error, trace)
            finally:
                sys.stderr = stderr

        return hook


def secret_values(config: dict, schema: dict) -> list[object]:
    """The values of the settings ``schema`` marks secret (or writeOnly), and ``api_key``."""
    names = {"api_key"} | {name for name, spec in schema.get("properties", {}).items()
                           if isinstance(spec, dict) and (spec.get("secret")
                                                          or spec.get("writeOnly"))}
    return [config.get(name) for name in sorted(names) if config.get(name)]


REDACTOR = Redactor()
