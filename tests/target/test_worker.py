"""The target's workers: batches in order on one thread; notes a few at a time, never two
batches of the same conversation at once."""

from __future__ import annotations

import threading
import time

import pytest

from target_salesforce_aimdoc.worker import ParallelLane, SerialWorker


def test_serial_worker_runs_calls_in_order_and_flush_waits_for_them():
    worker, seen = SerialWorker(depth=2), []
    for number in range(20):
        worker.submit(lambda n: (time.sleep(0.001), seen.append(n)), number)
    worker.flush()
    assert seen == list(range(20))


def test_a_failure_stops_the_worker_and_is_raised_on_the_next_submit_and_flush():
    worker, seen = SerialWorker(), []
    worker.submit(seen.append, 1)
    worker.submit(lambda: 1 / 0)
    worker.submit(seen.append, 2)  # may already be queued: it must not run
    with pytest.raises(ZeroDivisionError):
        worker.flush()
    with pytest.raises(ZeroDivisionError):
        worker.submit(seen.append, 3)
    assert seen == [1]


def test_lane_runs_at_most_width_calls_at_once_and_returns_every_result():
    lane, lock, running, peak = ParallelLane(width=2), threading.Lock(), [0], [0]

    def call(number: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return number

    results = []
    for number in range(8):
        results += lane.submit({f"k{number}"}, call, number)
    results += lane.drain()
    assert sorted(results) == list(range(8))
    assert peak[0] == 2


def test_lane_never_runs_two_calls_that_share_a_key_at_once():
    lane, active, overlaps = ParallelLane(width=4), set(), []

    def call(keys: set[str]) -> None:
        if active & keys:
            overlaps.append(sorted(active & keys))
        active.update(keys)
        time.sleep(0.02)
        active.difference_update(keys)

    for keys in ({"a", "b"}, {"c"}, {"b"}, {"d"}, {"a"}, {"c", "d"}):
        lane.submit(keys, call, keys)
    lane.drain()
    assert overlaps == []


def test_lane_raises_a_call_failure_on_the_callers_thread():
    lane = ParallelLane(width=2)
    lane.submit({"x"}, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        lane.drain()
