"""singer-sdk's standard target settings honoured by target-salesforce-aimdoc."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tests.target.singer import contact, messages, run_target, target_config


def test_validate_records_false_maps_records_the_schema_would_reject(salesforce_emulator):
    record = contact("v1", "v1@acme.com", company="Acme", score="high")  # schema: integer
    checked = run_target(target_config(salesforce_emulator), messages([record]))
    assert salesforce_emulator.backend.count("Lead") == 0
    assert checked.sync_run.report.count("failed") == 1  # a dead letter, INVALID_RECORD
    salesforce_emulator.reset()
    unchecked = run_target(target_config(salesforce_emulator, validate_records=False),
                           messages([record]))
    assert unchecked.sync_run.report.count("failed") == 0
    (lead,) = salesforce_emulator.backend.all_records("Lead")
    assert lead["Email"] == "v1@acme.com" and lead["Company"] == "Acme"


def test_schema_flattening_is_refused_before_any_write(salesforce_emulator):
    record = contact("f1", "f1@acme.com", company="Acme",
                     qualification=[{"question_id": "q1", "question": "Budget?",
                                     "answer": "50k"}])
    config = target_config(salesforce_emulator, flattening_enabled=True, flattening_max_depth=1)
    with pytest.raises(ConfigValidationError) as refused:
        run_target(config, messages([record]))
    assert refused.value.errors[0].startswith("flattening_enabled: ")
    assert salesforce_emulator.backend.count("Lead") == 0
