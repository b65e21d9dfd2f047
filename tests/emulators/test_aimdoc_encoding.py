"""Listing bodies built a record at a time are exactly ``to_json`` of the page.

The expected bodies here are made the way the emulator made them before: ``to_json`` of the
envelope, UTF-8 encoded. Every edit (in place, advance, generate, reset, configure) shows in
the next listing.
"""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from aimdoc_emulators.aimdoc.app import AimdocApp
from aimdoc_emulators.aimdoc.models import AimdocBackend
from aimdoc_emulators.aimdoc.responses import encode_message, to_json

KEY = {"Authorization": "Bearer ak_emulator_test_key"}
PATHS = {"contacts": "contacts", "conversations": "conversations", "messages": "messages",
         "visitor_profiles": "visitor-profiles"}


def expected(backend: AimdocBackend, kind: str, page: int, per_page: int) -> bytes:
    """The body as ``to_json`` of the envelope gives it."""
    with backend.lock:
        records = backend.records(kind)
        rows = records[(page - 1) * per_page:page * per_page]
        envelope = backend.settings.envelope
        if envelope == "array":
            body: object = rows
        elif envelope == "data_only":
            body = {"data": rows}
        else:
            body = {"data": rows, "page": page, "per_page": per_page, "total": len(records),
                    "has_more": page * per_page < len(records)}
        return to_json(body).encode()


def listed(client: Client, kind: str, page: int, per_page: int) -> bytes:
    response = client.get(f"/api/v1/{PATHS[kind]}?page={page}&per_page={per_page}",
                          headers=KEY)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(response.get_data()))
    return response.get_data()


def assert_all_pages(backend: AimdocBackend, client: Client, per_page: int = 40) -> None:
    for kind in PATHS:
        pages = len(backend.records(kind)) // per_page + 2  # and an empty one past the end
        for page in range(1, pages + 1):
            assert listed(client, kind, page, per_page) == expected(backend, kind, page,
                                                                     per_page)


@pytest.mark.parametrize("envelope", ["object", "data_only", "array"])
@pytest.mark.parametrize("sorted_", [True, False])
def test_pages_are_to_json_of_the_envelope(envelope, sorted_):
    backend = AimdocBackend(4, 30, settings={"envelope": envelope, "sorted": sorted_})
    client = Client(AimdocApp(backend))
    assert_all_pages(backend, client)


def test_changes_show_in_the_next_listing():
    backend = AimdocBackend(6, 30)
    app = AimdocApp(backend)
    client = Client(app)
    assert_all_pages(backend, client)
    # In place, then configure() (as the tests that edit records do).
    with backend.lock:
        message = backend.records("messages")[3]
        message["content"] = 'edited "in place" \\ \n ünïcode 👋'
        message["sender_name"] = None
        contact = backend.records("contacts")[0]
        contact["email"] = "changed@example.com"
        del backend.records("conversations")[1]["message_count"]
    backend.configure()
    assert "edited" in listed(client, "messages", 1, 40).decode()
    assert_all_pages(backend, client)
    # Over the admin surface: advance the clock (records change and new ones arrive).
    before = listed(client, "contacts", 1, 100)
    response = client.post("/__emulator/advance", json={"days": 1, "recent_days": None})
    assert response.status_code == 200
    assert response.get_json()["enriched_contacts"]
    assert listed(client, "contacts", 1, 100) != before
    assert_all_pages(backend, client)
    client.post("/__emulator/generate", json={"seed": 9, "contacts": 20})
    assert_all_pages(backend, client)
    client.put("/__emulator/config", json={"envelope": "data_only"})
    assert_all_pages(backend, client)
    client.post("/__emulator/reset")
    assert_all_pages(backend, client)


STORED = {"id": "m1", "conversation_id": "c1", "role": "user", "sender_name": "Ann",
          "content": "Hi", "created_at": "2026-01-01T00:00:00.000Z"}


class Text(str):
    __slots__ = ()


@pytest.mark.parametrize("message", [
    STORED,
    {**STORED, "sender_name": None},
    {**STORED, "content": 'quote " backslash \\ tab \t nul \x00 del \x7f é 👋 \u2028'},
    {**STORED, "id": 'a"b', "created_at": "x\ny"},
    {**STORED, "content": Text("a str subclass")},
    {**STORED, "content": 1.5}, {**STORED, "content": None}, {**STORED, "role": True},
    {**STORED, "sender_name": 7}, {**STORED, "content": ["a", {"b": None}]},
    {**STORED, "extra": 1},
    {key: STORED[key] for key in reversed(STORED)},
    {key: value for key, value in STORED.items() if key != "content"},
])
def test_encode_message_is_to_json(message):
    assert encode_message(message) == to_json(message)
    assert json.loads(encode_message(message)) == message
