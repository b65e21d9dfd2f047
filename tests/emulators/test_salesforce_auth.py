"""Logins as simple-salesforce performs them, and session expiry, against the emulator."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from tests.sf_clients import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    TOKEN,
    USERNAME,
    client_credentials_client,
    raw,
    soap_client,
    trusted_session,
)


def test_soap_login_then_rest_call(salesforce_emulator):
    sf = soap_client(salesforce_emulator)
    assert sf.sf_instance == salesforce_emulator.host
    assert sf.session_id.startswith("00D")
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_soap_login_wrong_password_is_a_login_fault(salesforce_emulator):
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(username=USERNAME, password="wrong", security_token=TOKEN,
                   domain=salesforce_emulator.login_domain(),
                   session=trusted_session(salesforce_emulator))
    assert caught.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in str(caught.value)


def test_soap_login_without_token_asks_for_it(salesforce_emulator):
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        SalesforceLogin(username=USERNAME, password=PASSWORD,
                        domain=salesforce_emulator.login_domain(),
                        session=trusted_session(salesforce_emulator))
    assert caught.value.code == "LOGIN_MUST_USE_SECURITY_TOKEN"


def test_soap_fault_is_http_500_with_sf_prefixed_tags(salesforce_emulator):
    response = raw(salesforce_emulator, "POST", "/x.salesforce.com/services/Soap/u/59.0",
                   data=b"<not-xml", headers={"SOAPAction": "login"})
    assert response.status_code == 500
    assert "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>" in response.text


def test_client_credentials_login(salesforce_emulator):
    sf = client_credentials_client(salesforce_emulator)
    assert sf.describe()["maxBatchSize"] == 200


def test_client_credentials_refused_on_login_domain(salesforce_emulator):
    response = raw(salesforce_emulator, "POST", "/login.salesforce.com/services/oauth2/token",
                   data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "request not supported on this domain"}


def test_client_credentials_wrong_secret(salesforce_emulator):
    response = raw(salesforce_emulator, "POST", "/acme.my.salesforce.com/services/oauth2/token",
                   data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
    assert response.json() == {"error": "invalid_client",
                               "error_description": "invalid client credentials"}


def test_oauth_password_grant_needs_password_and_token(salesforce_emulator):
    sf = Salesforce(username=USERNAME, password=PASSWORD + TOKEN, consumer_key=CLIENT_ID,
                    consumer_secret=CLIENT_SECRET, domain=salesforce_emulator.login_domain(),
                    session=trusted_session(salesforce_emulator))
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(username=USERNAME, password=PASSWORD, consumer_key=CLIENT_ID,
                   consumer_secret=CLIENT_SECRET, domain=salesforce_emulator.login_domain(),
                   session=trusted_session(salesforce_emulator))
    assert caught.value.code == "invalid_grant"


def test_oauth_unknown_client_id(salesforce_emulator):
    response = raw(salesforce_emulator, "POST", "/login.salesforce.com/services/oauth2/token",
                   data={"grant_type": "password", "client_id": "other", "client_secret": "x",
                         "username": USERNAME, "password": PASSWORD + TOKEN})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_id"


def test_refresh_token_grant(salesforce_emulator):
    ok = raw(salesforce_emulator, "POST", "/login.salesforce.com/services/oauth2/token",
             data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                   "client_secret": CLIENT_SECRET, "refresh_token": "demo-refresh-token"})
    body = ok.json()
    assert ok.status_code == 200
    assert body["instance_url"] == salesforce_emulator.url
    assert body["token_type"] == "Bearer"
    sf = Salesforce(instance_url=body["instance_url"], session_id=body["access_token"],
                    session=trusted_session(salesforce_emulator))
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    bad = raw(salesforce_emulator, "POST", "/login.salesforce.com/services/oauth2/token",
              data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "refresh_token": "stale"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"


def test_jwt_bearer_login_with_the_configured_key(salesforce_emulator):
    sf = Salesforce(username=USERNAME, consumer_key=CLIENT_ID,
                    privatekey_file=str(salesforce_emulator.jwt_private_key_file),
                    domain=salesforce_emulator.login_domain(),
                    session=trusted_session(salesforce_emulator))
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_jwt_signed_with_another_key_is_refused(salesforce_emulator):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(username=USERNAME, consumer_key=CLIENT_ID, privatekey=pem.decode(),
                   domain=salesforce_emulator.login_domain(),
                   session=trusted_session(salesforce_emulator))
    assert caught.value.code == "invalid_grant"


def test_jwt_expired_assertion_is_refused(salesforce_emulator):
    key = salesforce_emulator.jwt_private_key_file.read_text()
    assertion = jwt.encode({"iss": CLIENT_ID, "sub": USERNAME, "aud": "x",
                            "exp": str(int(time.time()) - 10)}, key, algorithm="RS256")
    response = raw(salesforce_emulator, "POST", "/login.salesforce.com/services/oauth2/token",
                   data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                         "assertion": assertion})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_expired_session_gets_the_exact_401(salesforce_emulator):
    sf = soap_client(salesforce_emulator)
    salesforce_emulator.expire_sessions()
    response = raw(salesforce_emulator, "GET", "/services/data/v59.0/limits/",
                   headers={"Authorization": f"Bearer {sf.session_id}"})
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_session_ttl_expires_tokens(salesforce_emulator):
    salesforce_emulator.configure(session_ttl=0.2)
    try:
        sf = soap_client(salesforce_emulator)
        direct = Salesforce(instance_url=salesforce_emulator.url, session_id=sf.session_id,
                            session=trusted_session(salesforce_emulator))
        time.sleep(0.3)
        with pytest.raises(SalesforceExpiredSession):
            direct.query("SELECT COUNT() FROM Lead")
        # A login-based client logs in again by itself and the call succeeds.
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    finally:
        salesforce_emulator.configure(session_ttl=7200)


def test_injected_invalid_session_relogin_succeeds(salesforce_emulator):
    sf = soap_client(salesforce_emulator)
    logins = salesforce_emulator.stats()["logins"]
    salesforce_emulator.add_fault({"error": "INVALID_SESSION_ID", "times": 1})
    created = sf.Lead.create({"LastName": "Retry", "Company": "Acme"})
    assert created["success"] is True
    assert salesforce_emulator.stats()["logins"] == logins + 1
    assert salesforce_emulator.backend.count("Lead") == 1


def test_rest_call_without_token_is_401(salesforce_emulator):
    response = raw(salesforce_emulator, "GET", "/services/data/v59.0/sobjects/")
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert salesforce_emulator.stats()["api_calls"] == 0
