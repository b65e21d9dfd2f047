"""The tap's cheaper ways of doing what the SDK (or SQLite) did: the same results."""

from __future__ import annotations

import copy
import io
import logging
import math
import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage, StateMessage
from singer_sdk.singerlib.json import serialize_json

from tap_aimdoc import schemas, spool
from tap_aimdoc.conform import Conformer, RootConformer
from tap_aimdoc.spool import TranscriptSpool, in_order
from tap_aimdoc.transcripts import MESSAGE_FIELDS, RECORD_FIELDS, assemble
from tap_aimdoc.writer import AimdocWriter, serialize

TEXT = "".join(map(chr, [*range(0x250), 0x7F, 0x2028, 0xD800, 0xDFFF, 0xFFFF, 0x1F44B]))


@pytest.mark.parametrize("value", [
    {"text": TEXT, TEXT: [TEXT]},
    {"numbers": [0, -1, 2**70, 1.5, -0.0, 1e300, 5e-324, True, False, None]},
    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    {"decimal": Decimal("1.10"), "nested": [{"d": Decimal("-0E+3")}]},
    {"nan": math.nan}, {"inf": [-math.inf]},
    {"moment": datetime(2026, 3, 1, 12, tzinfo=UTC), "day": date(2026, 3, 1), "set": {1}},
])
def test_lines_are_the_sdks_byte_for_byte(value):
    assert serialize(value) == serialize_json(value)


def test_records_wait_in_the_buffer_for_the_next_state(monkeypatch):
    flushed: list[str] = []

    class Out(io.StringIO):
        def flush(self) -> None:
            flushed.append(self.getvalue())

    out = Out()
    monkeypatch.setattr("sys.stdout", out)
    writer = AimdocWriter()
    moment = datetime(2026, 3, 1, 12, tzinfo=UTC)
    record = RecordMessage(stream="s", record={"a": Decimal("1.5")}, time_extracted=moment)
    writer.write_message(record)
    assert flushed == []
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    assert flushed == [out.getvalue()]
    assert out.getvalue().splitlines() == [serialize_json(record.to_dict()),
                                           serialize_json({"type": "STATE",
                                                           "value": {"bookmarks": {}}})]


def test_the_root_conformer_does_what_the_sdk_does():
    conform = RootConformer.for_schema(schemas.TRANSCRIPT, RECORD_FIELDS)
    assert conform is not None
    assert conform.booleans == {"escalated", "buyer_intent"}
    values = [None, True, False, 0, 2, 0.0, 1.5, math.nan, math.inf, Decimal("0"),
              Decimal("NaN"), "x", "", [], [1], {}, {"source": "a"}]
    chance = random.Random(7)
    for _ in range(3000):
        record = {name: chance.choice(values) for name in sorted(RECORD_FIELDS)}
        expected = conform_record_data_types("transcripts", dict(record), schemas.TRANSCRIPT,
                                             TypeConformanceLevel.ROOT_ONLY,
                                             logging.getLogger(__name__))
        assert repr(conform(dict(record))) == repr(expected)


@pytest.mark.parametrize("schema", [schemas.CONTACT, schemas.CONVERSATION,
                                    schemas.VISITOR_PROFILE, schemas.TRANSCRIPT])
def test_the_conformer_does_what_the_sdk_does(schema):
    logger = logging.getLogger(__name__)
    conform = Conformer("s", schema, logger)
    chance = random.Random(11)
    plain = [None, True, False, 0, 3, 1.5, math.nan, Decimal("2.5"), Decimal("-Infinity"), "s",
             datetime(2026, 3, 1, tzinfo=UTC), b"\x00"]
    keys = ["question_id", "question", "answer", "source", "name", "status", "other"]

    def value(depth: int = 0) -> object:
        roll = chance.random()
        if depth < 3 and roll < 0.15:
            return [value(depth + 1) for _ in range(chance.randint(0, 3))]
        if depth < 3 and roll < 0.3:
            return {chance.choice(keys): value(depth + 1) for _ in range(chance.randint(0, 3))}
        return chance.choice(plain)

    names = [*schema["properties"], "unknown"]
    for _ in range(3000):
        record = {name: value() for name in chance.sample(names, chance.randint(0, 6))}
        expected = conform_record_data_types("s", copy.deepcopy(record), schema,
                                             TypeConformanceLevel.RECURSIVE, logger)
        assert repr(conform(copy.deepcopy(record))) == repr(expected)


def test_a_catalog_without_a_field_leaves_conforming_to_the_sdk():
    schema = {"properties": {k: v for k, v in schemas.TRANSCRIPT["properties"].items()
                             if k != "referrer"}}
    assert RootConformer.for_schema(schema, RECORD_FIELDS) is None


def test_a_transcript_lists_its_messages_fields_by_name():
    fields = tuple(f"v{i}" for i in range(len(MESSAGE_FIELDS)))
    assert assemble({}, [fields])["messages"] == [dict(zip(MESSAGE_FIELDS, fields,
                                                           strict=True))]


def test_messages_order_as_sqlite_ordered_them():
    entries = [(("b", "2"), ("second",)), (("a", "9"), ("first",)), (("b", "2"), ("again",)),
               (("", "0"), ("no time",))]
    assert in_order(entries) == [("no time",), ("first",), ("second",)]
    mixed = [(("t", "x"), ("text",)), ((5, "x"), ("number",)), ((b"b", "x"), ("blob",))]
    assert in_order(mixed) == [("number",), ("text",), ("blob",)]


def test_the_spool_reads_messages_in_memory_and_in_the_file_alike(monkeypatch):
    monkeypatch.setattr(spool, "IN_MEMORY", 3)
    stamps = [f"2026-01-01T00:00:0{i}.000Z" for i in range(8)]
    with TranscriptSpool(("id",)) as kept:
        kept.add_conversation("c", {"id": "c"}, created_day=None, pages=1, expected=8,
                              last_at=stamps[-1])
        seq = kept.wanted(["c"])["c"]
        for i in (5, 1, 7, 0, 3, 0, 6):  # past three in memory, the first four go to the file
            kept.add_messages([(seq, {"id": f"m{i}", "created_at": stamps[i]})])
        assert list(kept.finished("2026-01-02")) == []  # 6 of 8: left for the end
        assert list(kept.short_conversations()) == [(seq, "c")]
        kept.add_messages([(seq, {"id": "m2", "created_at": stamps[2]}),
                           (seq, {"id": "m4", "created_at": stamps[4]})])
        assert list(kept.short_conversations()) == []
        assert list(kept.transcripts()) == [({"id": "c"}, [(f"m{i}",) for i in range(8)])]
