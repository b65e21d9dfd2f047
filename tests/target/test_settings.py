"""Sync settings: schema, shipped default, merging, switches and errors naming the path."""

from __future__ import annotations

import copy
import types

import jsonschema
import pytest
from singer_sdk.plugin_base import JSONSchemaValidator

from target_salesforce_aimdoc.settings import (
    DEFAULT_STREAMS,
    SETTINGS_PROPERTIES,
    SETTINGS_SCHEMA,
    STREAMS_SCHEMA,
    ConfigError,
    ConfigErrors,
    load_sync_settings,
)


def contacts(config=None):
    return load_sync_settings(config or {}).streams["contacts"]


def lead_fields(config=None):
    return contacts(config).objects["Lead"].fields


def error_of(config) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_sync_settings(config)
    return caught.value


def with_lead(**lead):
    return {"streams": {"contacts": {"objects": {"Lead": lead}}}}


# --- the shipped default ---------------------------------------------------------------


def test_credentials_only_gives_lead_sync_of_contacts():
    settings = load_sync_settings({"client_id": "x", "client_secret": "y"})
    assert set(settings.streams) == {"contacts"}
    stream = settings.streams["contacts"]
    assert [obj.sobject for obj in stream.enabled_objects] == ["Lead"]
    assert stream.key.source == "id"
    assert stream.email.source == "email"
    assert [rule.name for rule in stream.filters] == ["has_email", "not_disqualified"]
    assert settings.sobjects == {"Lead"}


def test_default_lead_fields_and_policies():
    fields = lead_fields()
    summary = {
        name: (rule.expr.source if rule.expr else None, rule.constant, rule.policy)
        for name, rule in fields.items()
    }
    assert summary == {
        "FirstName": ("first_name", None, "if_empty"),
        "LastName": ("last_name", "[not provided]", "if_empty"),
        "Email": ("email", None, "on_create"),
        "Phone": ("phone", None, "if_empty"),
        "Title": ("job_title", None, "if_empty"),
        "Company": ("company or company_domain(email)", "[not provided]", "if_empty"),
        "Website": ("website", None, "if_empty"),
        "Description": ("qualification_text(captured('qualification'))", None, "always"),
        "LeadSource": (None, "Web", "always"),
    }
    assert contacts().objects["Lead"].defaults == {
        "LastName": "[not provided]",
        "Company": "[not provided]",
        "LeadSource": "Web",
    }


def test_default_contact_and_account():
    stream = contacts()
    contact = stream.objects["Contact"].fields
    assert {"FirstName", "LastName", "Email", "Phone", "Title", "Description"} <= set(contact)
    assert "Company" not in contact
    account = stream.objects["Account"].fields
    assert account["Name"].expr.source == "company or company_domain(email)"
    assert account["Website"].expr.source == "'https://' + company_domain(email)"
    assert {rule.policy for rule in account.values()} == {"if_empty"}


def test_default_uses_standard_fields_only():
    for obj in DEFAULT_STREAMS["contacts"]["objects"].values():
        for name in [*obj.get("fields", {}), *obj.get("defaults", {})]:
            assert not name.endswith("__c"), name


def test_default_streams_are_valid_against_the_schema():
    jsonschema.Draft202012Validator(STREAMS_SCHEMA).validate(DEFAULT_STREAMS)


def test_one_setting_turns_on_contacts_and_one_accounts():
    on = load_sync_settings({"sync_contacts": True, "sync_accounts": True})
    assert [o.sobject for o in on.streams["contacts"].enabled_objects] == [
        "Account",
        "Contact",
        "Lead",
    ]
    only_accounts = load_sync_settings({"sync_accounts": True, "sync_leads": False})
    assert [o.sobject for o in only_accounts.streams["contacts"].enabled_objects] == ["Account"]


def test_object_enabled_overrides_the_switch():
    config = {
        "sync_contacts": True,
        "streams": {"contacts": {"objects": {"Contact": {"enabled": False}}}},
    }
    assert [o.sobject for o in contacts(config).enabled_objects] == ["Lead"]


def test_top_level_defaults():
    settings = load_sync_settings({})
    assert settings.account_match_field == "Website"
    assert settings.create_accounts is True
    assert settings.lead_when_contact_exists is False
    assert settings.converted_lead_policy == "update_contact"
    assert settings.contact_account_policy == "if_empty"
    assert settings.tie_break == "last_modified"
    assert settings.map_config == {}
    for name, schema in SETTINGS_PROPERTIES.items():
        if "default" in schema:
            assert getattr(settings, name, schema["default"]) == schema["default"], name


