"""aimdoc-trigger over real HTTP, with a small fake command that logs its start and end times.

The fake command appends ``start <pid> <time>`` and ``end <pid> <time>`` lines to a file, so a
test reads what ran when: how many runs, whether two overlapped, how far apart they started.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from aimdoc_trigger import settings as config
from aimdoc_trigger.cli import Trigger

TOKEN = "test-token-0123456789abcdefghijklmnop"
FAKE = ("import os, sys, time\n"
        "log, seconds = sys.argv[1], float(sys.argv[2])\n"
        "def note(what):\n"
        "    with open(log, 'a') as f:\n"
        "        f.write(f'{what} {os.getpid()} {time.time()}\\n')\n"
        "note('start')\n"
        "time.sleep(seconds)\n"
        "note('end')\n")
TIMEOUT = 10


def fake_command(log: Path, seconds: float) -> str:
    return f"{sys.executable} -c \"{FAKE}\" {log} {seconds}"


def runs(log: Path) -> list[dict]:
    """The fake command's runs: pid, start, end (None while running or when killed)."""
    found: dict[str, dict] = {}
    if not log.exists():
        return []
    for line in log.read_text().splitlines():
        what, pid, moment = line.split()
        run = found.setdefault(pid, {"pid": int(pid), "start": None, "end": None})
        run[what] = float(moment)
    return sorted(found.values(), key=lambda r: r["start"])


def wait_for(condition, timeout: float = TIMEOUT, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


@pytest.fixture
def start_trigger(tmp_path):
    started: list[Trigger] = []

    def start(seconds: float = 0.2, **raw: object) -> tuple[Trigger, str, Path]:
        log = tmp_path / f"runs-{len(started)}.log"
        values = {"port": "0", "run_at_start": "false", "debounce": "0.3",
                  "min_interval": "0", "fallback_interval": "0", "shutdown_grace": "10",
                  "command": fake_command(log, seconds)}
        values.update({k: str(v) for k, v in raw.items()})
        trigger = Trigger(config.build(TOKEN, values)).start()
        started.append(trigger)
        return trigger, f"http://127.0.0.1:{trigger.port}", log

    yield start
    for trigger in started:
        trigger.stop()


def post(url: str, body: object = None, **kwargs) -> requests.Response:
    return requests.post(url, json={"event": "new-contact"} if body is None else body,
                         timeout=TIMEOUT, **kwargs)


def test_a_burst_of_events_makes_one_run(start_trigger):
    _trigger, url, log = start_trigger(debounce=1.5)  # all 20 arrive within it, even on a busy host
    hook = f"{url}/aimdoc/{TOKEN}"
    threads = [threading.Thread(target=post, args=(hook,)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: [r for r in runs(log) if r["end"]])
    time.sleep(1.0)  # a second run would have started by now
    assert len(runs(log)) == 1
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["last_run"]["hints"] == 20
    assert status["last_run"]["reason"] == "webhook"
    assert status["hints_received"] == 20
    assert status["events"] == {"new-contact": 20}


def test_events_during_a_run_make_one_more_run_never_two_at_once(start_trigger):
    _trigger, url, log = start_trigger(seconds=0.8, debounce=0.1)
    hook = f"{url}/aimdoc/{TOKEN}"
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:  # an event every 0.1 s for 3 s
        assert post(hook).status_code == 202
        time.sleep(0.1)
    last_event = time.time()
    wait_for(lambda: (done := runs(log)) and done[-1]["end"] and done[-1]["start"] > last_event
             - 0.8 and requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["running"]
             is None and not requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["pending"])
    done = runs(log)
    assert 2 <= len(done) <= 5  # 30 events over 3 s: 0.8 s runs back to back, not 30 runs
    for before, after in itertools.pairwise(done):
        assert before["end"] <= after["start"], "two runs at once"
    assert done[-1]["start"] >= last_event - 0.8  # the last event got a run that began after it


def test_min_interval_between_starts(start_trigger):
    _trigger, url, log = start_trigger(seconds=0.05, debounce=0, min_interval=1.5)
    hook = f"{url}/aimdoc/{TOKEN}"
    post(hook)
    wait_for(lambda: [r for r in runs(log) if r["end"]])
    post(hook)
    wait_for(lambda: len(runs(log)) == 2)
    first, second = runs(log)
    assert second["start"] - first["start"] >= 1.45


def test_fallback_schedule_runs_without_events(start_trigger):
    _trigger, url, log = start_trigger(seconds=0.05, fallback_interval=0.7)
    wait_for(lambda: len(runs(log)) >= 2, timeout=5)
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["last_run"]["reason"] == "fallback"
    assert status["hints_received"] == 0


def test_run_at_start(start_trigger):
    _trigger, url, log = start_trigger(seconds=0.05, run_at_start="true")
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 1)
    assert len(runs(log)) == 1
    assert requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["last_run"]["reason"] \
        == "start-up"


@pytest.mark.parametrize("path", [
    "/aimdoc/wrong-token-0123456789abcdefghijklmn",
    f"/aimdoc/{TOKEN}x",
    f"/aimdoc/{TOKEN[:-1]}",
    "/aimdoc/",
    f"/{TOKEN}",
    f"/other/{TOKEN}",
])
def test_a_wrong_token_or_path_is_404_and_runs_nothing(start_trigger, path):
    _trigger, url, log = start_trigger(debounce=0)
    response = post(f"{url}{path}")
    assert response.status_code == 404
    assert TOKEN not in response.text
    time.sleep(0.3)
    assert runs(log) == []
    assert requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["hints_received"] == 0


def test_only_post_and_a_json_object_are_accepted(start_trigger):
    _trigger, url, _log = start_trigger()
    hook = f"{url}/aimdoc/{TOKEN}"
    assert requests.get(hook, timeout=TIMEOUT).status_code == 405
    assert requests.post(hook, data=b"not json", timeout=TIMEOUT).status_code == 400
    assert post(hook, body=[1, 2]).status_code == 400
    assert requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["hints_received"] == 0


def test_an_oversize_body_is_413(start_trigger):
    _trigger, url, _log = start_trigger(max_body_bytes=1000)
    hook = f"{url}/aimdoc/{TOKEN}"
    big = json.dumps({"event": "new-contact", "pad": "x" * 2000}).encode()
    assert requests.post(hook, data=big, timeout=TIMEOUT).status_code == 413
    chunked = requests.post(hook, data=iter([big[:500], big[500:]]), timeout=TIMEOUT)
    assert chunked.status_code == 413  # no Content-Length: the limit holds while reading
    assert post(hook, body={"event": "new-contact", "pad": "x" * 100}).status_code == 202
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["hints_received"] == 1


def test_health_and_last_run_json(start_trigger):
    _trigger, url, _log = start_trigger(seconds=0.05, debounce=0)
    health = requests.get(f"{url}/healthz", timeout=TIMEOUT)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert health.headers["Content-Type"] == "application/json"
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["last_run"] is None
    assert status["runs"] == 0
    post(f"{url}/aimdoc/{TOKEN}", body={"event": "session-escalated"})
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 1)
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    last = status["last_run"]
    assert last["exit_code"] == 0
    assert last["started_at"] <= last["ended_at"]
    assert last["seconds"] >= 0.05
    assert status["failures"] == 0
    assert status["events"] == {"session-escalated": 1}
    assert TOKEN not in json.dumps(status)
    assert requests.post(f"{url}/healthz", timeout=TIMEOUT).status_code == 405


