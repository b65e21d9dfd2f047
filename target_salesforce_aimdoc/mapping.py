"""Record -> per-object Salesforce payloads: expressions, defaults, write policies, types (pure).

``map_record`` evaluates a stream's field rules on one record and coerces each value to its
field's type from the object's describe. Problems are ``FieldIssue``s with Salesforce's own
error codes, found before anything is sent. An issue without an object (bad key or e-mail)
stops the whole record; an issue on one object drops that object's payload only.

Write policies travel with each value: ``always``, ``if_empty`` or ``on_create``. A value
that came from a default is never more than ``if_empty`` (``on_create`` when the field's
policy is), and ``needs_write`` treats a Salesforce value equal to the field's default as
empty, so placeholders such as ``[not provided]`` give way to real values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from target_salesforce_aimdoc.domains import email_domain, is_valid_email, normalize_email
from target_salesforce_aimdoc.expressions import ExpressionError, Scope, is_empty
from target_salesforce_aimdoc.settings import FieldRule, ObjectConfig, StreamConfig, SyncSettings

TEXT_TYPES = frozenset(
    {"string", "email", "url", "phone", "textarea", "picklist", "combobox", "encryptedstring"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "t", "checked"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "f", "unchecked"})


class FieldValueError(ValueError):
    """A value that cannot go into a field; ``code`` is Salesforce's error code for it."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass
class FieldIssue:
    """A problem found before sending: on a field, an object, or (object None) the record."""

    object: str | None
    field: str | None
    code: str
    message: str


Payload = dict[str, tuple[Any, str]]
"""Field -> (value ready for JSON, write policy)."""


@dataclass
class MappedRecord:
    """One source record mapped to the objects it feeds.

    ``payloads`` holds only objects that can be written: an object with an issue is
    absent, and Account is absent for free-mail addresses. ``domain`` is the company
    domain Accounts match on (None for free-mail); ``email_domain`` is the address's
    registrable domain either way. ``missing_required`` lists, per object, the
    required-on-create fields this record leaves empty (a create would fail).
    """

    stream: str
    key: str
    email: str | None = None
    domain: str | None = None
    email_domain: str | None = None
    free_mail: bool = False
    payloads: dict[str, Payload] = field(default_factory=dict)
    issues: list[FieldIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing_required: dict[str, list[str]] = field(default_factory=dict)
    updated_at: dt.datetime | None = None
    variant: str = ""  # the stream variant (per-agent config) it was mapped with; "" none

    @property
    def ok(self) -> bool:
        """False when a record-level issue stops every object."""
        return not any(issue.object is None for issue in self.issues)

    def failed(self, sobject: str) -> bool:
        """True when this object (or the whole record) has an issue."""
        return any(issue.object in (None, sobject) for issue in self.issues)


# --- describe helpers --------------------------------------------------------------------

_INDEX_CACHE: dict[int, tuple[Mapping[str, Any], dict[str, dict[str, Any]]]] = {}
_REQUIRED_CACHE: dict[int, tuple[Mapping[str, Any], list[str]]] = {}


def field_index(describe: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A describe's fields by API name (memoised per describe object)."""
    if not describe:
        return {}
    hit = _INDEX_CACHE.get(id(describe))
    if hit is not None and hit[0] is describe:
        return hit[1]
    index = {meta["name"]: meta for meta in describe.get("fields", [])}
    if len(_INDEX_CACHE) > 64:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(describe)] = (describe, index)
    return index


def required_fields(fields: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Names of the fields required on create, of one ``field_index`` (cached per index)."""
    hit = _REQUIRED_CACHE.get(id(fields))
    if hit is not None and hit[0] is fields:
        return hit[1]
    names = [name for name, meta in fields.items() if required_on_create(meta)]
    if len(_REQUIRED_CACHE) > 64:
        _REQUIRED_CACHE.clear()
    _REQUIRED_CACHE[id(fields)] = (fields, names)
    return names


def required_on_create(meta: Mapping[str, Any]) -> bool:
    """Salesforce's rule: createable, not nillable and not defaulted on create."""
    return bool(
        meta.get("createable") and not meta.get("nillable") and not meta.get("defaultedOnCreate")
    )


def picklist_values(meta: Mapping[str, Any]) -> dict[str, str]:
    """Active picklist values by their case-folded form."""
    return {
        str(entry["value"]).casefold(): str(entry["value"])
        for entry in meta.get("picklistValues") or []
        if entry.get("active", True)
    }


# --- coercion ----------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _iso_datetime(value: dt.datetime) -> str:
    moment = _utc(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number_text(value: float | Decimal) -> str:
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


# What Salesforce refuses in text (FIELD_INTEGRITY_EXCEPTION or a JSON/XML parse error): C0
# control characters other than tab, line feed and carriage return, lone UTF-16 surrogates
# (only ever alone in a Python string) and the non-characters U+FFFE and U+FFFF.
_INVALID_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def valid_text(text: str) -> str:
    """Text Salesforce accepts: a lone surrogate becomes U+FFFD, control characters go."""
    if not _INVALID_TEXT.search(text):
        return text
    return _INVALID_TEXT.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "",
                             text)


def as_text(value: Any) -> str:
    """A value as Salesforce text: lists joined with ``, ``, datetimes ISO, numbers plain.

    Characters Salesforce refuses are made valid (``valid_text``).
    """
    if isinstance(value, str):
        return valid_text(value).strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return _iso_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return ", ".join(text for text in map(as_text, value) if text)
    if isinstance(value, Mapping):
        return json.dumps(json_safe(value), sort_keys=True, ensure_ascii=False)
    return str(value).strip()


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def json_safe(value: Any) -> Any:
    """A value JSON can carry: datetimes as ISO strings, Decimals as int/float."""
    if type(value) in _PLAIN_TYPES:  # most values: no ABC checks
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return _iso_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(item) for item in value]
    return value


def _bad_type(meta: Mapping[str, Any], value: Any) -> FieldValueError:
    kind = meta.get("type")
    return FieldValueError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{meta['name']}: value not of type {kind}: {value!r}"
    )


