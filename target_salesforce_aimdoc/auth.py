"""Salesforce logins: every current flow, from config, to (session token, instance URL).

OAuth 2.0 client credentials, JWT bearer, refresh token and the legacy username-password flow
post to ``{login_url}/services/oauth2/token`` directly (so the target controls errors and
retries); the legacy SOAP login goes through simple-salesforce; an existing session is taken
as is. Error messages are one line naming the flow, Salesforce's answer, the setting to fix and
how, never a secret; every token obtained is registered with ``redaction`` at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceError

from target_salesforce_aimdoc import redaction

_RETRY_LATER = ("Salesforce (or a proxy in between) failed; try again later, and check login_url "
                "if it persists")
# (flow, OAuth error, description) -> the fix, in one line; "" matches any flow or description.
_OAUTH_FIXES = {
    ("client_credentials", "invalid_grant", "request not supported on this domain"): (
        "login_url {url} cannot do the client_credentials flow: set login_url to your My Domain "
        "URL (https://YOURDOMAIN.my.salesforce.com)"),
    ("", "unsupported_grant_type", ""): (
        "login_url {url} cannot do this flow, or the app does not allow it: check login_url and "
        "the app's OAuth settings"),
    ("", "invalid_client_id", ""): (
        "client_id is not the consumer key of an app this org knows: check client_id, and "
        "login_url (production or sandbox)"),
    ("", "invalid_client", ""): "client_secret does not match client_id: check client_secret",
    ("password", "invalid_grant", ""): (
        "username, password or security_token refused: check them (security_token is appended "
        "to password; reset it in Salesforce if unsure)"),
    ("refresh_token", "invalid_grant", ""): (
        "refresh_token is expired or revoked: get a new refresh_token for this client_id"),
    ("jwt", "invalid_grant", "invalid assertion"): (
        "{key} does not match the certificate uploaded to the app (client_id), or the "
        "assertion's audience is wrong: set {key} to the private key of that certificate, and "
        "login_url to login.salesforce.com, test.salesforce.com or your My Domain"),
    ("jwt", "invalid_grant", "user hasn't approved this consumer"): (
        "username has not approved the app: in the app's policies set Admin approved users are "
        "pre-authorized and give the user's profile or a permission set access"),
    ("jwt", "invalid_grant", ""): "check username, client_id and {key}",
    ("client_credentials", "invalid_grant", ""): (
        "the app has no Run As user for the client credentials flow, or it is not allowed: "
        "check the app's client credentials settings"),
}
_SOAP_FIXES = {
    "INVALID_LOGIN": ("username, password or security_token refused: check them (SOAP login "
                      "sends the password followed by security_token)"),
    "LOGIN_MUST_USE_SECURITY_TOKEN": ("security_token is missing or wrong: set security_token "
                                      "(reset it from the user's settings in Salesforce)"),
    "INVALID_OPERATION_WITH_EXPIRED_PASSWORD": ("the password has expired: change it in "
                                                "Salesforce, then set password"),
    "API_DISABLED_FOR_ORG": "the org cannot use the API: an API-enabled edition is needed",
    "API_CURRENTLY_DISABLED": ("the user cannot use the API: give the user the API Enabled "
                               "permission"),
}


class SalesforceAuthError(RuntimeError):
    """Login failed; the message names the flow and Salesforce's answer, never a secret."""


def infer_auth_flow(config: dict[str, Any]) -> str:
    """The auth flow named by ``auth_flow`` or implied by which credentials are set."""
    if config.get("auth_flow"):
        return str(config["auth_flow"])
    if config.get("session_id"):
        return "session"
    if config.get("refresh_token"):
        return "refresh_token"
    if config.get("private_key") or config.get("private_key_file"):
        return "jwt"
    if config.get("password") and config.get("client_id") and config.get("client_secret"):
        return "password"
    if config.get("password") and config.get("username"):
        return "soap"
    if config.get("client_id") and config.get("client_secret"):
        return "client_credentials"
    raise SalesforceAuthError(
        "no Salesforce credentials: set client_id + client_secret (client credentials), "
        "client_id + username + private_key (JWT), refresh_token, session_id + instance_url, "
        "or username + password + security_token"
    )


def _key_setting(config: dict[str, Any]) -> str:
    """The setting the JWT key comes from, for error messages."""
    if config.get("private_key"):
        return "private_key"
    return f"private_key_file {config.get('private_key_file')}"