def test_a_failing_command_is_counted(start_trigger, tmp_path):
    _trigger, url, _log = start_trigger(debounce=0, command=f"{sys.executable} -c 'exit(3)'")
    post(f"{url}/aimdoc/{TOKEN}")
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 1)
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["last_run"]["exit_code"] == 3
    assert status["failures"] == 1


def test_a_failed_run_is_tried_again_after_the_retry_interval(start_trigger, tmp_path):
    counter = tmp_path / "tries"
    flaky = ("import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
             "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); "
             "sys.exit(1 if n == 0 else 0)")
    _trigger, url, _log = start_trigger(debounce=0, retry_interval=0.5,
                                        command=f"{sys.executable} -c '{flaky}' {counter}")
    started = time.monotonic()
    post(f"{url}/aimdoc/{TOKEN}")
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 2)
    assert time.monotonic() - started >= 0.5
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["last_run"]["reason"] == "retry"
    assert status["last_run"]["exit_code"] == 0
    assert status["failures"] == 1
    assert status["failures_in_row"] == 0
    time.sleep(1.0)
    assert counter.read_text() == "2"  # a success schedules nothing more


def test_no_retry_when_the_retry_interval_is_0(start_trigger):
    _trigger, url, _log = start_trigger(debounce=0, retry_interval=0,
                                        command=f"{sys.executable} -c 'exit(1)'")
    post(f"{url}/aimdoc/{TOKEN}")
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 1)
    time.sleep(1.0)
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["runs"] == 1
    assert status["failures_in_row"] == 1


def test_a_command_that_cannot_start_is_a_failed_run(start_trigger, tmp_path):
    _trigger, url, _log = start_trigger(debounce=0, command=str(tmp_path / "no-such-command"))
    post(f"{url}/aimdoc/{TOKEN}")
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 1)
    status = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()
    assert status["last_run"]["exit_code"] == 127
    assert status["failures"] == 1
    assert requests.get(f"{url}/healthz", timeout=TIMEOUT).status_code == 200