def _email(value: Any, meta: Mapping[str, Any]) -> str:
    text = as_text(value).lower()
    if not is_valid_email(text):
        raise FieldValueError(
            "INVALID_EMAIL_ADDRESS", f"{meta['name']}: invalid email address: {text}"
        )
    return text


def _picklist_value(text: str, meta: Mapping[str, Any]) -> str:
    canonical = picklist_values(meta).get(text.casefold())
    if canonical is not None:
        return canonical
    if meta.get("restrictedPicklist"):
        raise FieldValueError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{meta['name']}: bad value for restricted picklist field: {text}",
        )
    return text


def _picklist(value: Any, meta: Mapping[str, Any]) -> str:
    return _picklist_value(as_text(value), meta)


def _multipicklist(value: Any, meta: Mapping[str, Any]) -> str:
    items = value if isinstance(value, list | tuple | set) else as_text(value).split(";")
    chosen: list[str] = []
    for item in items:
        text = as_text(item)
        if text and (canonical := _picklist_value(text, meta)) not in chosen:
            chosen.append(canonical)
    return ";".join(chosen)


def _boolean(value: Any, meta: Mapping[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if not isinstance(value, str):
        raise _bad_type(meta, value)
    word = value.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _bad_type(meta, value)


def _decimal(value: Any, meta: Mapping[str, Any]) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _bad_type(meta, value)
    text = str(value).strip()
    if meta.get("type") == "percent":
        text = text.removesuffix("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _bad_type(meta, value) from None
    if not number.is_finite():
        raise _bad_type(meta, value)
    return number


def _number(value: Any, meta: Mapping[str, Any]) -> int | float:
    number = _decimal(value, meta)
    is_int = meta.get("type") == "int"
    if is_int and number != number.to_integral_value():
        raise _bad_type(meta, value)
    scale = 0 if is_int else meta.get("scale")
    if scale is not None:
        number = round(number, int(scale))
    digits = meta.get("digits") if is_int else (meta.get("precision") or 0) - (scale or 0)
    if digits and abs(number) >= Decimal(10) ** int(digits):
        raise FieldValueError(
            "NUMBER_OUTSIDE_VALID_RANGE", f"{meta['name']}: {value} has more than {digits} digits"
        )
    if is_int or scale == 0:
        return int(number)
    return float(number)


def _parse_moment(value: Any, meta: Mapping[str, Any]) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime | dt.date):
        return value
    text = as_text(value)
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise _bad_type(meta, value) from None


def _date(value: Any, meta: Mapping[str, Any]) -> str:
    moment = _parse_moment(value, meta)
    return (moment.date() if isinstance(moment, dt.datetime) else moment).isoformat()


def _datetime(value: Any, meta: Mapping[str, Any]) -> str:
    moment = _parse_moment(value, meta)
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), tzinfo=dt.UTC)
    return _iso_datetime(moment)


