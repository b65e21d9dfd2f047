"""Throughput and peak memory of tap-aimdoc against the Aimdoc emulator.

    .venv/bin/python bench/tap_bench.py                    # 10,000 contacts
    .venv/bin/python bench/tap_bench.py --contacts 1000 10000

The emulator runs in this process; the tap runs as its own process (``tap-aimdoc``), so its
peak RSS (read from /proc, so Linux only) is the tap's alone. Output is read and counted,
never kept. A figure per size: records per stream, wall time, records/s, requests, and the
tap's peak RSS. Memory should stay flat as the number of conversations grows (the tap
streams; it never collects).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator

TAP = str(Path(sys.executable).with_name("tap-aimdoc"))
STREAM = re.compile(r'"type":\s*"(RECORD|STATE|SCHEMA)"(?:,\s*"stream":\s*"([a-z_]+)")?')


def run_once(contacts: int, page_size: int, seed: int) -> dict:
    """Generate ``contacts``, sync them all, and measure."""
    started = time.monotonic()
    with AimdocEmulator(seed, contacts) as emulator:
        generated = time.monotonic() - started
        counts = emulator.backend.counts()
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "config.json"
            config.write_text(json.dumps({"api_key": emulator.api_key,
                                          "api_url": emulator.api_url,
                                          "page_size": page_size}))
            records, elapsed, peak_kb, code = _sync(config)
        requests = emulator.backend.stats.total
    total = sum(records.values())
    return {"contacts": contacts, "emulator": counts, "records": dict(records),
            "records_total": total, "seconds": round(elapsed, 2),
            "records_per_second": round(total / elapsed), "requests": requests,
            "peak_rss_mb": round(peak_kb / 1024, 1), "exit_code": code,
            "generate_seconds": round(generated, 2)}


def _sync(config: Path) -> tuple[Counter, float, int, int]:
    records: Counter[str] = Counter()
    started = time.monotonic()
    with subprocess.Popen([TAP, "--config", str(config)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as process:
        peak = _PeakWatcher(process.pid)
        for line in process.stdout:
            match = STREAM.search(line, 0, 120)
            if match and match.group(1) == "RECORD":
                records[match.group(2)] += 1
        code = process.wait()
    elapsed = time.monotonic() - started
    return records, elapsed, peak.stop(), code


class _PeakWatcher:
    """Polls the tap's peak RSS (``VmHWM`` in /proc, reset by exec, so it is the tap's own
    and not the forking bench process's, which ``getrusage`` would report)."""

    def __init__(self, pid: int) -> None:
        self.path, self.peak_kb = Path(f"/proc/{pid}/status"), 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.wait(0.2):
            try:
                text = self.path.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak_kb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[10_000])
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for contacts in args.contacts:
        # Each size in a fresh interpreter, so the emulators of two sizes never coexist.
        if len(args.contacts) > 1:
            subprocess.run([sys.executable, __file__, "--contacts", str(contacts),
                            "--page-size", str(args.page_size), "--seed", str(args.seed)],
                           check=True)
            continue
        result = run_once(contacts, args.page_size, args.seed)
        print(json.dumps(result, indent=2))
        if result["exit_code"] != 0 or result["records"].get("contacts") != contacts:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
