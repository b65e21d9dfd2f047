"""The Aimdoc emulator's webhooks: documented payloads, retries with backoff, 410, timeouts.

A small receiver of ours (werkzeug on the emulators' cheroot server) records each POST and
answers with the statuses a test scripts for it.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time

import pytest
from werkzeug.wrappers import Request, Response

from aimdoc_emulators.aimdoc.generator import generate_dataset
from aimdoc_emulators.aimdoc.models import AimdocBackend
from aimdoc_emulators.aimdoc.timetravel import Plan, advance_dataset
from aimdoc_emulators.aimdoc.webhooks import EVENTS, WebhookHub
from aimdoc_emulators.server import ThreadedServer

SECRET_PATH = "/hooks/s3cr3t-path-0123456789"


class Receiver:
    """Records POSTs; answers the scripted statuses in turn (then 200), after ``delay`` s."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server = ThreadedServer(self, tls=False).start()
        self.url = f"{self.server.url}{SECRET_PATH}"

    def __call__(self, environ, start_response):
        request = Request(environ)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.received.append({"at": time.monotonic(), "path": request.path,
                                  "event": request.headers.get("X-Aimdoc-Event"),
                                  "body": json.loads(request.get_data())})
            status = self.statuses.pop(0) if self.statuses else 200
        return Response("{}", status=status, mimetype="application/json")(environ,
                                                                         start_response)

    def bodies(self, event: str) -> list[dict]:
        return [r["body"] for r in self.received if r["event"] == event]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.stop()


@pytest.fixture
def hub():
    hub = WebhookHub(backoff=0.05, timeout=2.0)
    yield hub
    hub.close()


def advance(data, hub, **plan):
    counts = {"new_contacts": 0, "enriched_contacts": 0, "conversations_with_new_messages": 0,
              "reactivated_conversations": 0, **plan}
    return advance_dataset(data, Plan(seconds=600, **counts), random.Random(4), webhooks=hub)


def test_an_advance_posts_the_documented_events(receiver, hub):
    data = generate_dataset(seed=3, contacts=120)
    hub.subscribe(receiver.url)
    changes = advance(data, hub, new_contacts=3, enriched_contacts=2,
                      conversations_with_new_messages=2, reactivated_conversations=2)
    assert hub.flush(timeout=10)
    assert {r["path"] for r in receiver.received} == {SECRET_PATH}
    assert all(r["event"] == r["body"]["event"] and r["event"] in EVENTS
               for r in receiver.received)
    contacts = {c["id"]: c for c in data.contacts}
    new_contact = receiver.bodies("new-contact")
    assert sorted(b["lead"]["id"] for b in new_contact) == sorted(changes.new_contacts)
    for body in new_contact:
        contact = contacts[body["lead"]["id"]]
        assert set(body["lead"]) == {"id", "email", "first_name", "last_name", "company",
                                     "attributes"}
        assert body["lead"]["email"] == contact["email"]
        assert body["agent_id"] == contact["agent_id"]
        assert body["agent_name"] == contact["agent_name"]
        assert body["messages"]
        assert set(body["messages"][0]) == {"role", "content", "created_at"}
        assert body["conversation"]["id"] == contact["latest_conversation_id"]
    assert sorted(b["conversation"]["id"] for b in receiver.bodies("new-session")) == \
        sorted(changes.new_conversations)
    identified = receiver.bodies("visitor-identified")
    assert sorted(b["visitor"]["lead_id"] for b in identified) == sorted(changes.enriched_contacts)
    assert all(set(b["visitor"]["summary"]) >= {"status", "display_name", "subtitle"}
               for b in identified)
    active = receiver.bodies("session-active")
    assert sorted(b["conversation"]["id"] for b in active) == sorted(
        changes.conversations_with_new_messages + changes.reactivated_conversations)
    for body in active:  # only the messages since the previous clock
        assert body["conversation"]["messages"]
        assert all(m["created_at"] > changes.previous_clock
                   for m in body["conversation"]["messages"])
    intent = receiver.bodies("buyer-intent-detected")
    assert sorted(b["conversation"]["id"] for b in intent) == sorted(
        changes.reactivated_conversations)
    assert all(b["buyer_intent_reason"] for b in intent)
    escalated = receiver.bodies("session-escalated")
    assert sorted(b["conversation"]["id"] for b in escalated) == sorted(
        changes.escalated_conversations)
    assert all(b["escalation_reason"] for b in escalated)


def test_payloads_are_snapshots(receiver, hub):
    data = generate_dataset(seed=3, contacts=60)
    hub.subscribe(receiver.url)
    receiver.delay = 0.2  # the data changes again before the first POST is read
    changes = advance(data, hub, new_contacts=1)
    [contact] = [c for c in data.contacts if c["id"] == changes.new_contacts[0]]
    email = contact["email"]
    contact["email"] = "changed@example.com"
    assert hub.flush(timeout=10)
    assert receiver.bodies("new-contact")[0]["lead"]["email"] == email


