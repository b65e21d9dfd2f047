"""The SDK's type conformance, skipped for the records it would leave as they are.

Before writing a record the SDK conforms it to the stream's schema, all the way down, property
by property: for values read from JSON that turns NaN and infinities into null, gives a
property whose schema allows only booleans ``value != 0``, and drops properties the schema
does not have. Nearly every record comes through unchanged, at a cost comparable to encoding
it. ``Conformer`` tells those records apart with a plan made once from the schema, and hands
the others to the SDK's own function (the one the SDK would have called).
"""

from __future__ import annotations

import datetime
import logging
import math
from dataclasses import dataclass
from decimal import Decimal

from singer_sdk.helpers._typing import (
    conform_record_data_types,
    is_object_type,
    is_uniform_list,
)
from singer_sdk.helpers.conform import TypeConformanceLevel

# What the SDK turns into strings (``datetime.datetime`` is a ``datetime.date``).
_CONVERTED = (datetime.date, datetime.time, datetime.timedelta, bytes)


@dataclass(frozen=True)
class _Object:
    """An object schema with ``properties``: what each may hold, and whether others may be."""

    properties: dict[str, _Property]
    additional: bool


@dataclass(frozen=True)
class _Property:
    """How the SDK conforms a property's value (its array items, its object, or itself)."""

    boolean_only: bool
    object: _Object | None = None  # a dict value is conformed as this object
    items: _Property | None = None  # a list value is conformed item by item (as these)
    items_are_objects: bool = False  # ...and a dict item as ``items.object`` (None: fails)


class Conformer:
    """The SDK's RECURSIVE conformance of a stream's records, skipped where it changes nothing."""

    def __init__(self, stream_name: str, schema: dict, logger: logging.Logger) -> None:
        """For records of ``stream_name`` under ``schema`` (the stream's effective schema)."""
        self.stream_name, self.schema, self.logger = stream_name, schema, logger
        self.plan = object_plan(schema)

    def __call__(self, record: dict) -> dict:
        """The record, conformed as the SDK would (the same dict if that changes nothing)."""
        if object_unchanged(record, self.plan):
            return record
        return conform_record_data_types(self.stream_name, record, self.schema,
                                         TypeConformanceLevel.RECURSIVE, self.logger)


def object_plan(schema: dict) -> _Object:
    """The plan of an object schema that has ``properties``."""
    return _Object({name: property_plan(sub) for name, sub in schema["properties"].items()},
                   bool(schema.get("additionalProperties")))


def property_plan(schema: dict) -> _Property:
    """The plan of one property's schema."""
    items, items_are_objects = None, False
    if is_uniform_list(schema):
        item = schema["items"]
        items, items_are_objects = property_plan(item), bool(is_object_type(item))
    whole = object_plan(schema) if is_object_type(schema) and "properties" in schema else None
    return _Property(boolean_only(schema), whole, items, items_are_objects)


def boolean_only(schema: dict) -> bool:
    """Whether a property schema's type is boolean, alone or with null (as the SDK tells)."""
    kind = schema.get("type")
    return kind is not None and (kind in ("boolean", ["boolean"])
                                 or set(kind) == {"boolean", "null"})


def object_unchanged(value: dict, plan: _Object) -> bool:
    """Whether the SDK would conform this object's properties to what they are."""
    properties = plan.properties
    for name, item in value.items():
        kind = properties.get(name)
        if kind is None:
            if not plan.additional:
                return False  # dropped
        elif not (item is None or value_unchanged(item, kind)):
            return False
    return True


def value_unchanged(value: object, kind: _Property) -> bool:
    """Whether the SDK would conform a (non-null) value to what it is."""
    if type(value) is str:
        return not kind.boolean_only
    if isinstance(value, list) and kind.items is not None:
        return all(item_unchanged(item, kind) for item in value)
    if isinstance(value, dict) and kind.object is not None:
        return object_unchanged(value, kind.object)
    return primitive_unchanged(value, kind.boolean_only)


def item_unchanged(item: object, kind: _Property) -> bool:
    """Whether the SDK would conform an item of an array to what it is."""
    items = kind.items
    if kind.items_are_objects and isinstance(item, dict):
        return items is not None and items.object is not None and \
            object_unchanged(item, items.object)
    return primitive_unchanged(item, items is not None and items.boolean_only)


def primitive_unchanged(value: object, boolean: bool) -> bool:
    """Whether the SDK would conform a value it does not look into to what it is."""
    if isinstance(value, (float, Decimal)):
        return math.isfinite(value)
    if isinstance(value, _CONVERTED):
        return False
    return not boolean or value is None or isinstance(value, bool)


class RootConformer:
    """The SDK's ROOT_ONLY type conformance (of a transcript), for a fraction of the work.

    For values read from JSON it comes down to two things: NaN and infinities become null,
    and a property whose schema allows only booleans (and null) gets ``value != 0`` (unless
    the value is a number with a fraction part's type, which the SDK leaves as it is).
    """

    def __init__(self, booleans: frozenset[str]) -> None:
        """Conform records whose boolean-only properties are ``booleans``."""
        self.booleans = booleans

    @classmethod
    def for_schema(cls, schema: dict, fields: frozenset[str]) -> RootConformer | None:
        """For records of ``fields`` under a schema with all of them; else None (use the SDK)."""
        properties = schema.get("properties", {})
        if not properties.keys() >= fields:
            return None
        return cls(frozenset(name for name in fields if boolean_only(properties[name])))

    def __call__(self, record: dict) -> dict:
        """The record, conformed in place."""
        booleans = self.booleans
        for name, value in record.items():
            if isinstance(value, (float, Decimal)):
                if not math.isfinite(value):
                    record[name] = None
            elif value is not None and name in booleans:
                record[name] = value != 0
        return record
