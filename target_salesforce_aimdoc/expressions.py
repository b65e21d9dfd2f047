"""Mapping and filter expressions: the singer-sdk stream-map language (simpleeval), null-safe.

Names, as in singer-sdk stream maps: every record property, ``record`` and ``_`` (the whole
record), ``config`` (the ``stream_map_config`` setting) and ``__stream_name__``.
Functions, as in stream maps: ``int float str bool rand randint md5 sha256 datetime json
list tuple dict set``; added here: ``len lower upper strip round abs min max coalesce
answer captured email_domain company_domain is_free_mail website_domain qualification_text``.

Aimdoc documents a contact's captured data only as ``attributes{}``; tap-aimdoc's contract
also has its own fields (``status``, ``score``, ``qualification``, ``data_capture``).
``captured('status')`` reads either place (see ``captured_value``), ``answer`` and
``qualification_text`` look into ``attributes`` too, so one mapping serves both readings.

Differences that suit records whose taps omit null properties:

- an unknown name is None (``company or 'n/a'`` works when ``company`` is absent);
- ``a.b`` and ``a['b']`` are None when ``a`` is None or has no key ``b``; on a dict, ``a.b``
  reads the key before any method of the same name (``data_capture.items`` is the key);
- an index past the end of a list is None.

Expressions compile once (syntax, unknown functions and forbidden constructs fail there,
as a ConfigError naming the setting) and are evaluated per record.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import json
import threading
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import simpleeval

from target_salesforce_aimdoc.domains import FreeMail, email_domain, website_domain


class ConfigError(ValueError):
    """A problem in the configuration, named by its setting path."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class ExpressionError(ValueError):
    """An expression failed on one record (a bad type, a failing function call...)."""


def md5(text: str) -> str:
    """Hex MD5 of a string (as in singer-sdk stream maps)."""
    return hashlib.md5(str(text).encode("utf-8")).hexdigest()  # noqa: S324


def sha256(text: str) -> str:
    """Hex SHA-256 of a string (as in singer-sdk stream maps)."""
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()


