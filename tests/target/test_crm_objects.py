"""The CRM objects table command and the links webhook."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from werkzeug.wrappers import Request, Response

from aimdoc_emulators.server import ThreadedServer
from tests.target.singer import contact, messages, run_target, target_config


def run_links_command(tmp_path, state, *args):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"singer_state": state}))
    return subprocess.run([sys.executable, "-m", "target_salesforce_aimdoc.crm_objects",
                           "--state", str(path), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_table_lists_the_right_links(salesforce_emulator, tmp_path):
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    target = run_target(config, messages([contact("c1", "jane@acme.com", company="Acme"),
                                          contact("c2", "bob@beta.io", company="Beta")]))
    lead = next(r for r in salesforce_emulator.backend.all_records("Lead")
                if r["Email"] == "jane@acme.com")
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    result = run_links_command(tmp_path, target.states[-1], "--contact", "c1", "--html",
                               str(tmp_path / "crm.html"), "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("contacts/")]
    assert {line.split()[1] for line in lines} == {"Lead", "Contact", "Account"}
    lead_line = next(line for line in lines if line.split()[1] == "Lead")
    assert lead["Id"] in lead_line
    assert "Pat Person c1" in lead_line
    assert f"{salesforce_emulator.url}/lightning/r/Lead/{lead['Id']}/view" in lead_line
    assert "bob@beta.io" not in result.stdout
    page = (tmp_path / "crm.html").read_text()
    assert page.count("open in Salesforce") == 3


def test_links_webhook_posts_changed_links_and_never_fails_the_sync(salesforce_emulator):
    received, lock = [], threading.Lock()

    def app(environ, start_response):
        request = Request(environ)
        with lock:
            received.append((request.headers.get("Authorization"), request.get_json()))
            status = 503 if len(received) == 1 else 200  # the first try fails
        return Response("{}", status=status)(environ, start_response)

    server = ThreadedServer(app, tls=False).start()
    try:
        config = target_config(salesforce_emulator, links_webhook_url=f"{server.url}/links",
                               links_webhook_token="hook-secret")
        run_target(config, messages([contact("c1", "jane@acme.com", company="Acme")]))
    finally:
        server.stop()
    assert len(received) == 2
    auth, payload = received[-1]
    assert auth == "Bearer hook-secret"
    (record,) = payload["records"]
    assert record["key"] == "c1"
    assert record["objects"]["Lead"]["url"].startswith(salesforce_emulator.url)
    down = target_config(salesforce_emulator, links_webhook_url="http://127.0.0.1:9/none")
    run_target(down, messages([contact("c2", "x@acme.com")]))  # unreachable: still succeeds
    assert salesforce_emulator.backend.count("Lead") == 2


def test_page_from_a_state_with_a_javascript_instance_url_has_no_script_link(tmp_path):
    state = {"salesforce_links": {"version": 1, "instance_url": "javascript:alert(document.cookie)//",
                                  "records": {"contacts/c1": {"Lead": "00Q5e00000AbCdEAAA"}}}}
    result = run_links_command(tmp_path, state, "--html", str(tmp_path / "crm.html"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "crm.html").read_text()
    assert "00Q5e00000AbCdEAAA" in page
    assert 'href="javascript:' not in page.lower() and "<a " not in page
