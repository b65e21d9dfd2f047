"""The dead-letter file at the end of a run: latest line per record and object, resolved ones
dropped, lines written by someone else kept, and only the lines asked for parsed."""

from __future__ import annotations

import json

from target_salesforce_aimdoc.deadletters import DeadLetters
from target_salesforce_aimdoc.parked import ParkedNotes
from target_salesforce_aimdoc.report import Outcome


def failed(stream: str, key: str, sobject: str | None, message: str) -> Outcome:
    return Outcome(stream, key, sobject, "failed",
                   errors=[{"statusCode": "X", "message": message, "fields": []}])


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_a_repeated_failure_keeps_its_latest_line_and_resolved_records_go(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add_many([(failed("contacts", "a", "Lead", "first"), {"id": "a"}, None),
                      (failed("transcripts", "t1", None, "parked"), {"id": "t1"}, None)])
    letters.add(failed("contacts", "a", "Lead", "second"), {"id": "a"})
    letters.add(failed("transcripts", "t2", None, "parked"), {"id": "t2"})
    letters.resolve("transcripts", {"t1"})
    letters.write()
    kept = lines(path)
    assert [(e["key"], e["errors"][0]["message"]) for e in kept] == [("a", "second"),
                                                                     ("t2", "parked")]


def test_nothing_to_drop_leaves_the_file_as_appended(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add(failed("contacts", "a", "Lead", "bad"), {"id": "a", "text": "ü\u2028"})
    before = path.read_bytes()
    letters.write()
    assert path.read_bytes() == before
    assert lines(path)[0]["record"] == {"id": "a", "text": "ü\u2028"}


def test_lines_appended_by_someone_else_are_read_and_kept(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add(failed("contacts", "a", "Lead", "ours"), {"id": "a"})
    foreign = {"time": "t", "stream": "contacts", "key": "b", "object": "Lead",
               "outcome": "failed", "errors": [], "payload": {}, "record": {"id": "b"}}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(foreign) + "\n")
    letters.add(failed("contacts", "a", "Lead", "ours again"), {"id": "a"})
    assert {r["id"] for r in letters.records("contacts", {"a", "b"})} == {"a", "b"}
    letters.write()
    assert [(e["key"], e["errors"][0]["message"] if e["errors"] else None)
            for e in lines(path)] == [("b", None), ("a", "ours again")]


def test_records_returns_only_the_asked_keys_of_the_stream(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add_many([(failed("transcripts", k, None, "parked"), {"id": k}, None)
                      for k in ("t1", "t2", "t3")])
    letters.add(failed("contacts", "t1", "Lead", "other stream"), {"id": "contact"})
    found = letters.records("transcripts", {"t1", "t3"})
    assert sorted(r["id"] for r in found) == ["t1", "t3"]


def test_all_resolved_removes_the_file(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add(failed("transcripts", "t1", None, "parked"), {"id": "t1"})
    letters.resolve("transcripts", {"t1"})
    letters.write()
    assert not path.exists()


def test_lines_of_streams_the_run_does_not_handle_are_kept_as_they_were(tmp_path):
    path = tmp_path / "dead.jsonl"
    earlier = DeadLetters(path)
    earlier.pending()
    earlier.add(failed("contacts", "a", "Lead", "bad"), {"id": "a"})
    earlier.add(failed("people", "p", "Lead", "bad too"), {"id": "p"})
    earlier.write()
    people_line = next(text for text in path.read_text(encoding="utf-8").splitlines()
                       if '"people"' in text)
    run = DeadLetters(path)
    taken = run.pending(lambda stream: stream == "contacts")
    assert list(taken) == ["contacts"]
    run.resolve("contacts", {"a"})  # retried and written
    run.write()
    assert path.read_text(encoding="utf-8").splitlines() == [people_line]


def test_a_records_later_failure_replaces_all_its_earlier_lines(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add_many([(failed("contacts", "a", "Account", "first"), {"id": "a"}, None),
                      (failed("contacts", "a", "Lead", "first"), {"id": "a"}, None)])
    letters.add(failed("contacts", "a", "Lead", "newer version"), {"id": "a", "v": 2})
    letters.write()
    assert [(e["object"], e["errors"][0]["message"]) for e in lines(path)] == [
        ("Lead", "newer version")]


def test_a_stale_letter_is_retired_unretried(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add(failed("contacts", "a", "Lead", "old"), {"id": "a"})
    letters.add(failed("contacts", "b", "Lead", "old"), {"id": "b"})
    letters.write()
    again = DeadLetters(path)
    taken = again.pending(None, lambda stream, record: record["id"] == "a")
    assert [record["id"] for record in taken["contacts"]] == ["b"]
    assert again.retired == 1


def test_parked_transcripts_keep_their_first_time_and_stay_bounded(tmp_path):
    path = tmp_path / "dead.parked.jsonl"
    store = ParkedNotes(path, max_records=2)
    store.park([("t1", "c1", {"v": 1}), ("t2", "c2", {"v": 1})])
    first = store.items["t1"].since
    store.items["t1"].since = "2000-01-01T00:00:00+00:00"
    store.park([("t1", "c1", {"v": 2})])  # a newer copy: still waiting since 2000
    assert store.items["t1"].since == "2000-01-01T00:00:00+00:00" != first
    store.park([("t3", "c3", {"v": 1})])  # over the bound: the longest-waiting goes
    assert set(store.items) == {"t2", "t3"} and store.given_up == {"t1": "parked_overflow"}
    store.write()
    again = ParkedNotes(path)
    assert again.load() == {"t2": "c2", "t3": "c3"}
    assert again.take({"t3"}) == [{"v": 1}]
    again.drop({"t2"})
    again.write()
    assert not path.exists()


def test_only_records_with_a_line_are_kept_to_resolve(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add(failed("contacts", "a", "Lead", "bad"), {"id": "a"})
    letters.resolve("contacts", {f"ok{n}" for n in range(1000)} | {"a"})  # a batch's records
    assert letters._resolved == {("contacts", "a")}  # bounded by the failures, not the run
    letters.write()
    assert not path.exists()


def test_a_line_appended_by_someone_else_is_still_resolved(tmp_path):
    path = tmp_path / "dead.jsonl"
    letters = DeadLetters(path)
    letters.pending()
    letters.add(failed("contacts", "a", "Lead", "ours"), {"id": "a"})
    foreign = {"time": "t", "stream": "contacts", "key": "b", "object": "Lead",
               "outcome": "failed", "errors": [], "payload": {}, "record": {"id": "b"}}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(foreign) + "\n")
    letters.resolve("contacts", {"b"})
    letters.write()
    assert [e["key"] for e in lines(path)] == ["a"]
