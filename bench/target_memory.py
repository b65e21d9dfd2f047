"""Peak RSS of the target for N contacts (is memory flat in N?), without the tap.

    .venv/bin/python bench/target_memory.py --contacts 10000 100000 [--batch-size 2000]

Streams N synthetic contact records (unique emails over 5,000 company domains and free-mail)
from a generator process into target-salesforce-aimdoc (Lead + Contact + Account) against the
Salesforce emulator, and reads the target's VmHWM. Prints a markdown row per size. By default
the target runs at a user's default settings (no ``batch_size_rows``: adaptive batches);
``--batch-size N`` sets it. ``--from-file`` writes the input to a file first and gives the
target that file as its standard input (as a saved tap output), instead of a pipe.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aimdoc_emulators.salesforce.emulator import SalesforceEmulator

BIN = Path(sys.executable).parent
SCHEMA = {"type": "object", "properties": {
    "id": {"type": "string"}, "email": {"type": "string"}, "first_name": {"type": "string"},
    "last_name": {"type": "string"}, "company": {"type": "string"},
    "status": {"type": "string"}, "updated_at": {"type": "string", "format": "date-time"}}}


def lines(count: int):
    """Singer messages for ``count`` contacts, generated lazily."""
    yield json.dumps({"type": "SCHEMA", "stream": "contacts", "key_properties": ["id"],
                      "schema": SCHEMA})
    for i in range(count):
        domain = "gmail.com" if i % 5 == 0 else f"company{i % 5000}.com"
        yield json.dumps({"type": "RECORD", "stream": "contacts", "record": {
            "id": f"c{i}", "email": f"person{i}@{domain}", "first_name": "Pat",
            "last_name": f"Person {i}", "company": f"Company {i % 5000}", "status": "new",
            "updated_at": "2026-03-01T00:00:00Z"}})
        if i % 5000 == 4999:
            yield json.dumps({"type": "STATE", "value": {"bookmarks": {"contacts": {"n": i}}}})


def measure(count: int, batch_size: int | None = None, from_file: bool = False) -> dict:
    """Run the target on ``count`` contacts; its peak RSS, time and API calls."""
    with tempfile.TemporaryDirectory(prefix="memory-") as folder:
        work = Path(folder)
        salesforce = SalesforceEmulator(work_dir=work / "sf").start()
        config = work / "target.json"
        config.write_text(json.dumps({
            "login_url": salesforce.url, "client_id": "demo-client-id",
            "client_secret": "demo-client-secret", "ca_file": str(salesforce.ca_file),
            "sync_contacts": True, "sync_accounts": True,
            **({"batch_size_rows": batch_size} if batch_size else {}),
            "report_dir": str(work / "report"), "dead_letter_path": str(work / "dead.jsonl")}))
        source = None
        if from_file:
            path = work / "input.singer"
            with path.open("w") as out:
                for line in lines(count):
                    out.write(line + "\n")
            source = path.open()
        started = time.monotonic()
        target = subprocess.Popen([str(BIN / "target-salesforce-aimdoc"), "--config",
                                   str(config)], stdin=source or subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        peak = [0]

        def watch() -> None:
            status = Path(f"/proc/{target.pid}/status")
            while target.poll() is None:
                try:
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                except FileNotFoundError:
                    return
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        if source is None:
            for line in lines(count):
                target.stdin.write(line + "\n")
            target.stdin.close()
        target.wait()
        if source is not None:
            source.close()
        watcher.join()
        result = {"contacts": count, "batch": batch_size or "default",
                  "input": "file" if from_file else "pipe",
                  "seconds": round(time.monotonic() - started, 1),
                  "target_peak_rss_mb": round(peak[0] / 1024, 1),
                  "api_calls": salesforce.stats()["api_calls"],
                  "leads": salesforce.backend.count("Lead"), "exit": target.returncode}
        salesforce.stop()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch_size_rows (default: unset, adaptive batches)")
    parser.add_argument("--from-file", action="store_true",
                        help="feed the target a file rather than a pipe")
    args = parser.parse_args()
    print("| contacts | batch | input | seconds | target peak RSS MB | API calls | Leads | exit |")
    print("|---|---|---|---|---|---|---|---|")
    for count in args.contacts:
        r = measure(count, args.batch_size, args.from_file)
        print(f"| {r['contacts']:,} | {r['batch']} | {r['input']} | {r['seconds']} | "
              f"{r['target_peak_rss_mb']} | {r['api_calls']} | {r['leads']} | {r['exit']} |",
              flush=True)


if __name__ == "__main__":
    main()
