"""The STATE line with the link records: written a chunk at a time, the same JSON as the SDK's."""

from __future__ import annotations

import datetime as dt
import io
import json

from target_salesforce_aimdoc.links import STATE_KEY, LinkStore
from tests.stopped_writer import read_while_stopping


def store(count: int) -> LinkStore:
    links = LinkStore(max_records=2_500)
    links.instance_url = "https://acme.my.salesforce.com"
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for number in range(count):
        key = f"c{number}\"\u2028é"  # quotes, a line separator and non-ASCII in a key
        links.record("contacts", key, "Lead", f"00Q{number:015d}", moment)
        links.record("contacts", key, "Contact", f"003{number:015d}", moment, q=[["Budget?", "5k"]])
    return links


def written(links: LinkStore, state: dict) -> str:
    out = io.StringIO()
    links.write_state(state, out)
    return out.getvalue()


def test_the_line_is_what_the_sdk_would_write():
    links = store(3_000)  # more than the bound and than one chunk of a thousand
    state = {"bookmarks": {"contacts": {"replication_key_value": "2026-03-01T00:00:00Z"}}}
    text = written(links, state)
    assert text.endswith("\n") and text.count("\n") == 1
    assert text[:-1] == json.dumps(links.add_to(state))
    assert len(json.loads(text)[STATE_KEY]["records"]) == 2_500


def test_links_from_the_incoming_state_are_replaced_and_an_empty_store_is_valid():
    state = {STATE_KEY: {"records": {"contacts/old": {"Lead": "00Qold"}}}, "bookmarks": {}}
    assert json.loads(written(store(2), state)) == store(2).add_to(state)
    assert json.loads(written(LinkStore(), {})) == {
        STATE_KEY: {"version": 1, "instance_url": None, "org_id": None, "origin": None,
                    "records": {}}}


STATES = """
import datetime as dt
from target_salesforce_aimdoc.links import LinkStore
from target_salesforce_aimdoc.target import singer_stdout

links = LinkStore(max_records=20_000)
moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
for number in range(4_000):
    links.record("contacts", f"c{number}", "Lead", f"00Q{number:015d}", moment)
for n in range(25):
    with singer_stdout() as out:
        links.write_state({"bookmarks": {"n": n}}, out)
"""


def test_state_lines_survive_stops_of_an_unbuffered_target_writing_into_a_full_pipe():
    read = read_while_stopping(STATES, pause_every=1)
    assert read.returncode == 0
    assert read.broken == []
    assert [state["bookmarks"]["n"] for state in read.messages] == list(range(25))
    assert all(len(state[STATE_KEY]["records"]) == 4_000 for state in read.messages)