def test_a_subscription_gets_only_its_events(receiver, hub):
    data = generate_dataset(seed=3, contacts=60)
    hub.subscribe(receiver.url, events=["new-contact"])
    advance(data, hub, new_contacts=2, conversations_with_new_messages=2)
    assert hub.flush(timeout=10)
    assert [r["event"] for r in receiver.received] == ["new-contact", "new-contact"]
    with pytest.raises(ValueError, match="unknown events"):
        hub.subscribe(receiver.url, events=["new_contact"])


def test_no_subscription_no_posts(receiver, hub):
    data = generate_dataset(seed=3, contacts=60)
    assert hub.notify(data, advance(data, None, new_contacts=2).to_json()) == 0
    assert hub.flush(timeout=1)
    assert receiver.received == []
    assert list(hub.log) == []


def test_failures_are_retried_three_times_with_exponential_backoff(receiver, hub):
    data = generate_dataset(seed=3, contacts=60)
    hub.subscribe(receiver.url, events=["new-contact"])
    receiver.statuses = [500, 503, 502, 500, 200]  # the first try and 3 retries fail
    advance(data, hub, new_contacts=1)
    assert hub.flush(timeout=10)
    times = [r["at"] for r in receiver.received]
    assert len(times) == 4  # never a fifth try
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2
    assert [d["outcome"] for d in hub.log] == ["retry", "retry", "retry", "failed"]


def test_a_retry_that_succeeds_stops(receiver, hub):
    data = generate_dataset(seed=3, contacts=60)
    hub.subscribe(receiver.url, events=["new-contact"])
    receiver.statuses = [500]
    advance(data, hub, new_contacts=1)
    assert hub.flush(timeout=10)
    assert len(receiver.received) == 2
    assert [d["outcome"] for d in hub.log] == ["retry", "delivered"]


def test_410_removes_the_subscription(receiver, hub):
    data = generate_dataset(seed=3, contacts=60)
    hub.subscribe(receiver.url, events=["new-contact"])
    receiver.statuses = [410]
    advance(data, hub, new_contacts=3)
    assert hub.flush(timeout=10)
    assert hub.subscriptions() == []
    sent = len(receiver.received)
    assert sent <= 3  # the queued ones may be in flight, none after the 410 is read
    advance(data, hub, new_contacts=2)
    assert hub.flush(timeout=10)
    assert len(receiver.received) == sent
    assert "gone" in [d["outcome"] for d in hub.log]


def test_the_advance_does_not_wait_and_every_post_has_a_timeout(receiver):
    hub = WebhookHub(backoff=0.01, timeout=0.3, retries=1)
    try:
        data = generate_dataset(seed=3, contacts=60)
        hub.subscribe(receiver.url, events=["new-contact"])
        receiver.delay = 1.0
        started = time.monotonic()
        advance(data, hub, new_contacts=4)
        assert time.monotonic() - started < 0.5
        assert hub.flush(timeout=10)
        assert [d["status"] for d in hub.log] == [None] * 8  # each try timed out
        assert {d["outcome"] for d in hub.log} == {"retry", "failed"}
    finally:
        hub.close()


def test_subscription_urls_are_masked_and_reset_keeps_only_the_baseline(receiver, hub):
    hub.subscribe(receiver.url, baseline=True)
    hub.subscribe(receiver.url.replace("s3cr3t", "other"))
    listed = hub.admin("GET", {})["subscriptions"]
    assert len(listed) == 2
    assert all("s3cr3t" not in json.dumps(s) for s in listed)
    hub.reset()
    assert [s["baseline"] for s in hub.subscriptions()] == [True]
    with pytest.raises(ValueError, match="http"):
        hub.subscribe("ftp://example.com/x")
    removed = hub.admin("DELETE", {})["removed"]
    assert len(removed) == 1
    assert hub.subscriptions() == []


@pytest.mark.skipif(not hasattr(AimdocBackend(contacts=5), "webhooks"),
                    reason="AimdocBackend has no WebhookHub yet (the models.py hook, issue 21)")
def test_the_admin_surface_subscribes_and_advance_posts(receiver, aimdoc_emulator):
    import requests

    admin = aimdoc_emulator.admin_url
    made = requests.post(f"{admin}/webhooks", json={"url": receiver.url,
                                                    "events": ["new-contact"]}, timeout=10)
    assert made.status_code == 200
    changes = requests.post(f"{admin}/advance", json={"minutes": 5, "new_contacts": 2},
                            timeout=10).json()
    assert aimdoc_emulator.backend.webhooks.flush(timeout=10)
    assert sorted(b["lead"]["id"] for b in receiver.bodies("new-contact")) == \
        sorted(changes["new_contacts"])
    listed = requests.get(f"{admin}/webhooks", timeout=10).json()
    assert [d["outcome"] for d in listed["deliveries"]] == ["delivered", "delivered"]
    requests.post(f"{admin}/reset", timeout=10)
    assert requests.get(f"{admin}/webhooks", timeout=10).json()["subscriptions"] == []
