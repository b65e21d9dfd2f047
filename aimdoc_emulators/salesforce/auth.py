"""Logins (SOAP, OAuth 2.0 flows) and sessions with a time to live.

Shapes follow the spec §1: SOAP results with unprefixed ``sessionId``/``serverUrl`` and faults
with the ``sf:`` prefix and HTTP 500; OAuth JSON errors ``{"error", "error_description"}``.
The SOAP endpoint also answers ``logout`` (the session in the ``SessionHeader`` ends; an empty
``logoutResponse``); other SOAP calls get the service's "No operation available" client fault.
``revoke`` ends an access token, or the refresh token and the sessions it issued
(``/services/oauth2/revoke``: 200 with an empty body, 400 ``invalid_token`` otherwise).
"""

from __future__ import annotations

import base64
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jwt

from aimdoc_emulators.salesforce.ids import ORG_ID_18, USER_ID_18

SOAP_NS = {"env": "http://schemas.xmlsoap.org/soap/envelope/", "p": "urn:partner.soap.sforce.com"}
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Credentials:
    """What the emulated org accepts (defaults documented in the README)."""

    username: str = "demo@example.com"
    password: str = "demo-password"  # noqa: S105 - the emulator's documented demo secret
    security_token: str = "demo-token"  # noqa: S105
    client_id: str = "demo-client-id"
    client_secret: str = "demo-client-secret"  # noqa: S105
    refresh_token: str = "demo-refresh-token"  # noqa: S105
    jwt_public_key: str | None = None  # PEM certificate or public key for JWT bearer


@dataclass
class Session:
    """An issued access token."""

    token: str
    expires_at: float
    flow: str


