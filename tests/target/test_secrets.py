"""Secrets never reach an output; auth errors are one line naming the setting (issue 17).

The target runs as Meltano runs it (a subprocess: config file, Singer input, stdout and
stderr captured) against the Salesforce emulator, behind an echoing proxy
(``tests/echo_server.py``) that answers chosen calls 500 with a body echoing the request, as
some gateways do. Every output (stdout, stderr, report files, dead letters, state) is searched
for every secret of the config, in every form it travels in, and for every session token the
proxy saw.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import markupsafe
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from aimdoc_emulators.salesforce.auth import Credentials
from aimdoc_emulators.salesforce.emulator import SalesforceEmulator
from target_salesforce_aimdoc import links_webhook, redaction
from tests.echo_server import EchoProxy
from tests.target.singer import contact, messages

if TYPE_CHECKING:
    from collections.abc import Iterator

# Secrets with characters that change when URL-encoded, escaped or base64-encoded.
CREDENTIALS = Credentials(
    username="secrets@example.com", password="pä ss/+&=w0rd!", security_token="T0k+en/=x9Z",
    client_id="secrets-client-id", client_secret="cs-S3cr3t/+=%x!",
    refresh_token="rt.5Aep861+/=xyz",
)
FLOWS = ["password", "client_credentials", "refresh_token", "jwt", "soap", "session"]
ERROR = " | ERROR    | "


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SalesforceEmulator]:
    """An emulated org whose credentials are the awkward ones above."""
    emulator = SalesforceEmulator(credentials=Credentials(**vars(CREDENTIALS)),
                                  work_dir=tmp_path_factory.mktemp("secrets-org"))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def proxy(org: SalesforceEmulator, tmp_path: Path) -> Iterator[EchoProxy]:
    """The echoing proxy in front of the org (nothing echoed until a rule says so)."""
    org.reset()
    server = EchoProxy(org.url, str(org.ca_file), tmp_path / "proxy-tls").start()
    yield server
    server.stop()


def session_token(org: SalesforceEmulator) -> str:
    """A fresh session of the org (for the session flow)."""
    answer = requests.post(f"{org.url}/services/oauth2/token", timeout=30, verify=str(org.ca_file),
                           data={"grant_type": "client_credentials"},
                           auth=(CREDENTIALS.client_id, CREDENTIALS.client_secret))
    return answer.json()["access_token"]


def flow_config(flow: str, org: SalesforceEmulator, proxy: EchoProxy,
                tmp_path: Path) -> dict[str, Any]:
    """Config for one auth flow, every call going through the proxy."""
    out = tmp_path / "out"
    config: dict[str, Any] = {
        "auth_flow": flow, "login_url": proxy.url,
        "ca_file": str(proxy.ca_bundle(tmp_path / "ca-bundle.pem")),
        "report_dir": str(out), "dead_letter_path": str(out / "dead_letters.jsonl"),
        "max_error_rate": 1.0, "max_tries": 2, "max_retry_wait_seconds": 0.2,
        "links_webhook_token": "hook-T0ken-secret",
    }
    creds = CREDENTIALS
    config.update({
        "password": {"client_id": creds.client_id, "client_secret": creds.client_secret,
                     "username": creds.username, "password": creds.password,
                     "security_token": creds.security_token},
        "client_credentials": {"client_id": creds.client_id,
                               "client_secret": creds.client_secret},
        "refresh_token": {"client_id": creds.client_id, "client_secret": creds.client_secret,
                          "refresh_token": creds.refresh_token},
        "jwt": {"client_id": creds.client_id, "username": creds.username,
                "private_key": Path(str(org.jwt_private_key_file)).read_text("utf-8")},
        "soap": {"username": creds.username, "password": creds.password,
                 "security_token": creds.security_token},
        "session": {"session_id": session_token(org), "instance_url": proxy.url},
    }[flow])
    return config


def other_rsa_key() -> str:
    """An RSA private key whose certificate the app does not have."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


