"""The Aimdoc emulator's shortcuts answer exactly as the general code does."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.test import Client

from aimdoc_emulators.aimdoc.app import AimdocApp
from aimdoc_emulators.aimdoc.models import AimdocBackend
from aimdoc_emulators.aimdoc.timeutil import epoch_ms, iso, iso_ms

KEY = {"Authorization": "Bearer ak_emulator_test_key"}
QUERIES = ["", "?page=2&per_page=7", "?start_date=2026-02-20", "?page=1&page=3&per_page=2",
           "?start_date=2026-02-01&end_date=2026-02-10&per_page=5", "?per_page=101",
           "?search=visitor&last_seen_after=2026-02-20", "?page=%31&x=%ZZ"]


def answer(client: Client, url: str, headers: dict) -> tuple:
    response = client.get(url, headers=headers)
    return response.status, list(response.headers.items()), response.get_data()


@pytest.mark.parametrize("sorted_", [True, False])
def test_fixed_api_paths_answer_as_the_routed_ones(sorted_):
    """``/api/v1/<list>`` skips werkzeug's routing; ``/api/v1/<list>/`` still goes through it."""
    backend = AimdocBackend(3, 40, settings={"sorted": sorted_})
    client = Client(AimdocApp(backend))
    for name in ("contacts", "leads", "conversations", "messages", "visitor-profiles"):
        for query in QUERIES:
            for headers in (KEY, {}):
                fast = answer(client, f"/api/v1/{name}{query}", headers)
                routed = answer(client, f"/api/v1/{name}/{query}", headers)
                assert fast == routed
    log = list(backend.stats.log)
    assert [entry["query"] for entry in log[::2]] == [entry["query"] for entry in log[1::2]]


def test_iso_ms_renders_as_iso():
    rng = random.Random(5)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for _ in range(2000):
        moment = start - timedelta(milliseconds=rng.randint(0, 400 * 86_400_000))
        assert iso_ms(epoch_ms(moment)) == iso(moment)
