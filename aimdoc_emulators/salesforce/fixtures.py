"""Pytest fixtures: one emulator per test session, reset before each test that uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aimdoc_emulators.salesforce.emulator import SalesforceEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def make_salesforce_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        SalesforceEmulator]:
    """The session's Salesforce emulator (HTTPS on a free port)."""
    emulator = SalesforceEmulator(work_dir=tmp_path_factory.mktemp("salesforce-emulator"))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def salesforce_emulator(make_salesforce_emulator: SalesforceEmulator) -> SalesforceEmulator:
    """The emulator with an empty default org (a new org of today), zero counters, no faults."""
    make_salesforce_emulator.reset(org="default")
    return make_salesforce_emulator


@pytest.fixture
def bare_salesforce_emulator(make_salesforce_emulator: SalesforceEmulator) -> SalesforceEmulator:
    """The emulator with an empty bare org: no duplicate rules, no assignment rules."""
    make_salesforce_emulator.reset(org="bare")
    return make_salesforce_emulator