def is_empty(value: Any) -> bool:
    """None, a blank string or an empty list/dict: nothing to write."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | dict):
        return not value
    return False


def coalesce(*values: Any) -> Any:
    """The first argument that is not empty (None, blank string, empty list); else None.

    Unlike ``a or b``, it keeps ``0`` and ``False``.
    """
    return next((value for value in values if not is_empty(value)), None)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _len(value: Any) -> int:
    return 0 if value is None else len(value)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def captured_value(record: Mapping[str, Any], name: str) -> Any:
    """A captured field of a contact, wherever Aimdoc puts it; None when absent.

    In order: the record's own field, ``attributes[name]``, ``data_capture[name]``, then
    ``attributes['data_capture'][name]``. Empty values (None, blank, empty list) are skipped.
    """
    attributes = record.get("attributes")
    attributes = attributes if isinstance(attributes, Mapping) else {}
    places: list[Any] = [record, attributes, record.get("data_capture"),
                         attributes.get("data_capture")]
    return coalesce(*(place.get(name) for place in places if isinstance(place, Mapping)))


def qualification_text(qualification: Any) -> str | None:
    """Qualification answers as ``Q: question`` / ``A: answer`` lines; None when none.

    Takes the answers, or a record (or its ``attributes``) holding them (see
    ``captured_value``).
    """
    if isinstance(qualification, Mapping):
        qualification = captured_value(qualification, "qualification")
    if not isinstance(qualification, list):
        return None
    blocks = [
        f"Q: {item.get('question') or item.get('question_id') or '?'}\nA: {_text(answer)}"
        for item in qualification
        if isinstance(item, Mapping) and not is_empty(answer := item.get("answer"))
    ]
    return "\n\n".join(blocks) or None


def _norm_question(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def find_answer(record: Mapping[str, Any], question: Any) -> Any:
    """The answer to a qualification question, by ``question_id`` or by question text.

    Ids match exactly first; then text matches case-insensitively with spaces collapsed.
    The last matching entry wins (the latest answer). None when unanswered.
    """
    items = captured_value(record, "qualification")
    if not isinstance(items, list) or question is None:
        return None
    entries = [item for item in items if isinstance(item, Mapping)]
    by_id = [item for item in entries if item.get("question_id") == question]
    wanted = _norm_question(question)
    by_text = [item for item in entries if _norm_question(item.get("question", "")) == wanted]
    found = by_id or by_text
    return found[-1].get("answer") if found else None


def default_functions(free_mail: FreeMail | None = None) -> dict[str, Any]:
    """The function table: singer-sdk's stream-map functions plus ours.

    ``free_mail`` decides what ``company_domain`` and ``is_free_mail`` treat as personal.
    """
    lists = free_mail or FreeMail()
    funcs: dict[str, Any] = dict(simpleeval.DEFAULT_FUNCTIONS)
    funcs.update(
        md5=md5,
        sha256=sha256,
        datetime=simpleeval.ModuleWrapper(datetime),
        bool=bool,
        json=simpleeval.ModuleWrapper(json),
        list=list,
        tuple=tuple,
        dict=dict,
        set=set,
        len=_len,
        lower=_lower,
        upper=_upper,
        strip=_strip,
        round=round,
        abs=abs,
        min=min,
        max=max,
        coalesce=coalesce,
        email_domain=email_domain,
        company_domain=lists.company_domain,
        is_free_mail=lists.is_free,
        website_domain=website_domain,
        qualification_text=qualification_text,
        answer=lambda _question: None,  # replaced per record, see Scope
        captured=lambda _name: None,  # replaced per record, see Scope
    )
    return funcs


_MISSING = object()


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with missing names and keys as None (see the module docstring)."""

    def _check_disallowed_items(self, item: Any) -> None:
        # As singer-sdk's _MapperEval: modules only enter through ModuleWrapper and records
        # are data, so the per-node container scan is skipped; calls are still checked.
        return

    def _eval(self, node: ast.AST) -> Any:
        handler = self.nodes.get(type(node))
        if handler is None:
            msg = f"{type(node).__name__} is not available in expressions"
            raise simpleeval.FeatureNotAvailable(msg)
        return handler(node)

    def _eval_name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        return self.functions.get(node.id)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        _check_attribute(node.attr)
        base = self._eval(node.value)
        if base is None:
            return None
        if isinstance(base, Mapping) and node.attr in base:
            return base[node.attr]
        item = getattr(base, node.attr, _MISSING)
        if item is _MISSING:
            if isinstance(base, Mapping):
                return None
            raise simpleeval.AttributeDoesNotExist(node.attr, self.expr)
        if isinstance(item, types.ModuleType):
            raise simpleeval.FeatureNotAvailable("modules are not allowed")
        if callable(item) and item in simpleeval.DISALLOW_FUNCTIONS:
            raise simpleeval.FeatureNotAvailable("this function is forbidden")
        return item

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if container is None:
            return None
        if isinstance(container, Mapping):
            return container.get(key)
        try:
            return container[key]
        except IndexError:
            return None


def _check_attribute(name: str) -> None:
    if name.startswith(tuple(simpleeval.DISALLOW_PREFIXES)) or name in simpleeval.DISALLOW_METHODS:
        raise simpleeval.FeatureNotAvailable(f"attribute {name!r} is not available")


_TEMPLATE = _Evaluator()
_OPERATOR_NODES = (ast.operator, ast.unaryop, ast.cmpop)
_HELPER_NODES = (ast.expr_context, ast.boolop, ast.comprehension, ast.keyword, ast.Starred)


