"""Which pipeline a run belongs to, and where its dead letters, parked notes and reports go.

Every pipeline (a tap feeding this target) keeps its own files, so a tap-csv job never
retries, counts or deletes the letters of an Aimdoc job. The pipeline is named, first match:

1. the ``pipeline_name`` setting;
2. ``MELTANO_STATE_ID`` in the environment (set it yourself when you run with a custom
   ``--state-id``: Meltano 4 does not pass the state id to plugins);
3. what Meltano's state id is made of, which it does pass to the target under ``meltano run``:
   ``{MELTANO_ENVIRONMENT}:{MELTANO_EXTRACTOR_NAME}-to-{MELTANO_LOADER_NAME}`` plus
   ``:{MELTANO_RUN_STATE_ID_SUFFIX}`` when that is set (``generate_state_id`` in Meltano);
4. none: a plain run outside Meltano uses the configured paths as they are.

A named pipeline's files get its name as a slug: ``dead_letters.<slug>.jsonl`` next to
``dead_letter_path``, and ``<report_dir>/<slug>/`` for its reports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_OUTPUT = "output/salesforce"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pipeline_name(config: Mapping[str, Any],
                  environ: Mapping[str, str] | None = None) -> str | None:
    """The pipeline this run belongs to (see the module docstring), or None."""
    env = os.environ if environ is None else environ
    if config.get("pipeline_name"):
        return str(config["pipeline_name"])
    if env.get("MELTANO_STATE_ID"):
        return env["MELTANO_STATE_ID"]
    parts = [env.get(name) for name in
             ("MELTANO_ENVIRONMENT", "MELTANO_EXTRACTOR_NAME", "MELTANO_LOADER_NAME")]
    if not all(parts):
        return None
    name = f"{parts[0]}:{parts[1]}-to-{parts[2]}"
    suffix = env.get("MELTANO_RUN_STATE_ID_SUFFIX")
    return f"{name}:{suffix}" if suffix else name


def slug(name: str) -> str:
    """A file-name-safe form of a pipeline name (``dev:tap-a-to-target-b`` -> ``dev-tap-...``)."""
    return _UNSAFE.sub("-", name).strip("-.")[:120] or "pipeline"


def dead_letter_path(config: Mapping[str, Any], pipeline: str | None) -> Path:
    """The pipeline's dead-letter file."""
    base = Path(config.get("dead_letter_path") or f"{DEFAULT_OUTPUT}/dead_letters.jsonl")
    if pipeline is None:
        return base
    return base.with_name(f"{base.stem}.{slug(pipeline)}{base.suffix or '.jsonl'}")


def parked_path(letters: Path) -> Path:
    """Where transcripts waiting for their contact are kept, next to the dead letters."""
    return letters.with_name(f"{letters.stem}.parked{letters.suffix or '.jsonl'}")


def report_folder(config: Mapping[str, Any], pipeline: str | None) -> Path:
    """The folder of the pipeline's run reports."""
    base = Path(config.get("report_dir") or DEFAULT_OUTPUT)
    return base if pipeline is None else base / slug(pipeline)