def private_key(config: dict[str, Any]) -> str:
    """The JWT key as PEM text, checked: an error names the setting and the fix in one line."""
    setting = _key_setting(config)
    key = config.get("private_key")
    if not key and config.get("private_key_file"):
        path = Path(str(config["private_key_file"])).expanduser()
        try:
            key = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SalesforceAuthError(f"{setting} does not exist: set private_key_file to the "
                                      "path of the PEM private key") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SalesforceAuthError(f"{setting} cannot be read ({type(exc).__name__}): give "
                                      "a readable PEM text file") from None
    if not key:
        raise SalesforceAuthError("auth_flow jwt needs a private key: set private_key (PEM "
                                  "text) or private_key_file (its path)")
    text = str(key).strip()
    if "\\n" in text and "\n" not in text:  # a PEM pasted into one line of an env var
        text = text.replace("\\n", "\n")
    redaction.register(text)
    first = text.splitlines()[0] if text else ""
    if not first.startswith("-----BEGIN"):
        raise SalesforceAuthError(
            f"{setting} is not a PEM private key (it should start with -----BEGIN PRIVATE "
            "KEY-----): give the PEM text of the key whose certificate is uploaded to the app")
    if "CERTIFICATE" in first or "PUBLIC KEY" in first:
        raise SalesforceAuthError(
            f"{setting} holds a {'certificate' if 'CERTIFICATE' in first else 'public key'}, "
            "not a private key: the certificate goes to the app in Salesforce, and "
            f"{setting.split()[0]} takes the private key it was made from")
    try:
        loaded = serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except TypeError:
        raise SalesforceAuthError(
            f"{setting} is an encrypted private key: give it unencrypted (openssl pkey -in "
            "key.pem -out plain.pem)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SalesforceAuthError(
            f"{setting} is not a readable PEM private key (damaged, or cut): give the whole "
            "PEM text, -----BEGIN to -----END lines included") from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise SalesforceAuthError(
            f"{setting} is not an RSA key: the JWT bearer flow signs with RS256, so give the "
            "RSA private key of the app's certificate")
    return text


def _one_line(text: Any, limit: int) -> str:
    """Untrusted text for an error message: scrubbed of secrets, then one line, then cut."""
    return " ".join(redaction.scrub(str(text or "")).split())[:limit]


