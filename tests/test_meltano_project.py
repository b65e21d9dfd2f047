"""README's "Adding the plugins to your own project", run as a Meltano 4.4 user runs it.

A fresh ``meltano init`` project in a temporary folder; both plugins added from
``plugins/*.yml`` with ``meltano add --from-ref`` and installed by Meltano from this clone
(``AIMDOC_SALESFORCE_SYNC_PIP_URL='-e <clone>'``); configured with ``meltano config set``
against the emulators; ``meltano test --all``, ``meltano run``, ``meltano state get``. Then
every setting of either plugin's ``--about`` set with ``meltano config set`` and read back as
Meltano hands it to the plugin (the ``meltano run`` JSON file and the ``--config=ENV``
variables), typed; and the other install sources (a git URL, a built wheel).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from target_salesforce_aimdoc.config_input import (
    MeltanoEnvConfig,
    env_config,
    plugin_prefix,
    plugin_schema,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PIP_URL = "AIMDOC_SALESFORCE_SYNC_PIP_URL"
PLUGINS = ("tap-aimdoc", "target-salesforce-aimdoc")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("meltano_project"),
              pytest.mark.skipif(shutil.which("meltano", path=str(BIN)) is None,
                                 reason="meltano is installed with the dev extra")]


def clean_env(pip_url: str) -> dict[str, str]:
    """The user's shell: no plugin or Meltano variables of ours, the plugins' source set."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_AIMDOC_", "TARGET_SALESFORCE_AIMDOC_", "MELTANO_"))}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", PIP_URL: pip_url,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}


class Project:
    """A Meltano project folder and the shell commands a user types in it."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def meltano(self, *args: str, check: bool = True,
                timeout: int = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(["meltano", *args], cwd=self.path, env=self.env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check:
            assert result.returncode == 0, (f"meltano {' '.join(args)}:\n"
                                            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result


def readme_commands() -> list[list[str]]:
    """The `meltano` commands of README's "Adding the plugins to your own project"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Adding the plugins to your own project", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines()
            if line.startswith("meltano ") and not line.startswith("meltano init")]


def as_run_here(command: list[str], values: dict[str, str]) -> list[str]:
    """A README command with its placeholders (clone path, credentials) filled in."""
    words = [word.replace("~/aimdoc-salesforce-sync", str(ROOT)) for word in command[1:]]
    if words[:2] == ["config", "set"] and words[-1] in values:
        words[-1] = values[words[-1]]
    return words


def new_project(tmp: Path, pip_url: str) -> Project:
    """``meltano init`` and README's `meltano add` (installs) and `meltano select` lines."""
    env = clean_env(pip_url)
    subprocess.run(["meltano", "init", "--no-usage-stats", "my-project"], cwd=tmp, env=env,
                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
                   check=True)
    project = Project(tmp / "my-project", env)
    added = [c for c in readme_commands() if c[1] in {"add", "select"}]
    assert [c[1] for c in added] == ["add", "add", "select", "select"]
    for command in added:
        done = project.meltano(*as_run_here(command, {}))
        if command[1] == "add":
            assert "Installed" in done.stdout + done.stderr
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """The README's project, installed from this clone (editable)."""
    return new_project(tmp_path_factory.mktemp("meltano"), f"-e {ROOT}")


