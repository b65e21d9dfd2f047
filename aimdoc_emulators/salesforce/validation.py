"""Record validation as the real service does it, driven by describe metadata.

Whole-call failures (a body that does not deserialize, an unknown field) raise ``ApiError``;
per-record failures raise ``RecordFailure`` so sObject Collections can report them per row.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import (
    ApiError,
    RecordFailure,
    json_parser_error,
    record_error,
)
from aimdoc_emulators.salesforce.ids import normalize_id
from aimdoc_emulators.salesforce.metadata import NUMBER_TYPES, TEXT_TYPES

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.metadata import FieldMeta, SObjectMeta

# Salesforce accepts most RFC 5322 local parts but rejects spaces, a missing @ or dot-less domains.
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"
)
_CONVERTED_TYPES = NUMBER_TYPES | {"boolean", "date", "datetime"}
NOTE_ALLOWED_TAGS = frozenset({"p", "b", "i", "u", "ul", "ol", "li", "br", "strong", "em"})
# controls but tab, CR, LF; and the characters a note must escape. Looked for one by one
# (``c in text`` scans at memory speed; a regex character class steps through every character)
_NOTE_CONTROL_CHARS = "".join(map(chr, (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))))
_NOTE_BARE_CHARS = "<>&\"'"
_NOTE_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\s*(/?)>")
# _NOTE_TAG capturing the name only, so ``split`` yields text, name, text, ...
_NOTE_TAG_NAME = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\s*/?>")
_LAST_SPLIT: tuple[str, list[str], list[str]] | None = None
_NOTE_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#\d{1,7});")
_SURROGATE = re.compile("[\ud800-\udfff]")
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NOTE_CONTENT_ERROR = (
    "Note can't be saved because it contains HTML tags or unescaped characters that are not "
    "allowed in a Note."
)


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's datetime rendering: UTC, milliseconds, offset without a colon."""
    value = value.astimezone(dt.UTC)
    if value.year < 1000:  # strftime's %Y does not pad years below 1000 on every platform
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    # "YYYY-MM-DDTHH:MM:SS.mmm+00:00" (milliseconds truncated, as // 1000 does), colon dropped
    return value.isoformat(timespec="milliseconds")[:-6] + "+0000"


def parse_datetime(text: str) -> dt.datetime | None:
    """Parse the ISO-8601 forms the API accepts; None if it is not one."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    date, time, fraction, zone = match.groups()
    zone = zone or "Z"
    if zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    fraction = (fraction or ".0")[:7]
    try:
        parsed = dt.datetime.fromisoformat(f"{date}T{time}{fraction}{zone.replace('Z', '+00:00')}")
    except ValueError:
        return None
    return parsed


def _deserialize_error(meta: FieldMeta, value: Any, kind: str) -> ApiError:
    return json_parser_error(
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or request "
        f"may be missing a required field at [line:1, column:1]"
    )


def coerce_value(meta: FieldMeta, value: Any) -> Any:
    """Turn a JSON value into its stored form, as the API's deserializer would."""
    if value is None:
        return None
    kind = meta.type
    if type(value) is str and kind not in _CONVERTED_TYPES:
        return value  # what the checks below end with for a string of a text or id field
    if kind == "boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return int(value.lower() == "true")
        raise _deserialize_error(meta, value, "boolean")
    if kind in NUMBER_TYPES:
        return _coerce_number(meta, value)
    if kind == "date":
        return _coerce_date(meta, value)
    if kind == "datetime":
        parsed = parse_datetime(str(value)) if isinstance(value, str) else None
        if parsed is None:
            raise _deserialize_error(meta, value, "datetime")
        return format_datetime(parsed)
    if isinstance(value, bool | int | float) and kind in TEXT_TYPES:
        return str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise json_parser_error(
            f"Cannot deserialize instance of {kind} from START_{type(value).__name__.upper()} "
            "value at [line:1, column:1]"
        )
    return value


def _coerce_number(meta: FieldMeta, value: Any) -> Any:
    if isinstance(value, bool):
        raise _deserialize_error(meta, value, meta.type)
    try:
        number = float(value) if not isinstance(value, int | float) else value
    except (TypeError, ValueError):
        raise _deserialize_error(meta, value, meta.type) from None
    if meta.type == "int":
        if float(number) != int(number):
            raise _deserialize_error(meta, value, "int")
        return int(number)
    return float(number)


def _coerce_date(meta: FieldMeta, value: Any) -> str:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    raise _deserialize_error(meta, value, "date")


