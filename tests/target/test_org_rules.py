"""A real org on day one: the org's duplicate rules and Lead assignment rule, on every path."""

from __future__ import annotations

import pytest

from tests.target.singer import contact, messages, run_target, target_config

ALL_OBJECTS = {"sync_contacts": True, "sync_accounts": True}


def realistic_people() -> list[dict]:
    """People a real org's fuzzy matching rules catch: nicknames, company suffixes, same
    email with another name, the same person in two letter cases, free mail."""
    people = [
        contact("r1", "robert.smith@acme.com", first_name="Robert", last_name="Smith",
                company="Acme Inc", job_title="CTO", phone="+1 415 555 0100"),
        contact("r2", "bob.smith@acme.com", first_name="Bob", last_name="Smith",
                company="Acme", job_title="CTO", phone="+1 415 555 0100"),
        contact("r3", "jane@globex.com", first_name="Jane", last_name="Doe", company="Globex"),
        contact("r4", "JANE@globex.com", first_name="Jane", last_name="Doe", company="Globex",
                updated_at="2026-11-21T10:00:00Z"),
        contact("r5", "jane@globex.com".replace("jane", "j.doe"), first_name="Janet",
                last_name="Doe", company="Globex Corporation"),
        contact("r6", "shared@initech.com", first_name="Peter", last_name="Gibbons",
                company="Initech"),
        contact("r7", "kate@gmail.com", first_name="Kate", last_name="Libby"),
        contact("r8", "cathy@gmail.com", first_name="Catherine", last_name="Libby",
                phone="+1 212 555 0199"),
        contact("r9", "c.libby@hooli.com", first_name="Cathy", last_name="Libby",
                company="Hooli", phone="+1 212 555 0199"),
    ]
    people += [contact(f"p{i}", f"person{i}@co{i % 6}.com", first_name="Pat",
                       last_name=f"Person {i}", company=f"Co {i % 6}") for i in range(40)]
    return people


def org_state(emulator) -> dict[str, list[str]]:
    """The org's records by a stable key, for comparing two orgs."""
    return {
        "Lead": sorted(r["Email"].lower() for r in emulator.backend.all_records("Lead")),
        "Contact": sorted(r["Email"].lower() for r in emulator.backend.all_records("Contact")),
        "Account": sorted(r["Website"] for r in emulator.backend.all_records("Account")),
    }


def test_default_org_syncs_every_object_as_a_bare_org_does(make_salesforce_emulator):
    emulator = make_salesforce_emulator
    states = {}
    for org in ("bare", "default"):
        emulator.reset(org=org)
        target = run_target(target_config(emulator, **ALL_OBJECTS),
                            messages(realistic_people()))
        report = target.sync_run.report
        failures = [o for o in report.outcomes if o.outcome == "failed"]
        assert failures == [], (org, failures[:3])
        states[org] = org_state(emulator)
        for sobject, keys in states[org].items():
            assert len(keys) == len(set(keys)), (org, sobject)
    assert states["default"] == states["bare"]
    assert len(states["default"]["Lead"]) == 48  # 49 records; r3 and r4 are one person


def test_without_allow_save_the_org_would_refuse_our_leads(salesforce_emulator):
    """The standard rules really fire on this data: the setting is what lets it through."""
    config = target_config(salesforce_emulator, **ALL_OBJECTS,
                           duplicate_rules={"Lead": "use_existing"})
    target = run_target(config, messages(realistic_people()[:3]))
    leads = [o for o in target.sync_run.report.outcomes if o.sobject == "Lead"]
    # Each person's Lead matches the Contact this run created a moment before (cross-object):
    # not the same object, so no single Lead to use: a failure naming the rule and the ids.
    assert {o.outcome for o in leads} == {"failed"}
    message = leads[0].errors[0]["message"]
    assert "Standard_Lead_Duplicate_Rule" in message and "Contact 003" in message


def seed_block_case(emulator) -> dict[str, list[str]]:
    emulator.set_duplicate_rules({"Lead": {"action": "block"}})
    return emulator.seed({"records": {"Lead": [
        {"FirstName": "Robert", "LastName": "Smith", "Company": "Acme Inc", "Title": "CTO",
         "Email": "r.smith@acme-old.com", "Phone": "+1 415 555 0100"},
        {"FirstName": "Jane", "LastName": "Doe", "Company": "Globex", "Title": "VP Sales",
         "Email": "jane.doe@globex-old.com", "Phone": "+1 212 555 0142"},
        {"FirstName": "Jane", "LastName": "Doe", "Company": "Globex", "Title": "VP Sales",
         "Email": "jd@globex-older.com", "Phone": "+1 212 555 0142"},
    ]}})


