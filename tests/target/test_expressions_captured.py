"""Captured data in its own fields or in ``attributes{}``: the expressions read either."""

from __future__ import annotations

import pytest

from target_salesforce_aimdoc.expressions import (
    captured_value,
    compile_expression,
    find_answer,
    qualification_text,
)

ANSWERS = [{"question_id": "q1", "question": "Team size?", "answer": "50"},
           {"question_id": "q2", "question": "Timeline?", "answer": None}]
FIELDS = {"id": "c1", "status": "disqualified", "score": 12, "qualification": ANSWERS,
          "data_capture": {"budget_usd": 5000}, "attributes": {"browser": "Firefox"}}
ATTRIBUTES = {"id": "c1", "attributes": {"browser": "Firefox", "status": "disqualified",
                                         "score": 12, "qualification": ANSWERS,
                                         "budget_usd": 5000}}


@pytest.mark.parametrize("record", [FIELDS, ATTRIBUTES], ids=["fields", "attributes"])
def test_the_same_answers_under_either_reading(record):
    def value(source):
        return compile_expression(source, "test").evaluate(record)

    assert value("captured('status')") == "disqualified"
    assert value("captured('status') != 'disqualified'") is False
    assert value("captured('score')") == 12
    assert value("captured('budget_usd')") == 5000
    assert value("captured('browser')") == "Firefox"
    assert value("captured('nothing')") is None
    assert value("qualification_text(captured('qualification'))") == "Q: Team size?\nA: 50"
    assert value("qualification_text(record)") == "Q: Team size?\nA: 50"
    assert value("answer('q1')") == "50"
    assert find_answer(record, "Team size?") == "50"


def test_own_fields_win_and_empty_values_fall_through():
    record = {"status": "", "qualification": [], "attributes": {"status": "new",
                                                                "qualification": ANSWERS},
              "data_capture": {"seats": 3}}
    assert captured_value(record, "status") == "new"
    assert captured_value(record, "seats") == 3
    assert qualification_text(record["attributes"]) == "Q: Team size?\nA: 50"
    assert captured_value({"status": "qualified", "attributes": {"status": "new"}},
                          "status") == "qualified"
    assert captured_value({"attributes": None}, "status") is None


def test_the_shipped_expressions_miss_attributes_the_replacements_do_not():
    old = compile_expression("status != 'disqualified'", "filter")
    new = compile_expression("captured('status') != 'disqualified'", "filter")
    assert old.evaluate(ATTRIBUTES) is True  # lets a disqualified contact through
    assert new.evaluate(ATTRIBUTES) is False
    assert compile_expression("qualification_text(qualification)", "d").evaluate(
        ATTRIBUTES) is None
