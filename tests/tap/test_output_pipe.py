"""The tap's Singer lines reach a slow reader whole, even when the tap is stopped and resumed."""

from __future__ import annotations

from tests.stopped_writer import read_while_stopping

WRITER = """
from singer_sdk.singerlib import RecordMessage, StateMessage
from tap_aimdoc.writer import AimdocWriter

writer = AimdocWriter()
for n in range({count}):
    writer.write_message(RecordMessage(stream="transcripts",
                                       record={{"n": n, "text": "x" * (n * 7919 % 60000)}}))
    if n % 50 == 49:
        writer.write_message(StateMessage(value={{"n": n}}))
writer.write_message(StateMessage(value={{"done": True}}))
"""


def test_lines_survive_stops_of_an_unbuffered_tap_writing_into_a_full_pipe():
    count = 1500
    read = read_while_stopping(WRITER.format(count=count), pause_every=40)
    assert read.returncode == 0
    assert read.broken == []
    records = [message for message in read.messages if message["type"] == "RECORD"]
    states = [message for message in read.messages if message["type"] == "STATE"]
    assert [message["record"]["n"] for message in records] == list(range(count))
    assert all(len(message["record"]["text"]) == n * 7919 % 60000
               for n, message in enumerate(records))
    assert states[-1]["value"] == {"done": True}
    assert len(states) == count // 50 + 1
