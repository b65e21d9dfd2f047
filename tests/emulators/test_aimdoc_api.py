"""The Aimdoc emulator's API over HTTP: auth, endpoints, paging, filters, switches, errors."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
import requests

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator


def get(emulator, path, *, key=None, **params):
    key = emulator.api_key if key is None else key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(f"{emulator.api_url}{path}", headers=headers, params=params, timeout=10)


def every_page(emulator, path, **params):
    rows, page = [], 1
    while True:
        body = get(emulator, path, page=page, per_page=100, **params).json()
        rows += body["data"]
        if not body["has_more"]:
            return rows
        page += 1


def error_code(response):
    return response.json()["error"]["code"]


def test_missing_bad_and_non_ak_keys_are_401_with_json_errors(aimdoc_emulator):
    assert get(aimdoc_emulator, "/contacts", key="").status_code == 401
    bad = get(aimdoc_emulator, "/contacts", key="ak_wrong")
    assert (bad.status_code, error_code(bad)) == (401, "unauthorized")
    assert get(aimdoc_emulator, "/contacts", key="sk_" + aimdoc_emulator.api_key[3:]
               ).status_code == 401
    assert bad.headers["Content-Type"].startswith("application/json")


def test_key_without_api_access_is_403(aimdoc_emulator):
    response = get(aimdoc_emulator, "/contacts", key=aimdoc_emulator.no_access_api_key)
    assert (response.status_code, error_code(response)) == (403, "forbidden")
    assert "Convert" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/contacts", "/leads", "/conversations", "/messages",
                                  "/visitor-profiles"])
def test_every_listing_has_the_envelope(aimdoc_emulator, path):
    body = get(aimdoc_emulator, path, per_page=3).json()
    assert set(body) == {"data", "page", "per_page", "total", "has_more"}
    assert (body["page"], body["per_page"], len(body["data"]), body["has_more"]) == (1, 3, 3, True)


def test_leads_is_a_deprecated_alias_of_contacts(aimdoc_emulator):
    contacts, leads = get(aimdoc_emulator, "/contacts"), get(aimdoc_emulator, "/leads")
    assert leads.json() == contacts.json()
    assert leads.headers["Deprecation"] == "true"
    assert "Deprecation" not in contacts.headers


def test_pages_cover_every_record_once(aimdoc_emulator):
    ids, page = [], 1
    while True:
        body = get(aimdoc_emulator, "/contacts", page=page, per_page=30).json()
        ids += [row["id"] for row in body["data"]]
        if not body["has_more"]:
            break
        page += 1
    assert page == 7
    assert len(ids) == len(set(ids)) == body["total"] == 200
    assert get(aimdoc_emulator, "/contacts", page=8, per_page=30).json()["data"] == []


def test_default_page_size_is_50_and_the_maximum_100(aimdoc_emulator):
    assert get(aimdoc_emulator, "/contacts").json()["per_page"] == 50
    assert len(get(aimdoc_emulator, "/contacts", per_page=100).json()["data"]) == 100


@pytest.mark.parametrize(("params", "fragment"), [
    ({"per_page": 101}, "per_page"), ({"per_page": 0}, "per_page"), ({"page": 0}, "page"),
    ({"page": "two"}, "page"), ({"start_date": "2026-3-1"}, "start_date"),
    ({"end_date": "2026-02-30"}, "end_date"), ({"start_date": "2026-01-01T00:00:00Z"}, "start"),
    ({"start_date": "2026-02-10", "end_date": "2026-02-01"}, "after"),
])
def test_bad_parameters_are_422(aimdoc_emulator, params, fragment):
    response = get(aimdoc_emulator, "/contacts", **params)
    assert (response.status_code, error_code(response)) == (422, "invalid_parameter")
    assert fragment in response.json()["error"]["message"]


def test_sorted_by_updated_at_then_id_by_default(aimdoc_emulator):
    rows = get(aimdoc_emulator, "/contacts", per_page=100).json()["data"]
    keys = [(row["updated_at"], row["id"]) for row in rows]
    assert keys == sorted(keys)


def test_unsorted_switch_lists_in_a_stable_id_order(aimdoc_emulator):
    aimdoc_emulator.backend.configure(sorted=False)
    rows = get(aimdoc_emulator, "/conversations", per_page=100).json()["data"]
    stamps = [row["updated_at"] for row in rows]
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    assert stamps != sorted(stamps)


def _one_contact_created_and_updated_on_different_days(emulator):
    return next(c for c in emulator.backend.records("contacts")
                if c["created_at"][:10] != c["updated_at"][:10])


@pytest.mark.parametrize("date_filter", ["created_at", "updated_at"])
def test_date_filters_are_inclusive_whole_days_on_the_switched_field(aimdoc_emulator,
                                                                      date_filter):
    aimdoc_emulator.backend.configure(date_filter=date_filter)
    contact = _one_contact_created_and_updated_on_different_days(aimdoc_emulator)
    day = contact[date_filter][:10]
    other = contact["updated_at" if date_filter == "created_at" else "created_at"][:10]
    rows = get(aimdoc_emulator, "/contacts", start_date=day, end_date=day, per_page=100)
    assert contact["id"] in [row["id"] for row in rows.json()["data"]]
    assert all(row[date_filter][:10] == day for row in rows.json()["data"])
    elsewhere = get(aimdoc_emulator, "/contacts", start_date=other, end_date=other,
                    per_page=100).json()["data"]
    assert contact["id"] not in [row["id"] for row in elsewhere]


def test_messages_filter_by_conversation(aimdoc_emulator):
    conversation = aimdoc_emulator.backend.records("conversations")[0]
    body = get(aimdoc_emulator, "/messages", conversation_id=conversation["id"],
               per_page=100).json()
    assert body["total"] == conversation["message_count"]
    assert {row["conversation_id"] for row in body["data"]} == {conversation["id"]}
    stamps = [row["created_at"] for row in body["data"]]
    assert stamps == sorted(stamps)


def test_visitor_profile_filters_and_single_profile(aimdoc_emulator):
    profiles = aimdoc_emulator.backend.records("visitor_profiles")
    identified = next(p for p in profiles if p["lead_id"])
    by_lead = get(aimdoc_emulator, "/visitor-profiles", lead_id=identified["lead_id"]).json()
    assert [p["visitor_id"] for p in by_lead["data"]] == [identified["visitor_id"]]
    found = get(aimdoc_emulator, "/visitor-profiles", search="O'BRIEN").json()["data"]
    assert found
    assert all("o'brien" in p["summary"]["display_name"].lower() for p in found)
    cutoff = sorted(p["last_seen_at"] for p in profiles)[-10]
    recent = get(aimdoc_emulator, "/visitor-profiles", last_seen_after=cutoff).json()
    assert recent["total"] == 10
    one = get(aimdoc_emulator, f"/visitor-profiles/{identified['visitor_id']}")
    assert one.json() == {"data": identified}
    missing = get(aimdoc_emulator, "/visitor-profiles/nope")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")


@pytest.mark.parametrize(("envelope", "expected"), [("array", list), ("data_only", dict)])
def test_envelope_switch(aimdoc_emulator, envelope, expected):
    aimdoc_emulator.backend.configure(envelope=envelope)
    body = get(aimdoc_emulator, "/contacts", per_page=5).json()
    assert isinstance(body, expected)
    rows = body if envelope == "array" else body["data"]
    assert len(rows) == 5
    assert envelope == "array" or set(body) == {"data"}


def test_unknown_path_and_writes_are_json_errors(aimdoc_emulator):
    assert error_code(get(aimdoc_emulator, "/agents")) == "not_found"
    post = requests.post(f"{aimdoc_emulator.api_url}/contacts", timeout=10,
                         headers={"Authorization": f"Bearer {aimdoc_emulator.api_key}"})
    assert (post.status_code, error_code(post)) == (405, "method_not_allowed")


def test_date_header_is_the_emulator_clock(aimdoc_emulator):
    response = get(aimdoc_emulator, "/contacts", per_page=1)
    assert parsedate_to_datetime(response.headers["Date"]) == aimdoc_emulator.backend.now
    assert response.headers["Date"].count(",") == 1  # one Date header, not the wall clock too


def test_unicode_and_markup_survive_the_wire(aimdoc_emulator):
    stored = aimdoc_emulator.backend.records("messages")
    for needle in ("<script>", "onerror=", "🚀", "こんにちは", "C:\\Users"):
        message = next(m for m in stored if needle in m["content"])
        served = every_page(aimdoc_emulator, "/messages",
                            conversation_id=message["conversation_id"])
        assert message["content"] in [row["content"] for row in served]
    contact = next(c for c in aimdoc_emulator.backend.records("contacts")
                   if c["email"] and "\\" in c["email"])
    assert contact in every_page(aimdoc_emulator, "/contacts")


def test_tls_mode_serves_https_with_its_own_ca(tmp_path):
    with AimdocEmulator(3, 5, tls=True, tls_dir=tmp_path) as emulator:
        assert emulator.api_url.startswith("https://127.0.0.1:")
        response = requests.get(f"{emulator.api_url}/contacts", verify=str(emulator.ca_file),
                                headers={"Authorization": f"Bearer {emulator.api_key}"},
                                timeout=10)
        assert response.json()["total"] == 5
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{emulator.api_url}/contacts", timeout=10, verify=True)
