"""The installed console scripts answer --about with their names and the package version."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("script", ["tap-aimdoc", "target-salesforce-aimdoc"])
def test_about_json(script):
    executable = shutil.which(script, path=str(BIN))
    result = subprocess.run([executable, "--about", "--format", "json"], capture_output=True,
                            text=True, timeout=120, check=True)
    about = json.loads(result.stdout)
    assert about["name"] == script
    assert about["version"] == version("aimdoc-salesforce-sync")
