"""Write docs/configuration.md from the plugins' config schemas (a test keeps it in sync).

.venv/bin/python scripts/config_reference.py          # rewrite the file
.venv/bin/python scripts/config_reference.py --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tap_aimdoc.tap import TapAimdoc
from target_salesforce_aimdoc.settings import STREAMS_SCHEMA
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

OUT = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
SDK_BUILTINS = {"stream_maps", "stream_map_config", "faker_config", "flattening_enabled",
                "flattening_max_depth", "flattening_max_key_length", "flattening_separator",
                "batch_config", "add_record_metadata", "load_method", "validate_records",
                "process_activate_version_messages"}


def _type(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "any")
    kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k != "null"]
    text = "/".join(kinds) or "any"
    if prop.get("enum"):
        text += ": " + ", ".join(f"`{v}`" for v in prop["enum"] if v is not None)
    return text


def _default(prop: dict[str, Any]) -> str:
    return f"`{json.dumps(prop['default'])}`" if "default" in prop else ""


def _table(properties: dict[str, Any], env_prefix: str) -> list[str]:
    lines = ["| setting | type | default | env var | description |", "|---|---|---|---|---|"]
    for name, prop in properties.items():
        if name in SDK_BUILTINS:
            continue
        secret = " (secret)" if prop.get("secret") or prop.get("writeOnly") else ""
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `{name}`{secret} | {_type(prop)} | {_default(prop)} | "
                     f"`{env_prefix}{name.upper()}` | {description} |")
    return lines


def _stream_section() -> list[str]:
    stream = STREAMS_SCHEMA["additionalProperties"]
    lines = ["| key | description |", "|---|---|"]
    for name, prop in stream["properties"].items():
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `streams.<stream>.{name}` | {description} |")
    obj = stream["properties"]["objects"]["properties"]["Lead"]
    for name, prop in obj.get("properties", {}).items():
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `streams.<stream>.objects.<Object>.{name}` | {description} |")
    return lines


def render() -> str:
    """The whole reference page."""
    parts = [
        "# Configuration reference",
        "",
        "Generated from the plugins' config schemas by `scripts/config_reference.py`; "
        "`tests/test_docs.py` fails when it is out of date. Under Meltano every setting can "
        "also come from its environment variable.",
        "",
        "## tap-aimdoc",
        "",
        *_table(TapAimdoc.config_jsonschema["properties"], "TAP_AIMDOC_"),
        "",
        "## target-salesforce-aimdoc",
        "",
        *_table(TargetSalesforceAimdoc.config_jsonschema["properties"],
                "TARGET_SALESFORCE_AIMDOC_"),
        "",
        "### The `streams` setting",
        "",
        " ".join(STREAMS_SCHEMA.get("description", "").split()),
        "",
        *_stream_section(),
        "",
    ]
    return "\n".join(parts)


def main() -> int:
    """Write the file, or check it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run scripts/config_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
