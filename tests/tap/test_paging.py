"""How the tap pages through listings: direction, envelopes, page sizes, TLS."""

from __future__ import annotations

import math

import pytest

from tests.tap.harness import config, run_tap, select_only


def pages_asked(emulator, path):
    return [int(entry["query"]["page"]) for entry in emulator.backend.stats.log
            if entry["path"] == path and entry["query"]["per_page"] != "1"
            and "conversation_id" not in entry["query"]]


def contacts_only(emulator, **overrides):
    settings = config(emulator, **overrides)
    return run_tap(settings, catalog=select_only(settings, {"contacts"}))


def test_a_sorted_listing_is_read_from_its_last_page_back(aimdoc_emulator):
    result = contacts_only(aimdoc_emulator, page_size=30)
    assert result.counts() == {"contacts": 200}
    assert pages_asked(aimdoc_emulator, "/api/v1/contacts") == [1, 7, 6, 5, 4, 3, 2, 1]


def test_an_unsorted_listing_is_read_front_to_back(aimdoc_emulator):
    aimdoc_emulator.backend.configure(sorted=False)
    result = contacts_only(aimdoc_emulator, page_size=30)
    assert result.counts() == {"contacts": 200}
    assert pages_asked(aimdoc_emulator, "/api/v1/contacts") == [1, 2, 3, 4, 5, 6, 7]


def test_messages_are_read_front_to_back(aimdoc_emulator):
    aimdoc_emulator.backend.generate(seed=3, contacts=20)
    messages = aimdoc_emulator.backend.counts()["messages"]
    run_tap(config(aimdoc_emulator))
    assert pages_asked(aimdoc_emulator, "/api/v1/messages")[:math.ceil(messages / 100)] == list(
        range(1, math.ceil(messages / 100) + 1))


@pytest.mark.parametrize("envelope", ["array", "data_only"])
def test_other_envelopes_give_the_same_records(aimdoc_emulator, envelope):
    aimdoc_emulator.backend.generate(seed=4, contacts=40)
    settings = config(aimdoc_emulator, page_size=25)
    wrapped = run_tap(settings)
    aimdoc_emulator.backend.configure(envelope=envelope)
    bare = run_tap(settings)
    assert bare.error is None
    for stream, rows in wrapped.records.items():
        key = "visitor_id" if stream == "visitor_profiles" else (
            "conversation_id" if stream == "transcripts" else "id")
        assert sorted(r[key] for r in bare.records[stream]) == sorted(r[key] for r in rows)
    assert bare.state == wrapped.state


def test_without_a_total_a_short_page_ends_the_listing(aimdoc_emulator):
    aimdoc_emulator.backend.configure(envelope="array")
    result = contacts_only(aimdoc_emulator, page_size=50)
    assert result.counts() == {"contacts": 200}
    assert pages_asked(aimdoc_emulator, "/api/v1/contacts") == [1, 2, 3, 4, 5]


def test_tls_with_the_emulators_ca(tmp_path):
    from aimdoc_emulators.aimdoc.emulator import AimdocEmulator

    with AimdocEmulator(6, 8, tls=True, tls_dir=tmp_path) as emulator:
        result = run_tap(config(emulator, ca_file=str(emulator.ca_file)))
        assert result.error is None
        assert result.counts()["contacts"] == 8
        untrusted = run_tap(config(emulator, max_tries=1))
        assert untrusted.error is not None
        assert "certificate" in str(untrusted.error).lower()