@dataclass
class Run:
    """A finished target process and everything it wrote."""

    returncode: int
    stdout: str
    stderr: str
    files: dict[str, str]

    def outputs(self) -> dict[str, str]:
        """Every stream and file, by name."""
        return {"stdout": self.stdout, "stderr": self.stderr, **self.files}

    def errors(self) -> list[str]:
        """The ERROR lines on stderr."""
        return [line for line in self.stderr.splitlines() if ERROR in line]


def run_target(config: dict[str, Any], tmp_path: Path, text: str | None = None,
               **env: str) -> Run:
    """Run ``python -m target_salesforce_aimdoc`` as Meltano would; collect its outputs."""
    config_path, input_path = tmp_path / "config.json", tmp_path / "input.singer"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    input_path.write_text(text or messages([contact("c1", "jane@acme.com", company="Acme"),
                                            contact("c2", "bob@beta.io", company="Beta")]),
                          encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "target_salesforce_aimdoc", "--config", str(config_path),
         "--input", str(input_path)], capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "TARGET_SALESFORCE_AIMDOC_LOCK_DIR": str(tmp_path / "locks"), **env})
    out = Path(config["report_dir"])
    files = {str(path.relative_to(out)): path.read_text("utf-8", errors="replace")
             for path in sorted(out.rglob("*")) if path.is_file()} if out.exists() else {}
    return Run(done.returncode, done.stdout, done.stderr, files)


def secret_forms(config: dict[str, Any], tokens: set[str]) -> dict[str, str]:
    """Each secret of the config and each token, in the forms it travels in, by label."""
    names = ["client_secret", "password", "security_token", "refresh_token", "session_id",
             "links_webhook_token"]
    values = {name: str(config[name]) for name in names if config.get(name)}
    if config.get("password") and config.get("security_token"):
        values["password+security_token"] = config["password"] + config["security_token"]
    for number, token in enumerate(sorted(tokens)):
        values[f"token {number}"] = token
    if config.get("private_key"):
        lines = [line for line in config["private_key"].splitlines()
                 if line and not line.startswith("-----")]
        values.update({f"private key line {i}": line for i, line in enumerate(lines)})
    forms: dict[str, str] = {}
    for label, value in values.items():
        forms |= {label: value, f"{label} (URL-encoded)": quote_plus(value),
                  f"{label} (%-encoded)": quote(value, safe="")}
    if config.get("client_id") and config.get("client_secret"):
        pair = f"{config['client_id']}:{config['client_secret']}".encode("latin-1")
        forms["Basic auth header"] = base64.b64encode(pair).decode("ascii")
    return forms


def assert_no_secret(run: Run, config: dict[str, Any], proxy: EchoProxy) -> None:
    """No secret, in any form, in any output."""
    forms = secret_forms(config, proxy.tokens)
    leaks = [f"{label} in {where}" for where, text in run.outputs().items()
             for label, value in forms.items() if value in text]
    assert not leaks, leaks


def one_line_error(run: Run, *words: str) -> str:
    """The run failed with one ERROR line, no traceback, naming ``words``."""
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    (line,) = run.errors()
    for word in words:
        assert word in line, line
    return line


# ---------------------------------------------------------------------- the cases
def test_login_answering_500_with_an_echo_leaks_no_secret(org, proxy, tmp_path):
    config = flow_config("password", org, proxy, tmp_path)
    proxy.echo("/services/oauth2/token")
    run = run_target(config, tmp_path)
    echoed = "".join(proxy.echoes)
    assert quote_plus(CREDENTIALS.client_secret) in echoed  # the echo carries the secrets
    assert quote_plus(CREDENTIALS.password + CREDENTIALS.security_token) in echoed
    assert_no_secret(run, config, proxy)
    one_line_error(run, "HTTP 500", "login_url")


def test_basic_auth_header_echoed_by_the_login_leaks_nowhere(org, proxy, tmp_path):
    config = flow_config("client_credentials", org, proxy, tmp_path)
    proxy.echo("/services/oauth2/token")
    run = run_target(config, tmp_path)
    assert "Basic " in "".join(proxy.echoes)
    assert_no_secret(run, config, proxy)
    one_line_error(run, "HTTP 500")


