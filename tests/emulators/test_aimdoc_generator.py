"""The synthetic data: same seed same data, exact shares, integrity, edge cases, time travel."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from aimdoc_emulators.aimdoc.generator import generate_dataset
from aimdoc_emulators.aimdoc.timetravel import Plan, advance_dataset
from aimdoc_emulators.aimdoc.timeutil import DEFAULT_NOW, iso
from aimdoc_emulators.aimdoc.vocabulary import FREE_MAIL_DOMAINS


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset(seed=11, contacts=300)


def domain(email):
    return email.rpartition("@")[2].lower()


def test_same_seed_same_data_other_seed_other_data():
    assert generate_dataset(seed=2, contacts=40).to_json() == \
        generate_dataset(seed=2, contacts=40).to_json()
    assert generate_dataset(seed=3, contacts=40).to_json() != \
        generate_dataset(seed=2, contacts=40).to_json()


def test_shares_are_exact():
    data = generate_dataset(seed=8, contacts=1000, free_mail_share=0.2, no_email_share=0.05,
                            duplicate_email_share=0.04)
    emails = [c["email"] for c in data.contacts]
    assert sum(email is None for email in emails) == 50
    assert sum(1 for e in emails if e and domain(e) in FREE_MAIL_DOMAINS) == 200
    lowered = Counter(e.lower() for e in emails if e)
    assert sum(count - 1 for count in lowered.values()) == 40


def test_company_people_use_their_company_domain(dataset):
    for contact in dataset.contacts:
        if contact["email"] and domain(contact["email"]) not in FREE_MAIL_DOMAINS:
            assert contact["website"] in (None, f"https://www.{domain(contact['email'])}")


def test_duplicates_differ_in_case_only(dataset):
    by_lower = defaultdict(list)
    for contact in dataset.contacts:
        if contact["email"]:
            by_lower[contact["email"].lower()].append(contact)
    duplicated = [group for group in by_lower.values() if len(group) > 1]
    assert duplicated
    for group in duplicated:
        assert len({c["email"] for c in group}) > 1
        assert len({(c["first_name"], c["last_name"]) for c in group}) == 1


def test_several_agents_and_the_four_roles(dataset):
    assert len({c["agent_id"] for c in dataset.conversations}) >= 3
    assert {m["role"] for m in dataset.messages} == {"user", "assistant", "human", "system"}


def test_conversation_lengths_span_2_to_over_200(dataset):
    lengths = [c["message_count"] for c in dataset.conversations]
    assert min(lengths) == 2
    assert max(lengths) >= 200


def test_every_edge_case_is_present_even_in_a_small_set():
    data = generate_dataset(seed=21, contacts=25)
    names = " ".join(f"{c['first_name']} {c['last_name']}" for c in data.contacts)
    emails = " ".join(c["email"] or "" for c in data.contacts)
    contents = [m["content"] for m in data.messages]
    assert "O'Brien" in names
    assert "\\" in names
    assert "o'brien@" in emails
    assert '"chris\\\\taylor"@' in emails
    assert any(ord(ch) > 0x2000 for ch in names)
    for needle in ("<script>", "onerror=", "🚀", "こんにちは", "Здравствуйте", "مرحبا"):
        assert any(needle in text for text in contents), needle
    assert max(len(text) for text in contents) > 8000
    assert any(c["email"] is None for c in data.contacts)
    leads = Counter(c["lead_id"] for c in data.conversations if c["lead_id"])
    assert max(leads.values()) >= 2
    lowered = Counter(c["email"].lower() for c in data.contacts if c["email"])
    assert max(lowered.values()) >= 2


def test_qualification_and_data_capture_shapes(dataset):
    for contact in dataset.contacts:
        assert contact["status"] in {"new", "qualified", "disqualified"}
        assert 0 <= contact["score"] <= 100
        for answer in contact["qualification"]:
            assert set(answer) == {"question_id", "question", "answer"}
        for value in contact["data_capture"].values():
            assert isinstance(value, (str, int, float, bool, list))
            assert not isinstance(value, list) or all(isinstance(v, str) for v in value)


def test_records_refer_to_each_other(dataset):
    conversations = {c["id"]: c for c in dataset.conversations}
    contacts = {c["id"]: c for c in dataset.contacts}
    by_conversation = defaultdict(list)
    for message in dataset.messages:
        by_conversation[message["conversation_id"]].append(message)
    for conversation in dataset.conversations:
        messages = by_conversation[conversation["id"]]
        assert conversation["message_count"] == len(messages)
        assert conversation["last_message_at"] == max(m["created_at"] for m in messages)
        assert conversation["created_at"] < min(m["created_at"] for m in messages)
        assert conversation["lead_id"] is None or conversation["lead_id"] in contacts
    for contact in dataset.contacts:
        assert conversations[contact["latest_conversation_id"]]["lead_id"] == contact["id"]
    visitors = {c["visitor_id"] for c in dataset.conversations}
    assert {p["visitor_id"] for p in dataset.visitor_profiles} == visitors


def test_timestamps_are_canonical_and_in_the_past(dataset):
    now = iso(dataset.now)
    for kind, fields in (("contacts", ("created_at", "updated_at")),
                         ("conversations", ("created_at", "updated_at", "last_message_at")),
                         ("messages", ("created_at",)),
                         ("visitor_profiles", ("first_seen_at", "last_seen_at"))):
        for record in dataset.records(kind):
            for field in fields:
                assert len(record[field]) == 24
                assert record[field].endswith("Z")
                assert record[field] < now
    assert all(c["created_at"] <= c["updated_at"] for c in dataset.contacts)


def snapshot(data):
    return {kind: {r.get("id") or r["visitor_id"]: repr(r) for r in data.records(kind)}
            for kind in ("contacts", "conversations", "messages", "visitor_profiles")}


def test_time_travel_is_deterministic_and_stamps_changes_between_the_clocks():
    results = []
    for _ in range(2):
        data = generate_dataset(seed=5, contacts=120)
        before = snapshot(data)
        changes = advance_dataset(data, Plan(seconds=86400), random.Random("x"))
        results.append(changes.to_json())
        after = snapshot(data)
    assert results[0] == results[1]
    old, new = changes.previous_clock, changes.clock
    for kind in after:
        changed = [key for key, value in after[kind].items() if before[kind].get(key) != value]
        assert changed, kind
        stamp = {"contacts": "updated_at", "conversations": "updated_at",
                 "messages": "created_at", "visitor_profiles": "last_seen_at"}[kind]
        for record in data.records(kind):
            key = record.get("id") or record["visitor_id"]
            assert (key in changed) == (old < record[stamp] < new), (kind, key)
    assert set(changes.enriched_contacts) | set(changes.new_contacts) == {
        key for key, value in after["contacts"].items() if before["contacts"].get(key) != value}


def test_time_travel_touches_only_recent_records_unless_asked():
    data = generate_dataset(seed=6, contacts=150)
    created = {c["id"]: c["created_at"] for c in data.contacts}
    changes = advance_dataset(data, Plan(seconds=3600, enriched_contacts=20, recent_days=5),
                              random.Random(1))
    since = iso(DEFAULT_NOW - timedelta(days=5))
    assert changes.enriched_contacts
    assert all(created[key] >= since for key in changes.enriched_contacts)
    wide = advance_dataset(data, Plan(seconds=3600, enriched_contacts=40, recent_days=None),
                           random.Random(2))
    assert any(created[key] < since for key in wide.enriched_contacts)


def test_reactivated_sessions_end_active_with_buyer_intent():
    data = generate_dataset(seed=7, contacts=150)
    changes = advance_dataset(data, Plan(seconds=600, reactivated_conversations=3,
                                         new_contacts=0, enriched_contacts=0,
                                         conversations_with_new_messages=0),
                              random.Random(3))
    reactivated = [c for c in data.conversations if c["id"] in changes.reactivated_conversations]
    assert len(reactivated) == 3
    assert all(c["status"] == "active" and c["buyer_intent"] for c in reactivated)
