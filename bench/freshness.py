"""Freshness benchmark: webhook-triggered syncs, from an Aimdoc change to its Salesforce record.

    .venv/bin/python bench/freshness.py                      # 50 changes over 60 s
    .venv/bin/python bench/freshness.py --min-interval 10    # one trigger setting only

Both emulators run in their own processes, as in bench/run.py. After a first full sync, the
trigger (``python -m aimdoc_trigger``) serves on a free port with its command set to a script
that pipes ``tap-aimdoc | target-salesforce-aimdoc`` (configured against the emulators, state
kept between runs, as ``meltano run`` keeps it), and the Aimdoc emulator is subscribed to it
(``POST /__emulator/webhooks``). Then 50 changes (new contacts and enriched ones, at random
moments spread over a minute) are made by advancing the emulator's clock; each advance posts
its webhooks. A poller reads the Salesforce emulator's Leads and Contacts; a change is in
Salesforce when a record with the contact's email has a LastModifiedDate at or after the change,
or, when the change touched no mapped field (an enrichment the mapping does not write), when the
first run that started after it ended having reported the contact (its run report's outcome,
typically ``unchanged``): from then on Salesforce shows the change as far as the mapping goes.

Reported: delay per change (p50, p95, max), runs, whether two runs ever overlapped (from the
command's own start/end log), Salesforce API calls for the minute (the emulator counts them),
and, on a fresh org with the same changes made at once, the calls of one batch run and of an
idle run. Written to bench/results-freshness.md. Not a test: the goals are printed, not asserted,
except that two runs never overlap and that every change reaches Salesforce.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from run import BIN, EmulatorProcess, cpu_seconds_for_fixed_work, write_catalog

from aimdoc_emulators.aimdoc.models import DEFAULT_API_KEY as AIMDOC_KEY
from aimdoc_trigger.settings import new_token

ROOT = Path(__file__).resolve().parent.parent
SYNC_SCRIPT = """#!/bin/sh
# one sync: tap | target, state carried from the last good run (as Meltano keeps it)
cd "{work}"
# the target's one-run-per-org lock, private to this bench (all emulated orgs share one id)
export TARGET_SALESFORCE_AIMDOC_LOCK_DIR="{work}/locks"
echo "start $$ $(date +%s.%N)" >> runs.log
state=""
[ -s state.json ] && state="--state state.json"
"{bin}/tap-aimdoc" --config tap.json --catalog catalog.json $state 2>>tap.log \\
  | "{bin}/target-salesforce-aimdoc" --config target.json 2>>target.log > state.out