def test_readme_commands_from_init_to_state(project, salesforce_emulator, aimdoc_emulator,
                                            tmp_path):
    out = tmp_path / "salesforce"
    # What points the plugins at the emulators (not in the README: a real org needs none).
    for plugin, name, value in [
        ("tap-aimdoc", "api_url", aimdoc_emulator.api_url),
        ("tap-aimdoc", "start_date", "2025-01-01T00:00:00Z"),
        ("target-salesforce-aimdoc", "ca_file", str(salesforce_emulator.ca_file)),
        ("target-salesforce-aimdoc", "max_error_rate", "0.2"),
        ("target-salesforce-aimdoc", "report_dir", str(out)),
        ("target-salesforce-aimdoc", "dead_letter_path", str(out / "dead_letters.jsonl")),
    ]:
        project.meltano("config", "set", plugin, name, value)
    values = {"ak_...": aimdoc_emulator.api_key,
              "https://acme.my.salesforce.com": salesforce_emulator.url,
              "3MVG9...": "demo-client-id", "...": "demo-client-secret"}
    results = {}
    for command in readme_commands():
        if command[1] not in {"add", "select"}:
            results[command[1]] = project.meltano(*as_run_here(command, values))
        if command[1] == "test":  # the checks write nothing
            assert salesforce_emulator.stats()["records"]["created"] == 0
    assert list(results) == ["config", "test", "run", "state"]

    tested = results["test"]
    assert "2 test(s) successful" in tested.stdout + tested.stderr
    report = json.loads(next(out.rglob("run-report.json")).read_text())
    assert set(report["records_seen"]) == {"contacts", "transcripts"}  # the selected streams
    leads = salesforce_emulator.backend.all_records("Lead")
    assert len(leads) > 50
    assert {lead["Rating"] for lead in leads} == {"Warm"}  # the custom `streams` mapping
    assert salesforce_emulator.backend.count("Contact") > 50  # sync_contacts true
    assert salesforce_emulator.backend.count("ContentNote") > 50

    state = json.loads(results["state"].stdout)
    assert state["singer_state"]["bookmarks"]["contacts"]
    assert state["singer_state"]["salesforce_links"]["records"]

    # The other command reads the same settings (the `streams` object included) from ENV.
    replayed = project.meltano("invoke", "target-salesforce-aimdoc:replay-dead-letters")
    assert re.search(r"Replayed \d+ dead letters", replayed.stderr)


# --- every setting, through `meltano config set`, typed at the plugin -----------------------

def plugin_class(name: str) -> Any:
    if name == "tap-aimdoc":
        from tap_aimdoc.tap import TapAimdoc

        return TapAimdoc
    from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

    return TargetSalesforceAimdoc


def json_types(prop: dict[str, Any]) -> list[str]:
    kinds = prop.get("type") or []
    found = [k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null"]
    for option in prop.get("oneOf") or prop.get("anyOf") or []:
        if isinstance(option, dict):
            found += [k for k in json_types(option) if k not in found]
    return found


SAMPLES: dict[str, Any] = {
    "streams": {"event_leads": {"key": "lead_id", "objects": {"Lead": {"fields": {
        "LastName": "name", "Company": {"expr": "org", "policy": "if_empty"}}}}}},
    "stream_maps": {"contacts": {"email_hash": "md5(email or '')"}},
    "account_match_field": "Domain__c",
    "start_date": "2025-01-02T03:04:05Z",
    "flattening_max_key_length": 100,
    "external_id_fields": {"Lead": "Aimdoc_Id__c", "Contact": "Aimdoc_Id__c"},
    "lead_assignment": {"on_create": "none", "on_update": "default"},
    "duplicate_rules": {"Lead": "use_existing", "Account": "allow"},
}


def sample(name: str, prop: dict[str, Any]) -> Any:
    """A valid value for a setting, unlike its default."""
    if name in SAMPLES:
        return SAMPLES[name]
    values = [json.loads(json.dumps(v)) for v in prop.get("enum") or [] if v is not None]
    if values:
        default = json.loads(json.dumps(prop.get("default")))
        return next((v for v in values if v != default), values[0])
    kinds = json_types(prop)
    if "object" in kinds:
        fields = prop.get("properties") or {}
        if not fields:
            return {"salt": "pepper", "answer": 42}
        return {key: sample(key, sub) for key, sub in list(fields.items())[:2]}
    if "array" in kinds:
        items = prop.get("items") or {}
        return [sample(name, items)] if items.get("enum") else ["one.example", "two.example"]
    if "boolean" in kinds:
        return not prop.get("default", False)
    if "integer" in kinds:
        return min(max(3, prop.get("minimum", 3)), prop.get("maximum", 10**6))
    if "number" in kinds:
        return max(0.5, prop.get("minimum", 0))
    return f"{name}-value"


def all_settings() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, key, prop) for name in PLUGINS
            for key, prop in plugin_schema(plugin_class(name))["properties"].items()]


