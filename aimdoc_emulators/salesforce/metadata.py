"""Describe metadata of the emulated org: objects, fields, picklists, key prefixes.

Field properties follow Salesforce's field reference (spec §4.1); custom fields and picklist
restrictions can be added from a seed file (see ``Catalog.extend``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

TEXT_TYPES = frozenset(
    {"string", "email", "url", "phone", "textarea", "picklist", "multipicklist", "combobox"}
)
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
}


@dataclass(frozen=True)
class FieldMeta:
    """One field's describe properties (the subset clients and validation use)."""

    name: str
    label: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    case_sensitive: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    child_relationship_name: str | None = None  # the parent's name for its children
    cascade_delete: bool = False
    custom: bool = False
    calculated: bool = False
    precision: int = 0
    scale: int = 0

    @property
    def required_on_create(self) -> bool:
        """Salesforce's rule: createable, not nillable and not defaulted on create."""
        return self.createable and not self.nillable and not self.defaulted_on_create

    def describe(self) -> dict[str, Any]:
        """The field as ``/sobjects/{Type}/describe`` renders it."""
        default = self.default_value if self.type != "picklist" else None
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "byteLength": self.length * 3 if self.type in TEXT_TYPES else self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted_on_create,
            "defaultValue": default,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.id_lookup,
            "caseSensitive": self.case_sensitive,
            "custom": self.custom,
            "calculated": self.calculated,
            "filterable": self.type not in {"textarea", "base64"},
            "sortable": self.type not in {"textarea", "base64", "multipicklist"},
            "groupable": self.type in TEXT_TYPES | ID_TYPES | {"boolean", "date", "int"},
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default_value,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist_values
            ],
            "restrictedPicklist": self.restricted_picklist,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type == "int" else 0,
            "htmlFormatted": False,
            "autoNumber": False,
        }


@dataclass(frozen=True)
class ValidationRule:
    """An org validation rule: a field whose value matches ``pattern`` is refused."""

    name: str
    field: str
    pattern: str
    message: str


@dataclass
class SObjectMeta:
    """One object's describe: name, key prefix and fields (looked up case-insensitively)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldMeta] = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    custom: bool = False
    validation_rules: list[ValidationRule] = field(default_factory=list)
    revision: int = field(default=0, compare=False, repr=False)
    catalog: Catalog | None = field(default=None, compare=False, repr=False)

    def field(self, name: str) -> FieldMeta | None:
        """The field called ``name`` (any case), or None."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldMeta | None:
        """The reference field whose relationship name is ``name`` (any case), or None."""
        wanted = name.lower()
        for meta in self.fields.values():
            if meta.relationship_name and meta.relationship_name.lower() == wanted:
                return meta
        return None

    def child_relationships(self) -> list[ChildRelationship]:
        """Reference fields of the org's objects pointing here, as describe lists them."""
        if self.catalog is None:
            return []
        found = []
        for child in self.catalog.objects.values():
            for meta in child.fields.values():
                if meta.type == "reference" and self.name in meta.reference_to:
                    found.append(ChildRelationship(child.name, meta))
        return found

    def child_relationship(self, name: str) -> ChildRelationship | None:
        """The child relationship called ``name`` (any case), e.g. Account's ``Contacts``."""
        wanted = name.lower()
        return next((rel for rel in self.child_relationships()
                     if rel.name and rel.name.lower() == wanted), None)

    def add(self, meta: FieldMeta) -> None:
        """Add or replace a field (bumping ``revision``, which plans built from it check)."""
        self.fields[meta.name.lower()] = meta
        self.revision += 1

    def urls(self, api_version: str) -> dict[str, str]:
        """The ``urls`` block of describe payloads."""
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "sobject": base,
            "describe": f"{base}/describe",
            "rowTemplate": f"{base}/{{ID}}",
        }

    def summary(self, api_version: str) -> dict[str, Any]:
        """The object as the global describe lists it."""
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "queryable": True,
            "searchable": True,
            "layoutable": True,
            "retrieveable": True,
            "urls": self.urls(api_version),
        }

    def describe(self, api_version: str) -> dict[str, Any]:
        """The object as ``/sobjects/{Type}/describe`` renders it."""
        return {
            **self.summary(api_version),
            "fields": [meta.describe() for meta in self.fields.values()],
            "childRelationships": [rel.describe() for rel in self.child_relationships()],
            "recordTypeInfos": [],
        }


