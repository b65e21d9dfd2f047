"""Real simple-salesforce clients pointed at the emulator by configuration only."""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce import Salesforce

from aimdoc_emulators.salesforce.emulator import SalesforceEmulator

USERNAME = "demo@example.com"
PASSWORD = "demo-password"
TOKEN = "demo-token"
CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"


def trusted_session(emulator: SalesforceEmulator) -> requests.Session:
    """A session trusting the emulator's CA (trust_env off: REQUESTS_CA_BUNDLE would win)."""
    session = requests.Session()
    session.verify = str(emulator.ca_file)
    session.trust_env = False
    return session


def soap_client(emulator: SalesforceEmulator, **kwargs: Any) -> Salesforce:
    """Username + password + security token (SOAP login)."""
    return Salesforce(
        username=USERNAME, password=PASSWORD, security_token=TOKEN,
        domain=emulator.login_domain(), session=trusted_session(emulator), **kwargs,
    )


def client_credentials_client(emulator: SalesforceEmulator) -> Salesforce:
    """OAuth 2.0 client credentials (an External Client App on a My Domain)."""
    return Salesforce(
        consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET,
        domain=emulator.login_domain("acme.my"), session=trusted_session(emulator),
    )


def raw(emulator: SalesforceEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A raw HTTPS call to the emulator (for admin calls and shapes the client hides)."""
    return trusted_session(emulator).request(method, emulator.url + path, timeout=30, **kwargs)
