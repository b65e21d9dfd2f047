"""Pytest fixtures for the Aimdoc emulator, in pytest-httpserver's pattern.

``make_aimdoc_emulator`` serves once per session on a free port (seed 1, 200 contacts, plain
HTTP); ``aimdoc_emulator`` hands it to a test after ``backend.reset()``: baseline data, default
settings, no faults, zero counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

SESSION_SEED = 1
SESSION_CONTACTS = 200


@pytest.fixture(scope="session")
def make_aimdoc_emulator() -> Iterator[AimdocEmulator]:
    """One Aimdoc emulator for the whole session."""
    emulator = AimdocEmulator(SESSION_SEED, SESSION_CONTACTS).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def aimdoc_emulator(make_aimdoc_emulator: AimdocEmulator) -> AimdocEmulator:
    """The session's emulator, reset for this test."""
    make_aimdoc_emulator.backend.reset()
    return make_aimdoc_emulator