def test_top_level_settings_are_carried():
    settings = load_sync_settings(
        {
            "account_match_field": "Domain__c",
            "create_accounts": False,
            "lead_when_contact_exists": True,
            "converted_lead_policy": "skip",
            "contact_account_policy": "never",
            "tie_break": "oldest",
            "stream_map_config": {"region": "eu"},
            "free_mail_allow": ["alibaba.com"],
            "free_mail_deny": ["acme-mail.com"],
        }
    )
    assert settings.account_match_field == "Domain__c"
    assert settings.create_accounts is False
    assert settings.lead_when_contact_exists is True
    assert settings.converted_lead_policy == "skip"
    assert settings.contact_account_policy == "never"
    assert settings.tie_break == "oldest"
    assert settings.map_config == {"region": "eu"}
    assert not settings.free_mail.is_free("x@alibaba.com")
    assert settings.free_mail.is_free("x@acme-mail.com")


# --- merging over the default -----------------------------------------------------------


def test_added_field_keeps_the_shipped_ones():
    fields = lead_fields(with_lead(fields={"Budget__c": {"expr": "answer('budget')"}}))
    assert fields["Budget__c"].expr.source == "answer('budget')"
    assert fields["Budget__c"].policy == "always"  # the object's policy
    assert "LastName" in fields
    assert "Company" in fields


def test_shorthand_replaces_the_expression_only():
    fields = lead_fields(with_lead(fields={"Company": "company"}))
    assert fields["Company"].expr.source == "company"
    assert fields["Company"].policy == "if_empty"
    assert fields["Company"].constant == "[not provided]"


def test_null_removes_a_shipped_field_default_object_or_stream():
    fields = lead_fields(with_lead(fields={"Title": None}, defaults={"LeadSource": None}))
    assert "Title" not in fields
    assert "LeadSource" not in fields
    assert "Lead" not in contacts(with_lead_none()).objects
    assert load_sync_settings({"streams": {"contacts": None}}).streams == {}


def with_lead_none():
    return {"streams": {"contacts": {"objects": {"Lead": None}}}}


def test_filters_replace_the_shipped_list():
    stream = contacts({"streams": {"contacts": {"filters": ["score >= 50"]}}})
    assert [rule.name for rule in stream.filters] == ["score >= 50"]
    assert contacts({"streams": {"contacts": {"filters": []}}}).filters == []


def test_object_policy_and_field_default():
    config = with_lead(
        policy="if_empty",
        fields={"Rating": {"expr": "'Hot' if score >= 80 else None", "default": "Cold"}},
    )
    lead = contacts(config).objects["Lead"]
    assert lead.policy == "if_empty"
    assert lead.fields["Rating"].policy == "if_empty"
    assert lead.fields["Rating"].constant == "Cold"
    assert lead.defaults["Rating"] == "Cold"
    assert lead.fields["Description"].policy == "always"  # explicit in the shipped default


def test_merge_does_not_touch_the_shipped_default():
    before = copy.deepcopy(DEFAULT_STREAMS)
    load_sync_settings(with_lead(fields={"LastName": None, "X__c": "1"}))
    assert before == DEFAULT_STREAMS


def test_any_stream_works_by_config_alone():
    config = {
        "streams": {
            "hubspot_contacts": {
                "key": "str(vid)",
                "email": "properties.email",
                "filters": [{"name": "lifecycle", "expr": "properties.stage == 'lead'"}],
                "objects": {
                    "Lead": {
                        "fields": {
                            "LastName": "properties.lastname",
                            "Company": "properties.company",
                        },
                        "defaults": {"LeadSource": "Partner Referral"},
                    }
                },
            }
        }
    }
    settings = load_sync_settings(config)
    stream = settings.streams["hubspot_contacts"]
    assert set(settings.streams) == {"contacts", "hubspot_contacts"}
    assert stream.key.evaluate({"vid": 42}) == "42"
    assert stream.email.evaluate({"properties": {"email": "a@b.co"}}) == "a@b.co"
    assert set(stream.objects["Lead"].fields) == {"LastName", "Company", "LeadSource"}
    assert "Contact" not in stream.objects


def test_other_stream_defaults_key_and_email():
    stream = load_sync_settings(
        {"streams": {"people": {"objects": {"Lead": {"fields": {"LastName": "name"}}}}}}
    ).streams["people"]
    assert stream.key.source == "id"
    assert stream.email.source == "email"
    assert stream.filters == []


# --- errors -----------------------------------------------------------------------------


def test_config_error_string_is_path_colon_message():
    error = ConfigError("streams.x.key", "bad")
    assert str(error) == "streams.x.key: bad"
    assert (error.path, error.message) == ("streams.x.key", "bad")


def test_bad_policy_names_its_path():
    error = error_of(with_lead(fields={"LastName": {"expr": "x", "policy": "sometimes"}}))
    assert error.path == "streams.contacts.objects.Lead.fields.LastName.policy"
    assert "'sometimes' is not one of" in error.message