@pytest.mark.parametrize("write_api", ["rest", "bulk"])
def test_block_rule_updates_a_single_match_and_letters_the_rest(salesforce_emulator, write_api):
    ids = seed_block_case(salesforce_emulator)["Lead"]
    records = [
        contact("b1", "bob@acme.com", first_name="Bob", last_name="Smith", company="Acme",
                job_title="CTO", phone="+1 415 555 0100"),
        contact("b2", "jane@globex.com", first_name="Jane", last_name="Doe", company="Globex",
                job_title="VP Sales", phone="+1 212 555 0142"),
        contact("b3", "new@umbrella.com", first_name="Alice", last_name="Wong",
                company="Umbrella"),
    ]
    config = target_config(salesforce_emulator, write_api=write_api)
    target = run_target(config, messages(records))
    outcomes = {o.key: o for o in target.sync_run.report.outcomes if o.sobject == "Lead"}
    assert outcomes["b1"].outcome == "updated"
    assert outcomes["b1"].record_id[:15] == ids[0][:15]
    assert outcomes["b1"].duplicates["rule"] == "Standard_Lead_Duplicate_Rule"
    assert outcomes["b2"].outcome == "failed"
    message = outcomes["b2"].errors[0]["message"]
    assert "Standard_Lead_Duplicate_Rule" in message
    assert ids[1][:15] in message and ids[2][:15] in message
    assert outcomes["b3"].outcome == "created"
    leads = salesforce_emulator.backend.all_records("Lead")
    assert len(leads) == 4  # three seeded, one created; nothing duplicated
    bob = next(r for r in leads if r["Id"][:15] == ids[0][:15])
    assert bob["Email"] == "r.smith@acme-old.com"  # on_create: the match key stays
    letters = (target.sync_run.dead_letters.path.read_text()
               if target.sync_run.dead_letters.path.exists() else "")
    assert "b2" in letters and ids[1][:15] in letters


def owners(emulator) -> dict[str, str]:
    return {r["Email"]: r["OwnerId"] for r in emulator.backend.all_records("Lead")}


def queue_id(emulator, name: str) -> str:
    return next(g["Id"] for g in emulator.backend.all_records("Group") if g["Name"] == name)


@pytest.mark.parametrize("write_api", ["rest", "bulk"])
def test_new_leads_get_the_rules_owner_and_updates_never_reassign(salesforce_emulator,
                                                                  write_api):
    records = [contact(f"a{i}", f"p{i}@acme{i}.com", company=f"Acme {i}",
                       Country="United States" if i % 2 else "Germany") for i in range(6)]
    config = target_config(salesforce_emulator, write_api=write_api, streams={"contacts": {
        "objects": {"Lead": {"fields": {"Country": "Country"}}}}})
    run_target(config, messages(records))
    before = owners(salesforce_emulator)
    north_america, emea = (queue_id(salesforce_emulator, "North America Leads"),
                           queue_id(salesforce_emulator, "EMEA Leads"))
    assert {before[f"p{i}@acme{i}.com"] for i in range(1, 6, 2)} == {north_america}
    assert {before[f"p{i}@acme{i}.com"] for i in range(0, 6, 2)} == {emea}
    # A rep takes one Lead; the source changes every Lead's country: nobody is reassigned.
    rep_lead = next(r for r in salesforce_emulator.backend.all_records("Lead")
                    if r["Email"] == "p0@acme0.com")
    admin = next(u["Id"] for u in salesforce_emulator.backend.all_records("User")
                 if u["Username"] == "admin@example.com")
    salesforce_emulator.backend.update("Lead", rep_lead["Id"], {"OwnerId": admin})
    changed = [contact(f"a{i}", f"p{i}@acme{i}.com", company=f"Acme {i}",
                       Country="Canada" if i % 2 == 0 else "France",
                       updated_at="2026-11-22T10:00:00Z") for i in range(6)]
    run_target(config, messages(changed))
    after = owners(salesforce_emulator)
    assert after["p0@acme0.com"] == admin
    assert {after[f"p{i}@acme{i}.com"] for i in range(1, 6)} == {
        before[f"p{i}@acme{i}.com"] for i in range(1, 6)} | set()
    assert all(after[k] == before[k] for k in before if k != "p0@acme0.com")
    countries = {r["Email"]: r["Country"] for r in salesforce_emulator.backend.all_records("Lead")}
    assert countries["p1@acme1.com"] == "France"  # the update itself went through


@pytest.mark.parametrize("write_api", ["rest", "bulk"])
def test_no_assignment_rule_on_create_when_told(salesforce_emulator, write_api):
    config = target_config(salesforce_emulator, write_api=write_api,
                           lead_assignment={"on_create": "none"})
    target = run_target(config, messages([contact("n1", "n1@acme.com")]))
    owner = owners(salesforce_emulator)["n1@acme.com"]
    assert owner[:15] == (target.sync_run.client.user_id or "")[:15]


def test_dry_run_plan_names_the_assignment(salesforce_emulator):
    config = target_config(salesforce_emulator, dry_run=True)
    target = run_target(config, messages([contact("d1", "d1@acme.com")]))
    lead = next(o for o in target.sync_run.report.outcomes if o.sobject == "Lead")
    assert lead.outcome == "created"
    assert lead.assignment == "org's active assignment rule"
    assert salesforce_emulator.backend.count("Lead") == 0


def test_a_bad_assignment_setting_fails_before_any_write(salesforce_emulator):
    from target_salesforce_aimdoc.settings import ConfigError

    config = target_config(salesforce_emulator, lead_assignment={"on_create": "sometimes"})
    with pytest.raises(ConfigError, match=r"lead_assignment\.on_create"):
        run_target(config, messages([contact("x1", "x1@acme.com")]))
    assert salesforce_emulator.backend.count("Lead") == 0