class RecordValidator:
    """Checks a create or update payload of one object against its metadata."""

    def __init__(self, obj: SObjectMeta, exists: Any, unique_owner: Any) -> None:
        """Check records of ``obj``.

        ``exists(id18, types, prefix_only=)`` tells if a referenced record exists;
        ``unique_owner(field, value, own_id)`` returns the id already holding a unique value.
        """
        self.obj = obj
        self.exists = exists
        self.unique_owner = unique_owner
        self.required = [meta for meta in obj.fields.values() if meta.required_on_create]
        self._checks: dict[str, tuple[FieldMeta, tuple[Any, ...]]] = {}

    def resolve_fields(self, payload: dict[str, Any]) -> dict[str, tuple[FieldMeta, Any]]:
        """Map payload keys to fields; an unknown field fails the whole call (INVALID_FIELD)."""
        resolved: dict[str, tuple[FieldMeta, Any]] = {}
        for key, value in payload.items():
            if key == "attributes":
                continue
            meta = self.obj.field(key)
            if meta is None:
                raise ApiError.of(
                    400, "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {self.obj.name}",
                )
            resolved[meta.name] = (meta, coerce_value(meta, value))
        return resolved

    def check(
        self,
        values: dict[str, tuple[FieldMeta, Any]],
        *,
        creating: bool,
        record_id: str | None = None,
    ) -> dict[str, Any]:
        """Per-record checks; returns the stored values or raises RecordFailure."""
        errors = self._access_errors(values, creating=creating)
        if errors:
            raise RecordFailure(errors)
        errors = self._required_errors(values, creating=creating)
        for meta, value in values.values():
            if value is None:
                continue
            if (type(value) is str and not value.isascii()) or meta.type == "url":
                text_error = self._text_error(meta, value)
                if text_error:
                    errors.append(text_error)
                    continue
            errors.extend(self._value_errors(meta, value, record_id))
        errors.extend(self._rule_errors(values))
        if errors:
            raise RecordFailure(errors)
        return {name: value for name, (_, value) in values.items()}

    @staticmethod
    def _text_error(meta: FieldMeta, value: Any) -> dict[str, Any] | None:
        """Text the service cannot store [U: the message].

        An unpaired surrogate in any field, or a control character in a URL.
        """
        text = str(value)
        if _SURROGATE.search(text):
            return record_error(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{meta.label}: value contains an invalid character (unpaired surrogate)",
                [meta.name])
        if meta.type == "url" and _URL_CONTROL.search(text):
            return record_error("FIELD_INTEGRITY_EXCEPTION",
                                f"{meta.label}: invalid URL (control character)", [meta.name])
        return None

    def _rule_errors(self, values: dict[str, tuple[FieldMeta, Any]]) -> list[dict[str, Any]]:
        """The org's validation rules (evaluated on the fields the call sets)."""
        errors = []
        for rule in self.obj.validation_rules:
            given = values.get(rule.field)
            if given is not None and given[1] is not None and re.search(
                    rule.pattern, str(given[1])):
                errors.append(record_error("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message,
                                           [rule.field]))
        return errors

    def _access_errors(
        self, values: dict[str, tuple[FieldMeta, Any]], *, creating: bool
    ) -> list[dict[str, Any]]:
        allowed = "createable" if creating else "updateable"
        denied = [name for name, (meta, _) in values.items() if not getattr(meta, allowed)]
        if not denied:
            return []
        return [
            record_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(denied)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                denied,
            )
        ]

    def _required_errors(
        self, values: dict[str, tuple[FieldMeta, Any]], *, creating: bool
    ) -> list[dict[str, Any]]:
        missing = []
        for meta in self.required:
            given = values.get(meta.name)
            blank = given is None or given[1] is None or given[1] == ""
            if blank and (creating or given is not None):
                missing.append(meta.name)
        if not missing:
            return []
        return [
            record_error(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        ]

    def _value_errors(self, meta: FieldMeta, value: Any, record_id: str | None) -> list[dict]:
        planned = self._checks.get(meta.name)
        if planned is None or planned[0] is not meta:
            planned = self._checks[meta.name] = (meta, self._checks_for(meta))
        for check in planned[1]:
            error = check(meta, value, record_id)
            if error:
                return [error]
        return []

    def _checks_for(self, meta: FieldMeta) -> tuple[Any, ...]:
        """The value checks that can fail for this field, in the order they run."""
        applies = [
            (meta.type in TEXT_TYPES and bool(meta.length), self._length_error),
            (meta.type == "email", self._email_error),
            (meta.restricted_picklist, self._picklist_error),
            (meta.type == "reference", self._reference_error),
            (meta.unique, self._unique_error),
        ]
        return tuple(check for relevant, check in applies if relevant)

    @staticmethod
    def _length_error(meta: FieldMeta, value: Any, _id: str | None) -> dict | None:
        if meta.type in TEXT_TYPES and meta.length and len(str(value)) > meta.length:
            return record_error(
                "STRING_TOO_LONG",
                f"{meta.label}: data value too large: {str(value)[:300]} "
                f"(max length={meta.length})",
                [meta.name],
            )
        return None

    @staticmethod
    def _email_error(meta: FieldMeta, value: Any, _id: str | None) -> dict | None:
        if meta.type == "email" and value != "" and not _EMAIL.match(str(value)):
            return record_error(
                "INVALID_EMAIL_ADDRESS", f"{meta.label}: invalid email address: {value}",
                [meta.name],
            )
        return None

    @staticmethod
    def _picklist_error(meta: FieldMeta, value: Any, _id: str | None) -> dict | None:
        if not meta.restricted_picklist or value == "":
            return None
        wanted = str(value).split(";") if meta.type == "multipicklist" else [str(value)]
        if all(item in meta.picklist_values for item in wanted):
            return None
        return record_error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{meta.label}: bad value for restricted picklist field: {value}",
            [meta.name],
        )

    def _reference_error(self, meta: FieldMeta, value: Any, _id: str | None) -> dict | None:
        if meta.type != "reference" or value == "":
            return None
        normalized = normalize_id(str(value))
        if normalized is None or not self.exists(normalized, meta.reference_to, prefix_only=True):
            return record_error(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{meta.label}: id value of incorrect type: {value}",
                [meta.name],
            )
        if not self.exists(normalized, meta.reference_to, prefix_only=False):
            return record_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [meta.name]
            )
        return None

    def _unique_error(self, meta: FieldMeta, value: Any, record_id: str | None) -> dict | None:
        if not meta.unique or value == "":
            return None
        owner = self.unique_owner(meta.name, value, record_id)
        if owner:
            return record_error(
                "DUPLICATE_VALUE",
                f"duplicate value found: {meta.name} duplicates value on record with id: {owner}",
                [meta.name],
            )
        return None