@dataclass(frozen=True)
class ChildRelationship:
    """A reference field of ``child`` seen from the object it points to."""

    child: str
    field: FieldMeta

    @property
    def name(self) -> str | None:
        """The relationship name SOQL subqueries use (``Contacts``), or None."""
        return self.field.child_relationship_name

    def describe(self) -> dict[str, Any]:
        """The entry of ``childRelationships`` in a describe."""
        return {
            "cascadeDelete": self.field.cascade_delete,
            "childSObject": self.child,
            "deprecatedAndHidden": False,
            "field": self.field.name,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": self.name,
            "restrictedDelete": False,
        }


def _text(name: str, label: str, length: int, **kw: Any) -> FieldMeta:
    return FieldMeta(name=name, label=label, type="string", length=length, **kw)


def _readonly(meta: FieldMeta) -> FieldMeta:
    return replace(meta, createable=False, updateable=False)


def _ref(name: str, label: str, to: tuple[str, ...], rel: str, **kw: Any) -> FieldMeta:
    return FieldMeta(
        name=name, label=label, type="reference", length=18, reference_to=to,
        relationship_name=rel, **kw,
    )


def _system_fields(label: str) -> list[FieldMeta]:
    """Id and the audit fields every object has."""
    audit = [
        FieldMeta("CreatedDate", "Created Date", "datetime", nillable=False,
                  defaulted_on_create=True),
        _ref("CreatedById", "Created By ID", ("User",), "CreatedBy", nillable=False,
             defaulted_on_create=True),
        FieldMeta("LastModifiedDate", "Last Modified Date", "datetime", nillable=False,
                  defaulted_on_create=True),
        _ref("LastModifiedById", "Last Modified By ID", ("User",), "LastModifiedBy",
             nillable=False, defaulted_on_create=True),
        FieldMeta("SystemModstamp", "System Modstamp", "datetime", nillable=False,
                  defaulted_on_create=True),
    ]
    return [
        FieldMeta("Id", f"{label} ID", "id", length=18, nillable=False, createable=False,
                  updateable=False, defaulted_on_create=True, id_lookup=True),
        FieldMeta("IsDeleted", "Deleted", "boolean", nillable=False, createable=False,
                  updateable=False, defaulted_on_create=True, default_value=False),
        *[_readonly(meta) for meta in audit],
    ]


def _owner() -> FieldMeta:
    return _ref("OwnerId", "Owner ID", ("User",), "Owner", nillable=False,
                defaulted_on_create=True)


LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = (
    "Agriculture", "Banking", "Consulting", "Education", "Energy", "Finance", "Healthcare",
    "Insurance", "Manufacturing", "Media", "Retail", "Technology", "Telecommunications", "Other",
)


def _user() -> SObjectMeta:
    obj = SObjectMeta("User", "User", "Users", "005", createable=False, deletable=False)
    for meta in [
        *_system_fields("User"),
        _text("Username", "Username", 80, nillable=False, unique=True, id_lookup=True),
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        _readonly(_text("Name", "Full Name", 121, calculated=True)),
        FieldMeta("Email", "Email", "email", length=80, nillable=False),
        FieldMeta("IsActive", "Active", "boolean", nillable=False, defaulted_on_create=True,
                  default_value=True),
    ]:
        obj.add(meta)
    return obj


