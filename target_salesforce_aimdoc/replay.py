"""``target-salesforce-aimdoc-replay``: retry a dead-letter file now, without new input.

    target-salesforce-aimdoc-replay --config config.json [--file dead_letters.jsonl]
    meltano invoke target-salesforce-aimdoc:replay-dead-letters

The file is rewritten with what still fails (and removed when nothing does); the run report is
written as for any run. ``--config ENV`` reads ``TARGET_SALESFORCE_AIMDOC_*`` variables.
"""

from __future__ import annotations

import argparse
import logging
import sys

from target_salesforce_aimdoc.pipeline import SyncRun
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc


def main(argv: list[str] | None = None) -> int:
    """Replay the dead letters; exit 1 past max_error_rate, like a run."""
    parser = argparse.ArgumentParser(prog="target-salesforce-aimdoc-replay",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", action="append", required=True,
                        help="config JSON file (repeatable), or ENV")
    parser.add_argument("--file", help="dead-letter file (default: dead_letter_path)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    files = [path for path in args.config if path != "ENV"]
    target = TargetSalesforceAimdoc(config=files, parse_env_config="ENV" in args.config)
    config = dict(target.config)
    if args.file:
        config["dead_letter_path"] = args.file
    run = SyncRun(config)
    retried = run.retry_dead_letters()
    logging.getLogger("target_salesforce_aimdoc").info("Replayed %d dead letters", retried)
    try:
        run.finish()
    except RuntimeError as exc:
        logging.getLogger("target_salesforce_aimdoc").error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
