"""The configuration reference in docs/ matches the config schemas; meltano.yml matches too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tap_aimdoc.tap import TapAimdoc
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_reference.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_meltano_settings_exist_in_the_plugins_and_secrets_are_sensitive():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugins = {p["name"]: p for kind in project["plugins"].values() for p in kind}
    schemas = {"tap-aimdoc": TapAimdoc.config_jsonschema,
               "target-salesforce-aimdoc": TargetSalesforceAimdoc.config_jsonschema}
    for name, schema in schemas.items():
        settings = {s["name"]: s for s in plugins[name]["settings"]}
        unknown = set(settings) - set(schema["properties"])
        assert not unknown, f"{name}: {unknown}"
        for key, prop in schema["properties"].items():
            if prop.get("secret") or prop.get("writeOnly"):
                assert settings.get(key, {}).get("sensitive") is True, f"{name}.{key}"
        assert all(s.get("kind") and s.get("description") for s in settings.values())
