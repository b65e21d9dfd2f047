"""Filtering rules: all must hold; the first failing rule names the skip."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from target_salesforce_aimdoc.expressions import Scope
from target_salesforce_aimdoc.filters import failed_rule, first_failure, skip_reason
from target_salesforce_aimdoc.settings import load_sync_settings

DEFAULT_RULES = load_sync_settings({}).streams["contacts"].filters


def rules_of(filters):
    config = {"streams": {"contacts": {"filters": filters}}}
    return load_sync_settings(config).streams["contacts"].filters


def test_shipped_rules_keep_contacts_with_email_not_disqualified():
    assert failed_rule({"email": "a@acme.com", "status": "qualified"}, DEFAULT_RULES) is None
    assert failed_rule({"email": "a@acme.com", "status": "new"}, DEFAULT_RULES) is None
    assert failed_rule({"email": "a@acme.com"}, DEFAULT_RULES) is None  # status omitted


def test_shipped_rules_skip_by_name():
    assert failed_rule({"status": "qualified"}, DEFAULT_RULES) == "has_email"
    assert failed_rule({"email": "", "status": "qualified"}, DEFAULT_RULES) == "has_email"
    disqualified = {"email": "a@acme.com", "status": "disqualified"}
    assert failed_rule(disqualified, DEFAULT_RULES) == "not_disqualified"


def test_first_failing_rule_in_order_is_reported():
    rules = rules_of(
        [
            {"name": "min_score", "expr": "score >= 50"},
            {"name": "has_email", "expr": "bool(email)"},
        ]
    )
    assert failed_rule({"score": 10}, rules) == "min_score"
    assert failed_rule({"score": 60}, rules) == "has_email"
    assert failed_rule({"score": Decimal("50.0"), "email": "a@b.co"}, rules) is None


def test_bare_string_rule_is_named_by_its_expression():
    rules = rules_of(["agent_name in ['Sales Bot', 'Docs Bot']"])
    assert rules[0].name == "agent_name in ['Sales Bot', 'Docs Bot']"
    assert failed_rule({"agent_name": "Docs Bot"}, rules) is None
    assert failed_rule({"agent_name": "Other"}, rules) == rules[0].name


def test_a_rule_that_raises_fails_and_keeps_the_error():
    rules = rules_of([{"name": "min_score", "expr": "score >= 50"}])
    skip = first_failure({"email": "a@b.co"}, rules)  # no score: None >= 50 raises
    assert skip is not None
    assert skip.rule == "min_score"
    assert "TypeError" in skip.error
    falsy = first_failure({"score": 1}, rules)
    assert falsy.rule == "min_score"
    assert falsy.error is None


def test_skips_counted_per_rule():
    rules = rules_of(
        [
            {"name": "has_email", "expr": "bool(email)"},
            {"name": "company_email", "expr": "not is_free_mail(email)"},
            {"name": "qualified", "expr": "status == 'qualified'"},
        ]
    )
    records = [
        {"email": "a@acme.com", "status": "qualified"},
        {"email": "b@gmail.com", "status": "qualified"},
        {"status": "qualified"},
        {"email": "c@acme.com", "status": "new"},
        {"email": "d@yahoo.com", "status": "new"},
    ]
    counts = Counter(failed_rule(record, rules) for record in records)
    assert counts == Counter({None: 1, "company_email": 2, "has_email": 1, "qualified": 1})


def test_free_mail_allow_list_reaches_filters():
    config = {
        "free_mail_allow": ["gmail.com"],
        "streams": {"contacts": {"filters": ["not is_free_mail(email)"]}},
    }
    rules = load_sync_settings(config).streams["contacts"].filters
    assert failed_rule({"email": "a@gmail.com"}, rules) is None
    assert failed_rule({"email": "a@yahoo.com"}, rules) == "not is_free_mail(email)"


def test_accepts_a_shared_scope():
    scope = Scope({"email": "a@acme.com", "status": "disqualified"}, stream="contacts")
    assert failed_rule(scope, DEFAULT_RULES) == "not_disqualified"
    assert failed_rule(scope, []) is None


def test_skip_reason_sees_stream_map_config_and_stream_name():
    config = {
        "stream_map_config": {"min_score": 70},
        "streams": {
            "contacts": {
                "filters": [
                    {"name": "min_score", "expr": "score >= config['min_score']"},
                    {"name": "stream", "expr": "__stream_name__ == 'contacts'"},
                ]
            }
        },
    }
    settings = load_sync_settings(config)
    stream = settings.streams["contacts"]
    assert skip_reason({"score": 80}, stream, settings) is None
    assert skip_reason({"score": 60}, stream, settings).rule == "min_score"
