"""The dead-letter file at the end of a run: latest line per record and object, resolved ones
dropped, lines written by someone else kept, and only the lines asked for parsed."""

from __future__ import annotations

import json

from target_salesforce_aimdoc.deadletters import DeadLetters
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
