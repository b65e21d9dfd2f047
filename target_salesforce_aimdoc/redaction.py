"""Secrets scrubbed by value from everything the target writes: the one place that knows them.

``protect(config)`` registers every secret setting (those marked ``secret`` in the config
schema: client secret, password, security token, refresh token, session id, private key,
webhook token) and the Basic-auth header value, and installs the hooks below once per process.
``register(value)`` adds a token obtained at run time (an access token, a SOAP session id, a
JWT assertion). ``scrub(text)`` and ``scrub_obj(obj)`` replace every known secret, in every
form it may take on the way out (URL-encoded, JSON-, HTML- or XML-escaped, in a ``repr``,
base64 in a Basic header), with ``[redacted]``.

Hooks: a log record factory scrubs each record's message, arguments, exception text and stack
(whatever logger and handler it goes to); the formatters of the handlers already set up (the
SDK's console handler, a ``SINGER_SDK_LOG_CONFIG`` one) are wrapped to scrub their final text,
for formatters that render the exception their own way; ``sys.excepthook`` and
``threading.excepthook`` print uncaught exceptions scrubbed. Report files,
dead letters, STATE and webhook payloads call ``scrub``/``scrub_obj`` before they are written.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType

MASK = "[redacted]"  # as tap-aimdoc writes it
MIN_LENGTH = 4  # shorter values would mask ordinary text; no real secret is this short
PREFILTER = 65_536  # longer texts are searched form by form first (faster when none is there)


class _Known:
    """The process's secrets (every form) and the pattern that finds them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: set[str] = set()
        self.ordered: tuple[str, ...] = ()  # the forms, longest first
        self.in_json: tuple[str, ...] = ()  # each form as it shows inside a JSON string
        self.pattern: re.Pattern[str] | None = None
        self.installed = False


_KNOWN = _Known()


def forms(value: str) -> set[str]:
    """The ways ``value`` can appear in text we write: as is, encoded or escaped."""
    found = {value, quote_plus(value), quote(value, safe=""), quote(value),
             html.escape(value), html.escape(value, quote=False), xml_escape(value),
             json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             html.escape(value, quote=False).replace('"', "&#34;").replace("'", "&#39;")}
    for text in list(found):
        found.add(repr(text)[1:-1])  # as a str repr shows it (a traceback's locals, args)
        found.add(repr(text.encode("utf-8"))[2:-1])  # in a bytes repr (a response body)
    return {text for text in found if len(text) >= MIN_LENGTH}


def register(value: Any) -> None:
    """Scrub ``value`` (a secret or a token) from everything written from now on."""
    if not isinstance(value, str) or len(value.strip()) < MIN_LENGTH:
        return
    new = forms(value)
    with _KNOWN.lock:
        if new <= _KNOWN.secrets:
            return
        _KNOWN.secrets.update(new)
        ordered = tuple(sorted(_KNOWN.secrets, key=len, reverse=True))  # the longest wins
        _KNOWN.ordered = ordered
        _KNOWN.pattern = re.compile("|".join(map(re.escape, ordered)))
        _KNOWN.in_json = tuple({json.dumps(form, ensure_ascii=False)[1:-1] for form in ordered})


def register_basic_auth(user: Any, password: Any) -> None:
    """Scrub the ``Authorization: Basic`` value of ``user:password`` (as requests sends it)."""
    if not user or not password:
        return
    pair = f"{user}:{password}"
    for encoding in ("latin-1", "utf-8"):
        try:
            register(base64.b64encode(pair.encode(encoding)).decode("ascii"))
        except UnicodeEncodeError:
            continue


def known() -> int:
    """How many secret forms are registered (for tests and the docs)."""
    return len(_KNOWN.secrets)


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    pattern = _KNOWN.pattern
    if pattern is None or not text:
        return text
    if len(text) > PREFILTER and not any(form in text for form in _KNOWN.ordered):
        return text
    return pattern.sub(MASK, text)