def _text(value: Any, _meta: Mapping[str, Any]) -> str:
    return as_text(value)


def _as_is(value: Any, _meta: Mapping[str, Any]) -> Any:
    return json_safe(value)


COERCERS: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    **dict.fromkeys(TEXT_TYPES, _text),
    "email": _email,
    "picklist": _picklist,
    "multipicklist": _multipicklist,
    "boolean": _boolean,
    **dict.fromkeys(NUMBER_TYPES, _number),
    "date": _date,
    "datetime": _datetime,
    "reference": _text,
    "id": _text,
    "time": _text,
}


def coerce(value: Any, meta: Mapping[str, Any] | None) -> tuple[Any, int | None]:
    """``value`` in the form the field takes, and the original length if text was cut.

    Raises FieldValueError (INVALID_TYPE_ON_FIELD_IN_RECORD, INVALID_EMAIL_ADDRESS,
    INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, NUMBER_OUTSIDE_VALID_RANGE). Without a
    describe entry the value only becomes JSON-safe.
    """
    if meta is None:
        return json_safe(value), None
    result = COERCERS.get(meta.get("type", ""), _as_is)(value, meta)
    length = meta.get("length") or 0
    if meta.get("type") in TEXT_TYPES and isinstance(result, str) and 0 < length < len(result):
        return result[:length], len(result)
    return result, None


def values_equal(ours: Any, theirs: Any, meta: Mapping[str, Any] | None = None) -> bool:
    """True when a mapped value and Salesforce's current value mean the same.

    Both sides go through the field's coercion, then: e-mails compare case-insensitively,
    multi-select picklists as sets, ids by their 15-character form.
    """
    if is_empty(ours) or is_empty(theirs):
        return is_empty(ours) and is_empty(theirs)
    try:
        left, _ = coerce(ours, meta)
        right, _ = coerce(theirs, meta)
    except FieldValueError:
        return False
    kind = (meta or {}).get("type")
    if kind == "email":
        return str(left).casefold() == str(right).casefold()
    if kind == "multipicklist":
        return set(str(left).split(";")) == set(str(right).split(";"))
    if kind in {"id", "reference"}:
        return str(left)[:15] == str(right)[:15]
    return left == right


def needs_write(
    value: Any,
    policy: str,
    current: Any,
    *,
    exists: bool,
    placeholder: Any = None,
    meta: Mapping[str, Any] | None = None,
) -> bool:
    """Whether a payload value should be sent, given the matched record's current value.

    Creates send everything. On an update: ``on_create`` never, ``always`` when the value
    differs, ``if_empty`` when Salesforce's value is empty or equals ``placeholder`` (the
    field's default, from ``ObjectConfig.defaults``).
    """
    if not exists:
        return True
    if policy == "on_create" or values_equal(value, current, meta):
        return False
    if policy == "if_empty":
        return is_empty(current) or (
            placeholder is not None and values_equal(placeholder, current, meta)
        )
    return True


# --- mapping -----------------------------------------------------------------------------


def _issue(sobject: str | None, name: str | None, code: str, message: str) -> FieldIssue:
    return FieldIssue(object=sobject, field=name, code=code, message=message)


def _key_text(value: Any) -> str:
    if isinstance(value, float | Decimal):
        return _number_text(value)
    return as_text(value)


def _identify(
    out: MappedRecord, scope: Scope, stream: StreamConfig, settings: SyncSettings
) -> None:
    """Fill key, e-mail and domains; record-level issues when they are unusable."""
    for name, expr in (("key", stream.key), ("email", stream.email)):
        try:
            value = expr.evaluate(scope)
        except ExpressionError as exc:
            out.issues.append(_issue(None, None, "EXPRESSION_ERROR", str(exc)))
            continue
        if is_empty(value):
            code = "MISSING_KEY" if name == "key" else "MISSING_EMAIL"
            out.issues.append(_issue(None, None, code, f"{expr.path} {expr.source!r} is empty"))
        elif name == "key":
            out.key = _key_text(value)
        elif not is_valid_email(value):
            message = f"{expr.path}: invalid email address: {as_text(value)}"
            out.issues.append(_issue(None, None, "INVALID_EMAIL_ADDRESS", message))
        else:
            out.email = normalize_email(value)
            out.email_domain = email_domain(out.email)
            out.free_mail = settings.free_mail.is_free(out.email)
            out.domain = None if out.free_mail else out.email_domain


