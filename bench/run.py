"""End-to-end benchmark: tap-aimdoc | target-salesforce-aimdoc against both emulators.

    .venv/bin/python bench/run.py --contacts 1000 10000 --latency-ms 100 --jitter-ms 20

For each size: a first sync (Account + Contact + Lead + transcript notes), an unchanged replay
(the same messages sent again, with the first run's state), the same messages with the state
lost (nothing must be written again: no record created, no note rewritten), and an incremental
run after the Aimdoc emulator's clock advances. Each emulator runs in its own process (the
real services do not share our interpreter). It reports Salesforce API calls per 1,000
contacts (from the emulator's stats), wall time, contacts per second and the peak RSS of the
tap and the target, as JSON (bench/results.json) and a markdown table (bench/results.md).
Not a test: no asserts.

The target runs at a user's default settings first (``--batch-size default``: no
``batch_size_rows``, so batches adapt: small while records trickle in, large in a backfill);
a number (``--batch-size default 2000``) measures that fixed cap too, after the defaults.
``--objects lead`` syncs Lead only (no Contact, no Account); notes follow the streams selected.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from aimdoc_emulators.aimdoc.models import DEFAULT_API_KEY as AIMDOC_KEY

BIN = Path(sys.executable).parent


def peak_rss_mb(pid: int, peaks: dict[int, int]) -> None:
    """Poll VmHWM of a process until it exits (kB -> stored in peaks[pid])."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.05)


def cpu_seconds_for_fixed_work() -> float:
    """CPU seconds a fixed workload takes now: this host's speed, run by run.

    Shared virtual machines vary (the same run took 1.7x the CPU time at some hours here);
    this figure tells a slow host from a slow change. The work is like ours: JSON in and out
    of many small dicts, so memory and cache speed count, not only the interpreter's.
    """
    started = time.process_time()
    records = [{"id": f"c{n}", "email": f"p{n}@acme{n % 97}.example", "score": n % 100,
                "tags": ["a", "b", str(n)]} for n in range(100_000)]
    for _ in range(3):
        records = json.loads(json.dumps(records))
    return round(time.process_time() - started, 3)


def write_catalog(tap_config: Path, streams: list[str], work: Path) -> Path:
    """The tap's discovered catalog with only ``streams`` selected (as Meltano's ``select``)."""
    found = subprocess.run([str(BIN / "tap-aimdoc"), "--config", str(tap_config), "--discover"],
                           check=True, capture_output=True, text=True).stdout
    catalog = json.loads(found)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in streams
    path = work / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def pipeline(tap_config: Path, target_config: Path, state: Path | None, work: Path,
             name: str, replay_input: Path | None = None) -> dict:
    """Run tap | target (or replay a saved tap output into the target); measure both."""
    tap_out = work / f"{name}.singer"
    state_out = work / f"{name}.state.json"
    peaks: dict[int, int] = {}
    probe = cpu_seconds_for_fixed_work()
    started = time.monotonic()
    target_cmd = [str(BIN / "target-salesforce-aimdoc"), "--config", str(target_config)]
    with state_out.open("w") as out, (work / f"{name}.target.log").open("w") as target_log:
        if replay_input is None:
            tap_cmd = [str(BIN / "tap-aimdoc"), "--config", str(tap_config),
                       "--catalog", str(work / "catalog.json")]
            if state is not None:
                tap_cmd += ["--state", str(state)]
            with (work / f"{name}.tap.log").open("w") as tap_log:
                tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=tap_log)
                tee = subprocess.Popen(["tee", str(tap_out)], stdin=tap.stdout,
                                       stdout=subprocess.PIPE)
                target = subprocess.Popen(target_cmd, stdin=tee.stdout, stdout=out,
                                          stderr=target_log)
                watchers = [threading.Thread(target=peak_rss_mb, args=(p.pid, peaks))
                            for p in (tap, target)]
                for watcher in watchers:
                    watcher.start()
                tap.wait()
                tee.wait()
                target.wait()
        else:
            with replay_input.open() as source:
                target = subprocess.Popen(target_cmd, stdin=source, stdout=out,
                                          stderr=target_log)
                watcher = threading.Thread(target=peak_rss_mb, args=(target.pid, peaks))
                watcher.start()
                target.wait()
            tap = None
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith("Thread"):
            thread.join(timeout=1)
    elapsed = time.monotonic() - started
    states = [line for line in state_out.read_text().splitlines() if line.strip()]
    if states:
        state_out.write_text(states[-1])
    return {
        "seconds": round(elapsed, 2),
        "host_speed_probe_s": probe,
        "target_exit": target.returncode,
        "tap_peak_rss_mb": round(peaks.get(tap.pid, 0) / 1024, 1) if tap else None,
        "target_peak_rss_mb": round(peaks.get(target.pid, 0) / 1024, 1),
        "state": state_out if states else None,
        "tap_output": tap_out if replay_input is None else replay_input,
    }