def _account() -> SObjectMeta:
    obj = SObjectMeta("Account", "Account", "Accounts", "001")
    for meta in [
        *_system_fields("Account"),
        _text("Name", "Account Name", 255, nillable=False),
        FieldMeta("Website", "Website", "url", length=255),
        FieldMeta("Phone", "Account Phone", "phone", length=40),
        FieldMeta("Industry", "Industry", "picklist", length=255, picklist_values=INDUSTRIES),
        FieldMeta("Type", "Account Type", "picklist", length=255,
                  picklist_values=("Prospect", "Customer - Direct", "Partner", "Other")),
        FieldMeta("NumberOfEmployees", "Employees", "int", precision=8),
        FieldMeta("AnnualRevenue", "Annual Revenue", "currency", precision=18),
        FieldMeta("Description", "Account Description", "textarea", length=32000),
        _text("BillingCountry", "Billing Country", 80),
        _text("Domain__c", "Domain", 255, external_id=True, unique=True, custom=True),
        _owner(),
    ]:
        obj.add(meta)
    return obj


def _person_fields() -> list[FieldMeta]:
    """Fields Lead and Contact share."""
    return [
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        _readonly(_text("Name", "Full Name", 121, calculated=True)),
        FieldMeta("Email", "Email", "email", length=80, id_lookup=True),
        FieldMeta("Phone", "Phone", "phone", length=40),
        _text("Title", "Title", 128),
        FieldMeta("LeadSource", "Lead Source", "picklist", length=255,
                  picklist_values=LEAD_SOURCES),
        FieldMeta("Description", "Description", "textarea", length=32000),
        FieldMeta("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False,
                  defaulted_on_create=True, default_value=False),
        _text("Aimdoc_Id__c", "Aimdoc Id", 64, external_id=True, unique=True, custom=True),
        FieldMeta("Aimdoc_Score__c", "Aimdoc Score", "double", precision=5, scale=2,
                  custom=True),
        FieldMeta("Aimdoc_Last_Conversation__c", "Aimdoc Last Conversation", "datetime",
                  custom=True),
        _owner(),
    ]


def _contact() -> SObjectMeta:
    obj = SObjectMeta("Contact", "Contact", "Contacts", "003")
    for meta in [
        *_system_fields("Contact"),
        *_person_fields(),
        _ref("AccountId", "Account ID", ("Account",), "Account",
             child_relationship_name="Contacts", cascade_delete=True),
        _text("MailingCountry", "Mailing Country", 80),
        FieldMeta("Birthdate", "Birthdate", "date"),
    ]:
        obj.add(meta)
    return obj


def _lead() -> SObjectMeta:
    obj = SObjectMeta("Lead", "Lead", "Leads", "00Q")
    for meta in [
        *_system_fields("Lead"),
        *_person_fields(),
        _text("Company", "Company", 255, nillable=False),
        FieldMeta("Website", "Website", "url", length=255),
        FieldMeta("Status", "Lead Status", "picklist", length=255, nillable=False,
                  defaulted_on_create=True, default_value="Open - Not Contacted",
                  picklist_values=LEAD_STATUSES, restricted_picklist=True),
        FieldMeta("Industry", "Industry", "picklist", length=255, picklist_values=INDUSTRIES),
        FieldMeta("Rating", "Rating", "picklist", length=255,
                  picklist_values=("Hot", "Warm", "Cold")),
        FieldMeta("NumberOfEmployees", "No. of Employees", "int", precision=8),
        _text("Country", "Country", 80),
        FieldMeta("Product_Interest__c", "Product Interest", "multipicklist", length=4099,
                  picklist_values=("Platform", "Analytics", "Integrations", "Support"),
                  custom=True),
        FieldMeta("IsConverted", "Converted", "boolean", nillable=False, updateable=False,
                  defaulted_on_create=True, default_value=False),
        _readonly(FieldMeta("ConvertedDate", "Converted Date", "date")),
        _readonly(_ref("ConvertedAccountId", "Converted Account ID", ("Account",),
                       "ConvertedAccount")),
        _readonly(_ref("ConvertedContactId", "Converted Contact ID", ("Contact",),
                       "ConvertedContact")),
    ]:
        obj.add(meta)
    return obj


