"""Transcripts out during a scan of /messages: once the (sorted) scan is past a conversation's
last message, its transcript is written at once, whole; none is dropped, doubled or cut."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import timedelta

import pytest

from aimdoc_emulators.aimdoc.timeutil import iso, parse_iso
from tests.tap.harness import run_tap
from tests.tap.test_transcripts import (
    MESSAGE_KEYS,
    assert_exact,
    message_requests,
    transcripts_only,
)


class RequestClock(io.StringIO):
    """The tap's stdout: notes how many API requests had come when each transcript went out."""

    def __init__(self, backend: object) -> None:
        super().__init__()
        self.backend = backend
        self.marks: dict[str, int] = {}

    def write(self, text: str) -> int:
        for line in filter(None, text.splitlines()):
            message = json.loads(line)
            if message["type"] == "RECORD" and message["stream"] == "transcripts":
                self.marks[message["record"]["conversation_id"]] = self.backend.stats.total
        return super().write(text)


def clocked_run(emulator, **overrides):
    """A transcripts-only first sync; its result and when each transcript went out."""
    settings, catalog = transcripts_only(emulator, **overrides)
    clock = RequestClock(emulator.backend)
    result = run_tap(settings, catalog=catalog, stdout=clock)
    assert result.error is None
    return result, clock.marks


def edited(backend) -> None:
    """Let the emulator serve its records as edited in place."""
    backend.configure()


def emulator_messages(backend) -> dict[str, list[dict]]:
    """Each conversation's messages, as a transcript lists them."""
    messages = defaultdict(list)
    for message in backend.records("messages"):
        messages[message["conversation_id"]].append({k: message[k] for k in MESSAGE_KEYS})
    return {cid: sorted(found, key=lambda m: (m["created_at"], m["id"]))
            for cid, found in messages.items()}


def assert_whole(result, backend) -> None:
    """One transcript per conversation, each with all its messages, in order."""
    expected = emulator_messages(backend)
    emitted = result.ids("transcripts", "conversation_id")
    assert sorted(emitted) == sorted(c["id"] for c in backend.records("conversations"))
    for transcript in result.records["transcripts"]:
        assert transcript["messages"] == expected[transcript["conversation_id"]]


def drop_message_counts(conversations: list[dict]) -> None:
    """Leave only the time to tell when these conversations are complete (no safety net)."""
    for conversation in conversations:
        del conversation["message_count"]


@pytest.mark.parametrize("sorted_", [True, False], ids=["sorted", "unsorted"])
def test_transcripts_go_out_while_a_sorted_scan_goes_on(aimdoc_emulator, sorted_):
    backend = aimdoc_emulator.backend
    backend.configure(sorted=sorted_)
    backend.generate(seed=41, contacts=40)
    with backend.lock:
        drop_message_counts([c for c in sorted(backend.records("conversations"),
                                               key=lambda c: c["id"])
                             if 5 <= c["message_count"] <= 30][:4])
    edited(backend)
    result, marks = clocked_run(aimdoc_emulator, page_size=10)
    assert_whole(result, backend)
    scan, each = message_requests(aimdoc_emulator)
    assert len(scan) > 50
    assert not each
    end = backend.stats.total  # the scan's last page is the run's last request
    during = [mark for mark in marks.values() if mark < end]
    if sorted_:
        assert min(marks.values()) < end - len(scan) / 2  # in the first half of the scan
        assert len(during) > 0.9 * len(marks)
        assert len(set(during)) > len(scan) / 4  # a few at a time, page after page
    else:  # no order to go by: all of them once the scan is over, as before
        assert during == []


