"""singer-sdk's standard tap tests, run against the Aimdoc emulator."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner

from tap_aimdoc.tap import TapAimdoc
from tests.tap.harness import config

# The suite builds its test list at import time, before the emulator has a port: stream
# objects come from this placeholder; the runner below syncs against the real emulator.
PLACEHOLDER = {"api_key": "ak_placeholder", "api_url": "http://127.0.0.1:9/api/v1"}
SUITE = SuiteConfig(max_records_limit=None)

StandardTests = get_tap_test_class(TapAimdoc, config=PLACEHOLDER, suite_config=SUITE,
                                   parse_env_config=False)


class TestTapAimdocStandard(StandardTests):
    """cli_prints, discovery, stream connections, final state, schemas, keys, types."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, make_aimdoc_emulator):
        make_aimdoc_emulator.backend.reset()
        make_aimdoc_emulator.backend.generate(seed=5, contacts=25)
        runner = TapTestRunner(TapAimdoc, config=config(make_aimdoc_emulator),
                               suite_config=SUITE, parse_env_config=False)
        runner.sync_all()
        return runner