def test_a_port_in_use_exits_2(tmp_path):
    trigger = Trigger(config.build(TOKEN, {"port": "0", "run_at_start": "false"})).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "aimdoc_trigger", "--port", str(trigger.port)],
            env={**os.environ, "AIMDOC_TRIGGER_TOKEN": TOKEN}, capture_output=True, text=True,
            timeout=TIMEOUT, check=False)
    finally:
        trigger.stop()
    assert result.returncode == 2
    assert "cannot serve" in result.stderr


def test_a_run_over_its_timeout_is_stopped(start_trigger):
    _trigger, url, log = start_trigger(seconds=30, debounce=0, run_timeout=0.5)
    post(f"{url}/aimdoc/{TOKEN}")
    wait_for(lambda: requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["runs"] == 1)
    last = requests.get(f"{url}/last-run", timeout=TIMEOUT).json()["last_run"]
    assert last["stopped"] == "timeout"
    assert last["exit_code"] == -signal.SIGTERM
    assert runs(log)[0]["end"] is None


# -- the console script: settings, signals, logs ---------------------------------------------

def start_process(tmp_path: Path, *args: str, token: str = TOKEN, seconds: float = 2.0,
                  **env: str) -> tuple[subprocess.Popen, str, Path]:
    log = tmp_path / "runs.log"
    environ = {**os.environ, "AIMDOC_TRIGGER_TOKEN": token,
               "AIMDOC_TRIGGER_COMMAND": fake_command(log, seconds), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "aimdoc_trigger", "--port", "0", *args], env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("aimdoc-trigger listening on "), line
    return process, line.split()[-1], log


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_the_running_command_finish(tmp_path, sig):
    process, url, log = start_process(tmp_path, "--shutdown-grace", "20", seconds=1.5)
    wait_for(lambda: runs(log))  # the start-up run
    process.send_signal(sig)
    _out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0
    [run] = runs(log)
    assert run["end"] is not None  # it finished
    assert "stopped" in err
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=2)


def test_a_signal_stops_a_long_command_after_the_grace(tmp_path):
    process, _url, log = start_process(tmp_path, "--shutdown-grace", "0.5", seconds=60)
    [run] = wait_for(lambda: runs(log))
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0
    assert time.monotonic() - started < 5
    assert runs(log)[0]["end"] is None
    assert not alive(run["pid"])


def test_the_token_is_never_logged(tmp_path):
    process, url, log = start_process(tmp_path, "--log-level", "DEBUG", "--debounce", "0",
                                      "--run-at-start", "false", seconds=0.05)
    assert post(f"{url}/aimdoc/{TOKEN}").status_code == 202
    assert post(f"{url}/aimdoc/{TOKEN}extra").status_code == 404
    wait_for(lambda: [r for r in runs(log) if r["end"]])
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=TIMEOUT)
    assert "webhook event: new-contact" in err
    assert "/aimdoc/***" in err  # the access log line, redacted
    assert TOKEN not in out + err
    assert TOKEN[:12] not in out + err


def test_settings_come_from_variables_and_flags_win():
    settings = config.load(["--min-interval", "5"], {
        "AIMDOC_TRIGGER_TOKEN": TOKEN, "AIMDOC_TRIGGER_MIN_INTERVAL": "7",
        "AIMDOC_TRIGGER_DEBOUNCE": "2.5", "AIMDOC_TRIGGER_RUN_AT_START": "false",
        "AIMDOC_TRIGGER_COMMAND": "meltano --environment prod run tap-aimdoc target-x"})
    assert settings.min_interval == 5
    assert settings.debounce == 2.5
    assert settings.run_at_start is False
    assert settings.command == ("meltano", "--environment", "prod", "run", "tap-aimdoc",
                                "target-x")
    assert TOKEN not in repr(settings)
    default = config.load([], {"AIMDOC_TRIGGER_TOKEN": TOKEN})
    assert default.command == ("meltano", "run", "tap-aimdoc", "target-salesforce-aimdoc")


def test_token_from_a_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert config.load(["--token-file", str(token_file)], {}).token == TOKEN


@pytest.mark.parametrize("token", ["", "short", "has space 0123456789abcdefghij",
                                   "slash/0123456789abcdefghijklmn"])
def test_a_missing_short_or_unsafe_token_is_refused(tmp_path, token):
    with pytest.raises(config.SettingsError):
        config.load([], {"AIMDOC_TRIGGER_TOKEN": token})
    result = subprocess.run([sys.executable, "-m", "aimdoc_trigger", "--port", "0"],
                            env={**os.environ, "AIMDOC_TRIGGER_TOKEN": token},
                            capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 2
    assert "AIMDOC_TRIGGER_TOKEN" in result.stderr or "token" in result.stderr


def test_generate_token():
    result = subprocess.run([sys.executable, "-m", "aimdoc_trigger", "--generate-token"],
                            capture_output=True, text=True, timeout=TIMEOUT, check=True)
    token = result.stdout.strip()
    config.check_token(token)
    assert len(token) >= 43
