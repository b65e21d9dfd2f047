"""``python -m aimdoc_emulators``: serve both emulators for the demo and print their settings.

    python -m aimdoc_emulators --contacts 300 --env-file output/demo/emulators.env

Writes a shell file of the settings the tap and target need (URLs, CA file, demo credentials)
and serves until interrupted. The Salesforce org is seeded with a few Accounts, Leads and a
Contact the synthetic Aimdoc data matches, so the demo shows matching as well as creation.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import threading
from pathlib import Path

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator
from aimdoc_emulators.aimdoc.generator import generate_dataset
from aimdoc_emulators.salesforce.emulator import SalesforceEmulator


def seed_org(salesforce: SalesforceEmulator, seed: int, contacts: int) -> dict[str, int]:
    """Pre-existing CRM data: Accounts for some company domains, a few Leads and a Contact."""
    people = [c for c in generate_dataset(seed=seed, contacts=contacts).contacts
              if c.get("email") and '"' not in c["email"] and "\\" not in c["email"]]
    domains = sorted({c["email"].rsplit("@", 1)[1].lower() for c in people
                      if c.get("company")})[:8]
    accounts = [{"Name": domain.split(".")[0].title(), "Website": f"https://www.{domain}/"}
                for domain in domains]
    leads = [{"LastName": c.get("last_name") or "Unknown", "Company": c.get("company") or "?",
              "Email": c["email"].upper(), "Status": "Working - Contacted"}
             for c in people[5:10]]
    known = [{"LastName": c.get("last_name") or "Unknown", "Email": c["email"]}
             for c in people[10:12]]
    created = salesforce.seed({"records": {"Account": accounts, "Lead": leads,
                                           "Contact": known}})
    return {name: len(ids) for name, ids in created.items()}


def main(argv: list[str] | None = None) -> int:
    """Start both emulators, write the env file, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m aimdoc_emulators", description=__doc__)
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--aimdoc-port", type=int, default=8765)
    parser.add_argument("--salesforce-port", type=int, default=8443)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--work-dir", type=Path, default=Path("output/demo"))
    parser.add_argument("--env-file", type=Path, default=Path("output/demo/emulators.env"))
    args = parser.parse_args(argv)
    aimdoc = AimdocEmulator(args.seed, args.contacts, port=args.aimdoc_port).start()
    salesforce = SalesforceEmulator(port=args.salesforce_port, work_dir=args.work_dir / "sf",
                                    latency_ms=args.latency_ms).start()
    seeded = seed_org(salesforce, args.seed, args.contacts)
    settings = {
        "TAP_AIMDOC_API_URL": aimdoc.api_url,
        "TAP_AIMDOC_API_KEY": aimdoc.api_key,
        "TARGET_SALESFORCE_AIMDOC_LOGIN_URL": salesforce.url,
        "TARGET_SALESFORCE_AIMDOC_CLIENT_ID": salesforce.credentials.client_id,
        "TARGET_SALESFORCE_AIMDOC_CLIENT_SECRET": salesforce.credentials.client_secret,
        "TARGET_SALESFORCE_AIMDOC_CA_FILE": str(salesforce.ca_file),
        "AIMDOC_EMULATOR_ADMIN": aimdoc.admin_url,
        "SALESFORCE_EMULATOR_URL": salesforce.url,
    }
    args.env_file.parent.mkdir(parents=True, exist_ok=True)
    args.env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in
                                     settings.items()))
    print(f"Aimdoc emulator:     {aimdoc.api_url} ({args.contacts} synthetic contacts)")
    print(f"Salesforce emulator: {salesforce.url} (seeded {seeded})")
    print(f"Settings for the tap and target: {args.env_file}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    aimdoc.stop()
    salesforce.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
