"""``target-salesforce-aimdoc-check``: log in, describe and check the mapping; write nothing.

    target-salesforce-aimdoc-check --config config.json
    meltano test target-salesforce-aimdoc        (runs it with --config=ENV)

Exit 0 with a one-line summary when the credentials work and every mapped field exists and can
be written; exit 1 naming the setting otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import ConfigValidationError

from target_salesforce_aimdoc import redaction
from target_salesforce_aimdoc.config_input import load_config, unsupported_settings
from target_salesforce_aimdoc.pipeline import SyncRun
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

if TYPE_CHECKING:
    from collections.abc import Sequence

LOGGER = logging.getLogger("target_salesforce_aimdoc")


def config_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--config`` option shared by the target's commands."""
    parser.add_argument("--config", action="append", required=True,
                        help="config JSON file (repeatable), or ENV for "
                             "TARGET_SALESFORCE_AIMDOC_* variables (as Meltano passes them)")


def target_config(sources: Sequence[str]) -> dict[str, Any] | None:
    """The validated target config from files and/or ENV; None after logging each problem.

    Secrets are protected (scrubbed from logs) as soon as they are read. Every problem is
    logged naming its setting, e.g. ``'x' is not of type 'number' in config['max_error_rate']``.
    """
    try:
        config = load_config(sources, TargetSalesforceAimdoc)
        redaction.protect(config)
        target = TargetSalesforceAimdoc(config=config)
    except ConfigValidationError as problem:
        for error in problem.errors:
            LOGGER.error("Config: %s", error)
        LOGGER.error("Config validation failed: %d problem(s)", len(problem.errors))
        return None
    except ValueError as problem:  # ConfigInputError: a file or variable cannot be read
        LOGGER.error("Config: %s", problem)
        return None
    config = dict(target.config)
    refused = unsupported_settings(config)
    for error in refused:
        LOGGER.error("Config: %s", error)
    return None if refused else config


def main(argv: list[str] | None = None) -> int:
    """Run the start-up checks of a sync, and stop there."""
    parser = argparse.ArgumentParser(prog="target-salesforce-aimdoc-check",
                                     description=__doc__.split("\n", 1)[0])
    config_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    config = target_config(args.config)
    if config is None:
        return 1
    try:
        run = SyncRun(config)
    except (ValueError, RuntimeError) as problem:  # ConfigError, SalesforceAuthError, ...
        LOGGER.error("%s", problem)
        return 1
    objects = ", ".join(run.describes)
    print(f"OK: logged in to {run.client.instance_url} ({run.client.flow}); "
          f"mapping checked against {objects}; {run.client.usage.calls} API calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
