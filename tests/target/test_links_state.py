"""The STATE line with the link records: written a chunk at a time, the same JSON as the SDK's."""

from __future__ import annotations

import datetime as dt
import io
import json

from target_salesforce_aimdoc.links import STATE_KEY, LinkStore


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
        STATE_KEY: {"version": 1, "instance_url": None, "records": {}}}
