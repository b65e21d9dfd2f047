"""Describe payloads (``/sobjects/{Type}/describe``) for pure tests: standard fields plus a few
custom ones, shaped like Salesforce's (name, type, length, createable, updateable, nillable,
defaultedOnCreate, picklistValues, restrictedPicklist, externalId, idLookup, referenceTo...)."""

from __future__ import annotations

import copy
from typing import Any


def field(name: str, kind: str = "string", length: int = 0, **kw: Any) -> dict[str, Any]:
    """One describe field; writable and nillable unless told otherwise."""
    meta = {
        "name": name,
        "label": name,
        "type": kind,
        "length": length,
        "createable": True,
        "updateable": True,
        "nillable": True,
        "defaultedOnCreate": False,
        "picklistValues": [],
        "restrictedPicklist": False,
        "externalId": False,
        "idLookup": False,
        "referenceTo": [],
        "relationshipName": None,
        "filterable": kind not in {"textarea", "base64"},
        "precision": 0,
        "scale": 0,
        "digits": 0,
    }
    values = kw.pop("values", None)
    if values is not None:
        meta["picklistValues"] = [
            {"active": True, "defaultValue": False, "label": v, "value": v, "validFor": None}
            for v in values
        ]
    meta.update(kw)
    return meta


def readonly(meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "createable": False, "updateable": False}


def system_fields() -> list[dict[str, Any]]:
    return [
        readonly(field("Id", "id", 18, nillable=False, defaultedOnCreate=True, idLookup=True)),
        readonly(field("IsDeleted", "boolean", nillable=False, defaultedOnCreate=True)),
        readonly(field("CreatedDate", "datetime", nillable=False, defaultedOnCreate=True)),
        readonly(field("LastModifiedDate", "datetime", nillable=False, defaultedOnCreate=True)),
        field(
            "OwnerId",
            "reference",
            18,
            nillable=False,
            defaultedOnCreate=True,
            referenceTo=["User"],
            relationshipName="Owner",
        ),
    ]


LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]


def person_fields() -> list[dict[str, Any]]:
    return [
        field("FirstName", "string", 40),
        field("LastName", "string", 80, nillable=False),
        readonly(field("Name", "string", 121)),
        field("Email", "email", 80, idLookup=True),
        field("Phone", "phone", 40),
        field("Title", "string", 128),
        field("LeadSource", "picklist", 255, values=LEAD_SOURCES),
        field("Description", "textarea", 32000),
        field("HasOptedOutOfEmail", "boolean", nillable=False, defaultedOnCreate=True),
    ]


def describe(name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "createable": True,
        "updateable": True,
        "fields": [*system_fields(), *fields],
    }


def lead(*extra: dict[str, Any]) -> dict[str, Any]:
    return describe(
        "Lead",
        [
            *person_fields(),
            field("Company", "string", 255, nillable=False),
            field("Website", "url", 255),
            field(
                "Status",
                "picklist",
                255,
                nillable=False,
                defaultedOnCreate=True,
                restrictedPicklist=True,
                values=["Open - Not Contacted", "Working - Contacted", "Closed - Converted"],
            ),
            field("Rating", "picklist", 255, values=["Hot", "Warm", "Cold"]),
            field("NumberOfEmployees", "int", digits=8),
            field("AnnualRevenue", "currency", precision=18, scale=2),
            field(
                "IsConverted", "boolean", nillable=False, defaultedOnCreate=True, updateable=False
            ),
            readonly(field("ConvertedDate", "date")),
            readonly(field("ConvertedContactId", "reference", 18, referenceTo=["Contact"])),
            # custom fields an org might add (tests and docs only; never in the shipped default)
            field("Budget__c", "string", 20, custom=True),
            field("Score__c", "double", precision=5, scale=2, custom=True),
            field("Fit__c", "percent", precision=5, scale=0, custom=True),
            field("Opted_In__c", "boolean", nillable=False, defaultedOnCreate=True, custom=True),
            field(
                "Product_Interest__c",
                "multipicklist",
                4099,
                restrictedPicklist=True,
                values=["Platform", "Analytics", "Integrations"],
                custom=True,
            ),
            field(
                "Channel__c",
                "picklist",
                40,
                restrictedPicklist=True,
                values=["Chat", "Form"],
                custom=True,
            ),
            field("First_Seen__c", "datetime", custom=True),
            field("Demo_Date__c", "date", custom=True),
            field("Aimdoc_Id__c", "string", 64, externalId=True, custom=True),
            field("Created_Only__c", "string", 20, updateable=False, custom=True),
            readonly(field("Address", "address")),
            *extra,
        ],
    )


def contact(*extra: dict[str, Any]) -> dict[str, Any]:
    return describe(
        "Contact",
        [
            *person_fields(),
            field(
                "AccountId", "reference", 18, referenceTo=["Account"], relationshipName="Account"
            ),
            field("Birthdate", "date"),
            *extra,
        ],
    )


def account(*extra: dict[str, Any]) -> dict[str, Any]:
    return describe(
        "Account",
        [
            field("Name", "string", 255, nillable=False),
            field("Website", "url", 255),
            field("Description", "textarea", 32000),
            field("NumberOfEmployees", "int", digits=8),
            field("Domain__c", "string", 255, externalId=True, custom=True),
            *extra,
        ],
    )


def standard() -> dict[str, dict[str, Any]]:
    """Describes keyed by object name, as the target passes them."""
    return {"Lead": lead(), "Contact": contact(), "Account": account()}


def with_field(describes: dict[str, dict[str, Any]], sobject: str, meta: dict[str, Any]):
    """A copy of ``describes`` with one field added (or replaced) on ``sobject``."""
    out = copy.deepcopy(describes)
    fields = [f for f in out[sobject]["fields"] if f["name"] != meta["name"]]
    out[sobject]["fields"] = [*fields, meta]
    return out


def meta_of(describes: dict[str, dict[str, Any]], sobject: str, name: str) -> dict[str, Any]:
    return next(f for f in describes[sobject]["fields"] if f["name"] == name)