def _note() -> SObjectMeta:
    obj = SObjectMeta("Note", "Note", "Notes", "002")
    for meta in [
        *_system_fields("Note"),
        _ref("ParentId", "Parent ID", ("Account", "Contact", "Lead"), "Parent",
             nillable=False, updateable=False, child_relationship_name="Notes",
             cascade_delete=True),
        _text("Title", "Title", 80, nillable=False),
        FieldMeta("Body", "Body", "textarea", length=32000),
        FieldMeta("IsPrivate", "Private", "boolean", nillable=False, defaulted_on_create=True,
                  default_value=False),
        _owner(),
    ]:
        obj.add(meta)
    return obj


def _content_note() -> SObjectMeta:
    obj = SObjectMeta("ContentNote", "Note", "Notes", "069")
    for meta in [
        *_system_fields("Content Note"),
        _text("Title", "Title", 255, nillable=False),
        FieldMeta("Content", "Content", "base64", nillable=True),
        _readonly(_text("TextPreview", "Text Preview", 255)),
        _readonly(_text("FileType", "File Type", 20)),
        _readonly(_text("FileExtension", "File Extension", 40)),
        _readonly(FieldMeta("ContentSize", "Size", "int")),
        _readonly(_ref("LatestPublishedVersionId", "Latest Published Version ID",
                       ("ContentVersion",), "LatestPublishedVersion")),
        _owner(),
    ]:
        obj.add(meta)
    return obj


def _content_document() -> SObjectMeta:
    obj = SObjectMeta("ContentDocument", "Content Document", "Content Documents", "069",
                      createable=False)
    for meta in [
        *_system_fields("Content Document"),
        _text("Title", "Title", 255, nillable=False),
        _readonly(_text("FileType", "File Type", 20)),
        _readonly(FieldMeta("ContentSize", "Size", "int")),
        _readonly(_ref("LatestPublishedVersionId", "Latest Published Version ID",
                       ("ContentVersion",), "LatestPublishedVersion")),
        _owner(),
    ]:
        obj.add(meta)
    return obj


def _content_document_link() -> SObjectMeta:
    obj = SObjectMeta("ContentDocumentLink", "Content Document Link",
                      "Content Document Links", "06A", updateable=True)
    for meta in [
        *_system_fields("Content Document Link"),
        _ref("ContentDocumentId", "ContentDocument ID", ("ContentDocument",),
             "ContentDocument", nillable=False, updateable=False,
             child_relationship_name="ContentDocumentLinks", cascade_delete=True),
        _ref("LinkedEntityId", "Linked Entity ID", ("Account", "Contact", "Lead", "User"),
             "LinkedEntity", nillable=False, updateable=False,
             child_relationship_name="ContentDocumentLinks", cascade_delete=True),
        FieldMeta("ShareType", "Share Type", "picklist", length=40, nillable=False,
                  defaulted_on_create=True, default_value="V", picklist_values=("V", "C", "I"),
                  restricted_picklist=True),
        FieldMeta("Visibility", "Visibility", "picklist", length=40, nillable=False,
                  defaulted_on_create=True, default_value="AllUsers",
                  picklist_values=("AllUsers", "InternalUsers", "SharedUsers"),
                  restricted_picklist=True),
    ]:
        obj.add(meta)
    return obj


def _task() -> SObjectMeta:
    obj = SObjectMeta("Task", "Task", "Tasks", "00T")
    for meta in [
        *_system_fields("Activity"),
        _text("Subject", "Subject", 255),
        FieldMeta("Description", "Description", "textarea", length=32000),
        _ref("WhoId", "Name ID", ("Contact", "Lead"), "Who", child_relationship_name="Tasks",
             cascade_delete=True),
        _ref("WhatId", "Related To ID", ("Account",), "What", child_relationship_name="Tasks",
             cascade_delete=True),
        FieldMeta("Status", "Status", "picklist", length=255, nillable=False,
                  defaulted_on_create=True, default_value="Not Started",
                  picklist_values=("Not Started", "In Progress", "Completed",
                                   "Waiting on someone else", "Deferred"),
                  restricted_picklist=True),
        FieldMeta("Priority", "Priority", "picklist", length=40, nillable=False,
                  defaulted_on_create=True, default_value="Normal",
                  picklist_values=("High", "Normal", "Low"), restricted_picklist=True),
        FieldMeta("ActivityDate", "Due Date Only", "date"),
        FieldMeta("TaskSubtype", "Task Subtype", "picklist", length=40,
                  picklist_values=("Task", "Email", "Call"), updateable=False),
        _text("Aimdoc_Id__c", "Aimdoc Id", 64, external_id=True, unique=True, custom=True),
        _owner(),
    ]:
        obj.add(meta)
    return obj