class EmulatorProcess:
    """An emulator served by its own process (as the real services are not in ours).

    Started from its command line; its admin surface (``/__emulator``) gives its stats.
    """

    def __init__(self, command: list[str], url_prefix: str) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.url, self.ca_file = "", None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(url_prefix):
                self.url = line.split()[-1]
            elif line.startswith("CA file:"):
                self.ca_file = line.split(":", 1)[1].strip()
            if self.url and (self.ca_file or not self.url.startswith("https")):
                break
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def admin(self, method: str, name: str, body: dict | None = None) -> Any:
        """One admin call, its JSON answer."""
        response = requests.request(method, f"{self.url}/__emulator/{name}", json=body,
                                    verify=self.ca_file or True, timeout=600)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        """Stop serving."""
        self.process.terminate()
        self.process.wait(timeout=30)


def start_emulators(size: int, args: argparse.Namespace, work: Path
                    ) -> tuple[EmulatorProcess, EmulatorProcess]:
    """The Aimdoc emulator with ``size`` contacts, and the Salesforce one with latency."""
    aimdoc = EmulatorProcess([str(BIN / "aimdoc-emulator"), "--port", "0", "--seed",
                              str(args.seed), "--contacts", str(size)],
                             "Aimdoc emulator listening on")
    salesforce = EmulatorProcess([str(BIN / "salesforce-emulator"), "--port", "0",
                                  "--work-dir", str(work / "sf"), "--org", args.org,
                                  "--latency-ms", str(args.latency_ms),
                                  "--jitter-ms", str(args.jitter_ms)],
                                 "Salesforce emulator at")
    return aimdoc, salesforce


