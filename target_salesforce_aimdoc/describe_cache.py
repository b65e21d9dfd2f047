"""Describes kept on disk for a few minutes, so runs close together skip them.

A webhook-triggered deployment runs the target every few seconds to minutes; each run that
writes would otherwise describe Account, Contact and Lead again (three API calls) although an
org's schema changes rarely. Each describe is kept per org, API version and object for
``describe_cache_minutes`` (default 0: off, so a field added in Salesforce can be mapped at
once; 15 suits a webhook-triggered deployment). Salesforce's conditional describe
(``If-Modified-Since``) still costs a call per object, so a short time-to-live is what saves
calls; a field deleted within it makes writes of that field fail per record (dead letters
naming it), and the next run past the time-to-live checks the mapping again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_MINUTES = 0.0


class DescribeCache:
    """Describe payloads by (org, API version, object), fresh for ``minutes``."""

    def __init__(self, minutes: float | None, directory: str | None = None) -> None:
        self.seconds = DEFAULT_MINUTES * 60 if minutes is None else float(minutes) * 60
        self.directory = Path(directory or os.environ.get(
            "TARGET_SALESFORCE_AIMDOC_CACHE_DIR")
            or Path(tempfile.gettempdir()) / "target-salesforce-aimdoc-describes")

    def _path(self, org: str, version: str, sobject: str) -> Path:
        name = hashlib.sha256(f"{org}|{version}|{sobject}".encode()).hexdigest()[:32]
        return self.directory / f"{name}.json"

    def get(self, org: str | None, version: str, sobject: str) -> dict[str, Any] | None:
        """The cached describe, if fresh and readable."""
        if not org or self.seconds <= 0:
            return None
        path = self._path(org, version, sobject)
        try:
            if time.time() - path.stat().st_mtime > self.seconds:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("name") == sobject else None

    def put(self, org: str | None, version: str, sobject: str, describe: dict[str, Any]) -> None:
        """Keep a describe (best effort: a cache that cannot be written is no cache)."""
        if not org or self.seconds <= 0:
            return
        path = self._path(org, version, sobject)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(describe), encoding="utf-8")
            partial.replace(path)
        except OSError:
            pass
