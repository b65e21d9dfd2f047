"""plugins/*.yml, meltano.yml and docs/configuration.md agree with the plugins' ``--about``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MODULES = {"tap-aimdoc": ("extractors", "tap_aimdoc"),
           "target-salesforce-aimdoc": ("loaders", "target_salesforce_aimdoc")}
# JSON type -> the Meltano kinds that carry it to the plugin with its type
KINDS = {"string": {"string", "options", "date_iso8601"}, "integer": {"integer"},
         "number": {"decimal"}, "boolean": {"boolean"}, "array": {"array"}, "object": {"object"}}


def about(module):
    result = subprocess.run([sys.executable, "-m", module, "--about", "--format=json"],
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def abouts():
    return {name: about(module) for name, (_, module) in MODULES.items()}


def definition(name):
    return yaml.safe_load((ROOT / "plugins" / f"{name}.yml").read_text())


def test_generated_files_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "plugin_definitions.py"),
                             "--check"], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", MODULES)
def test_definition_has_every_setting_with_its_kind(name, abouts):
    properties = abouts[name]["settings"]["properties"]
    settings = {s["name"]: s for s in definition(name)["settings"]}
    assert list(settings) == list(properties)
    for key, prop in properties.items():
        kinds = prop.get("type")
        json_type = next(t for t in ([kinds] if isinstance(kinds, str) else kinds) if t != "null")
        assert settings[key]["kind"] in KINDS[json_type], key
        assert settings[key].get("sensitive", False) is bool(prop.get("secret")), key
        assert settings[key]["description"], key
        assert "value" not in settings[key], key  # the plugin's own default applies
        if "default" in prop:
            assert json.dumps(prop["default"]) in settings[key]["description"], key
    assert {"stream_maps", "stream_map_config", "flattening_enabled"} <= set(settings)
    if name == "target-salesforce-aimdoc":
        assert {"validate_records", "batch_size_rows", "write_api", "max_concurrency"} <= set(
            settings)


@pytest.mark.parametrize("name", MODULES)
def test_definition_is_a_meltano_plugin_with_hub_metadata(name, abouts):
    import meltano.schemas
    from meltano.core.plugin import PluginDefinition, PluginType

    plugin_type, module = MODULES[name]
    raw = definition(name)
    parsed = PluginDefinition.parse({"plugin_type": PluginType(plugin_type), **raw})
    assert parsed.name == name and parsed.namespace == module
    assert {"variant", "label", "docs", "repo", "keywords", "pip_url", "executable"} <= set(raw)
    known = {s["name"] for s in raw["settings"]}
    for group in raw["settings_group_validation"]:
        assert set(group) <= known
    # --about's capabilities, less those Meltano's meltano.yml schema has no value for
    meltano_schema = json.loads((Path(meltano.schemas.__file__).parent
                                 / "meltano.schema.json").read_text())
    enum = next(part["properties"]["capabilities"]["items"]["enum"]
                for part in meltano_schema["$defs"]["plugins"][plugin_type]["allOf"]
                if "capabilities" in part.get("properties", {}))
    assert raw["capabilities"] == [c for c in abouts[name]["capabilities"] if c in enum]
    assert set(abouts[name]["capabilities"]) - set(raw["capabilities"]) <= {"validate-records"}


def test_target_auth_groups_cover_the_six_flows():
    groups = definition("target-salesforce-aimdoc")["settings_group_validation"]
    flows = {"client_credentials": {"client_id", "client_secret"},
             "jwt": {"client_id", "username", "private_key"},
             "refresh_token": {"refresh_token"}, "session": {"session_id", "instance_url"},
             "password": {"username", "password", "client_secret"},
             "soap": {"username", "password", "security_token"}}
    for flow, needs in flows.items():
        assert any(needs <= set(group) for group in groups), flow


def test_meltano_yml_matches_the_definitions_and_has_no_deprecated_keys():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    assert "version" not in project
    plugins = {p["name"]: p for kind in project["plugins"].values() for p in kind}
    for name in MODULES:
        hub = definition(name)
        local = plugins[name]
        assert local["pip_url"] == "-e ."
        assert local["settings"] == hub["settings"]
        assert local["capabilities"] == hub["capabilities"]
        assert local.get("select") == hub.get("select")
    assert plugins["tap-aimdoc"]["select"] == ["contacts.*", "transcripts.*"]


def test_configuration_reference_lists_every_setting(abouts):
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name, info in abouts.items():
        prefix = name.upper().replace("-", "_") + "_"
        for key in info["settings"]["properties"]:
            assert f"`{prefix}{key.upper()}`" in text, key