def measure(size: int, batch_size: int | None, args: argparse.Namespace, work: Path) -> dict:
    """First sync, unchanged replay, lost-state rerun, incremental run for one data size.

    ``batch_size``: ``batch_size_rows``; None leaves it unset (the default: adaptive).
    """
    aimdoc, salesforce = start_emulators(size, args, work)
    try:
        tap_config = work / "tap.json"
        tap_config.write_text(json.dumps({"api_key": AIMDOC_KEY,
                                          "api_url": f"{aimdoc.url}/api/v1",
                                          "start_date": "2020-01-01T00:00:00Z"}))
        write_catalog(tap_config, args.streams, work)
        target_config = work / "target.json"
        config = {
            "login_url": salesforce.url, "client_id": "demo-client-id",
            "client_secret": "demo-client-secret", "ca_file": salesforce.ca_file,
            "sync_contacts": args.objects == "full", "sync_accounts": args.objects == "full",
            "report_dir": str(work / "report"),
            "dead_letter_path": str(work / "dead_letters.jsonl"),
            "link_state_max_records": max(50_000, size * 3),
        }
        if batch_size is not None:
            config["batch_size_rows"] = batch_size
        target_config.write_text(json.dumps(config))
        stats = lambda: salesforce.admin("GET", "stats")  # noqa: E731
        runs = {}
        before = stats()
        first = pipeline(tap_config, target_config, None, work, "first")
        runs["first_sync"] = summarize(first, before, stats(), size)
        before = stats()
        replay = pipeline(tap_config, target_config, None, work, "replay",
                          replay_input=with_state(first["tap_output"], first["state"], work))
        runs["unchanged_replay"] = summarize(replay, before, stats(), size)
        before = stats()
        lost = pipeline(tap_config, target_config, None, work, "lost_state",
                        replay_input=first["tap_output"])
        runs["rerun_state_lost"] = summarize(lost, before, stats(), size)
        changes = aimdoc.admin("POST", "advance", {
            "days": 1, "new_contacts": max(1, size // 50),
            "enriched_contacts": max(1, size // 50),
            "conversations_with_new_messages": max(1, size // 25)})
        before = stats()
        incremental = pipeline(tap_config, target_config, replay["state"] or first["state"],
                               work, "incremental")
        runs["incremental"] = summarize(incremental, before, stats(), size)
        runs["incremental"]["aimdoc_changes"] = {k: v for k, v in changes.items()
                                                 if isinstance(v, int)}
        return {"contacts": size, "batch_size_rows": batch_size or "default (adaptive)",
                "objects": args.objects,
                "latency_ms": args.latency_ms, "streams": args.streams,
                "runs": runs, "salesforce_org": args.org,
                "org": {k: len(salesforce.admin("GET", f"records/{k}")) for k in
                        ("Account", "Contact", "Lead", "ContentNote", "ContentDocumentLink")},
                "quality": quality(salesforce, work)}
    finally:
        aimdoc.stop()
        salesforce.stop()


def quality(salesforce: EmulatorProcess, work: Path) -> dict:
    """Duplicates in the org (same e-mail or website twice) and dead letters by error code."""
    found: dict[str, Any] = {}
    for sobject, key in (("Lead", "Email"), ("Contact", "Email"), ("Account", "Website")):
        values = [str(r.get(key) or "").lower() for r in
                  salesforce.admin("GET", f"records/{sobject}")]
        found[f"duplicate_{sobject.lower()}s"] = len(values) - len(set(values))
    codes: dict[str, int] = {}
    for path in work.rglob("*dead*.jsonl"):
        if "parked" in path.name:
            continue  # transcripts waiting for their contact: not failures
        for line in path.read_text().splitlines():
            if line.strip():
                for error in json.loads(line).get("errors") or [{}]:
                    code = error.get("code") or error.get("statusCode") or "?"
                    codes[code] = codes.get(code, 0) + 1
    found["dead_letters_by_code"] = codes
    return found


def with_state(tap_output: Path, state: Path | None, work: Path) -> Path:
    """The same messages, preceded by the state the first run saved (as Meltano passes it)."""
    replay = work / "replay-input.singer"
    with replay.open("w") as out:
        if state is not None:
            out.write(json.dumps({"type": "STATE", "value": json.loads(state.read_text())}) + "\n")
        out.write(tap_output.read_text())
    return replay


def summarize(run: dict, before: dict, after: dict, size: int) -> dict:
    """API calls, writes and speed of one run."""
    calls = after["api_calls"] - before["api_calls"]
    return {
        "api_calls": calls,
        "api_calls_per_1000_contacts": round(calls * 1000 / size, 2),
        "records_created": after["records"]["created"] - before["records"]["created"],
        "records_updated": after["records"]["updated"] - before["records"]["updated"],
        "note_writes": sum(
            count - before["records"].get("by_object", {}).get(sobject, {}).get(kind, 0)
            for sobject, counts in after["records"].get("by_object", {}).items()
            if sobject in ("ContentNote", "Note")
            for kind, count in counts.items() if kind in ("created", "updated")),
        "seconds": run["seconds"],
        "contacts_per_second": round(size / run["seconds"], 1) if run["seconds"] else None,
        "tap_peak_rss_mb": run["tap_peak_rss_mb"],
        "target_peak_rss_mb": run["target_peak_rss_mb"],
        "target_exit": run["target_exit"],
        "host_speed_probe_s": run["host_speed_probe_s"],
        "calls_by_kind": {kind: count - before.get("calls_by_kind", {}).get(kind, 0)
                          for kind, count in after.get("calls_by_kind", {}).items()
                          if count - before.get("calls_by_kind", {}).get(kind, 0)},
    }


def markdown(results: list[dict]) -> str:
    """The results as a markdown table."""
    lines = ["| batch_size_rows | objects | contacts | run | API calls | per 1,000 | created | "
             "updated | note writes | seconds | contacts/s | tap RSS MB | target RSS MB | "
             "host probe s |",
             "|---" * 14 + "|"]
    for result in results:
        for name, run in result["runs"].items():
            lines.append(
                f"| {result.get('batch_size_rows', '?')} | {result.get('objects', 'full')} | "
                f"{result['contacts']:,} | {name} | "
                f"{run['api_calls']} | "
                f"{run['api_calls_per_1000_contacts']} | {run['records_created']} | "
                f"{run['records_updated']} | {run.get('note_writes', '')} | {run['seconds']} | "
                f"{run['contacts_per_second']} | "
                f"{run['tap_peak_rss_mb']} | {run['target_peak_rss_mb']} | "
                f"{run['host_speed_probe_s']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the sizes asked for and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[1000])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=20.0)
    parser.add_argument("--batch-size", nargs="+", default=["default"],
                        help="batch_size_rows values to measure; `default` leaves it unset "
                             "(adaptive batches, a user's default settings), measured first")
    parser.add_argument("--org", choices=("default", "bare"), default="default",
                        help="the Salesforce emulator's org: a new org of today (standard "
                             "duplicate and assignment rules) or a bare one")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--streams", nargs="+", default=["contacts", "transcripts"],
                        help="tap streams selected (default: those the target syncs, as the "
                             "project's meltano.yml selects)")
    parser.add_argument("--objects", choices=("full", "lead"), default="full",
                        help="full: Lead + Contact + Account (the full chain, with notes when "
                             "transcripts are selected); lead: Lead only")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each size this many times; the median first-sync speed "
                             "is reported")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    batch_sizes = sorted({None if value == "default" else int(value)
                          for value in args.batch_size}, key=lambda value: value or 0)
    results = []
    for batch_size in batch_sizes:  # the default settings first
        for size in args.contacts:
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as folder:
                    result = measure(size, batch_size, args, Path(folder))
                    print(json.dumps(result, indent=2), flush=True)
                    results.append(result)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    text = markdown(results) + medians(results)
    (args.out / "results.md").write_text(text)
    print(text)


def medians(results: list[dict]) -> str:
    """With ``--repeat``: the median first-sync speed per setting and size, and its runs."""
    groups: dict[tuple[str, str, int], list[dict]] = {}
    for result in results:
        key = (str(result["batch_size_rows"]), result.get("objects", "full"), result["contacts"])
        groups.setdefault(key, []).append(result["runs"]["first_sync"])
    lines = [f"\nFirst sync, median of {len(runs)} runs ({batch}, {objects}, {size:,} "
             f"contacts): {statistics.median(r['contacts_per_second'] for r in runs)} "
             f"contacts/s (runs: {', '.join(str(r['contacts_per_second']) for r in runs)}; "
             f"host probe s: {', '.join(str(r['host_speed_probe_s']) for r in runs)})"
             for (batch, objects, size), runs in groups.items() if len(runs) > 1]
    return "\n".join(lines) + ("\n" if lines else "")


if __name__ == "__main__":
    main()
