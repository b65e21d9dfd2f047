"""Record -> payloads: fields, defaults, write policies, type coercion and per-record issues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from target_salesforce_aimdoc.mapping import (
    FieldValueError,
    coerce,
    map_record,
    needs_write,
    values_equal,
)
from target_salesforce_aimdoc.settings import load_sync_settings
from tests.target import describes as d

DESCRIBES = d.standard()
ALL_ON = {"sync_contacts": True, "sync_accounts": True}

JANE = {
    "id": "c-1",
    "email": "  Jane.Doe@Sales.Acme.com ",
    "first_name": "Jane",
    "last_name": "Doe",
    "company": "Acme Ltd",
    "phone": "+44 20 7946 0000",
    "job_title": "CTO",
    "website": "https://acme.com",
    "status": "qualified",
    "score": Decimal("87.5"),
    "created_at": dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
    "qualification": [
        {"question_id": "q_budget", "question": "What is your budget?", "answer": "50k"},
        {"question_id": "q_team", "question": "Team size?", "answer": 12},
    ],
    "data_capture": {"budget": "10k", "interests": ["Analytics", "platform"]},
}


def mapped(record=JANE, config=None, describes=DESCRIBES, stream="contacts"):
    settings = load_sync_settings(config or {})
    return map_record(record, settings.streams[stream], settings, describes)


def lead_config(**fields):
    return {"streams": {"contacts": {"objects": {"Lead": {"fields": fields}}}}}


# --- the shipped default ----------------------------------------------------------------


def test_default_lead_payload():
    out = mapped()
    assert out.ok
    assert (out.stream, out.key, out.email) == ("contacts", "c-1", "jane.doe@sales.acme.com")
    assert (out.email_domain, out.domain, out.free_mail) == ("acme.com", "acme.com", False)
    assert list(out.payloads) == ["Lead"]
    assert out.payloads["Lead"] == {
        "FirstName": ("Jane", "if_empty"),
        "LastName": ("Doe", "if_empty"),
        "Email": ("jane.doe@sales.acme.com", "on_create"),
        "Phone": ("+44 20 7946 0000", "if_empty"),
        "Title": ("CTO", "if_empty"),
        "Company": ("Acme Ltd", "if_empty"),
        "Website": ("https://acme.com", "if_empty"),
        "Description": (
            "Q: What is your budget?\nA: 50k\n\nQ: Team size?\nA: 12",
            "always",
        ),
        "LeadSource": ("Web", "if_empty"),
    }
    assert out.issues == []
    assert out.warnings == []
    assert out.missing_required == {}


def test_sparse_contact_gets_placeholders_as_if_empty():
    out = mapped({"id": "c-2", "email": "x@gmail.com"})
    lead = out.payloads["Lead"]
    assert lead["LastName"] == ("[not provided]", "if_empty")
    assert lead["Company"] == ("[not provided]", "if_empty")  # free-mail: no company domain
    assert "FirstName" not in lead
    assert "Description" not in lead
    assert out.missing_required == {}


def test_company_falls_back_to_the_company_domain():
    out = mapped({"id": "c-3", "email": "x@mail.acme.co.uk"})
    assert out.payloads["Lead"]["Company"] == ("acme.co.uk", "if_empty")


def test_all_objects_in_write_order_with_account_for_a_company_domain():
    out = mapped(config=ALL_ON)
    assert list(out.payloads) == ["Account", "Contact", "Lead"]
    assert out.payloads["Account"] == {
        "Name": ("Acme Ltd", "if_empty"),
        "Website": ("https://acme.com", "if_empty"),
    }
    contact = out.payloads["Contact"]
    assert contact["LastName"] == ("Doe", "if_empty")
    assert contact["Description"][1] == "if_empty"
    assert "Company" not in contact


@pytest.mark.parametrize("email", ["jane@gmail.com", "jane@mailinator.com", "jane@yahoo.co.uk"])
def test_free_mail_and_disposable_never_make_an_account(email):
    out = mapped({"id": "c", "email": email, "company": "Acme"}, config=ALL_ON)
    assert out.free_mail is True
    assert out.domain is None
    assert out.email_domain is not None
    assert list(out.payloads) == ["Contact", "Lead"]
    assert out.issues == []


def test_allow_and_deny_lists_decide_accounts():
    allow = mapped(
        {"id": "c", "email": "a@alibaba.com"}, {**ALL_ON, "free_mail_allow": ["alibaba.com"]}
    )
    assert allow.payloads["Account"]["Name"] == ("alibaba.com", "if_empty")
    deny = mapped({"id": "c", "email": "a@acme.com"}, {**ALL_ON, "free_mail_deny": ["acme.com"]})
    assert "Account" not in deny.payloads
    assert deny.free_mail is True


def test_account_match_field_is_filled_on_create():
    config = {**ALL_ON, "account_match_field": "Domain__c"}
    out = mapped(config=config)
    assert out.payloads["Account"]["Domain__c"] == ("acme.com", "on_create")
    no_website = {
        **ALL_ON,
        "streams": {"contacts": {"objects": {"Account": {"fields": {"Website": None}}}}},
    }
    assert mapped(config=no_website).payloads["Account"]["Website"] == (
        "https://acme.com",
        "on_create",
    )


# --- record-level issues ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"id": "c", "email": "o'brien\"x@acme.com"}, "INVALID_EMAIL_ADDRESS"),
        ({"id": "c", "email": "x' OR Name != '@acme.com"}, "INVALID_EMAIL_ADDRESS"),
        ({"id": "c", "email": "  "}, "MISSING_EMAIL"),
        ({"id": "c"}, "MISSING_EMAIL"),
        ({"email": "a@acme.com"}, "MISSING_KEY"),
    ],
)
def test_record_level_issues_stop_every_object(record, code):
    out = mapped(record, config=ALL_ON)
    assert not out.ok
    assert [(i.object, i.field, i.code) for i in out.issues] == [(None, None, code)]
    assert out.payloads == {}
    assert out.failed("Lead")


def test_key_is_text():
    assert mapped({"id": Decimal("12"), "email": "a@acme.com"}).key == "12"
    assert mapped({"id": 7, "email": "a@acme.com"}).key == "7"


# --- coercion per field type ------------------------------------------------------------


def meta(name, sobject="Lead"):
    return d.meta_of(DESCRIBES, sobject, name)


def test_text_is_truncated_with_a_warning_naming_everything():
    out = mapped(config=lead_config(Budget__c="data_capture.budget * 5"))
    assert out.payloads["Lead"]["Budget__c"] == ("10k" * 5, "always")
    assert out.warnings == []
    long = mapped(config=lead_config(Budget__c="'x' * 25"))
    assert long.payloads["Lead"]["Budget__c"] == ("x" * 20, "always")
    assert long.warnings == [
        "contacts record c-1: Lead.Budget__c truncated to 20 characters (was 25)"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  padded  ", "padded"),
        (True, "true"),
        (Decimal("85.50"), "85.5"),
        (3.0, "3"),
        (["a", "", "b"], "a, b"),
        (
            dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:00:00.000Z",
        ),
        (dt.date(2024, 5, 1), "2024-05-01"),
        ({"b": 1, "a": Decimal("2")}, '{"a": 2, "b": 1}'),
    ],
)
def test_text_coercion(value, expected):
    assert coerce(value, meta("Title")) == (expected, None)


def test_multipicklist_joins_and_checks_each_value():
    field = meta("Product_Interest__c")
    assert coerce(["Analytics", "platform", "Analytics"], field) == ("Analytics;Platform", None)
    assert coerce("Integrations; analytics", field) == ("Integrations;Analytics", None)
    with pytest.raises(FieldValueError) as caught:
        coerce(["Analytics", "Gaming"], field)
    assert caught.value.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_picklist_takes_the_canonical_value_and_allows_any_when_unrestricted():
    assert coerce("web", meta("LeadSource")) == ("Web", None)
    assert coerce("Chatbot", meta("LeadSource")) == ("Chatbot", None)
    with pytest.raises(FieldValueError):
        coerce("Email", meta("Channel__c"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("TRUE", True),
        (" 1 ", True),
        ("y", True),
        ("on", True),
        (True, True),
        (1, True),
        (Decimal("0"), False),
        ("no", False),
        ("false", False),
        ("0", False),
        ("off", False),
    ],
)
def test_boolean_coercion(value, expected):
    assert coerce(value, meta("Opted_In__c")) == (expected, None)


@pytest.mark.parametrize("value", ["maybe", "", [1]])
def test_bad_boolean_is_a_field_error(value):
    with pytest.raises(FieldValueError) as caught:
        coerce(value, meta("Opted_In__c"))
    assert caught.value.code == "INVALID_TYPE_ON_FIELD_IN_RECORD"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("NumberOfEmployees", "42", 42),
        ("NumberOfEmployees", Decimal("42.0"), 42),
        ("NumberOfEmployees", 42.0, 42),
        ("AnnualRevenue", Decimal("1234.567"), 1234.57),
        ("AnnualRevenue", "99", 99.0),
        ("Score__c", Decimal("87.456"), 87.46),
        ("Score__c", 3, 3.0),
        ("Fit__c", "85%", 85),
        ("Fit__c", 84.6, 85),
    ],
)
def test_number_coercion(name, value, expected):
    result, _ = coerce(value, meta(name))
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("NumberOfEmployees", "lots", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("NumberOfEmployees", 4.5, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("NumberOfEmployees", True, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("NumberOfEmployees", 10**9, "NUMBER_OUTSIDE_VALID_RANGE"),
        ("Score__c", "NaN", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("Score__c", 1000, "NUMBER_OUTSIDE_VALID_RANGE"),
        ("AnnualRevenue", {"x": 1}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    ],
)
def test_bad_numbers_are_field_errors(name, value, code):
    with pytest.raises(FieldValueError) as caught:
        coerce(value, meta(name))
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.UTC), "2024-05-01"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        ("2024-05-01", "2024-05-01"),
        ("2024-05-01T10:00:00Z", "2024-05-01"),
    ],
)
def test_date_coercion(value, expected):
    assert coerce(value, meta("Demo_Date__c")) == (expected, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC), "2024-05-01T12:30:15.123Z"),
        (
            dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:30:00.000Z",
        ),
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00.000Z"),  # naive = UTC
        ("2024-05-01T12:30:00.000+0000", "2024-05-01T12:30:00.000Z"),
        ("2024-05-01T12:30:00Z", "2024-05-01T12:30:00.000Z"),
        ("2024-05-01T08:30:00-04:00", "2024-05-01T12:30:00.000Z"),
        (dt.date(2024, 5, 1), "2024-05-01T00:00:00.000Z"),
        ("2024-05-01", "2024-05-01T00:00:00.000Z"),
    ],
)
def test_datetime_coercion(value, expected):
    assert coerce(value, meta("First_Seen__c")) == (expected, None)


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", 12])
def test_bad_dates_are_field_errors(value):
    with pytest.raises(FieldValueError):
        coerce(value, meta("Demo_Date__c"))


def test_reference_and_email_types():
    assert coerce(" 0015e00000AbCdEAAV ", meta("AccountId", "Contact")) == (
        "0015e00000AbCdEAAV",
        None,
    )
    assert coerce(" Jane@ACME.com", meta("Email")) == ("jane@acme.com", None)
    with pytest.raises(FieldValueError) as caught:
        coerce("jane at acme", meta("Email"))
    assert caught.value.code == "INVALID_EMAIL_ADDRESS"


def test_without_describe_values_only_become_json_safe():
    assert coerce(Decimal("2.5"), None) == (2.5, None)
    assert coerce(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), None) == (
        "2024-05-01T00:00:00.000Z",
        None,
    )
    out = mapped(config=lead_config(Score__c="score"), describes={})
    assert out.payloads["Lead"]["Score__c"] == (87.5, "always")
    assert out.missing_required == {}


# --- object-level issues ----------------------------------------------------------------


def test_restricted_picklist_value_drops_that_object_only():
    config = {
        **ALL_ON,
        "streams": {"contacts": {"objects": {"Lead": {"fields": {"Channel__c": "'Phone'"}}}}},
    }
    out = mapped(config=config)
    assert out.ok
    assert [(i.object, i.field, i.code) for i in out.issues] == [
        ("Lead", "Channel__c", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    ]
    assert "Phone" in out.issues[0].message
    assert list(out.payloads) == ["Account", "Contact"]
    assert out.failed("Lead")
    assert not out.failed("Contact")


def test_invalid_email_in_an_email_field_is_caught_before_sending():
    config = {
        "streams": {"contacts": {"objects": {"Lead": {"fields": {"Email": "data_capture.alt"}}}}}
    }
    out = mapped({**JANE, "data_capture": {"alt": "jane(at)acme.com"}}, config=config)
    assert [(i.object, i.field, i.code) for i in out.issues] == [
        ("Lead", "Email", "INVALID_EMAIL_ADDRESS")
    ]
    assert out.payloads == {}


def test_expression_error_is_a_field_issue():
    out = mapped(config=lead_config(Score__c="score + 'x'"))
    issue = out.issues[0]
    assert (issue.object, issue.field, issue.code) == ("Lead", "Score__c", "EXPRESSION_ERROR")
    assert "streams.contacts.objects.Lead.fields.Score__c.expr" in issue.message
    assert "Lead" not in out.payloads


def test_bad_number_value_is_a_field_issue():
    out = mapped(config=lead_config(NumberOfEmployees="answer('q_budget')"))
    assert [(i.field, i.code) for i in out.issues] == [
        ("NumberOfEmployees", "INVALID_TYPE_ON_FIELD_IN_RECORD")
    ]


def test_missing_required_lists_fields_a_create_would_lack():
    config = {
        "streams": {
            "contacts": {
                "objects": {
                    "Lead": {"defaults": {"Company": None}, "fields": {"Company": "company"}}
                }
            }
        }
    }
    out = mapped({"id": "c", "email": "a@acme.com", "last_name": "Doe"}, config=config)
    assert out.missing_required == {"Lead": ["Company"]}
    assert "Lead" in out.payloads


# --- qualification answers, Data Capture, sink-shaped values -----------------------------


def test_custom_fields_from_answers_and_data_capture():
    config = lead_config(
        Budget__c={"expr": "answer('What is your budget?')", "policy": "always"},
        Product_Interest__c="data_capture.interests",
        Score__c="score",
        First_Seen__c="created_at",
        Opted_In__c="data_capture.get('opt_in', 'no')",
    )
    lead = mapped(config=config).payloads["Lead"]
    assert lead["Budget__c"] == ("50k", "always")
    assert lead["Product_Interest__c"] == ("Analytics;Platform", "always")
    assert lead["Score__c"] == (87.5, "always")
    assert lead["First_Seen__c"] == ("2024-05-01T12:30:15.123Z", "always")
    assert lead["Opted_In__c"] == (False, "always")


def test_false_and_zero_are_values_not_empties():
    config = lead_config(Opted_In__c="False", NumberOfEmployees="0")
    lead = mapped(config=config).payloads["Lead"]
    assert lead["Opted_In__c"] == (False, "always")
    assert lead["NumberOfEmployees"] == (0, "always")


def test_on_create_field_default_keeps_on_create():
    config = lead_config(
        Rating={"expr": "data_capture.rating", "default": "Warm", "policy": "on_create"}
    )
    assert mapped(config=config).payloads["Lead"]["Rating"] == ("Warm", "on_create")


def test_other_stream_by_config_alone():
    config = {
        "sync_contacts": True,
        "streams": {
            "people": {
                "key": "str(vid)",
                "email": "properties.email",
                "objects": {
                    "Contact": {
                        "fields": {
                            "LastName": "properties.lastname",
                            "Birthdate": "properties.dob",
                        }
                    }
                },
            }
        },
    }
    record = {"vid": 9, "properties": {"email": "A@B.io", "lastname": "Li", "dob": "1990-02-03"}}
    out = mapped(record, config=config, stream="people")
    assert (out.key, out.email) == ("9", "a@b.io")
    assert out.payloads == {
        "Contact": {"LastName": ("Li", "always"), "Birthdate": ("1990-02-03", "always")}
    }


# --- comparing with Salesforce's current values -----------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "name", "equal"),
    [
        ("2024-05-01T12:30:00.000Z", "2024-05-01T12:30:00.000+0000", "First_Seen__c", True),
        ("2024-05-01T12:30:00.000Z", "2024-05-01T12:31:00.000+0000", "First_Seen__c", False),
        ("jane@acme.com", "Jane@ACME.com", "Email", True),
        ("Analytics;Platform", "Platform;Analytics", "Product_Interest__c", True),
        ("Analytics", "Platform;Analytics", "Product_Interest__c", False),
        (87.46, 87.46, "Score__c", True),
        (5, 5.0, "NumberOfEmployees", True),
        ("0015e00000AbCdE", "0015e00000AbCdEAAV", "ConvertedContactId", True),
        ("Doe", "doe", "LastName", False),
        ("Doe", None, "LastName", False),
        (None, "", "LastName", True),
        (True, False, "Opted_In__c", False),
    ],
)
def test_values_equal(ours, theirs, name, equal):
    assert values_equal(ours, theirs, meta(name)) is equal


def test_needs_write_follows_the_policy():
    name = meta("LastName")
    assert needs_write("Doe", "on_create", None, exists=False)
    assert not needs_write("Doe", "on_create", "Smith", exists=True)
    assert needs_write("Doe", "always", "Smith", exists=True, meta=name)
    assert not needs_write("Doe", "always", "Doe", exists=True, meta=name)
    assert not needs_write("Doe", "if_empty", "Smith", exists=True, meta=name)
    assert needs_write("Doe", "if_empty", None, exists=True, meta=name)
    assert needs_write("Doe", "if_empty", "  ", exists=True, meta=name)


def test_placeholder_gives_way_to_the_real_value_but_never_overwrites():
    placeholder = "[not provided]"
    assert needs_write("Doe", "if_empty", placeholder, exists=True, placeholder=placeholder)
    assert not needs_write(
        placeholder, "if_empty", placeholder, exists=True, placeholder=placeholder
    )
    assert not needs_write(placeholder, "if_empty", "Doe", exists=True, placeholder=placeholder)


def test_replay_of_the_same_record_needs_no_write():
    out = mapped(config={**ALL_ON, "account_match_field": "Domain__c"})
    for sobject, payload in out.payloads.items():
        current = {name: value for name, (value, _) in payload.items()}
        for name, (value, policy) in payload.items():
            field = d.meta_of(DESCRIBES, sobject, name)
            assert not needs_write(value, policy, current[name], exists=True, meta=field), name