def test_rest_call_answering_500_with_an_echo_never_prints_the_session(org, proxy, tmp_path):
    config = flow_config("client_credentials", org, proxy, tmp_path)
    proxy.echo("/services/data/")  # describe, queries: every REST call
    run = run_target(config, tmp_path)
    assert proxy.tokens and any(token in "".join(proxy.echoes) for token in proxy.tokens)
    assert run.returncode != 0
    assert "The run stopped: Salesforce answered" in run.stderr  # one line naming the call
    assert_no_secret(run, config, proxy)


STRUCTURED_LOGGING = """\
version: 1
disable_existing_loggers: false
formatters:
  structured: {"()": singer_sdk.logging.StructuredFormatter}
handlers:
  console: {class: logging.StreamHandler, formatter: structured, stream: "ext://sys.stderr"}
root: {level: DEBUG, handlers: [console]}
"""


def test_structured_json_logs_are_scrubbed_too(org, proxy, tmp_path):
    config = flow_config("password", org, proxy, tmp_path)
    proxy.echo("/services/data/")
    log_config = tmp_path / "logging.yml"
    log_config.write_text(STRUCTURED_LOGGING, encoding="utf-8")
    run = run_target(config, tmp_path, SINGER_SDK_LOG_CONFIG=str(log_config))
    assert run.returncode != 0
    assert '"exception":{' in run.stderr and "[redacted]" in run.stderr
    assert_no_secret(run, config, proxy)


def test_non_pem_jwt_key_is_one_line_naming_the_setting(org, proxy, tmp_path):
    config = {**flow_config("jwt", org, proxy, tmp_path), "private_key": "not a key at all"}
    line = one_line_error(run_target(config, tmp_path), "private_key", "PEM")
    assert "public" not in line


def test_jwt_key_not_matching_the_certificate_names_the_key(org, proxy, tmp_path):
    config = {**flow_config("jwt", org, proxy, tmp_path), "private_key": other_rsa_key()}
    run = run_target(config, tmp_path)
    one_line_error(run, "private_key", "certificate")
    assert_no_secret(run, config, proxy)


def test_jwt_key_file_missing_names_the_setting(org, proxy, tmp_path):
    config = flow_config("jwt", org, proxy, tmp_path)
    del config["private_key"]
    config["private_key_file"] = str(tmp_path / "missing.pem")
    one_line_error(run_target(config, tmp_path), "private_key_file", "does not exist")


def test_a_certificate_given_as_the_key_is_named(org, proxy, tmp_path):
    certificate = org.credentials.jwt_public_key
    config = {**flow_config("jwt", org, proxy, tmp_path), "private_key": certificate}
    one_line_error(run_target(config, tmp_path), "private_key", "certificate")


def test_login_url_that_cannot_do_the_flow_names_login_url(org, proxy, tmp_path):
    config = {**flow_config("client_credentials", org, proxy, tmp_path),
              "login_url": f"{proxy.url}/login.salesforce.com"}
    one_line_error(run_target(config, tmp_path), "login_url", "client_credentials", "My Domain")


def test_tls_failure_names_ca_file(org, proxy, tmp_path):
    config = {**flow_config("client_credentials", org, proxy, tmp_path),
              "ca_file": str(org.ca_file)}  # trusts the org, not the proxy in front of it
    one_line_error(run_target(config, tmp_path), "ca_file", "TLS")


@pytest.mark.parametrize(("flow", "setting", "wrong"), [
    ("password", "password", "wrong-Passw0rd"),
    ("client_credentials", "client_secret", "wrong-S3cret"),
    ("refresh_token", "refresh_token", "wrong-refresh-T0ken"),
    ("soap", "security_token", "wrong-T0ken"),
    ("session", "session_id", "00D000000000001!wrong-session-T0ken"),
])
def test_wrong_credentials_name_the_setting(org, proxy, tmp_path, flow, setting, wrong):
    config = {**flow_config(flow, org, proxy, tmp_path), setting: wrong}
    run = run_target(config, tmp_path)
    one_line_error(run, setting)
    assert_no_secret(run, config, proxy)


# ---------------------------------------------------------------------- every flow, every way
SCENARIOS = ["login echo", "wrong credentials", "REST echo", "faults"]


