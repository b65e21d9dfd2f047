"""Salesforce logins: every current flow, from config, to (session token, instance URL).

OAuth 2.0 client credentials, JWT bearer, refresh token and the legacy username-password flow
post to ``{login_url}/services/oauth2/token`` directly (so the target controls errors and
retries); the legacy SOAP login goes through simple-salesforce; an existing session is taken
as is. Error messages name the flow and Salesforce's answer, never a secret.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceError


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
        """Log in with the flow: (session token, instance URL); sets ``user_id``."""
        config = self.config
        if self.flow == "session":
            if not config.get("instance_url"):
                raise SalesforceAuthError("auth_flow session needs instance_url")
            return str(config["session_id"]), str(config["instance_url"])
        if self.flow == "soap":
            return self._soap_login()
        form = self._token_form()
        auth = None
        if self.flow == "client_credentials":
            auth = (str(config.get("client_id")), str(config.get("client_secret")))
        try:
            response = self.http.post(
                f"{self.login_url}/services/oauth2/token", data=form, auth=auth, timeout=60
            )
        except requests.exceptions.RequestException as exc:
            raise SalesforceAuthError(
                f"{self.flow} login to {self.login_url} failed: {type(exc).__name__}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            raise SalesforceAuthError(
                f"{self.flow} login to {self.login_url} refused (HTTP {response.status_code}): "
                f"{body.get('error', '?')}: {body.get('error_description', response.text[:200])}"
            )
        identity = str(body.get("id") or "")
        self.user_id = identity.rstrip("/").rsplit("/", 1)[-1] or None if identity else None
        instance = str(config.get("instance_url") or body.get("instance_url"))
        return str(body["access_token"]), instance

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
        key = config.get("private_key")
        if not key and config.get("private_key_file"):
            with open(config["private_key_file"], encoding="utf-8") as handle:
                key = handle.read()
        if not key or not config.get("client_id") or not config.get("username"):
            raise SalesforceAuthError("auth_flow jwt needs client_id, username and a private key")
        audience = config.get("jwt_audience") or self._default_audience()
        claims = {
            "iss": config["client_id"],
            "sub": config["username"],
            "aud": audience,
            "exp": int(time.time()) + 180,
        }
        try:
            return jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError) as exc:
            raise SalesforceAuthError(f"jwt: the private key cannot sign: {exc}") from None

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
            code = getattr(exc, "code", "")
            raise SalesforceAuthError(f"soap login refused: {code}") from None
        return session_id, f"https://{instance}"

    # ------------------------------------------------------------------ calls