def decode_note_content(encoded: str) -> str:
    """Decode and check ContentNote content the way Salesforce does (spec §4.2)."""
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise RecordFailure(
            [record_error("FIELD_INTEGRITY_EXCEPTION", NOTE_CONTENT_ERROR, ["Content"])]
        ) from None
    if not note_content_is_valid(text):
        raise RecordFailure(
            [record_error("FIELD_INTEGRITY_EXCEPTION", NOTE_CONTENT_ERROR, ["Content"])]
        )
    return text


def _split_tags(text: str) -> tuple[list[str], list[str]]:
    """The text between ``_NOTE_TAG`` matches and the matched tag names, in one scan.

    The last note's split is kept: a write checks a note and then renders its preview.
    """
    global _LAST_SPLIT  # noqa: PLW0603 - a one-entry cache, replaced whole (thread-safe)
    last = _LAST_SPLIT
    if last is not None and last[0] == text:
        return last[1], last[2]
    parts = _NOTE_TAG_NAME.split(text)
    pieces, names = parts[0::2], parts[1::2]
    _LAST_SPLIT = (text, pieces, names)
    return pieces, names


def note_content_is_valid(text: str) -> bool:
    """Allowed simple tags only, ``< > " ' &`` escaped, known entities, no control chars."""
    if any(char in text for char in _NOTE_CONTROL_CHARS):
        return False
    pieces, names = _split_tags(text)
    if any(name.lower() not in NOTE_ALLOWED_TAGS for name in set(names)):
        return False
    bare = "".join(pieces)  # the text with every tag removed
    if "&" in bare:  # every entity starts with one
        bare = _NOTE_ENTITY.sub("", bare)
    return not any(char in bare for char in _NOTE_BARE_CHARS)


_PREVIEW_SCAN = 600  # characters of a long note's plain text read first for its preview


def note_text_preview(text: str) -> str:
    """The note's plain-text preview (TextPreview, 255 characters)."""
    plain = " ".join(_split_tags(text)[0])  # each tag replaced by a space
    # A long note's preview comes from its start: the text up to a space past the first
    # _PREVIEW_SCAN characters is unescaped and collapsed alone (no entity spans a space, and
    # collapsing a text's start gives the start of collapsing the whole), if that is enough.
    cut = plain.find(" ", _PREVIEW_SCAN) if len(plain) > _PREVIEW_SCAN else -1
    if cut > 0:
        preview = _unescaped_words(plain[:cut])
        if len(preview) >= 255:
            return preview[:255]
    return _unescaped_words(plain)[:255]


def _unescaped_words(plain: str) -> str:
    """Entities unescaped, whitespace runs collapsed to one space, no space at either end."""
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'")):
        plain = plain.replace(entity, char)
    plain = plain.replace("&amp;", "&")
    return " ".join(plain.split())