def test_a_last_message_at_a_page_boundary_or_tied_across_it(aimdoc_emulator):
    """Conversations whose last message ends a page, or has the created_at of the message
    ending the page before (a tie across the boundary: the page ends at that moment, so the
    conversation is done only after the next page). Without a message_count only the time
    tells when a conversation is complete (no safety net)."""
    backend = aimdoc_emulator.backend
    backend.generate(seed=42, contacts=60)
    page_size = 5
    with backend.lock:
        listing = backend.records("messages")  # the scan's pages: every message, in order
        conversations = {c["id"]: c for c in backend.records("conversations")}
        last = {m["conversation_id"]: i for i, m in enumerate(listing)}
        ending, tied = [], []
        for cid, i in sorted(last.items(), key=lambda item: item[1]):
            before, message = listing[i - 1], listing[i]
            if (i + 1) % page_size == 0 and len(ending) < 4:
                ending.append(cid)
            elif (i % page_size == 0 and before["conversation_id"] == cid and len(tied) < 4
                  and listing[i - 2]["created_at"] < before["created_at"]):
                message["created_at"] = before["created_at"]
                conversations[cid]["last_message_at"] = before["created_at"]
                tied.append(cid)
        drop_message_counts([conversations[cid] for cid in ending + tied])
    edited(backend)
    assert (len(ending), len(tied)) == (4, 4)
    result, marks = clocked_run(aimdoc_emulator, page_size=page_size)
    assert message_requests(aimdoc_emulator)[1] == []  # one scan, nothing fetched on its own
    assert_whole(result, backend)
    assert all(marks[cid] < backend.stats.total for cid in ending + tied)  # during the scan


def test_a_conversation_short_of_its_message_count_waits_for_its_own_fetch(aimdoc_emulator):
    """Says more messages than it has, or lost one before the scan's start: fetched on its own
    after the scan, whole. Says fewer than it has: out during the scan, whole all the same."""
    backend = aimdoc_emulator.backend
    backend.generate(seed=43, contacts=40)
    with backend.lock:
        conversations = sorted((c for c in backend.records("conversations")
                                if c["message_count"] >= 4), key=lambda c: c["id"])
        says_more, lost_one, says_fewer = conversations[:3]
        says_more["message_count"] += 1
        says_fewer["message_count"] -= 2
        oldest = min(parse_iso(c["created_at"]) for c in backend.records("conversations"))
        first = min((m for m in backend.records("messages")
                     if m["conversation_id"] == lost_one["id"]), key=lambda m: m["created_at"])
        first["created_at"] = iso(oldest - timedelta(days=30))  # before the scan's margin
    edited(backend)
    result, marks = clocked_run(aimdoc_emulator, page_size=10)
    expected = emulator_messages(backend)
    assert sorted(result.ids("transcripts", "conversation_id")) == sorted(
        c["id"] for c in backend.records("conversations"))
    for transcript in result.records["transcripts"]:
        cid = transcript["conversation_id"]
        assert transcript["messages"] == expected[cid]
        assert transcript["message_count"] == len(expected[cid])
    _, each = message_requests(aimdoc_emulator)
    assert {q["conversation_id"] for q in each} == {says_more["id"], lost_one["id"]}
    end = backend.stats.total
    assert marks[says_more["id"]] == marks[lost_one["id"]] == end  # after their fetches
    assert marks[says_fewer["id"]] < end - len(each)


@pytest.mark.parametrize("date_filter", ["created_at", "updated_at"])
def test_transcripts_out_early_are_the_same_as_at_the_end(aimdoc_emulator, date_filter):
    """Sorted (out during the scan) and unsorted (all at the end): the same records."""
    backend = aimdoc_emulator.backend
    backend.configure(date_filter=date_filter)
    backend.generate(seed=44, contacts=40)
    runs = {}
    for sorted_ in (True, False):
        backend.configure(sorted=sorted_)
        runs[sorted_], _ = clocked_run(aimdoc_emulator, page_size=7)
        assert_exact(runs[sorted_], backend)

    def by_id(result):
        return sorted(result.records["transcripts"], key=lambda t: t["conversation_id"])
    assert by_id(runs[True]) == by_id(runs[False])
    backend.configure(sorted=True)
    again, _ = clocked_run(aimdoc_emulator, page_size=7)
    assert again.records == runs[True].records  # the same order, run after run
