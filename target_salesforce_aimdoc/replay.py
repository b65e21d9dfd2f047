"""``target-salesforce-aimdoc-replay``: retry a pipeline's dead letters now, without new input.

    target-salesforce-aimdoc-replay --config config.json [--pipeline NAME] [--file FILE]
    meltano invoke target-salesforce-aimdoc:replay-dead-letters

Each pipeline keeps its own letters (``run_files``): ``--pipeline`` names the one to replay
(e.g. ``dev:tap-aimdoc-to-target-salesforce-aimdoc``; by default the one the environment or
``pipeline_name`` names, else the unnamed file). ``--file`` replays that file as it is. Only
letters of the streams the config syncs are retried; the others stay in the file. The file is
rewritten with what still fails (and removed when nothing does); the run report is written as
for any run. ``--config ENV`` reads ``TARGET_SALESFORCE_AIMDOC_*`` variables.
"""

from __future__ import annotations

import argparse
import logging
import sys

from target_salesforce_aimdoc.check import LOGGER, config_arguments, target_config
from target_salesforce_aimdoc.deadletters import DeadLetters
from target_salesforce_aimdoc.pipeline import SyncRun


def main(argv: list[str] | None = None) -> int:
    """Replay the dead letters; exit 1 past max_error_rate, like a run."""
    parser = argparse.ArgumentParser(prog="target-salesforce-aimdoc-replay",
                                     description=__doc__.split("\n", 1)[0])
    config_arguments(parser)
    parser.add_argument("--pipeline", help="the pipeline whose letters to replay")
    parser.add_argument("--file", help="a dead-letter file, replayed as it is")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    config = target_config(args.config)
    if config is None:
        return 1
    if args.pipeline:
        config["pipeline_name"] = args.pipeline
    try:
        run = SyncRun(config)
        if args.file:
            run.dead_letters = DeadLetters(args.file, durable=not run.dry_run)
        run.report.count_retried = True  # retrying them is all a replay does
        retried = run.retry_dead_letters()
        LOGGER.info("Replayed %d dead letters", retried)
        run.finish()
    except (ValueError, RuntimeError) as problem:  # ConfigError, login, past max_error_rate
        LOGGER.error("%s", problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