rc=$?
[ $rc -eq 0 ] && [ -s state.out ] && tail -n 1 state.out > state.json
mkdir -p reports && cp report/run-report.json "reports/$$.json" 2>/dev/null
echo "end $$ $(date +%s.%N) $rc" >> runs.log
exit $rc
"""


def sf_time(stamp: str) -> float:
    """Salesforce's ``2026-12-02T06:50:01.123+0000`` as epoch seconds."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class Poller:
    """Reads the org's Leads and Contacts every ``period`` s: email -> LastModifiedDates seen.

    Every value seen is kept, so a contact changed twice has each write on record.
    """

    def __init__(self, salesforce: EmulatorProcess, period: float = 0.25) -> None:
        self.salesforce, self.period = salesforce, period
        self.modified: dict[str, set[float]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def read(self) -> None:
        """One look at the org."""
        for kind in ("Lead", "Contact"):
            for record in self.salesforce.admin("GET", f"records/{kind}"):
                email = (record.get("Email") or "").lower()
                if email and record.get("LastModifiedDate"):
                    with self.lock:
                        self.modified.setdefault(email, set()).add(
                            sf_time(record["LastModifiedDate"]))

    def _loop(self) -> None:
        while not self.stop.wait(self.period):
            self.read()

    def synced_at(self, email: str, since: float) -> float | None:
        """The first write of a record with ``email`` at or after ``since``."""
        with self.lock:
            after = [t for t in self.modified.get(email.lower(), ()) if t >= since - 0.001]
        return min(after) if after else None


def configure(work: Path, aimdoc: EmulatorProcess, salesforce: EmulatorProcess,
              args: argparse.Namespace) -> Path:
    """Tap and target configs, the catalog, and the sync script; returns the script."""
    tap_config = work / "tap.json"
    tap_config.write_text(json.dumps({"api_key": AIMDOC_KEY, "api_url": f"{aimdoc.url}/api/v1",
                                      "start_date": "2020-01-01T00:00:00Z"}))
    write_catalog(tap_config, ["contacts", "transcripts"], work)
    (work / "target.json").write_text(json.dumps({
        "login_url": salesforce.url, "client_id": "demo-client-id",
        "client_secret": "demo-client-secret", "ca_file": salesforce.ca_file,
        "sync_contacts": True, "sync_accounts": True,
        "describe_cache_minutes": 15, "describe_cache_dir": str(work / "describes"),
        "report_dir": str(work / "report"), "dead_letter_path": str(work / "dead.jsonl")}))
    script = work / "sync.sh"
    script.write_text(SYNC_SCRIPT.format(work=work, bin=BIN))
    script.chmod(0o755)
    return script


def fresh_start(work: Path, aimdoc: EmulatorProcess, salesforce: EmulatorProcess,
                args: argparse.Namespace) -> None:
    """The same data set and an empty org, no state; then one full sync."""
    aimdoc.admin("POST", "generate", {"seed": args.seed, "contacts": args.contacts,
                                      "no_email_share": 0.0})
    salesforce.admin("POST", "reset")
    for name in ("state.json", "state.out", "runs.log"):
        (work / name).unlink(missing_ok=True)
    subprocess.run([str(work / "sync.sh")], check=True, timeout=600)
    (work / "runs.log").unlink(missing_ok=True)


def change_plan(args: argparse.Namespace) -> list[tuple[float, dict]]:
    """(offset in s, advance body) for each change: new or enriched contacts, spread out."""
    rng = random.Random(args.seed)
    offsets = sorted(rng.uniform(0, args.window) for _ in range(args.changes))
    plan = []
    for offset in offsets:
        new = rng.random() < args.new_share
        plan.append((offset, {"seconds": 2, "new_contacts": int(new),
                              "enriched_contacts": int(not new),
                              "conversations_with_new_messages": 0,
                              "reactivated_conversations": 0}))
    return plan


def emails_of(aimdoc: EmulatorProcess, ids: list[str]) -> dict[str, str]:
    contacts = aimdoc.admin("GET", "data/contacts")
    wanted = set(ids)
    return {c["id"]: c["email"] for c in contacts if c["id"] in wanted and c.get("email")}


def start_trigger(script: Path, work: Path, args: argparse.Namespace, token: str,
                  min_interval: float) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "AIMDOC_TRIGGER_TOKEN": token}
    command = [sys.executable, "-m", "aimdoc_trigger", "--port", "0",
               "--command", str(script), "--min-interval", str(min_interval),
               "--debounce", str(args.debounce), "--fallback-interval", "0",
               "--run-at-start", "false", "--shutdown-grace", "120"]
    log = (work / "trigger.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=log, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("aimdoc-trigger listening on "):
        raise RuntimeError(f"the trigger did not start: {line!r}")
    return process, line.split()[-1]


def read_runs(work: Path) -> list[dict]:
    """The sync script's runs: start, end, exit code, and the contacts its report lists."""
    runs: dict[str, dict] = {}
    path = work / "runs.log"
    for line in path.read_text().splitlines() if path.exists() else []:
        what, pid, moment, *rest = line.split()
        run = runs.setdefault(pid, {"start": None, "end": None, "exit": None, "pid": pid})
        run[what] = float(moment)
        if rest:
            run["exit"] = int(rest[0])
    for run in runs.values():
        report = work / "reports" / f"{run['pid']}.json"
        records = json.loads(report.read_text())["records"] if report.exists() else []
        run["contacts"] = {r["key"]: r for r in records if r["stream"] == "contacts"}
    return sorted(runs.values(), key=lambda r: r["start"])


def settle(changes: list[dict], runs: list[dict]) -> None:
    """A change no record write shows: settled when the first run that reported it ended.

    Only changed contacts reach a run's report, so a run that lists the contact and ended
    after the change read it after the change (it may have started just before).
    """
    for change in changes:
        if "synced" in change or not change["email"]:
            continue
        for run in runs:
            row = run["contacts"].get(change["id"])
            if row is not None and run["end"] and run["end"] >= change["at"]:
                outcomes = {o["outcome"] for o in row.get("objects", {}).values()}
                change["synced"] = run["end"]
                change["how"] = "/".join(sorted(outcomes)) or row.get("outcome") or "reported"
                break


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def webhook_phase(work: Path, script: Path, aimdoc: EmulatorProcess,
                  salesforce: EmulatorProcess, args: argparse.Namespace,
                  min_interval: float) -> dict:
    """The trigger running, the changes spread over the window; delays, runs, calls."""
    fresh_start(work, aimdoc, salesforce, args)
    token = new_token()
    trigger, trigger_url = start_trigger(script, work, args, token, min_interval)
    poller = Poller(salesforce)
    poller.read()
    poller.thread.start()
    try:
        aimdoc.admin("POST", "webhooks", {"url": f"{trigger_url}/aimdoc/{token}"})
        calls_before = salesforce.admin("GET", "stats")["api_calls"]
        started = time.time()
        changes = []
        for offset, body in change_plan(args):
            time.sleep(max(0.0, started + offset - time.time()))
            moment = time.time()
            made = aimdoc.admin("POST", "advance", body)
            ids = made["new_contacts"] or made["enriched_contacts"]
            kind = "new" if made["new_contacts"] else "enriched"
            changes.extend({"id": key, "kind": kind, "at": moment} for key in ids)
        emails = emails_of(aimdoc, [c["id"] for c in changes])
        for change in changes:
            change["email"] = emails.get(change["id"])
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            for change in changes:
                if change["email"] and "synced" not in change:
                    synced = poller.synced_at(change["email"], change["at"])
                    if synced is not None:
                        change["synced"], change["how"] = synced, "written"
            settle(changes, read_runs(work))
            if all("synced" in c for c in changes if c["email"]):
                break
            time.sleep(0.2)
        status = requests.get(f"{trigger_url}/last-run", timeout=10).json()
        while status["running"] or status["pending"]:  # let the last run end
            time.sleep(0.5)
            status = requests.get(f"{trigger_url}/last-run", timeout=10).json()
        calls = salesforce.admin("GET", "stats")["api_calls"] - calls_before
        deliveries = [d for d in aimdoc.admin("GET", "webhooks", {"limit": 100_000})[
            "deliveries"] if d["at"] >= started]
        aimdoc.admin("DELETE", "webhooks", {})
    finally:
        poller.stop.set()
        trigger.terminate()
        trigger.wait(timeout=180)
    runs = read_runs(work)
    overlaps = sum(1 for a, b in itertools.pairwise(runs)
                   if a["end"] is None or b["start"] < a["end"])
    # a change the target's filters skip (by design) has no Salesforce record to wait for
    delays = [c["synced"] - c["at"] for c in changes if "synced" in c and c["how"] != "skipped"]
    return {
        "min_interval_s": min_interval,
        "changes": len(changes),
        "new": sum(c["kind"] == "new" for c in changes),
        "enriched": sum(c["kind"] == "enriched" for c in changes),
        "without_email": sum(not c["email"] for c in changes),
        "missed": [c["id"] for c in changes if c["email"] and "synced" not in c],
        "settled_by": {how: sum(c.get("how", "missed") == how for c in changes)
                       for how in sorted({c.get("how", "missed") for c in changes})},
        "filtered_out": sum(c.get("how") == "skipped" for c in changes),
        "delay_p50_s": round(statistics.median(delays), 2) if delays else None,
        "delay_p95_s": round(percentile(delays, 0.95), 2) if delays else None,
        "delay_max_s": round(max(delays), 2) if delays else None,
        "delay_min_s": round(min(delays), 2) if delays else None,
        "runs": len(runs),
        "run_seconds_median": round(statistics.median(r["end"] - r["start"] for r in runs
                                                      if r["end"]), 2) if runs else None,
        "failed_runs": sum(r["exit"] not in (0, None) for r in runs),
        "overlapping_runs": overlaps,
        "webhooks_delivered": sum(d["outcome"] == "delivered" for d in deliveries),
        "events_seen_by_trigger": status["hints_received"],
        "salesforce_api_calls": calls,
        "trigger_exit": trigger.returncode,
        "detail": [{"id": c["id"][:8], "kind": c["kind"], "at": round(c["at"] - started, 2),
                    "delay": round(c["synced"] - c["at"], 2) if "synced" in c else None,
                    "how": c.get("how")} for c in changes],
    }


def batch_phase(work: Path, aimdoc: EmulatorProcess, salesforce: EmulatorProcess,
                args: argparse.Namespace) -> dict:
    """The same changes made at once on a fresh org, then one run; then an idle run."""
    fresh_start(work, aimdoc, salesforce, args)
    for _offset, body in change_plan(args):
        aimdoc.admin("POST", "advance", body)
    figures = {}
    for name in ("batch_run", "idle_run"):
        before = salesforce.admin("GET", "stats")["api_calls"]
        started = time.monotonic()
        subprocess.run([str(work / "sync.sh")], check=True, timeout=600)
        figures[f"{name}_seconds"] = round(time.monotonic() - started, 2)
        figures[f"{name}_api_calls"] = salesforce.admin("GET", "stats")["api_calls"] - before
    return figures


def markdown(result: dict) -> str:
    hooks, batch = result["webhook"], result["batch"]
    first = hooks[0]
    lines = [
        "# Freshness: webhook-triggered syncs (bench/freshness.py)",
        "",
        f"{first['changes']} changes ({first['new']} new contacts, {first['enriched']} "
        f"enriched) at random moments over {result['window_s']} s, the same for each row; "
        f"{result['contacts']} contacts in the data set; Salesforce latency "
        f"{result['latency_ms']} ms (+/- {result['jitter_ms']}); trigger debounce "
        f"{result['debounce_s']} s; command: tap-aimdoc | target-salesforce-aimdoc (contacts "
        f"+ transcripts, state kept between runs); host speed probe "
        f"{result['host_speed_probe_s']} s (bench/run.py's; higher is slower). Goals: p50 <= "
        "15 s, p95 <= 30 s, no two runs at once, every change in Salesforce.",
        "",
        "| trigger min interval | delay p50 | delay p95 | min / max | changes never in "
        "Salesforce | runs (median s) | runs at once | failed runs | webhooks delivered | "
        "Salesforce API calls for the minute |",
        "|---" * 10 + "|",
    ]
    for hook in hooks:
        lines.append(
            f"| {hook['min_interval_s']:g} s | {hook['delay_p50_s']} s | {hook['delay_p95_s']} s "
            f"| {hook['delay_min_s']} / {hook['delay_max_s']} s | {len(hook['missed'])} | "
            f"{hook['runs']} ({hook['run_seconds_median']}) | {hook['overlapping_runs']} | "
            f"{hook['failed_runs']} | {hook['webhooks_delivered']} | "
            f"{hook['salesforce_api_calls']} |")
    lines += [
        "",
        f"The same changes in one batch run on a fresh org: {batch['batch_run_api_calls']} "
        f"Salesforce API calls ({batch['batch_run_seconds']} s). A run with nothing to do "
        f"after it: {batch['idle_run_api_calls']} calls.",
        "",
        "How each change showed (delays leave out the skipped ones): "
        + "; ".join(f"min interval {hook['min_interval_s']:g} s: "
                    + ", ".join(f"{k} {v}" for k, v in hook["settled_by"].items())
                    for hook in hooks)
        + ". `written`: a Lead or Contact with the email got a LastModifiedDate at or after the "
        "change; `unchanged`, `created`, `updated` (run outcomes): the mapping had nothing new "
        "to write and the first run that read the change reported the contact; `skipped`: the "
        "target's filters (disqualified contacts).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    parser.add_argument("--new-share", type=float, default=0.6)
    parser.add_argument("--min-interval", type=float, nargs="+", default=[10.0, 0.0, 30.0],
                        help="the trigger's --min-interval, one measurement each (its "
                             "default: 10 s)")
    parser.add_argument("--debounce", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds after the last change to wait for Salesforce")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--work-dir", type=Path, help="keep the logs and reports here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as folder:
        work = args.work_dir.resolve() if args.work_dir else Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        aimdoc = EmulatorProcess([str(BIN / "aimdoc-emulator"), "--port", "0", "--seed",
                                  str(args.seed), "--contacts", str(args.contacts)],
                                 "Aimdoc emulator listening on")
        salesforce = EmulatorProcess([str(BIN / "salesforce-emulator"), "--port", "0",
                                      "--work-dir", str(work / "sf"),
                                      "--latency-ms", str(args.latency_ms),
                                      "--jitter-ms", str(args.jitter_ms)],
                                     "Salesforce emulator at")
        try:
            script = configure(work, aimdoc, salesforce, args)
            probe = cpu_seconds_for_fixed_work()
            hooks = [webhook_phase(work, script, aimdoc, salesforce, args, interval)
                     for interval in args.min_interval]
            batch = batch_phase(work, aimdoc, salesforce, args)
        finally:
            aimdoc.stop()
            salesforce.stop()
    result = {"contacts": args.contacts, "window_s": args.window,
              "latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms,
              "debounce_s": args.debounce, "host_speed_probe_s": probe, "webhook": hooks,
              "batch": batch}
    print(json.dumps(result, indent=2))
    text = markdown(result)
    print(text)
    (args.out / "results-freshness.md").write_text(text)
    for hook in hooks:
        assert hook["overlapping_runs"] == 0, "two runs at once"
        assert not hook["missed"], f"changes never in Salesforce: {hook['missed']}"


if __name__ == "__main__":
    main()