SETTER = """
import json, sys
from click.testing import CliRunner
from meltano.cli import cli
from meltano.core.project import Project
failed = []
for plugin, name, value in json.load(sys.stdin):
    Project.deactivate()  # read meltano.yml afresh, as a new `meltano` process does
    result = CliRunner().invoke(cli, ["config", "set", plugin, name, value])
    if result.exit_code != 0:
        failed.append(f"{plugin} {name}: {result.output[-500:]}")
print(json.dumps(failed))
"""


@pytest.fixture(scope="module")
def handed_over(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Every setting set with `meltano config set` in a new project, as Meltano hands it to
    each plugin: the `meltano run` config file and the `--config=ENV` variables."""
    project = new_project(tmp_path_factory.mktemp("settings"), f"-e {ROOT}")
    commands = [[name, key, value if isinstance(value := sample(key, prop), str)
                 else json.dumps(value)] for name, key, prop in all_settings()]
    # One `meltano config set` per setting, run in one Python process (one start-up).
    result = subprocess.run([sys.executable, "-c", SETTER], input=json.dumps(commands),
                            cwd=project.path, env=project.env, capture_output=True, text=True,
                            timeout=600, check=True)
    assert json.loads(result.stdout.splitlines()[-1]) == []
    handed: dict[str, dict[str, Any]] = {}
    for name in PLUGINS:
        cls = plugin_class(name)
        dumped = project.meltano("invoke", "--dump", "config", name).stdout
        names = [plugin_prefix(cls) + key.upper() for key in plugin_schema(cls)["properties"]]
        printed = project.meltano("invoke",
                                  *[arg for var in names for arg in ("--print-var", var)],
                                  name, "--about").stdout
        variables = dict(line.split("=", 1) for line in printed.splitlines()
                         if "=" in line and not line.endswith("=None"))  # None: not set
        handed[name] = {"file": json.loads(dumped),
                        "env": env_config(plugin_schema(cls), plugin_prefix(cls), variables,
                                          os.devnull)}
        if issubclass(cls, MeltanoEnvConfig):  # the plugin's own --config=ENV reads the same
            saved = dict(os.environ)
            try:
                os.environ.clear()
                os.environ.update(variables)
                assert cls._env_var_config == handed[name]["env"]
            finally:
                os.environ.clear()
                os.environ.update(saved)
    return handed


def same(expected: Any, got: Any, prop: dict[str, Any]) -> bool:
    if prop.get("format") == "date-time" and isinstance(got, str):
        return datetime.fromisoformat(got) == datetime.fromisoformat(expected)
    return type(got) is type(expected) and got == expected


@pytest.mark.parametrize(("plugin", "key", "prop"), all_settings(),
                         ids=[f"{p}.{k}" for p, k, _ in all_settings()])
def test_every_setting_reaches_the_plugin_typed(handed_over, plugin, key, prop):
    expected = sample(key, prop)
    for way in ("file", "env"):
        got = handed_over[plugin][way].get(key)
        assert same(expected, got, prop), f"{way}: {got!r} != {expected!r}"


def test_the_plugins_accept_what_meltano_hands_over(handed_over):
    for name in PLUGINS:
        for way in ("file", "env"):
            plugin_class(name)(config=handed_over[name][way], validate_config=True)


# --- the other install sources --------------------------------------------------------------

def installed_about(tmp: Path, pip_url: str) -> dict[str, Any]:
    made = new_project(tmp, pip_url)
    about = made.meltano("invoke", "target-salesforce-aimdoc", "--about", "--format=json")
    return json.loads(about.stdout)


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs this clone's git history")
def test_install_from_a_git_url(tmp_path):
    about = installed_about(tmp_path, f"git+file://{ROOT}")
    assert about["name"] == "target-salesforce-aimdoc"


def test_install_from_a_built_wheel(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True,
                   timeout=600, check=True)
    (wheel,) = (tmp_path / "dist").glob("aimdoc_salesforce_sync-*.whl")
    about = installed_about(tmp_path, str(wheel))
    assert about["name"] == "target-salesforce-aimdoc"
