"""The HTTP session every Salesforce call goes through: timeouts, TLS trust and proxies.

requests has no session-wide timeout, so a response that never completes would hang a run for
ever; this session gives every request a connect and a read timeout (``http_timeout_seconds``
when set, else the caller's, else 15 s to connect and 180 s between bytes).
With ``ca_file`` set, ``trust_env`` is off (``REQUESTS_CA_BUNDLE`` would otherwise override
``verify``), which would also drop ``HTTPS_PROXY``: the proxies the environment names are
applied per request instead, ``NO_PROXY`` included.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.utils import get_environ_proxies

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 180.0


class SalesforceSession(requests.Session):
    """A ``requests.Session`` with default timeouts, an optional CA file, and env proxies."""

    def __init__(self, ca_file: str | None = None, read_timeout: float | None = None,
                 connect_timeout: float | None = None) -> None:
        super().__init__()
        self.default_timeout = (float(connect_timeout or CONNECT_TIMEOUT),
                                float(read_timeout or READ_TIMEOUT))
        self.configured = read_timeout is not None  # the user's setting beats a call's own
        self.env_proxies = False
        if ca_file:
            self.verify = ca_file
            self.trust_env = False
            self.env_proxies = True

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        """Send with the default timeout when none is given, through the env's proxy."""
        if kwargs.get("timeout") is None or self.configured:
            kwargs["timeout"] = self.default_timeout
        if self.env_proxies and not kwargs.get("proxies"):
            text = url.decode() if isinstance(url, bytes) else url
            kwargs["proxies"] = get_environ_proxies(text)
        return super().request(method, url, *args, **kwargs)
