"""Describe-driven start-up checks: every problem named by stream, object and field."""

from __future__ import annotations

import pytest

from target_salesforce_aimdoc.checks import check_settings, ensure_valid
from target_salesforce_aimdoc.settings import ConfigError, ConfigErrors, load_sync_settings
from tests.target import describes as d

ALL_ON = {"sync_contacts": True, "sync_accounts": True}
LEAD = "streams.contacts.objects.Lead"


def problems(config=None, describes=None):
    settings = load_sync_settings(config or {})
    return [str(error) for error in check_settings(settings, describes or d.standard())]


def lead(**lead_config):
    return {"streams": {"contacts": {"objects": {"Lead": lead_config}}}}


def test_shipped_default_passes_with_every_object_on():
    assert problems() == []
    assert problems(ALL_ON) == []
    assert problems({**ALL_ON, "account_match_field": "Domain__c"}) == []


def test_shipped_default_passes_against_the_emulated_org():
    metadata = pytest.importorskip("aimdoc_emulators.salesforce.metadata")
    catalog = metadata.Catalog()
    describes = {name: catalog.sobject(name).describe("59.0") for name in d.standard()}
    assert problems(ALL_ON, describes) == []


def test_unknown_field_is_named():
    assert problems(lead(fields={"Foo__c": "company"})) == [
        f"{LEAD}.fields.Foo__c: no such field on Lead"
    ]


def test_unknown_field_hints():
    assert problems(lead(fields={"lastname": "last_name"})) == [
        f"{LEAD}.fields.lastname: no such field on Lead; the API name is LastName",
        # the shipped LastName rule still stands, so nothing is required-missing
    ]
    assert problems(lead(fields={"Budjet__c": "x"})) == [
        f"{LEAD}.fields.Budjet__c: no such field on Lead; did you mean Budget__c?"
    ]


def test_unknown_field_in_defaults_is_named_there():
    assert problems(lead(defaults={"Region__c": "EU"})) == [
        f"{LEAD}.defaults.Region__c: no such field on Lead"
    ]


def test_non_createable_field():
    assert problems(lead(fields={"ConvertedContactId": {"expr": "x", "policy": "on_create"}})) == [
        f"{LEAD}.fields.ConvertedContactId: Lead.ConvertedContactId is not createable "
        "(Salesforce sets it); remove the mapping"
    ]


@pytest.mark.parametrize("policy", ["always", "if_empty"])
def test_non_updateable_field_with_an_updating_policy(policy):
    assert problems(lead(fields={"Created_Only__c": {"expr": "x", "policy": policy}})) == [
        f"{LEAD}.fields.Created_Only__c: Lead.Created_Only__c is not updateable; "
        "use policy on_create"
    ]


def test_non_updateable_field_on_create_is_fine():
    assert problems(lead(fields={"Created_Only__c": {"expr": "x", "policy": "on_create"}})) == []


def test_non_updateable_default_needs_on_create():
    assert problems(lead(defaults={"Created_Only__c": "chat"})) == [
        f"{LEAD}.defaults.Created_Only__c: Lead.Created_Only__c is not updateable; "
        "use policy on_create"
    ]
    on_create = {"Created_Only__c": {"default": "chat", "policy": "on_create"}}
    assert problems(lead(fields=on_create)) == []


@pytest.mark.parametrize(
    ("config", "path"),
    [
        (lead(fields={"LastName": None}, defaults={"LastName": None}), f"{LEAD}.fields.LastName"),
        (lead(fields={"Company": None}, defaults={"Company": None}), f"{LEAD}.fields.Company"),
        (
            {
                **ALL_ON,
                "streams": {
                    "contacts": {
                        "objects": {
                            "Contact": {
                                "fields": {"LastName": None},
                                "defaults": {"LastName": None},
                            }
                        }
                    }
                },
            },
            "streams.contacts.objects.Contact.fields.LastName",
        ),
        (
            {
                **ALL_ON,
                "streams": {"contacts": {"objects": {"Account": {"fields": {"Name": None}}}}},
            },
            "streams.contacts.objects.Account.fields.Name",
        ),
    ],
)
def test_required_field_without_mapping_or_default(config, path):
    assert problems(config) == [
        f"{path}: required on {path.split('.')[3]} (not nillable, no default on create): "
        "map it or give a default"
    ]


def test_a_default_alone_satisfies_a_required_field():
    assert problems(lead(fields={"LastName": None})) == []  # the shipped default remains


def test_custom_required_field():
    describes = d.with_field(d.standard(), "Lead", d.field("Region__c", nillable=False))
    assert problems({}, describes) == [
        f"{LEAD}.fields.Region__c: required on Lead (not nillable, no default on create): "
        "map it or give a default"
    ]
    assert problems(lead(defaults={"Region__c": "EU"}), describes) == []


