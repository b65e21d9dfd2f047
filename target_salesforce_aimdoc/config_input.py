r"""Settings as Meltano hands them over: JSON files, or ``--config=ENV`` variables, typed.

``meltano run`` writes a plugin's settings to a JSON file; ``meltano test`` and commands with
``--config=ENV`` pass them as ``<PLUGIN>_<SETTING>`` environment variables instead, as text.
There an ``object`` setting set with ``meltano config set`` arrives as JSON with dotted keys
(``{"contacts.key": "id"}``, a literal dot escaped as ``\.``) and a number as ``"0.2"``.
``env_config`` reads each variable by its setting's JSON Schema type and nests dotted keys, so
both ways give the plugin the same config. The project's ``.env`` only fills in variables
that are not set: Meltano has already applied it with its own precedence (singer-sdk loaded
it over the variables Meltano set, so ``meltano test`` could check another key than
``meltano run`` used).

Every entry point reads config here: the target and the tap (``MeltanoEnvConfig``), and the
``check``, ``replay`` and ``links`` commands (``load_config``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dotenv import dotenv_values, find_dotenv
from singer_sdk.helpers._classproperty import classproperty

TRUTHY = ("true", "1", "yes", "on", "y", "t")
FALSY = ("false", "0", "no", "off", "n", "f", "")
UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


class ConfigInputError(ValueError):
    """A setting's value cannot be read; the message names the setting and its source."""


def key_path(key: str) -> list[str]:
    r"""A dotted key split into its parts (``a\.b.c`` -> ``["a.b", "c"]``)."""
    return [part.replace("\\.", ".") for part in UNESCAPED_DOT.split(key)]


def unflatten(value: Any) -> Any:
    """Dotted keys of a dict (at any depth) nested: ``{"a.b": 1}`` -> ``{"a": {"b": 1}}``.

    Lists are kept as they are (Meltano never flattens inside them).
    """
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, raw in value.items():
        *parents, leaf = key_path(str(key))
        node = result
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        item = unflatten(raw)
        if isinstance(item, dict) and isinstance(node.get(leaf), dict):
            node[leaf] = _merge(node[leaf], item)
        else:
            node[leaf] = item
    return result


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def schema_types(prop: Mapping[str, Any]) -> set[str]:
    """The JSON types a setting's schema allows, ``null`` left out."""
    kinds = prop.get("type")
    found = set(kinds if isinstance(kinds, list) else [kinds] if kinds else [])
    for key in ("anyOf", "oneOf"):
        for option in prop.get(key) or []:
            if isinstance(option, Mapping):
                found |= schema_types(option)
    return found - {"null"}


def parse_text(prop: Mapping[str, Any], text: str, name: str) -> Any:
    """An environment variable's text as the value its setting's schema types.

    Objects and arrays are JSON (objects with dotted keys nested; a string array may also
    be ``a,b,c``), integers and numbers are numerals, booleans ``true``/``false`` (or
    1/0, yes/no, on/off). Raises ConfigInputError naming the variable when it is neither.
    """
    kinds = schema_types(prop)
    if "string" in kinds or not kinds:
        return text
    try:
        if "object" in kinds:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise TypeError
            return unflatten(value)
        if "array" in kinds:
            return _array(text)
        if "boolean" in kinds:
            return _boolean(text)
        if "integer" in kinds and "number" not in kinds:
            return int(text)
        if "number" in kinds:
            number = float(text)
            return int(number) if number.is_integer() and "." not in text else number
    except (ValueError, TypeError):
        expected = "/".join(sorted(kinds))
        raise ConfigInputError(f"{name}: {text[:80]!r} is not a valid {expected} "
                               f"(objects and arrays are JSON)") from None
    return text


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUTHY or word in FALSY:
        return word in TRUTHY
    raise ValueError(text)


def _array(text: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith("["):
        value = json.loads(stripped)
        if not isinstance(value, list):
            raise TypeError
        return value
    return [item.strip() for item in stripped.split(",") if item.strip()]


def env_config(schema: Mapping[str, Any], prefix: str,
               environ: Mapping[str, str] | None = None,
               dotenv_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The settings found in ``<PREFIX><SETTING>`` variables, each typed by its schema.

    Variables come from ``environ`` (the process's by default); the ``.env`` file in the
    working directory (or ``dotenv_path``) only adds variables ``environ`` does not have.
    """
    variables = dict(os.environ if environ is None else environ)
    path = dotenv_path if dotenv_path is not None else find_dotenv(usecwd=True)
    if path and Path(path).is_file():
        for key, value in dotenv_values(path).items():
            if value is not None and key.startswith(prefix):
                variables.setdefault(key, value)
    config: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        variable = prefix + name.upper().replace("-", "_")
        if variable in variables:
            config[name] = parse_text(prop, variables[variable], variable)
    return config


def plugin_schema(plugin: Any) -> dict[str, Any]:
    """A tap's or target's config schema with the SDK's built-in settings added."""
    schema = dict(plugin.config_jsonschema)
    schema["properties"] = dict(schema.get("properties") or {})
    plugin.append_builtin_config(schema)
    return schema


def load_config(sources: Sequence[str | os.PathLike[str]], plugin: Any) -> dict[str, Any]:
    """Config from JSON files (later ones win) and, where a source is ``ENV``, variables.

    ``plugin`` is the Tap or Target class: its schema types the variables and its name is
    their prefix. Raises ConfigInputError naming a file that cannot be read.
    """
    config: dict[str, Any] = {}
    for source in sources:
        if str(source) == "ENV":
            config.update(env_config(plugin_schema(plugin), plugin_prefix(plugin)))
            continue
        try:
            loaded = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigInputError(f"config file {source}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigInputError(f"config file {source}: not a JSON object")
        config.update(loaded)
    return config


def plugin_prefix(plugin: Any) -> str:
    """The environment variable prefix of a plugin: ``TARGET_SALESFORCE_AIMDOC_``."""
    return f"{plugin.name.upper().replace('-', '_')}_"


def unsupported_settings(config: Mapping[str, Any]) -> list[str]:
    """Problems of settings the target accepts by schema but cannot honour.

    Schema flattening (singer-sdk's ``flattening_*``) turns nested properties such as
    ``qualification`` into JSON strings and renames the rest, so the mapping's expressions
    would silently see nothing; the target refuses it instead.
    """
    depth = config.get("flattening_max_depth")
    if config.get("flattening_enabled") and (depth is None or int(depth) > 0):
        return ["flattening_enabled: target-salesforce-aimdoc maps nested properties by path "
                "(`qualification`, `data_capture.budget`) and cannot map flattened records; "
                "leave flattening_enabled off (reshape fields with stream_maps or the "
                "`streams` mapping instead)"]
    return []


class MeltanoEnvConfig:
    """Mixin for a singer-sdk Tap or Target: ``--config=ENV`` read by ``env_config``."""

    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:  # noqa: N805
        """The settings in the environment, typed, objects nested, ``.env`` not overriding."""
        return env_config(plugin_schema(cls), plugin_prefix(cls))