class AuthError(Exception):
    """A refused login: rendered by the caller as a SOAP fault or an OAuth JSON error."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class Authenticator:
    """Checks credentials and issues, validates and expires session tokens."""

    credentials: Credentials = field(default_factory=Credentials)
    session_ttl: float = 7200.0
    sessions: dict[str, Session] = field(default_factory=dict)
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    revoked_refresh_tokens: set[str] = field(default_factory=set)

    def issue(self, flow: str) -> Session:
        """A new session token in the real ``00D…!…`` shape."""
        token = f"{ORG_ID_18[:15]}!{secrets.token_urlsafe(72)}"
        session = Session(token, time.monotonic() + self.session_ttl, flow)
        with self.lock:
            self.sessions[token] = session
            self.logins += 1
        return session

    def is_valid(self, token: str | None) -> bool:
        """True while the token exists and has not expired."""
        if not token:
            return False
        with self.lock:
            session = self.sessions.get(token)
        return session is not None and session.expires_at > time.monotonic()

    def end(self, token: str | None) -> bool:
        """End one session (SOAP ``logout``, OAuth revoke); False when it was not valid."""
        if not self.is_valid(token):
            return False
        with self.lock:
            self.sessions.pop(str(token), None)
        return True

    def revoke(self, token: str | None) -> bool:
        """Revoke an access token, or the refresh token and every session it issued."""
        if token and token == self.credentials.refresh_token:
            with self.lock:
                self.revoked_refresh_tokens.add(token)
                for key in [k for k, v in self.sessions.items() if v.flow == "refresh_token"]:
                    del self.sessions[key]
            return True
        return self.end(token)

    def expire_all(self) -> int:
        """Expire every session now (the admin hook); returns how many there were."""
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
        return count

    # ------------------------------------------------------------------ SOAP
    def soap_logout(self, body: bytes) -> None:
        """SOAP ``logout``: end the session named in the ``SessionHeader``."""
        root = ET.fromstring(body)  # noqa: S314 - input is a local test client's envelope
        token = next((el.text for el in root.iter() if _local(el.tag) == "sessionId"), None)
        if not self.end((token or "").strip()):
            raise AuthError(500, "INVALID_SESSION_ID",
                            "Invalid Session ID found in SessionHeader: Illegal Session")

    def soap_login(self, body: bytes) -> Session:
        """Check a SOAP ``login`` envelope; AuthError with a LoginFault code otherwise."""
        try:
            root = ET.fromstring(body)  # noqa: S314 - input is a local test client's envelope
        except ET.ParseError:
            raise AuthError(500, "INVALID_LOGIN", INVALID_LOGIN) from None
        username = root.findtext(".//p:login/p:username", namespaces=SOAP_NS)
        password = root.findtext(".//p:login/p:password", namespaces=SOAP_NS)
        creds = self.credentials
        if username != creds.username or password != creds.password + creds.security_token:
            if username == creds.username and password == creds.password:
                raise AuthError(
                    500, "LOGIN_MUST_USE_SECURITY_TOKEN",
                    "Invalid username, password, security token; or user locked out. Are you at "
                    "a new location? When accessing Salesforce--either via a desktop client or "
                    "the API--from outside of your company’s trusted networks, you must add a "
                    "security token to your password to log in.",
                )
            raise AuthError(500, "INVALID_LOGIN", INVALID_LOGIN)
        return self.issue("soap")

    # ------------------------------------------------------------------ OAuth
    def oauth_token(self, form: dict[str, str], authorization: str | None, path: str) -> Session:
        """Run the grant named by ``grant_type``; AuthError(400/401, error, description)."""
        grant = form.get("grant_type", "")
        if grant == "password":
            return self._password_grant(form)
        if grant == "client_credentials":
            return self._client_credentials_grant(form, authorization, path)
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if grant == JWT_GRANT:
            return self._jwt_grant(form)
        raise AuthError(400, "unsupported_grant_type", "grant type not supported")

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id != self.credentials.client_id:
            raise AuthError(400, "invalid_client_id", "client identifier invalid")
        if client_secret is not None and client_secret != self.credentials.client_secret:
            raise AuthError(400, "invalid_client", "invalid client credentials")

    def _password_grant(self, form: dict[str, str]) -> Session:
        self._check_client(form.get("client_id"), form.get("client_secret", ""))
        creds = self.credentials
        if form.get("username") != creds.username or form.get("password") not in {
            creds.password + creds.security_token,
        }:
            raise AuthError(400, "invalid_grant", "authentication failure")
        return self.issue("password")

    def _client_credentials_grant(
        self, form: dict[str, str], authorization: str | None, path: str
    ) -> Session:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise AuthError(401, "invalid_client", "invalid client credentials") from None
            client_id, _, client_secret = decoded.partition(":")
        lowered = path.lower()
        if "/login.salesforce.com/" in lowered or "/test.salesforce.com/" in lowered:
            raise AuthError(400, "invalid_grant", "request not supported on this domain")
        self._check_client(client_id, client_secret or "")
        return self.issue("client_credentials")

    def _refresh_grant(self, form: dict[str, str]) -> Session:
        self._check_client(form.get("client_id"), form.get("client_secret"))
        token = form.get("refresh_token")
        if token != self.credentials.refresh_token or token in self.revoked_refresh_tokens:
            raise AuthError(400, "invalid_grant", "expired access/refresh token")
        return self.issue("refresh_token")

    def _jwt_grant(self, form: dict[str, str]) -> Session:
        assertion = form.get("assertion", "")
        key = self.credentials.jwt_public_key
        if not key:
            raise AuthError(400, "invalid_client", "no certificate is configured for JWT")
        try:
            claims = jwt.decode(
                assertion, _public_key(key), algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "require": ["iss", "sub"]},
            )
        except jwt.InvalidTokenError:
            raise AuthError(400, "invalid_grant", "invalid assertion") from None
        if claims.get("iss") != self.credentials.client_id:
            raise AuthError(400, "invalid_client_id", "client identifier invalid")
        if claims.get("sub") != self.credentials.username:
            raise AuthError(400, "invalid_grant", "user hasn't approved this consumer")
        if float(claims.get("exp", 0)) < time.time():
            raise AuthError(400, "invalid_grant", "expired authorization code")
        return self.issue("jwt")


def soap_operation(body: bytes) -> str:
    """The SOAP call an envelope makes (the body's first element, e.g. ``login``), or ``""``."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - input is a local test client's envelope
    except ET.ParseError:
        return ""
    for element in root:
        if _local(element.tag) == "Body":
            first = next(iter(element), None)
            return _local(first.tag) if first is not None else ""
    return ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _public_key(pem: str) -> Any:
    """A public key from a certificate or public key PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = pem.encode("utf-8")
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def make_jwt_keypair(directory: Path) -> tuple[Path, Path]:
    """Write a new RSA private key and a self-signed certificate; return (key, cert) paths."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "salesforce-emulator-jwt")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / "jwt-private-key.pem", directory / "jwt-cert.pem"
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def soap_login_response(session: Session, base_url: str, api_version: str) -> str:
    """The SOAP ``loginResponse`` envelope, element names exactly as the real one."""
    server = f"{base_url}/services/Soap/u/{api_version}/{ORG_ID_18[:15]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse>'
        f"<result><metadataServerUrl>{base_url}/services/Soap/m/{api_version}/{ORG_ID_18[:15]}"
        "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{server}</serverUrl><sessionId>{session.token}</sessionId>"
        f"<userId>{USER_ID_18}</userId><userInfo><organizationId>{ORG_ID_18}</organizationId>"
        "<userName>emulator</userName><sessionSecondsValid>"
        f"{int(session.expires_at - time.monotonic())}</sessionSecondsValid></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def soap_logout_response() -> str:
    """The SOAP ``logoutResponse`` envelope (empty, as the real one)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><logoutResponse/></soapenv:Body>'
        "</soapenv:Envelope>"
    )


def soap_client_fault(operation: str) -> str:
    """The fault for a SOAP call the emulator does not model (HTTP 500)."""
    shown = html.escape(operation or "(none)")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>"
        f"No operation available for request {{urn:partner.soap.sforce.com}}{shown}, please "
        "check the WSDL for the service.</faultstring></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def soap_fault(code: str, message: str, fault_type: str = "LoginFault") -> str:
    """A SOAP fault envelope with the ``sf:`` prefix (sent with HTTP 500).

    ``fault_type`` is ``LoginFault`` for logins, ``UnexpectedErrorFault`` for other calls.
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage>"
        f"</sf:{fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def oauth_success(session: Session, base_url: str) -> dict[str, Any]:
    """The token endpoint's JSON on success."""
    return {
        "access_token": session.token,
        "instance_url": base_url,
        "id": f"{base_url}/id/{ORG_ID_18}/{USER_ID_18}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "signature": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "scope": "api",
    }
