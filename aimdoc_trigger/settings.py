"""The trigger's settings: command-line flags over ``AIMDOC_TRIGGER_*`` variables over defaults.

Every setting has a flag (``--min-interval``) and a variable (``AIMDOC_TRIGGER_MIN_INTERVAL``),
the names Meltano gives a utility's settings, so ``meltano invoke aimdoc-trigger`` passes them.
The token has no flag (a command line is visible to every local user): it comes from
``AIMDOC_TRIGGER_TOKEN`` or from the file named by ``--token-file``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ENV_PREFIX = "AIMDOC_TRIGGER_"
DEFAULT_COMMAND = "meltano run tap-aimdoc target-salesforce-aimdoc"
MIN_TOKEN_LENGTH = 24  # characters; token_urlsafe(32) gives 43
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting is missing or invalid."""


@dataclass(frozen=True)
class Settings:
    """What the trigger needs to serve and run; see ``docs/freshness.md``."""

    token: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8787
    path_prefix: str = "/aimdoc/"
    command: tuple[str, ...] = tuple(shlex.split(DEFAULT_COMMAND))
    min_interval: float = 10.0
    debounce: float = 1.0
    fallback_interval: float = 3600.0
    run_at_start: bool = True
    run_timeout: float = 3600.0
    retry_interval: float = 30.0
    shutdown_grace: float = 30.0
    max_body_bytes: int = 1_048_576
    tls_cert: Path | None = None
    tls_key: Path | None = None
    log_level: str = "INFO"

    @property
    def webhook_path(self) -> str:
        """The secret path Aimdoc posts to (never log it)."""
        return f"{self.path_prefix}{self.token}"

    def describe(self) -> dict:
        """The settings without the token, for the start-up log line."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "token"}


_HELP = {
    "host": "address to listen on",
    "port": "port to listen on (0 picks a free one)",
    "path_prefix": "the webhook path is <path-prefix><token>",
    "command": "the sync command, split like a shell would (no shell runs it)",
    "min_interval": "seconds between the starts of two runs, at least",
    "debounce": "seconds to wait after the first event of a burst before a run starts",
    "fallback_interval": "run when no run has started for this many seconds (0: never)",
    "run_at_start": "run once at start-up to catch up (true/false)",
    "run_timeout": "stop a run that takes longer than this many seconds",
    "retry_interval": "seconds before a failed run is tried again, doubling with each failure "
                      "in a row up to an hour (0: wait for the next event or the fallback)",
    "shutdown_grace": "on SIGTERM/SIGINT, seconds a running command may finish before it "
                      "gets SIGTERM",
    "max_body_bytes": "larger webhook bodies get 413",
    "tls_cert": "PEM certificate (chain) to serve HTTPS",
    "tls_key": "PEM private key of the certificate",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
}


def build_parser() -> argparse.ArgumentParser:
    """Flags; each defaults to None so the variable or the default applies."""
    parser = argparse.ArgumentParser(
        prog="aimdoc-trigger",
        description="Receive Aimdoc webhooks and run the sync command, one run at a time.",
        epilog=f"Every flag also reads {ENV_PREFIX}<NAME> (e.g. {ENV_PREFIX}MIN_INTERVAL). "
               f"The token comes from {ENV_PREFIX}TOKEN or --token-file.")
    for name, text in _HELP.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, help=text)
    parser.add_argument("--token-file", type=Path, help="file holding the webhook token")
    parser.add_argument("--generate-token", action="store_true",
                        help="print a new random token and exit")
    return parser


def load(argv: Sequence[str] | None = None,
         environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from flags, then variables, then defaults; raises SettingsError."""
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for name in _HELP:
        value = getattr(args, name)
        if value is None:
            value = env.get(ENV_PREFIX + name.upper())
        if value is not None:
            raw[name] = value
    token_file = args.token_file or env.get(ENV_PREFIX + "TOKEN_FILE")
    token = Path(token_file).read_text(encoding="utf-8").strip() if token_file else \
        env.get(ENV_PREFIX + "TOKEN", "").strip()
    return build(token, raw)


def build(token: str, raw: Mapping[str, str]) -> Settings:
    """Settings from a token and string values by setting name; raises SettingsError."""
    check_token(token)
    values: dict[str, object] = {}
    defaults = Settings(token=token)
    for item in fields(Settings):
        if item.name not in raw:
            continue
        values[item.name] = _convert(item.name, raw[item.name], getattr(defaults, item.name))
    settings = Settings(token=token, **values)  # type: ignore[arg-type]
    _check(settings)
    return settings


def check_token(token: str) -> None:
    """The token must be long and URL-safe (it is a path segment)."""
    if len(token) < MIN_TOKEN_LENGTH:
        msg = (f"set {ENV_PREFIX}TOKEN (or --token-file) to a random string of at least "
               f"{MIN_TOKEN_LENGTH} characters; `aimdoc-trigger --generate-token` makes one")
        raise SettingsError(msg)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in token):
        msg = "the token may hold only letters, digits, '-' and '_'"
        raise SettingsError(msg)


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return secrets.token_urlsafe(32)


def _convert(name: str, text: str, default: object) -> object:
    try:
        if name == "command":
            command = tuple(shlex.split(text))
            if not command:
                raise SettingsError("the command is empty")
            return command
        if name in ("tls_cert", "tls_key"):
            return Path(text) if text else None
        if isinstance(default, bool):
            return _boolean(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError as exc:
        msg = f"{name}: {exc}"
        raise SettingsError(msg) from exc
    return text


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    msg = f"not a boolean: {text!r}"
    raise ValueError(msg)


def _check(settings: Settings) -> None:
    if not settings.path_prefix.startswith("/") or not settings.path_prefix.endswith("/"):
        raise SettingsError("path_prefix must start and end with '/'")
    for name in ("min_interval", "debounce", "fallback_interval", "shutdown_grace",
                 "retry_interval"):
        if getattr(settings, name) < 0:
            msg = f"{name} must not be negative"
            raise SettingsError(msg)
    if settings.run_timeout <= 0 or settings.max_body_bytes <= 0:
        raise SettingsError("run_timeout and max_body_bytes must be positive")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise SettingsError("tls_cert and tls_key go together")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("log_level must be DEBUG, INFO, WARNING or ERROR")


def meltano_utility() -> dict:
    """The Meltano utility plugin definition (``plugins: utilities:`` in ``meltano.yml``).

    Meltano passes each setting to the process as ``AIMDOC_TRIGGER_<NAME>``, which ``load``
    reads, so ``meltano invoke aimdoc-trigger`` needs no arguments.
    """
    defaults = Settings(token="x" * MIN_TOKEN_LENGTH)
    settings: list[dict] = [{"name": "token", "kind": "string", "sensitive": True,
                             "description": "The secret last segment of the webhook path "
                                            "(`aimdoc-trigger --generate-token` makes one)"}]
    for name, text in _HELP.items():
        value = getattr(defaults, name)
        entry: dict = {"name": name, "kind": _KINDS.get(type(value), "string"),
                       "description": text[0].upper() + text[1:]}
        if name == "command":
            entry["value"] = DEFAULT_COMMAND
        elif value is not None:
            entry["value"] = value
        settings.append(entry)
    settings.insert(1, {"name": "token_file", "kind": "string",
                        "description": "A file holding the token (instead of `token`)"})
    return {"name": "aimdoc-trigger", "namespace": "aimdoc_trigger", "pip_url": "-e .",
            "executable": "aimdoc-trigger", "settings": settings}


_KINDS = {bool: "boolean", int: "integer", float: "decimal", str: "string"}