def _source_time(stream: StreamConfig, scope: Scope) -> dt.datetime | None:
    """When the source record last changed (the stream's ``updated_at``), as UTC; or None."""
    if stream.updated_at is None:
        return None
    try:
        value = stream.updated_at.evaluate(scope)
        moment = _parse_moment(value, {"type": "datetime"}) if not is_empty(value) else None
    except (ExpressionError, FieldValueError):
        return None
    if isinstance(moment, dt.datetime):
        return _utc(moment)
    return None


def _default_policy(rule: FieldRule) -> str:
    return "on_create" if rule.policy == "on_create" else "if_empty"


def _rule_value(
    rule: FieldRule, scope: Scope, meta: Mapping[str, Any] | None
) -> tuple[Any, str, int | None]:
    """(value, policy, original length if truncated); value None when nothing to write."""
    if rule.expr is not None:
        try:
            raw = rule.expr.evaluate(scope)
        except ExpressionError as exc:
            raise FieldValueError("EXPRESSION_ERROR", str(exc)) from exc
        if not is_empty(raw):
            value, cut = coerce(raw, meta)
            if not is_empty(value):
                return value, rule.policy, cut
    if rule.constant is not None:
        value, cut = coerce(rule.constant, meta)
        return value, _default_policy(rule), cut
    return None, rule.policy, None


def _match_value(match_field: str, domain: str, fields: Mapping[str, Any]) -> str:
    meta = fields.get(match_field) or {}
    return f"https://{domain}" if meta.get("type") == "url" else domain


def _map_object(
    out: MappedRecord,
    scope: Scope,
    obj: ObjectConfig,
    describe: Mapping[str, Any] | None,
    match_field: str,
) -> None:
    fields = field_index(describe)
    payload: Payload = {}
    issues: list[FieldIssue] = []
    for rule in obj.fields.values():
        try:
            value, policy, cut = _rule_value(rule, scope, fields.get(rule.name))
        except FieldValueError as problem:
            issues.append(_issue(obj.sobject, rule.name, problem.code, str(problem)))
            continue
        if cut is not None:
            out.warnings.append(
                f"{out.stream} record {out.key}: {obj.sobject}.{rule.name} truncated to "
                f"{len(value)} characters (was {cut})"
            )
        if not is_empty(value):
            payload[rule.name] = (value, policy)
    if obj.sobject == "Account" and out.domain and match_field not in payload:
        payload[match_field] = (_match_value(match_field, out.domain, fields), "on_create")
    if missing := [name for name in required_fields(fields) if name not in payload]:
        out.missing_required[obj.sobject] = missing
    out.issues.extend(issues)
    if not issues:
        out.payloads[obj.sobject] = payload


def source_identity(record: Mapping[str, Any], stream: StreamConfig,
                    settings: SyncSettings) -> tuple[str | None, dt.datetime | None]:
    """A record's key and ``updated_at`` without mapping it (None key when it has none)."""
    scope = Scope(record, config=settings.map_config, stream=stream.name)
    out = MappedRecord(stream=stream.name, key="")
    _identify(out, scope, stream, settings)
    return (out.key if out.ok and out.key else None), _source_time(stream, scope)


def map_record(
    record: Mapping[str, Any],
    stream: StreamConfig,
    settings: SyncSettings,
    describes: Mapping[str, Mapping[str, Any]],
) -> MappedRecord:
    """Map one record through a stream's config to payloads per enabled object.

    ``describes`` holds ``/sobjects/{Type}/describe`` payloads keyed by object name
    (``"Lead"``, ...); an object without one is mapped without type coercion.
    Objects come out in write order (Account, Contact, Lead); Account only for a company
    domain. Truncations are in ``warnings``; nothing is logged here.
    """
    scope = Scope(record, config=settings.map_config, stream=stream.name)
    out = MappedRecord(stream=stream.name, key="", variant=stream.variant)
    _identify(out, scope, stream, settings)
    out.updated_at = _source_time(stream, scope)
    if not out.ok:
        return out
    for obj in stream.enabled_objects:
        if obj.sobject == "Account" and out.domain is None:
            continue
        _map_object(out, scope, obj, describes.get(obj.sobject), settings.match_field(stream))
    return out