class Catalog:
    """Every object of the emulated org, looked up case-insensitively."""

    def __init__(self) -> None:
        builders = [
            _user, _account, _contact, _lead, _note, _content_note, _content_document,
            _content_document_link, _task,
        ]
        self.objects: dict[str, SObjectMeta] = {}
        for build in builders:
            obj = build()
            obj.catalog = self
            self.objects[obj.name.lower()] = obj

    def sobject(self, name: str) -> SObjectMeta | None:
        """The object called ``name`` (any case), or None."""
        return self.objects.get(name.lower())

    def by_prefix(self, key_prefix: str) -> SObjectMeta | None:
        """The first object using ``key_prefix`` (ContentNote wins over ContentDocument)."""
        for obj in self.objects.values():
            if obj.key_prefix == key_prefix:
                return obj
        return None

    def extend(self, spec: dict[str, Any]) -> None:
        """Apply a seed file's ``metadata`` section.

        ``{"Lead": {"fields": [{"name": "Region__c", "type": "string", "length": 40,
        "nillable": false}], "restricted_picklists": {"LeadSource": true},
        "picklists": {"LeadSource": ["Web", "Chat"]},
        "validation_rules": [{"name": "No_Test", "field": "Title", "pattern": "(?i)test",
        "message": "Title cannot say test"}]}}``
        """
        for object_name, changes in spec.items():
            obj = self.sobject(object_name)
            if obj is None:
                raise ValueError(f"metadata: unknown object {object_name!r}")
            for raw in changes.get("fields", []):
                obj.add(field_from_spec(raw))
            for name, values in changes.get("picklists", {}).items():
                obj.add(replace(self._field(obj, name), picklist_values=tuple(values)))
            for name, restricted in changes.get("restricted_picklists", {}).items():
                obj.add(replace(self._field(obj, name), restricted_picklist=bool(restricted)))
            for raw in changes.get("validation_rules", []):
                meta = self._field(obj, raw["field"])
                obj.validation_rules.append(ValidationRule(
                    raw.get("name", "Rule"), meta.name, raw["pattern"],
                    raw.get("message", "Validation failed")))

    @staticmethod
    def _field(obj: SObjectMeta, name: str) -> FieldMeta:
        meta = obj.field(name)
        if meta is None:
            raise ValueError(f"metadata: unknown field {obj.name}.{name}")
        return meta


def field_from_spec(raw: dict[str, Any]) -> FieldMeta:
    """A FieldMeta from a seed file's JSON (camelCase describe keys or snake_case)."""
    aliases = {
        "externalId": "external_id", "idLookup": "id_lookup", "caseSensitive": "case_sensitive",
        "defaultedOnCreate": "defaulted_on_create", "defaultValue": "default_value",
        "picklistValues": "picklist_values", "restrictedPicklist": "restricted_picklist",
        "referenceTo": "reference_to", "relationshipName": "relationship_name",
        "childRelationshipName": "child_relationship_name", "cascadeDelete": "cascade_delete",
    }
    kwargs = {aliases.get(key, key): value for key, value in raw.items()}
    kwargs.setdefault("label", kwargs["name"])
    kwargs.setdefault("custom", kwargs["name"].endswith("__c"))
    for key in ("picklist_values", "reference_to"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    if kwargs.get("type") in TEXT_TYPES and "length" not in kwargs:
        kwargs["length"] = 255
    return FieldMeta(**kwargs)
