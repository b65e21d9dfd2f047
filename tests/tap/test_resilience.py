"""Rate limits, server errors, timeouts and refused keys, as the emulator injects them."""

from __future__ import annotations

import time

import pytest
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tests.tap.harness import config, run_tap


def contacts_requests(emulator, status=None):
    return emulator.backend.stats.count("contacts", status=status)


def test_a_429_and_503_storm_changes_nothing(aimdoc_emulator):
    """20 % of requests answered 429 and 5 % 503: the same output as a calm run."""
    settings = config(aimdoc_emulator, page_size=20)  # small pages: many requests to fail
    calm = run_tap(settings)
    aimdoc_emulator.backend.set_faults({"seed": 7, "rate_429": 0.2, "rate_503": 0.05,
                                        "retry_after": 0})
    stormy = run_tap(settings)
    assert (calm.error, stormy.error) == (None, None)
    faults = aimdoc_emulator.backend.stats.faults
    assert faults["429"] > 50
    assert faults["503"] > 10
    assert stormy.counts() == calm.counts()
    assert stormy.records == calm.records
    assert stormy.state == calm.state


def test_retry_after_is_honoured(aimdoc_emulator):
    aimdoc_emulator.backend.generate(seed=2, contacts=5)
    aimdoc_emulator.backend.set_faults({"script": [
        {"status": 429, "path": "/api/v1/contacts", "after": 1, "retry_after": 1}]})
    started = time.monotonic()
    result = run_tap(config(aimdoc_emulator, backoff_factor=0))
    elapsed = time.monotonic() - started
    assert result.error is None
    assert result.counts()["contacts"] == 5
    assert contacts_requests(aimdoc_emulator, 429) == 1
    assert elapsed >= 1.0


def test_retry_after_is_capped_by_max_retry_wait(aimdoc_emulator):
    aimdoc_emulator.backend.generate(seed=2, contacts=5)
    aimdoc_emulator.backend.set_faults({"script": [
        {"status": 429, "path": "/api/v1/contacts", "retry_after": 3600}]})
    started = time.monotonic()
    result = run_tap(config(aimdoc_emulator, max_retry_wait=0.2))
    assert result.error is None
    assert time.monotonic() - started < 10


def test_server_errors_are_retried_then_give_up_after_max_tries(aimdoc_emulator):
    aimdoc_emulator.backend.set_faults({"script": [
        {"status": 503, "path": "/api/v1/contacts", "times": 1000}]})
    result = run_tap(config(aimdoc_emulator, max_tries=3))
    assert isinstance(result.error, RetriableAPIError)
    assert "503" in str(result.error)
    assert contacts_requests(aimdoc_emulator) == 3
    assert aimdoc_emulator.backend.stats.total == 3


def test_a_few_500s_are_absorbed(aimdoc_emulator):
    aimdoc_emulator.backend.generate(seed=2, contacts=15)
    aimdoc_emulator.backend.set_faults({"script": [
        {"status": 500, "path": "/api/v1/conversations", "after": 2, "times": 2}]})
    result = run_tap(config(aimdoc_emulator, page_size=5))
    assert result.error is None
    assert result.counts()["conversations"] == aimdoc_emulator.backend.counts()["conversations"]
    assert aimdoc_emulator.backend.stats.faults["500"] == 2


def test_a_slow_response_times_out_and_is_retried(aimdoc_emulator):
    aimdoc_emulator.backend.generate(seed=2, contacts=5)
    aimdoc_emulator.backend.set_faults({"script": [
        {"path": "/api/v1/contacts", "after": 1, "latency_ms": 1500}]})
    result = run_tap(config(aimdoc_emulator, request_timeout=0.5))
    assert result.error is None
    assert result.counts()["contacts"] == 5
    assert contacts_requests(aimdoc_emulator) == 3  # time probe, slow page, its retry


@pytest.mark.parametrize(("key", "status", "advice"), [
    ("ak_not_a_real_key", 401, "Check the api_key setting"),
    ("ak_emulator_no_api_access", 403, "Convert plan"),
])
def test_refused_keys_fail_at_the_first_request(aimdoc_emulator, key, status, advice):
    result = run_tap(config(aimdoc_emulator, api_key=key))
    assert isinstance(result.error, FatalAPIError)
    assert str(status) in str(result.error)
    assert advice in str(result.error)
    assert key not in str(result.error)
    assert aimdoc_emulator.backend.stats.total == 1
    assert result.counts() == {}


def test_a_rejected_parameter_fails_with_the_apis_message(aimdoc_emulator):
    aimdoc_emulator.backend.configure(max_per_page=50)
    result = run_tap(config(aimdoc_emulator, page_size=100))
    assert isinstance(result.error, FatalAPIError)
    assert "422" in str(result.error)
    assert "per_page must be an integer between 1 and 50" in str(result.error)
    assert contacts_requests(aimdoc_emulator) == 2
