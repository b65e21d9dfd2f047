"""``salesforce-emulator``: serve the emulated org in the foreground."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aimdoc_emulators.salesforce.auth import Credentials
from aimdoc_emulators.salesforce.emulator import SalesforceEmulator


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    parser = argparse.ArgumentParser(
        prog="salesforce-emulator",
        description="A local Salesforce REST API emulator over HTTPS on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--db", default=":memory:", help="SQLite file (default in memory)")
    parser.add_argument("--seed-file", type=Path,
                        help="JSON: org, metadata, duplicate_rules, assignment_rules, records")
    parser.add_argument("--org", choices=("default", "bare"), default="default",
                        help="default: a new org of today (standard duplicate rules, a Lead "
                             "assignment rule); bare: neither")
    parser.add_argument("--work-dir", type=Path, help="where the CA and JWT key files go")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--fault", action="append", default=[], metavar="NAME:PROBABILITY",
                        help="e.g. SERVER_UNAVAILABLE:0.05 (repeatable)")
    parser.add_argument("--daily-limit", type=int, default=15000)
    parser.add_argument("--concurrent-limit", type=int, default=25)
    parser.add_argument("--session-ttl", type=float, default=7200.0, help="seconds")
    defaults = Credentials()
    for name in ("username", "password", "security_token", "client_id", "client_secret",
                 "refresh_token"):
        parser.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name))
    parser.add_argument("--jwt-cert", type=Path, help="certificate (PEM) that signs JWT logins")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until interrupted."""
    args = build_parser().parse_args(argv)
    credentials = Credentials(
        username=args.username, password=args.password, security_token=args.security_token,
        client_id=args.client_id, client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        jwt_public_key=args.jwt_cert.read_text(encoding="utf-8") if args.jwt_cert else None,
    )
    emulator = SalesforceEmulator(
        port=args.port, db_path=args.db, seed_file=args.seed_file, credentials=credentials,
        daily_limit=args.daily_limit, concurrent_limit=args.concurrent_limit,
        session_ttl=args.session_ttl, latency_ms=args.latency_ms, jitter_ms=args.jitter_ms,
        fault_seed=args.fault_seed, work_dir=args.work_dir, org=args.org,
    )
    for spec in args.fault:
        name, _, probability = spec.partition(":")
        emulator.add_fault({"error": name, "probability": float(probability or 1.0)})
    emulator.server.bind()
    print(f"Salesforce emulator at {emulator.url}", flush=True)
    print(f"CA file: {emulator.ca_file}", flush=True)
    if emulator.jwt_private_key_file:
        print(f"JWT private key: {emulator.jwt_private_key_file}", flush=True)
    print(f"simple-salesforce: domain='{emulator.login_domain()}' or "
          f"instance_url='{emulator.url}'", flush=True)
    try:
        emulator.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