class Login:
    """One configured way to log in to an org."""

    def __init__(self, config: dict[str, Any], http: requests.Session) -> None:
        self.config = config
        self.http = http
        self.flow = infer_auth_flow(config)
        self.api_version = str(config.get("api_version") or "59.0")
        self.user_id: str | None = None  # the integration user, when the login tells

    @property
    def login_url(self) -> str:
        """The login base URL without a trailing slash."""
        return str(self.config.get("login_url") or "https://login.salesforce.com").rstrip("/")

    def authenticate(self) -> tuple[str, str]:
        """Log in with the flow: (session token, instance URL); sets ``user_id``.

        Every token obtained is registered with ``redaction`` before anything can print it.
        """
        config = self.config
        if self.flow == "session":
            if not config.get("instance_url"):
                raise SalesforceAuthError(
                    "auth_flow session needs instance_url: set instance_url to the org's URL "
                    "(https://YOURDOMAIN.my.salesforce.com) next to session_id")
            redaction.register(config.get("session_id"))
            return str(config["session_id"]), str(config["instance_url"])
        if self.flow == "soap":
            return self._soap_login()
        form = self._token_form()
        auth = None
        if self.flow == "client_credentials":
            auth = (str(config.get("client_id")), str(config.get("client_secret")))
            redaction.register_basic_auth(*auth)
        try:
            response = self.http.post(
                f"{self.login_url}/services/oauth2/token", data=form, auth=auth, timeout=60
            )
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(exc) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            raise SalesforceAuthError(self._refusal(response, body))
        for name in ("access_token", "refresh_token", "id_token", "signature"):
            redaction.register(body.get(name))
        identity = str(body.get("id") or "")
        self.user_id = identity.rstrip("/").rsplit("/", 1)[-1] or None if identity else None
        instance = str(config.get("instance_url") or body.get("instance_url"))
        return str(body["access_token"]), instance

    def _unreachable(self, exc: requests.exceptions.RequestException) -> SalesforceAuthError:
        """The login request got no answer: TLS, DNS, connection or timeout, in one line."""
        where = f"{self.flow} login to {self.login_url} failed"
        if isinstance(exc, requests.exceptions.SSLError):
            ca_file = self.config.get("ca_file")
            fix = (f"ca_file {ca_file} does not trust it: set ca_file to the CA bundle that "
                   "signs this server (a corporate proxy's, or the emulator's)" if ca_file else
                   "set ca_file to the CA bundle that signs this server (a corporate proxy's, "
                   "or the emulator's)")
            return SalesforceAuthError(f"{where}: TLS certificate verification failed; {fix}")
        if isinstance(exc, requests.exceptions.Timeout):
            return SalesforceAuthError(f"{where}: no answer in time; check login_url and the "
                                       "network, then try again")
        return SalesforceAuthError(f"{where}: cannot connect ({type(exc).__name__}); check "
                                   "login_url")

    def _refusal(self, response: requests.Response, body: dict[str, Any]) -> str:
        """One line: what Salesforce refused, which setting to fix, and how."""
        error = _one_line(body.get("error"), 80)
        description = _one_line(body.get("error_description"), 200)
        where = f"{self.flow} login to {self.login_url} refused (HTTP {response.status_code}"
        where += f": {error}: {description})" if error else ")"
        fix = _OAUTH_FIXES.get((self.flow, error, description)) or _OAUTH_FIXES.get(
            (self.flow, error, "")) or _OAUTH_FIXES.get(("", error, ""))
        if fix is not None:
            return f"{where}: " + fix.format(url=self.login_url, key=_key_setting(self.config))
        if response.status_code >= 500:
            return f"{where}: {_RETRY_LATER}"
        if not error:
            return (f"{where}: login_url does not look like a Salesforce login endpoint "
                    f"({_one_line(response.text, 160)!r}); check login_url")
        return f"{where}: check the credentials"

    def _token_form(self) -> dict[str, str]:
        config = self.config
        if self.flow == "client_credentials":
            return {"grant_type": "client_credentials"}
        if self.flow == "password":
            return {
                "grant_type": "password",
                "client_id": str(config.get("client_id")),
                "client_secret": str(config.get("client_secret")),
                "username": str(config.get("username")),
                "password": str(config.get("password")) + str(config.get("security_token") or ""),
            }
        if self.flow == "refresh_token":
            form = {
                "grant_type": "refresh_token",
                "client_id": str(config.get("client_id")),
                "refresh_token": str(config.get("refresh_token")),
            }
            if config.get("client_secret"):
                form["client_secret"] = str(config["client_secret"])
            return form
        if self.flow == "jwt":
            return {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._jwt_assertion(),
            }
        raise SalesforceAuthError(f"unknown auth_flow {self.flow!r}")

    def _jwt_assertion(self) -> str:
        config = self.config
        if not config.get("client_id") or not config.get("username"):
            raise SalesforceAuthError(
                "auth_flow jwt needs client_id (the app's consumer key) and username (the "
                "Salesforce user to log in as): set both")
        key = private_key(config)
        audience = config.get("jwt_audience") or self._default_audience()
        claims = {
            "iss": config["client_id"],
            "sub": config["username"],
            "aud": audience,
            "exp": int(time.time()) + 180,
        }
        try:
            assertion = jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
            raise SalesforceAuthError(
                f"{_key_setting(config)} cannot sign RS256 ({type(exc).__name__}): give an "
                "unencrypted RSA private key in PEM") from None
        redaction.register(assertion)  # a bearer credential while it is valid
        return assertion

    def _default_audience(self) -> str:
        host = urlsplit(self.login_url).hostname or ""
        if host.endswith(".sandbox.my.salesforce.com") or host == "test.salesforce.com":
            return "https://test.salesforce.com"
        if host.endswith(".salesforce.com"):
            return "https://login.salesforce.com"
        return self.login_url

    def _soap_login(self) -> tuple[str, str]:
        config = self.config
        parts = urlsplit(self.login_url)
        host = parts.netloc
        if host.endswith(".salesforce.com"):
            domain = host.removesuffix(".salesforce.com")
        else:  # another host (the emulator): login goes to https://HOST/<x>.salesforce.com/...
            domain = f"{host}/login-proxy"
        try:
            session_id, instance = SalesforceLogin(
                username=config.get("username"),
                password=config.get("password"),
                security_token=config.get("security_token") or "",
                domain=domain,
                session=self.http,
                sf_version=self.api_version,
            )
        except SalesforceError as exc:
            code = _one_line(getattr(exc, "code", ""), 60)
            fix = _SOAP_FIXES.get(code) or (
                _RETRY_LATER if code.isdigit() else "check username, password and "
                "security_token")
            raise SalesforceAuthError(
                f"soap login to {self.login_url} refused ({code or '?'}): {fix}") from None
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(exc) from None
        except Exception as exc:  # an answer simple-salesforce cannot read
            raise SalesforceAuthError(
                f"soap login to {self.login_url} failed: the answer is not a SOAP login "
                f"response ({type(exc).__name__}); check login_url") from None
        redaction.register(session_id)
        return session_id, f"https://{instance}"

    # ------------------------------------------------------------------ calls