def arrange(scenario: str, flow: str, config: dict[str, Any], org: SalesforceEmulator,
            proxy: EchoProxy) -> dict[str, Any]:
    """Set the scenario up; the config to run with."""
    if scenario == "login echo":  # an OAuth error whose description echoes the request
        proxy.echo("/services/oauth2/token", status=400, oauth=True)
        proxy.echo("/services/Soap/u/")
    elif scenario == "wrong credentials":
        setting = {"password": "password", "client_credentials": "client_secret",
                   "refresh_token": "refresh_token", "jwt": "private_key", "soap": "password",
                   "session": "session_id"}[flow]
        wrong = other_rsa_key() if flow == "jwt" else f"Wr0ng/+&={flow}"
        config = {**config, setting: wrong}
    elif scenario == "REST echo":
        proxy.echo("/services/data/")
    else:  # a session expiring mid-run, and a write refused with an echo (dead letters)
        if flow != "session":  # (a given session cannot be renewed: tested above)
            org.add_fault({"error": "INVALID_SESSION_ID", "times": 1, "after": 2})
        proxy.echo("/composite", body='"attributes"', status=400)
    return config


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("flow", FLOWS)
def test_every_output_of_every_flow_is_free_of_secrets(org, proxy, tmp_path, flow, scenario):
    if flow == "session" and scenario == "login echo":
        pytest.skip("a session flow does not log in")
    config = arrange(scenario, flow, flow_config(flow, org, proxy, tmp_path), org, proxy)
    run = run_target(config, tmp_path)
    assert_no_secret(run, config, proxy)
    if scenario == "faults":
        assert run.returncode == 0, run.stderr[-3000:]
        assert "run-report.json" in run.files and '"bookmarks"' in run.stdout
        assert proxy.echoes  # the refused writes echoed the request, token included
        assert "Bearer [redacted]" in run.files["dead_letters.jsonl"]  # and were scrubbed
        if flow != "session":
            assert org.stats()["logins"] >= 2  # logged in again after the expiry
    elif scenario != "REST echo":
        one_line_error(run)
    else:
        assert run.returncode != 0


# ---------------------------------------------------------------------- the module itself
def test_scrub_catches_every_form_of_a_secret():
    secret = "sécret/+&=\"'<x>"
    redaction.register(secret)
    texts = [secret, quote_plus(secret), quote(secret, safe=""), json.dumps(secret),
             json.dumps(secret, ensure_ascii=False), repr(secret), repr(secret.encode()),
             html.escape(secret), str(markupsafe.escape(secret))]
    for text in texts:
        assert "[redacted]" in redaction.scrub(f"before {text} after"), text
    data = {"a": [secret, {"b": f"x{secret}y"}], secret: 1}
    assert secret not in json.dumps(redaction.scrub_obj(data), ensure_ascii=False)


def test_log_records_and_tracebacks_are_scrubbed(caplog):
    secret = "log-S3cret-value"
    redaction.protect({"client_secret": secret})
    logger = logging.getLogger("tests.secrets")
    try:
        raise RuntimeError(f"answer: {{'token': '{secret}'}}")
    except RuntimeError:
        logger.exception("failed with %s", secret)
    (record,) = [r for r in caplog.records if r.name == "tests.secrets"]
    text = logging.Formatter().format(record)
    assert "RuntimeError" in text and secret not in text
    assert text.count("[redacted]") == 2


def test_links_webhook_payload_is_scrubbed(tmp_path):
    secret = "webhook-payload-S3cret"
    redaction.register(secret)
    hook = EchoProxy(work_dir=tmp_path / "tls")
    hook.echo("/links", status=200)
    hook.start()
    try:
        session = requests.Session()
        session.verify, session.trust_env = str(hook.server.ca_file), False
        payload = {"instance_url": "https://acme.my.salesforce.com",
                   "records": [{"stream": "contacts", "key": f"k-{secret}", "objects": {}}]}
        assert links_webhook.publish(f"{hook.url}/links", payload, session=session)
    finally:
        hook.stop()
    (echo,) = hook.echoes
    assert "k-[redacted]" in json.loads(echo)[0]["request"]["body"]
    assert secret not in echo


def test_short_values_are_not_registered():
    before = redaction.known()
    redaction.register("ab")
    redaction.register(None)
    assert redaction.known() == before
