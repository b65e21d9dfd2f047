"""Record validation as the real service answers it, through the real client."""

from __future__ import annotations

import base64
import json

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sf_clients import raw, soap_client


@pytest.fixture
def sf(salesforce_emulator):
    return soap_client(salesforce_emulator)


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        call(*args, **kwargs)
    return caught.value.content[0]


def test_required_field_missing_names_the_field(sf):
    error = error_of(sf.Lead.create, {"Company": "Acme"})
    assert error == {"message": "Required fields are missing: [LastName]",
                     "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}
    both = error_of(sf.Lead.create, {"Email": "a@b.com"})
    assert both["fields"] == ["LastName", "Company"]
    lead_id = sf.Lead.create({"LastName": "X", "Company": "Y"})["id"]
    assert error_of(sf.Lead.update, lead_id, {"Company": None})["fields"] == ["Company"]


def test_string_too_long_uses_the_label(sf):
    error = error_of(sf.Lead.create, {"LastName": "X", "Company": "C" * 256})
    assert error["errorCode"] == "STRING_TOO_LONG"
    assert error["message"].startswith("Company: data value too large: CCC")
    assert error["message"].endswith("(max length=255)")


def test_invalid_email(sf):
    error = error_of(sf.Contact.create, {"LastName": "X", "Email": "not an email"})
    assert error == {"message": "Email: invalid email address: not an email",
                     "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}
    assert sf.Contact.create({"LastName": "Q", "Email": "o'brien@acme.co.uk"})["success"]


def test_restricted_picklist(sf):
    error = error_of(sf.Lead.create, {"LastName": "X", "Company": "C", "Status": "Hot"})
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["message"] == "Lead Status: bad value for restricted picklist field: Hot"
    assert sf.Lead.create({"LastName": "X", "Company": "C", "LeadSource": "Anything"})["success"]


def test_unknown_field(sf):
    error = error_of(sf.Lead.create, {"LastName": "X", "Company": "C", "Foo__c": 1})
    assert error == {"message": "No such column 'Foo__c' on sobject of type Lead",
                     "errorCode": "INVALID_FIELD"}


def test_read_only_field(sf):
    error = error_of(sf.Lead.create, {"LastName": "X", "Company": "C",
                                      "ConvertedContactId": "0035e0000000001AAA"})
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error["fields"] == ["ConvertedContactId"]


def test_wrong_json_type_is_a_parser_error(sf):
    error = error_of(sf.Lead.create, {"LastName": "X", "Company": "C", "NumberOfEmployees": "ten"})
    assert error["errorCode"] == "JSON_PARSER_ERROR"


def test_reference_must_exist(sf):
    error = error_of(sf.Contact.create, {"LastName": "X", "AccountId": "0015e0000000999AAA"})
    assert error["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    error = error_of(sf.Contact.create, {"LastName": "X", "AccountId": "00Q5e0000000999AAA"})
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_unique_external_id_duplicate_value(sf):
    sf.Account.create({"Name": "A", "Domain__c": "acme.com"})
    error = error_of(sf.Account.create, {"Name": "B", "Domain__c": "ACME.com"})
    assert error["errorCode"] == "DUPLICATE_VALUE"


def test_converted_lead_cannot_be_updated(sf, salesforce_emulator):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "d@acme.com"})["id"]
    converted = salesforce_emulator.backend.convert_lead(lead_id)
    record = sf.Lead.get(lead_id)
    assert record["IsConverted"] is True
    assert record["ConvertedContactId"] == converted["contact_id"]
    assert sf.Contact.get(converted["contact_id"])["AccountId"] == converted["account_id"]
    error = error_of(sf.Lead.update, lead_id, {"Title": "CEO"})
    assert error["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_conversion_by_seed(salesforce_emulator, sf):
    ids = salesforce_emulator.seed({"records": {
        "Account": [{"Id": "0015e0000000AAAAAA", "Name": "Acme"}],
        "Contact": [{"Id": "0035e0000000AAAAAA", "LastName": "Doe",
                     "AccountId": "0015e0000000AAAAAA"}],
        "Lead": [{"LastName": "Doe", "Company": "Acme", "IsConverted": True,
                  "ConvertedContactId": "0035e0000000AAAAAA",
                  "ConvertedAccountId": "0015e0000000AAAAAA"}],
    }})
    soql = "SELECT ConvertedContact.LastName FROM Lead WHERE IsConverted = true"
    record = sf.query(soql)["records"][0]
    assert record["ConvertedContact"]["LastName"] == "Doe"
    assert ids["Lead"][0].startswith("00Q")


def test_duplicate_rules_and_the_allow_save_header(sf, salesforce_emulator):
    sf.Contact.create({"LastName": "Doe", "Email": "jd@acme.com"})
    error = error_of(sf.Lead.create, {"LastName": "Doe", "Company": "Acme", "Email": "JD@acme.com"})
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    result = error["duplicateResut"]
    assert result["allowSave"] is True
    assert result["matchResults"][0]["entityType"] == "Contact"
    created = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.com"},
                             headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert created["success"] is True
    in_collection = sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": False, "records": [
            {"attributes": {"type": "Lead"}, "LastName": "Doe", "Company": "A",
             "Email": "jd@acme.com"}
        ]})
    assert in_collection[0]["errors"] == [{"statusCode": "DUPLICATES_DETECTED",
                                           "message": "Use one of these records?", "fields": []}]
    salesforce_emulator.set_duplicate_rules({"Lead": {"active": True, "action": "block"}})
    blocked = error_of(sf.Lead.create, {"LastName": "Doe", "Company": "A", "Email": "jd@acme.com"},
                       headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert blocked["duplicateResut"]["allowSave"] is False


def _content(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_content_note_and_document_link(sf, salesforce_emulator):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    body = "<p>Visitor: I&#39;d like a demo &amp; pricing 🚀 — Ünïcode</p><br>"
    note_id = sf.ContentNote.create({"Title": "Conversation abc", "Content": _content(body)})["id"]
    assert note_id.startswith("069")
    link = sf.ContentDocumentLink.create({"ContentDocumentId": note_id, "LinkedEntityId": lead_id,
                                          "ShareType": "V", "Visibility": "AllUsers"})
    assert link["id"].startswith("06A")
    soql = f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{lead_id}'"
    assert sf.query(soql)["records"][0]["ContentDocumentId"] == note_id
    note = sf.query(f"SELECT Id, Title, FileType, TextPreview FROM ContentNote WHERE Id = '{note_id}'")
    assert note["records"][0]["FileType"] == "SNOTE"
    assert "I'd like a demo & pricing" in note["records"][0]["TextPreview"]
    assert sf.ContentDocument.get(note_id)["Title"] == "Conversation abc"
    blob = raw(salesforce_emulator, "GET", f"/services/data/v59.0/sobjects/ContentNote/{note_id}/Content",
               headers={"Authorization": f"Bearer {sf.session_id}"})
    assert blob.content.decode("utf-8") == body
    assert sf.ContentNote.update(note_id, {"Content": _content("<p>v2</p>")}) == 204
    duplicate = error_of(sf.ContentDocumentLink.create,
                         {"ContentDocumentId": note_id, "LinkedEntityId": lead_id})
    assert duplicate["errorCode"] == "DUPLICATE_VALUE"


@pytest.mark.parametrize("body", [
    "<script>alert(1)</script>",
    '<p onclick="x">hi</p>',
    "Tom & Jerry",
    "it's",
    "a &apos; b",
    "x\x07y",
])
def test_content_note_rejects_unescaped_content(sf, body):
    error = error_of(sf.ContentNote.create, {"Title": "t", "Content": _content(body)})
    assert "contains HTML tags or unescaped characters" in error["message"]


def test_content_document_link_query_needs_a_filter(sf):
    error = error_of(sf.query, "SELECT Id FROM ContentDocumentLink")
    assert error["errorCode"] == "MALFORMED_QUERY"


def test_classic_note_limits(sf):
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    assert sf.Note.create({"ParentId": lead_id, "Title": "T" * 80, "Body": "B" * 32000})["success"]
    assert error_of(sf.Note.create, {"ParentId": lead_id, "Title": "T" * 81})["errorCode"] == (
        "STRING_TOO_LONG")
    assert error_of(sf.Note.create, {"Title": "x"})["fields"] == ["ParentId"]


def test_seed_file_adds_custom_fields_and_records(tmp_path):
    from aimdoc_emulators.salesforce.models import SalesforceBackend

    seed = {
        "metadata": {"Lead": {"fields": [{"name": "Region__c", "type": "string", "length": 10,
                                          "nillable": False}],
                              "restricted_picklists": {"LeadSource": True}}},
        "records": {"Account": [{"Name": "Seeded", "Website": "https://www.seeded.com/"}]},
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    backend = SalesforceBackend(seed_file=path)
    assert backend.count("Account") == 1
    lead = {f["name"]: f for f in backend.describe("Lead")["fields"]}
    assert lead["Region__c"]["custom"] is True and lead["LeadSource"]["restrictedPicklist"]
    from aimdoc_emulators.salesforce.errors import RecordFailure

    with pytest.raises(RecordFailure) as caught:
        backend.create("Lead", {"LastName": "X", "Company": "C"})
    assert caught.value.errors[0]["fields"] == ["Region__c"]
    backend.reset()
    assert backend.count("Account") == 1


def test_sqlite_file_storage(tmp_path):
    from aimdoc_emulators.salesforce.models import SalesforceBackend

    db = tmp_path / "org.sqlite"
    backend = SalesforceBackend(db_path=str(db))
    backend.create("Account", {"Name": "Persisted"})
    assert db.exists()
    reopened = SalesforceBackend.__new__(SalesforceBackend)
    import sqlite3

    rows = sqlite3.connect(db).execute('SELECT "Name" FROM "Account"').fetchall()
    assert rows == [("Persisted",)]
    assert reopened is not None


def test_validation_rule(sf, salesforce_emulator):
    salesforce_emulator.seed({"metadata": {"Lead": {"validation_rules": [
        {"name": "No_Test", "field": "Title", "pattern": "(?i)\\btest\\b",
         "message": "Title cannot say test"}]}}})
    error = error_of(sf.Lead.create, {"LastName": "X", "Company": "C", "Title": "Test lead"})
    assert error == {"message": "Title cannot say test",
                     "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["Title"]}
    assert sf.Lead.create({"LastName": "X", "Company": "C", "Title": "Testing"})["success"]


def _post(emulator, sf, path: str, body: bytes):
    return raw(emulator, "POST", f"/services/data/v59.0/{path}", data=body,
               headers={"Authorization": f"Bearer {sf.session_id}",
                        "Content-Type": "application/json"})


def test_unpaired_surrogates_and_control_characters(sf, salesforce_emulator):
    surrogate = b'{"LastName": "X\\ud800", "Company": "C"}'
    answer = _post(salesforce_emulator, sf, "sobjects/Lead", surrogate)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert answer.json()[0]["fields"] == ["LastName"]
    collection = (b'{"records": [{"attributes": {"type": "Lead"}, "LastName": "Y\\udc00", '
                  b'"Company": "C"}, {"attributes": {"type": "Lead"}, "LastName": "Fine", '
                  b'"Company": "C"}]}')
    results = _post(salesforce_emulator, sf, "composite/sobjects", collection).json()
    assert results[0]["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert results[1]["success"] is True
    upsert = raw(salesforce_emulator, "PATCH",
                 "/services/data/v59.0/composite/sobjects/Lead/Aimdoc_Id__c",
                 headers={"Authorization": f"Bearer {sf.session_id}",
                          "Content-Type": "application/json"},
                 data=b'{"records": [{"attributes": {"type": "Lead"}, "Aimdoc_Id__c": '
                      b'"k\\ud800", "LastName": "Z", "Company": "C"}]}')
    assert upsert.status_code == 200
    assert upsert.json()[0]["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    bad_key = _post(salesforce_emulator, sf, "sobjects/Lead", b'{"Last\\ud800": "X"}')
    assert bad_key.status_code == 400 and bad_key.json()[0]["errorCode"] == "INVALID_FIELD"
    # invalid UTF-8 and a raw control character inside a string: the body does not parse
    for body in (b'{"LastName": "\xff", "Company": "C"}',
                 b'{"LastName": "a\x01b", "Company": "C"}'):
        answer = _post(salesforce_emulator, sf, "sobjects/Lead", body)
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    # an escaped control character: refused in a URL, kept in text
    url = _post(salesforce_emulator, sf, "sobjects/Lead",
                b'{"LastName": "U", "Company": "C", "Website": "https://a.com/\\u0001"}')
    assert url.status_code == 400 and url.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    text = _post(salesforce_emulator, sf, "sobjects/Lead",
                 b'{"LastName": "T", "Company": "C", "Description": "a\\u0001b"}')
    assert text.status_code == 201
    assert sf.Lead.get(text.json()["id"])["Description"] == "a\x01b"
