"""Soak: tap-aimdoc | target-salesforce-aimdoc under faults, a session expiry, a SIGKILL, and
two runs at once.

    .venv/bin/python bench/soak.py --contacts 5000

Both emulators inject faults (Salesforce: 503, row locks, the concurrency limit and one forced
session expiry, and ambiguous writes: a 500 or a cut connection after the commit, and answers
held back past the target's read timeout; Aimdoc: 429 and 503). The target is killed with
SIGKILL part-way, then two pipelines are re-run at once from the last state it saved (two
schedules overlapping), and a fourth run follows. Salesforce's records are then compared with
the expected set computed from the Aimdoc data: 0 missing, 0 duplicated Leads / Contacts /
Accounts, exactly one note per conversation, and no secret in any output.
``tests/test_soak.py`` runs it small in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from publicsuffixlist import PublicSuffixList

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator
from aimdoc_emulators.salesforce.emulator import SalesforceEmulator
from target_salesforce_aimdoc.domains import FreeMail, is_valid_email, normalize_email

BIN = Path(sys.executable).parent
SECRETS = ("demo-client-secret", "ak_emulator_test_key", "00D5e000000EMUL!")
PSL = PublicSuffixList()


def configs(work: Path, aimdoc: AimdocEmulator, salesforce: SalesforceEmulator) -> tuple:
    tap = work / "tap.json"
    tap.write_text(json.dumps({"api_key": aimdoc.api_key, "api_url": aimdoc.api_url,
                               "start_date": "2020-01-01T00:00:00Z", "backoff_factor": 0.05,
                               "max_retry_wait": 1}))
    target = work / "target.json"
    target.write_text(json.dumps({
        "login_url": salesforce.url, "client_id": "demo-client-id",
        "client_secret": "demo-client-secret", "ca_file": str(salesforce.ca_file),
        "sync_contacts": True, "sync_accounts": True, "batch_size_rows": 200,
        "max_retry_wait_seconds": 0.2, "max_tries": 10, "state_flush_minutes": 0.02,
        "http_timeout_seconds": 1.5, "run_lock_dir": str(work / "locks"),
        "report_dir": str(work / "report"), "dead_letter_path": str(work / "dead.jsonl"),
        "max_error_rate": 1.0}))
    return tap, target


def run(work: Path, name: str, tap_config: Path, target_config: Path, state: Path | None,
        kill_when: Any = None) -> tuple[Path | None, int]:
    """One tap | target run; ``kill_when()`` true -> SIGKILL the target. (state, exit)."""
    tap_cmd = [str(BIN / "tap-aimdoc"), "--config", str(tap_config)]
    if state is not None:
        tap_cmd += ["--state", str(state)]
    out = work / f"{name}.stdout"
    with out.open("w") as stdout, (work / f"{name}.tap.log").open("w") as tap_log, \
            (work / f"{name}.target.log").open("w") as target_log:
        tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=tap_log)
        target = subprocess.Popen([str(BIN / "target-salesforce-aimdoc"), "--config",
                                   str(target_config)], stdin=tap.stdout, stdout=stdout,
                                  stderr=target_log)
        tap.stdout.close()
        while target.poll() is None:
            if kill_when is not None and kill_when():
                os.kill(target.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        target.wait()
        tap.wait()
    lines = [line for line in out.read_text().splitlines() if line.strip()]
    if not lines:
        return state, target.returncode
    saved = work / f"{name}.state.json"
    saved.write_text(lines[-1])
    return saved, target.returncode


def expected(aimdoc: AimdocEmulator) -> dict[str, Any]:
    """What Salesforce must hold, from the Aimdoc data alone."""
    free = FreeMail.from_lists()
    people, synced_ids = {}, set()
    for contact in aimdoc.backend.dataset.contacts:
        email = contact.get("email")
        if not email or contact.get("status") == "disqualified" or not is_valid_email(email):
            continue  # filtered or refused: neither records nor notes
        people.setdefault(normalize_email(email), contact)
        synced_ids.add(contact["id"])
    domains = {PSL.privatesuffix(e.split("@")[1]) for e in people if not free.is_free(e)}
    conversations = {c["id"] for c in aimdoc.backend.dataset.conversations
                     if c.get("contact_id") in synced_ids}
    return {"emails": set(people), "domains": domains, "conversations": conversations}


def compare(salesforce: SalesforceEmulator, want: dict[str, Any]) -> dict[str, Any]:
    """Missing and duplicated records per object, and notes per conversation."""
    result: dict[str, Any] = {}
    for sobject in ("Lead", "Contact"):
        emails = [r["Email"].lower() for r in salesforce.backend.all_records(sobject)]
        result[sobject] = {"missing": len(want["emails"] - set(emails)),
                           "duplicated": len(emails) - len(set(emails)),
                           "unexpected": len(set(emails) - want["emails"])}
    sites = [PSL.privatesuffix(r["Website"].split("//", 1)[-1].split("/")[0].removeprefix(
        "www.")) for r in salesforce.backend.all_records("Account")]
    result["Account"] = {"missing": len(want["domains"] - set(sites)),
                         "duplicated": len(sites) - len(set(sites)),
                         "unexpected": len(set(sites) - want["domains"])}
    ids = {}  # a note's title ends with its conversation's id (or, before, its last 12 chars)
    for conversation in want["conversations"]:
        ids[conversation] = ids[conversation[-12:]] = conversation
    titles = [n["Title"].rsplit(" · ", 1)[-1] for n in
              salesforce.backend.all_records("ContentNote")]
    found = [ids.get(title, title) for title in titles]
    result["Note"] = {"missing": len(want["conversations"] - set(found)),
                      "duplicated": len(found) - len(set(found)),
                      "unexpected": len(set(found) - want["conversations"])}
    return result


def secrets_found(work: Path) -> list[str]:
    """Files of the run (logs, state, reports, dead letters) that contain a secret."""
    found = []
    for path in work.rglob("*"):
        if not path.is_file() or path.suffix == ".pem" or path.name in {"tap.json",
                                                                        "target.json"}:
            continue  # the configs hold the secrets on purpose; PEMs are the emulator's
        text = path.read_text(errors="replace")
        found += [f"{path.name}: {secret}" for secret in SECRETS if secret in text]
    return found


def soak(contacts: int, work: Path, seed: int = 3) -> dict[str, Any]:
    """The whole soak; returns the comparison and what happened."""
    aimdoc = AimdocEmulator(seed=seed, contacts=contacts).start()
    salesforce = SalesforceEmulator(work_dir=work / "sf", fault_seed=seed).start()
    try:
        aimdoc.backend.set_faults({"seed": seed, "rate_429": 0.02, "rate_503": 0.01,
                                   "retry_after": 0})
        salesforce.set_faults({"seed": seed, "rules": [
            {"error": "SERVER_UNAVAILABLE", "probability": 0.02},
            {"error": "UNABLE_TO_LOCK_ROW", "probability": 0.01},
            {"error": "UNABLE_TO_LOCK_ROW", "probability": 0.01, "scope": "record"},
            {"error": "UNKNOWN_EXCEPTION", "probability": 0.01, "phase": "after"},
            {"error": "DROP_CONNECTION", "probability": 0.01, "phase": "after",
             "match": "write"},
            {"error": "HANG", "seconds": 3, "probability": 0.005, "phase": "after",
             "match": "write"},
            {"error": "REQUEST_LIMIT_EXCEEDED", "probability": 0.01},
            {"error": "INVALID_SESSION_ID", "times": 1, "after": 6},
        ]})
        tap_config, target_config = configs(work, aimdoc, salesforce)
        want = expected(aimdoc)
        threshold = max(1, len(want["emails"]) // 3)

        def halfway() -> bool:
            return salesforce.backend.count("Contact") >= threshold

        state, killed_exit = run(work, "killed", tap_config, target_config, None, halfway)
        partial = {k: salesforce.backend.count(k) for k in ("Lead", "Contact", "ContentNote")}
        with ThreadPoolExecutor(max_workers=2) as pool:  # two schedules overlapping
            pair = list(pool.map(lambda name: run(work, name, tap_config, target_config, state),
                                 ["rerun", "concurrent"]))
        state, rerun_exit = pair[0]
        concurrent_exit = pair[1][1]
        state, again_exit = run(work, "again", tap_config, target_config, state)
        return {
            "contacts": contacts,
            "killed_exit": killed_exit, "partial_after_kill": partial,
            "rerun_exit": rerun_exit, "concurrent_exit": concurrent_exit,
            "again_exit": again_exit,
            "faults_injected": {"salesforce": salesforce.stats()["faults_injected"],
                                "aimdoc": aimdoc.backend.stats.to_json().get("faults", {})
                                if hasattr(aimdoc.backend.stats, "to_json") else None},
            "expected": {"people": len(want["emails"]), "domains": len(want["domains"]),
                         "conversations": len(want["conversations"])},
            "comparison": compare(salesforce, want),
            "secrets_found": secrets_found(work),
            "salesforce_api_calls": salesforce.stats()["api_calls"],
        }
    finally:
        aimdoc.stop()
        salesforce.stop()


def main() -> None:
    """Run the soak and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        print(json.dumps(soak(args.contacts, Path(folder), args.seed), indent=2))


if __name__ == "__main__":
    main()
