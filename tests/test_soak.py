"""The soak at a small size: faults on both emulators, a session expiry, a SIGKILL, re-runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "soak", Path(__file__).resolve().parents[1] / "bench" / "soak.py")
soak = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(soak)
pytestmark = pytest.mark.slow


def test_soak_loses_and_duplicates_nothing(tmp_path):
    result = soak.soak(300, tmp_path, seed=3)
    assert result["killed_exit"] == -9  # the target really was killed mid-run
    assert 0 < result["partial_after_kill"]["Contact"] < result["expected"]["people"]
    assert result["rerun_exit"] == 0 and result["again_exit"] == 0
    assert result["concurrent_exit"] == 0
    assert result["faults_injected"]["salesforce"] > 0
    for sobject, found in result["comparison"].items():
        assert found == {"missing": 0, "duplicated": 0, "unexpected": 0}, sobject
    assert result["secrets_found"] == []
