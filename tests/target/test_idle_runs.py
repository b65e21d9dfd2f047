"""Idle runs cost nothing; frequent runs may skip describes."""

from __future__ import annotations

from tests.target.singer import contact, messages, run_target, target_config


def test_a_run_with_nothing_to_write_makes_no_salesforce_call(salesforce_emulator):
    config = target_config(salesforce_emulator, sync_contacts=True, sync_accounts=True)
    records = [contact(f"i{i}", f"p{i}@co{i % 3}.com", company=f"Co {i % 3}") for i in range(9)]
    records.append(contact("free", "someone@gmail.com"))  # feeds no Account
    first = run_target(config, messages(records))
    calls = salesforce_emulator.stats()["api_calls"]
    assert calls > 0
    again = run_target(config, messages(records, initial_state=first.states[-1]))
    assert salesforce_emulator.stats()["api_calls"] == calls  # not one call, not even login
    assert again.sync_run.report.count("unchanged") == 10 * 3 - 1
    nothing = run_target(config, messages([], initial_state=first.states[-1]))
    assert salesforce_emulator.stats()["api_calls"] == calls
    assert nothing.sync_run.client.usage.calls == 0


def test_a_changed_record_after_an_idle_start_is_written(salesforce_emulator):
    config = target_config(salesforce_emulator)
    first = run_target(config, messages([contact("c1", "c1@acme.com")]))
    changed = contact("c1", "c1@acme.com", job_title="CTO", updated_at="2026-11-22T10:00:00Z")
    run_target(config, messages([contact("c0", "c0@acme.com"), changed],
                                initial_state=first.states[-1]))
    leads = {r["Email"]: r for r in salesforce_emulator.backend.all_records("Lead")}
    assert leads["c1@acme.com"]["Title"] == "CTO" and "c0@acme.com" in leads


def test_describes_kept_across_runs_when_asked(salesforce_emulator, tmp_path):
    config = target_config(salesforce_emulator, sync_contacts=True, describe_cache_minutes=15,
                           describe_cache_dir=str(tmp_path / "describes"))
    first = run_target(config, messages([contact("a1", "a1@acme.com")]))
    kinds = first.sync_run.client.usage.by_kind
    assert kinds.get("composite_describe") == 1 and "describe" not in kinds  # Contact + Lead
    second = run_target(config, messages([contact("a2", "a2@acme.com")]))
    assert not {"describe", "composite_describe"} & set(second.sync_run.client.usage.by_kind)
    assert salesforce_emulator.backend.count("Lead") == 2
    off = target_config(salesforce_emulator, sync_contacts=True,
                        describe_cache_dir=str(tmp_path / "describes"))
    third = run_target(off, messages([contact("a3", "a3@acme.com")]))
    assert third.sync_run.client.usage.by_kind.get("composite_describe") == 1


def test_creates_and_updates_of_an_object_share_one_call(salesforce_emulator):
    """A small run's new and changed people: one Composite call writes them all."""
    config = target_config(salesforce_emulator, sync_contacts=True)
    first = run_target(config, messages([contact("u1", "u1@acme.com")]))
    changed = contact("u1", "u1@acme.com", job_title="CTO", updated_at="2026-11-22T10:00:00Z")
    second = run_target(config, messages([changed, contact("u2", "u2@acme.com")],
                                         initial_state=first.states[-1]))
    writes = {kind: count for kind, count in second.sync_run.client.usage.by_kind.items()
              if any(word in kind for word in ("create", "update", "upsert"))}
    assert writes == {"composite_upsert_update": 2}  # Contact, then Lead: one call each
    for sobject in ("Lead", "Contact"):
        rows = {r["Email"]: r for r in salesforce_emulator.backend.all_records(sobject)}
        assert set(rows) == {"u1@acme.com", "u2@acme.com"}
        assert rows["u1@acme.com"]["Title"] == "CTO"