@pytest.mark.parametrize(
    ("config", "path", "words"),
    [
        ({"sync_contacts": "yes"}, "sync_contacts", "not of type 'boolean'"),
        ({"tie_break": "newest"}, "tie_break", "is not one of"),
        ({"converted_lead_policy": "delete"}, "converted_lead_policy", "is not one of"),
        ({"streams": {"s": {"objects": {"Opportunity": {}}}}}, "streams.s.objects", "Opportunity"),
        (with_lead(fields={"1bad": "x"}), "streams.contacts.objects.Lead.fields", "1bad"),
        (with_lead(colour="red"), "streams.contacts.objects.Lead", "colour"),
        (
            with_lead(defaults={"LeadSource": {"a": 1}}),
            "streams.contacts.objects.Lead.defaults.LeadSource",
            "is not of type",
        ),
        (
            {"streams": {"contacts": {"filters": [{"name": "x"}]}}},
            "streams.contacts.filters[0]",
            "'expr' is a required property",
        ),
        ({"free_mail_deny": "gmail.com"}, "free_mail_deny", "not of type 'array'"),
    ],
)
def test_schema_errors_name_the_setting(config, path, words):
    error = error_of(config)
    assert error.path == path
    assert words in error.message


def test_expression_errors_name_the_setting():
    error = error_of(with_lead(fields={"Budget__c": "answer('budget' +"}))
    assert error.path == "streams.contacts.objects.Lead.fields.Budget__c.expr"
    assert "invalid expression" in error.message
    key_error = error_of({"streams": {"contacts": {"key": "nope(id)"}}})
    assert key_error.path == "streams.contacts.key"
    filter_error = error_of({"streams": {"contacts": {"filters": ["ok", "score >="]}}})
    assert filter_error.path == "streams.contacts.filters[1]"


def test_field_with_neither_expr_nor_default():
    error = error_of(with_lead(fields={"Budget__c": {"policy": "always"}}))
    assert error.path == "streams.contacts.objects.Lead.fields.Budget__c"


def test_stream_without_objects():
    error = error_of({"streams": {"people": {"key": "id"}}})
    assert str(error) == "streams.people.objects: map at least one object"


def test_free_mail_lists_are_checked():
    error = error_of({"free_mail_allow": ["GMail.com"], "free_mail_deny": ["gmail.com"]})
    assert error.path == "free_mail_deny"
    assert "gmail.com" in error.message
    bad = error_of({"free_mail_deny": ["acme.com", "not a domain"]})
    assert bad.path == "free_mail_deny[1]"


def test_all_problems_are_reported_together():
    config = with_lead(fields={"A__c": "x +", "B__c": {}, "C__c": "nope()"})
    with pytest.raises(ConfigErrors) as caught:
        load_sync_settings(config)
    paths = [error.path for error in caught.value.errors]
    assert paths == [
        "streams.contacts.objects.Lead.fields.A__c.expr",
        "streams.contacts.objects.Lead.fields.B__c",
        "streams.contacts.objects.Lead.fields.C__c.expr",
    ]
    text = str(caught.value)
    assert text.startswith("3 configuration problems:\n")
    assert all(path in text for path in paths)
    assert isinstance(caught.value, ConfigError)


# --- the schema as documentation and under singer-sdk -----------------------------------


def _nested(schema, depth=0):
    """(depth, subschema) for every schema object under ``schema``."""
    yield depth, schema
    for key in ("properties",):
        for sub in (schema.get(key) or {}).values():
            yield from _nested(sub, depth + 1)
    for key in ("additionalProperties", "items", "propertyNames"):
        if isinstance(schema.get(key), dict):
            yield from _nested(schema[key], depth + 1)
    for sub in schema.get("anyOf", []):
        yield from _nested(sub, depth + 1)


def test_every_setting_is_documented():
    for name, schema in SETTINGS_PROPERTIES.items():
        assert schema.get("description"), name
    for _, schema in _nested(STREAMS_SCHEMA):
        if schema.get("type") in ("object", ["object", "null"]) and "properties" in schema:
            for name, sub in schema["properties"].items():
                assert sub.get("description") or sub.get("anyOf"), name


def test_no_default_keyword_below_the_top_level():
    nested_defaults = [
        schema for depth, schema in _nested(SETTINGS_SCHEMA) if depth > 1 and "default" in schema
    ]
    assert nested_defaults == []


def test_singer_sdk_validation_leaves_streams_untouched():
    config = with_lead(fields={"Budget__c": {"expr": "answer('budget')"}})
    validated = copy.deepcopy(config)
    JSONSchemaValidator(SETTINGS_SCHEMA).validate(validated)
    assert validated["streams"] == config["streams"]
    assert validated["sync_leads"] is True  # top-level defaults are filled, harmlessly
    assert lead_fields(validated)["Company"].policy == "if_empty"


def test_accepts_the_read_only_config_mapping_singer_sdk_hands_out():
    config = types.MappingProxyType({"sync_contacts": True, "streams": {}})
    assert [o.sobject for o in contacts(config).enabled_objects] == ["Contact", "Lead"]