def scrub_obj(obj: Any) -> Any:
    """A copy of JSON-like data (dicts, lists, tuples, strings) with secrets scrubbed.

    Keys are scrubbed too; other values (numbers, None) are kept as they are. The data is
    returned as is when its JSON holds no secret (one pass in C instead of one per string).
    """
    pattern = _KNOWN.pattern
    if pattern is None:
        return obj
    try:
        text = json.dumps(obj, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # keys JSON cannot take, cycles: look at every string
        text = None
    if text is not None and not any(form in text for form in _KNOWN.in_json):
        return obj
    return _scrub_obj(obj, pattern)


def _scrub_obj(obj: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(obj, str):
        return pattern.sub(MASK, obj) if pattern.search(obj) else obj
    if isinstance(obj, dict):
        return {_scrub_obj(key, pattern): _scrub_obj(value, pattern)
                for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_scrub_obj(item, pattern) for item in obj)
    return obj


class ScrubbingWriter:
    """A text stream that scrubs what is written through it (the STATE lines)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        """Write ``text`` scrubbed."""
        return self.out.write(scrub(text))

    def flush(self) -> None:
        """Flush the stream underneath."""
        self.out.flush()


def secret_settings(schema: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the settings a JSON schema marks ``secret`` (or ``writeOnly``)."""
    names = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        if spec.get("secret") or spec.get("writeOnly"):
            names.append(prefix + name)
        if isinstance(spec.get("properties"), dict):
            names += secret_settings(spec, f"{prefix}{name}.")
    return names


def protect(config: Mapping[str, Any], secret_names: Iterable[str] | None = None) -> None:
    """Register the config's secrets (by default the target schema's) and install the hooks."""
    if secret_names is None:
        from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

        secret_names = secret_settings(TargetSalesforceAimdoc.config_jsonschema)
    for name in secret_names:
        value: Any = config
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        register(value)
    register_basic_auth(config.get("client_id"), config.get("client_secret"))
    if config.get("password") and config.get("security_token"):
        register(f"{config['password']}{config['security_token']}")
    key_file = config.get("private_key_file")
    if key_file:
        try:
            register(Path(str(key_file)).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            pass  # reported by the login, naming the setting
    install()


# ---------------------------------------------------------------------- hooks
def install() -> None:
    """Install the log record factory and the exception hooks (once per process)."""
    with _KNOWN.lock:
        if _KNOWN.installed:
            return
        _KNOWN.installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _KNOWN.pattern is not None:
            scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
    wrap_formatters()
    sys.excepthook = _excepthook(sys.excepthook)
    threading.excepthook = _thread_excepthook(threading.excepthook)


class ScrubbingFormatter(logging.Formatter):
    """Wraps a handler's formatter: its whole output is scrubbed."""

    def __init__(self, inner: logging.Formatter) -> None:
        """Wrap ``inner``."""
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text, scrubbed."""
        return scrub(self.inner.format(record))


def wrap_formatters() -> None:
    """Wrap the formatter of every handler set up so far (root and named loggers)."""
    loggers = [logging.getLogger(), *(item for item in logging.root.manager.loggerDict.values()
                                      if isinstance(item, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not isinstance(handler.formatter, ScrubbingFormatter):
                handler.setFormatter(ScrubbingFormatter(handler.formatter or logging.Formatter()))


def scrub_record(record: logging.LogRecord) -> None:
    """Scrub a log record in place: message, arguments, exception text, stack."""
    try:
        record.msg = scrub(record.getMessage())
        record.args = None
    except (TypeError, ValueError):  # bad format arguments: scrub what logging will show
        record.msg = scrub(str(record.msg))
        record.args = scrub_obj(tuple(map(str, record.args or ())))
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters print exc_text when set; one that renders exc_info its own way (the
        # SDK's structured one) is wrapped by ScrubbingFormatter.
        record.exc_text = scrub(format_exception(*record.exc_info))
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def format_exception(exc_type: type[BaseException] | None, value: BaseException | None,
                     tb: TracebackType | None) -> str:
    """A traceback as ``logging`` formats it (not yet scrubbed)."""
    return "".join(traceback.format_exception(exc_type, value, tb)).rstrip("\n")


def _excepthook(previous: Any) -> Any:
    def hook(exc_type: type[BaseException], value: BaseException,
             tb: TracebackType | None) -> None:
        if previous is sys.__excepthook__ or issubclass(exc_type, KeyboardInterrupt):
            print(scrub(format_exception(exc_type, value, tb)), file=sys.stderr)
            return
        previous(exc_type, value, tb)  # the SDK's: it logs, through the record factory

    return hook


def _thread_excepthook(previous: Any) -> Any:
    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            previous(args)
            return
        name = args.thread.name if args.thread is not None else "?"
        print(f"Exception in thread {name}:\n"
              + scrub(format_exception(args.exc_type, args.exc_value, args.exc_traceback)),
              file=sys.stderr)

    return hook