class Scope:
    """One record's names, shared by every expression evaluated on it."""

    def __init__(
        self,
        record: Mapping[str, Any],
        *,
        config: Mapping[str, Any] | None = None,
        stream: str | None = None,
    ) -> None:
        self.record = record
        self.names: dict[str, Any] = dict(record)
        self.names.update(
            _=record, record=record, config=dict(config or {}), __stream_name__=stream
        )
        self._bound: dict[int, dict[str, Any]] = {}

    def evaluator(self, functions: dict[str, Any]) -> _Evaluator:
        """An evaluator over this record for one function table.

        Setting up a simpleeval evaluator costs more than most evaluations, so one per
        function table and thread is kept and pointed at this record before each use.
        """
        bound = self._bound.get(id(functions))
        if bound is None:
            record = self.record
            bound = {**functions, "answer": lambda question: find_answer(record, question),
                     "captured": lambda name: captured_value(record, name)}
            self._bound[id(functions)] = bound
        evaluator = _shared_evaluator(functions)
        evaluator.names, evaluator.functions = self.names, bound
        return evaluator


_SHARED = threading.local()


def _shared_evaluator(functions: dict[str, Any]) -> _Evaluator:
    """The current thread's evaluator for a function table."""
    cache: dict[int, tuple[dict[str, Any], _Evaluator]] = _SHARED.__dict__.setdefault(
        "evaluators", {})
    hit = cache.get(id(functions))
    if hit is None or hit[0] is not functions:
        if len(cache) > 64:
            cache.clear()
        hit = cache[id(functions)] = (functions, _Evaluator(functions=dict(functions)))
    return hit[1]


@dataclass(frozen=True)
class CompiledExpression:
    """An expression parsed and checked once; evaluate it per record."""

    source: str
    path: str
    tree: ast.expr = field(repr=False, compare=False)
    functions: dict[str, Any] = field(repr=False, compare=False)

    def evaluate(self, record: Mapping[str, Any] | Scope) -> Any:
        """The value on one record (or Scope); raises ExpressionError when it fails."""
        scope = record if isinstance(record, Scope) else Scope(record)
        if type(self.tree) is ast.Name and self.tree.id in scope.names:  # a bare name
            return scope.names[self.tree.id]
        evaluator = scope.evaluator(self.functions)
        try:
            return evaluator.eval(self.source, previously_parsed=self.tree)
        except Exception as exc:  # user code: any failure is that record's error
            msg = f"{self.path}: {self.source!r} failed: {type(exc).__name__}: {exc}"
            raise ExpressionError(msg) from exc


def _check_node(node: ast.AST, functions: Mapping[str, Any]) -> str | None:
    """Why this node cannot be evaluated, or None."""
    if isinstance(node, _OPERATOR_NODES):
        known = type(node) in _TEMPLATE.operators
        return None if known else f"{type(node).__name__} is not supported"
    if isinstance(node, ast.expr) and type(node) not in _TEMPLATE.nodes:
        return f"{type(node).__name__} is not supported"
    call = node.func if isinstance(node, ast.Call) else None
    if isinstance(call, ast.Name) and call.id not in functions:
        return f"unknown function {call.id!r} (known: {', '.join(sorted(functions))})"
    if isinstance(node, ast.Attribute):
        try:
            _check_attribute(node.attr)
        except simpleeval.FeatureNotAvailable as exc:
            return str(exc)
    if isinstance(node, (ast.expr, *_OPERATOR_NODES, *_HELPER_NODES)):
        return None
    return f"{type(node).__name__} is not supported"


def compile_expression(
    source: str, path: str, functions: dict[str, Any] | None = None
) -> CompiledExpression:
    """Parse and check an expression; ConfigError (naming ``path``) when it is not usable."""
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(path, "expression is empty")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(path, f"invalid expression {source!r}: {exc.msg}") from exc
    table = functions if functions is not None else default_functions()
    for node in ast.walk(tree):
        problem = _check_node(node, table)
        if problem:
            raise ConfigError(path, f"invalid expression {source!r}: {problem}")
    return CompiledExpression(source=source.strip(), path=path, tree=tree, functions=table)
