"""The expression language: stream-map names and functions, null-safety, our helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from singer_sdk.mapper import md5 as sdk_md5

from target_salesforce_aimdoc.domains import FreeMail
from target_salesforce_aimdoc.expressions import (
    ConfigError,
    ExpressionError,
    Scope,
    coalesce,
    compile_expression,
    default_functions,
    find_answer,
    qualification_text,
)

CONTACT = {
    "id": "c-1",
    "email": "Jane@Sales.Acme.com",
    "first_name": "Jane",
    "company": "Acme",
    "status": "qualified",
    "score": Decimal("87.5"),
    "created_at": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
    "qualification": [
        {"question_id": "q_budget", "question": "What is your  budget?", "answer": "50k"},
        {"question_id": "q_team", "question": "Team size?", "answer": 12},
        {"question_id": "q_tools", "question": "Which tools?", "answer": ["CRM", "Chat"]},
        {"question_id": "q_empty", "question": "Anything else?", "answer": ""},
    ],
    "data_capture": {"budget": "10k", "items": 3, "team size": 5, "tags": ["a", "b"]},
    "attributes": {"utm": {"source": "google"}},
}


def ev(source, record=CONTACT, **scope):
    return compile_expression(source, "test").evaluate(Scope(record, **scope))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("first_name", "Jane"),
        ("record['first_name']", "Jane"),
        ("_['company']", "Acme"),
        ("data_capture.budget", "10k"),
        ("data_capture['budget']", "10k"),
        ("data_capture['team size']", 5),
        ("data_capture.items", 3),  # the key, not dict.items
        ("data_capture.tags[1]", "b"),
        ("attributes.utm.source", "google"),
        ("qualification[0].answer", "50k"),
        ("qualification[1]['answer'] + 1", 13),
        ("email.split('@')[-1]", "Sales.Acme.com"),
        ("email.lower()", "jane@sales.acme.com"),
        ("data_capture.get('budget')", "10k"),
        ("score >= 80", True),
        ("score > 90", False),
        ("created_at.year", 2024),
        ("status in ['new', 'qualified']", True),
        ("f'{first_name} at {company}'", "Jane at Acme"),
        ("[q.answer for q in qualification if q.answer]", ["50k", 12, ["CRM", "Chat"]]),
        ("company if score > 50 else 'small'", "Acme"),
    ],
)
def test_record_properties_and_paths(source, expected):
    assert ev(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "last_name",
        "data_capture.missing",
        "data_capture['missing']",
        "missing.deeper.still",
        "missing['x'][0]",
        "qualification[99]",
        "qualification[99].answer",
        "config.anything",
    ],
)
def test_missing_values_are_none(source):
    assert ev(source) is None


def test_missing_name_works_with_fallbacks():
    assert ev("last_name or '[not provided]'") == "[not provided]"
    assert ev("coalesce(last_name, first_name)") == "Jane"


def test_attribute_of_a_non_dict_that_does_not_exist_fails():
    with pytest.raises(ExpressionError, match="upper2"):
        ev("email.upper2()")


def test_answer_by_question_id_or_text():
    assert ev("answer('q_budget')") == "50k"
    assert ev("answer('what is your budget?')") == "50k"  # case and spaces ignored
    assert ev("answer('  TEAM SIZE?')") == 12
    assert ev("answer('Which tools?')") == ["CRM", "Chat"]
    assert ev("answer('no such question')") is None
    assert ev("answer('q_budget')", {"id": "x"}) is None


def test_answer_prefers_id_and_takes_the_latest():
    record = {
        "qualification": [
            {"question_id": "budget", "question": "Budget?", "answer": "old"},
            {"question_id": "other", "question": "budget", "answer": "by text"},
            {"question_id": "budget", "question": "Budget?", "answer": "new"},
        ]
    }
    assert find_answer(record, "budget") == "new"
    assert find_answer(record, "BUDGET?") == "new"
    assert find_answer({"qualification": [{"question": "Budget"}]}, "budget") is None


def test_answer_is_bound_to_each_record():
    expr = compile_expression("answer('q')", "p")
    first = {"qualification": [{"question_id": "q", "answer": "one"}]}
    second = {"qualification": [{"question_id": "q", "answer": "two"}]}
    assert expr.evaluate(first) == "one"
    assert expr.evaluate(second) == "two"
    assert expr.evaluate(Scope(first)) == "one"


def test_domain_helpers():
    assert ev("email_domain(email)") == "acme.com"
    assert ev("company_domain(email)") == "acme.com"
    assert ev("company_domain('x@gmail.com')") is None
    assert ev("is_free_mail('x@gmail.com')") is True
    assert ev("is_free_mail(email)") is False
    assert ev("website_domain('https://www.Acme.com/about')") == "acme.com"
    assert ev("email_domain(missing)") is None


def test_free_mail_lists_from_settings_reach_the_helpers():
    functions = default_functions(FreeMail.from_lists(allow=["gmail.com"], deny=["acme.com"]))
    company = compile_expression("company_domain(email)", "p", functions)
    assert company.evaluate({"email": "x@gmail.com"}) == "gmail.com"
    assert company.evaluate({"email": "x@acme.com"}) is None


def test_singer_sdk_functions_are_available():
    assert ev("md5(email)") == sdk_md5(CONTACT["email"])
    assert ev("sha256('a')") == hashlib.sha256(b"a").hexdigest()
    assert ev("datetime.date(2024, 1, 2).isoformat()") == "2024-01-02"
    assert ev("json.dumps(data_capture.tags)") == '["a", "b"]'
    assert ev("bool(email)") is True
    assert ev("int('7') + float('0.5')") == 7.5
    assert ev("str(score)") == "87.5"
    assert ev("list(data_capture.tags) + [len(qualification)]") == ["a", "b", 4]


def test_our_text_functions_are_none_safe():
    assert ev("lower(company)") == "acme"
    assert ev("upper(company)") == "ACME"
    assert ev("strip('  x ')") == "x"
    assert ev("lower(missing)") is None
    assert ev("len(missing)") == 0
    assert ev("round(score)") == 88
    assert ev("max(1, score)") == Decimal("87.5")


def test_coalesce_keeps_zero_and_false():
    assert coalesce(None, "", "  ", [], 0, 5) == 0
    assert coalesce(None, False) is False
    assert coalesce(None, "") is None


def test_scope_names_match_stream_maps():
    assert ev("config['region']", config={"region": "eu"}) == "eu"
    assert ev("__stream_name__", stream="contacts") == "contacts"
    assert ev("record is _") is True


def test_qualification_text_summarises_answers():
    text = qualification_text(CONTACT["qualification"])
    assert text == (
        "Q: What is your  budget?\nA: 50k\n\nQ: Team size?\nA: 12\n\nQ: Which tools?\nA: CRM, Chat"
    )
    assert qualification_text([]) is None
    assert qualification_text(None) is None
    assert qualification_text([{"question_id": "q1", "answer": "yes"}]) == "Q: q1\nA: yes"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("first_name +", "invalid syntax"),
        ("x = 1", "invalid syntax"),
        ("no_such_fn(email)", "unknown function 'no_such_fn'"),
        ("lambda: 1", "Lambda is not supported"),
        ("(x := 1)", "NamedExpr is not supported"),
        ("email.__class__", "'__class__' is not available"),
        ("email.format(1)", "'format' is not available"),
        ("a @ b", "MatMult is not supported"),
        ("", "expression is empty"),
        ("   ", "expression is empty"),
    ],
)
def test_bad_expressions_fail_at_compile_time_naming_the_setting(source, problem):
    with pytest.raises(ConfigError) as caught:
        compile_expression(source, "streams.contacts.objects.Lead.fields.Budget__c")
    assert caught.value.path == "streams.contacts.objects.Lead.fields.Budget__c"
    assert problem in caught.value.message
    assert str(caught.value).startswith("streams.contacts.objects.Lead.fields.Budget__c: ")


def test_runtime_failures_name_the_setting_and_expression():
    expr = compile_expression("score + 'x'", "streams.s.key")
    with pytest.raises(ExpressionError) as caught:
        expr.evaluate({"score": 1})
    assert str(caught.value).startswith("streams.s.key: \"score + 'x'\" failed: TypeError")


def test_compiled_once_evaluated_many_times():
    expr = compile_expression("first_name or 'anon'", "p")
    assert [expr.evaluate({"first_name": n}) for n in ["a", None, "c"]] == ["a", "anon", "c"]
    assert expr.evaluate({}) == "anon"
