"""``target-salesforce-aimdoc-check``: log in, describe and check the mapping; write nothing.

    target-salesforce-aimdoc-check --config config.json
    meltano test target-salesforce-aimdoc        (runs it with --config ENV)

Exit 0 with a one-line summary when the credentials work and every mapped field exists and can
be written; exit 1 naming the setting otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys

from target_salesforce_aimdoc.pipeline import SyncRun
from target_salesforce_aimdoc.target import TargetSalesforceAimdoc


def main(argv: list[str] | None = None) -> int:
    """Run the start-up checks of a sync, and stop there."""
    parser = argparse.ArgumentParser(prog="target-salesforce-aimdoc-check",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", action="append", required=True,
                        help="config JSON file (repeatable), or ENV")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    files = [path for path in args.config if path != "ENV"]
    try:
        target = TargetSalesforceAimdoc(config=files, parse_env_config="ENV" in args.config)
        run = SyncRun(dict(target.config))
    except (ValueError, RuntimeError) as problem:  # ConfigError, SalesforceAuthError, ...
        logging.getLogger("target_salesforce_aimdoc").error("%s", problem)
        return 1
    objects = ", ".join(run.describes)
    print(f"OK: logged in to {run.client.instance_url} ({run.client.flow}); "
          f"mapping checked against {objects}; {run.client.usage.calls} API calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
