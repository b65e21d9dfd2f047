"""URLs in the HTML we write (run report, CRM objects page, notes): allow-listed, then escaped.

A URL becomes a link only when its scheme is ``https`` (with a host), or ``http`` to the local
emulators (localhost, 127.0.0.1, ::1). Anything else (``javascript:``, ``data:``, a relative
or scheme-less text, a URL with spaces, control characters, quotes, angle brackets, backticks
or backslashes unencoded) is shown as escaped text, never put in an attribute.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Browsers drop or rewrite these, and no valid URL holds them unencoded.
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\\"<>`]")


def safe_url(url: Any) -> str | None:
    """``url`` when it may be a link (https, or http to localhost), else None."""
    if not isinstance(url, str) or not url or _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a malformed port raises
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not host or scheme not in ("https", "http"):
        return None
    if scheme == "http" and host not in LOCAL_HOSTS:
        return None
    return url


def link(url: Any, label: Any | None = None) -> str:
    """An ``<a href>`` to ``url`` when allowed, else the URL as escaped text.

    The link shows ``label`` (else the URL); every part is escaped.
    """
    text = "" if url is None else str(url)
    allowed = safe_url(url)
    if allowed is None:
        return html.escape(text)
    shown = text if label is None else str(label)
    return (f'<a href="{html.escape(allowed, quote=True)}" rel="noopener noreferrer">'
            f"{html.escape(shown)}</a>")