def test_defaulted_and_read_only_required_fields_are_not_asked_for():
    found = problems()
    for name in ("Status", "OwnerId", "IsConverted", "HasOptedOutOfEmail", "Id", "CreatedDate"):
        assert not any(f".{name}:" in problem for problem in found)


def test_invalid_default_for_a_restricted_picklist():
    assert problems(lead(defaults={"Channel__c": "Phone"})) == [
        f"{LEAD}.defaults.Channel__c: default 'Phone' does not fit: "
        "Channel__c: bad value for restricted picklist field: Phone"
    ]


def test_compound_field_cannot_be_written():
    describes = d.with_field(d.standard(), "Lead", d.field("Address", "address"))
    found = problems(lead(fields={"Address": "x"}), describes)
    assert found == [
        f"{LEAD}.fields.Address: Lead.Address is a address field and cannot be written"
    ]


def test_contact_account_id_is_owned_by_account_sync():
    config = {
        **ALL_ON,
        "streams": {
            "contacts": {
                "objects": {"Contact": {"fields": {"AccountId": "data_capture.sf_account"}}}
            }
        },
    }
    assert problems(config) == [
        "streams.contacts.objects.Contact.fields.AccountId: Account sync sets the Contact's "
        "AccountId; remove this mapping"
    ]
    assert problems({**config, "sync_accounts": False}) == []


def test_missing_describe_is_named():
    describes = {"Lead": d.lead()}
    assert problems(ALL_ON, describes) == [
        "streams.contacts.objects.Account: no describe for Account: the object is missing or "
        "not visible",
        "streams.contacts.objects.Contact: no describe for Contact: the object is missing or "
        "not visible",
    ]


def test_object_the_user_cannot_create():
    describes = d.standard()
    describes["Lead"]["createable"] = False
    assert problems({}, describes) == [f"{LEAD}: Lead is not createable for this user"]


# --- the Account match field -------------------------------------------------------------


def test_unknown_account_match_field():
    assert problems({**ALL_ON, "account_match_field": "Domian__c"}) == [
        "account_match_field: no such field on Account: Domian__c"
    ]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (d.field("Domain__c", "int"), "Account.Domain__c is a int field and cannot hold a domain"),
        (
            d.field("Domain__c", "textarea", 255),
            "Account.Domain__c is a textarea field and cannot hold a domain",
        ),
        (
            d.field("Domain__c", "string", 255, filterable=False),
            "Account.Domain__c cannot be used in a SOQL filter",
        ),
        (
            d.field("Domain__c", "string", 255, createable=False),
            "Account.Domain__c is not createable, so created Accounts would never match; "
            "choose another field or turn off create_accounts",
        ),
    ],
)
def test_account_match_field_must_hold_a_domain(meta, message):
    describes = d.with_field(d.standard(), "Account", meta)
    found = problems({**ALL_ON, "account_match_field": "Domain__c"}, describes)
    assert f"account_match_field: {message}" in found


def test_match_field_not_checked_without_account_sync():
    assert problems({"account_match_field": "Nope__c"}) == []


def test_required_match_field_is_filled_by_the_target():
    required = d.field("Domain__c", "string", 255, nillable=False)
    describes = d.with_field(d.standard(), "Account", required)
    assert problems({**ALL_ON, "account_match_field": "Domain__c"}, describes) == []


# --- all at once ------------------------------------------------------------------------


def test_every_problem_is_returned_and_raised_before_any_write():
    config = {
        **ALL_ON,
        "account_match_field": "Nope__c",
        "streams": {
            "contacts": {
                "objects": {
                    "Lead": {"fields": {"Foo__c": "x", "Created_Only__c": "x"}},
                    "Contact": {"fields": {"Bar__c": "x"}},
                }
            }
        },
    }
    settings = load_sync_settings(config)
    found = check_settings(settings, d.standard())
    assert [error.path for error in found] == [
        "streams.contacts.objects.Contact.fields.Bar__c",
        f"{LEAD}.fields.Foo__c",
        f"{LEAD}.fields.Created_Only__c",
        "account_match_field",
    ]
    with pytest.raises(ConfigErrors) as caught:
        ensure_valid(settings, d.standard())
    assert len(caught.value.errors) == 4
    assert "no such field on Lead" in str(caught.value)


def test_ensure_valid_raises_one_error_plainly_and_nothing_when_fine():
    settings = load_sync_settings(lead(fields={"Foo__c": "x"}))
    with pytest.raises(ConfigError) as caught:
        ensure_valid(settings, d.standard())
    assert not isinstance(caught.value, ConfigErrors)
    assert str(caught.value) == f"{LEAD}.fields.Foo__c: no such field on Lead"
    ensure_valid(load_sync_settings({}), d.standard())


def test_settings_say_which_describes_are_needed():
    assert load_sync_settings({}).sobjects == {"Lead"}
    assert load_sync_settings(ALL_ON).sobjects == {"Account", "Contact", "Lead"}
