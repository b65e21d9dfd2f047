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


def test_every_executable_the_definitions_name_is_a_console_script():
    import tomllib

    import yaml

    root = Path(__file__).resolve().parents[1]
    scripts = set(tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"])
    for path in (root / "plugins").glob("*.yml"):
        definition = yaml.safe_load(path.read_text())
        named = {definition["executable"]} | {
            command["executable"] for command in definition.get("commands", {}).values()
            if "executable" in command}
        assert named <= scripts, path.name
        assert definition["pip_url"] == "$AIMDOC_SALESFORCE_SYNC_PIP_URL"
