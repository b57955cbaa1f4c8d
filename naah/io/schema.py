"""JSON read from a file, checked against a schema: every failure names the field.

A schema is a :class:`Check`: called with a value and the field's name
(``'run.scales[2]'``), it returns the value in the form the reader wants (a float
for the strings ``"inf"`` and ``"nan"``, which JSON lacks) or raises
:class:`SchemaError` saying which field, what it must be and what it is. Checks
compose: :func:`record` (an object's fields), :func:`array`, :func:`mapping`,
:func:`optional` and :func:`either` hold other checks; :func:`of_dataclass` makes
a record from a dataclass's fields and their annotations, so that a record's
schema is its class. A value nested deeper than a check expects is refused, so
nothing downstream recurses without end.

Examples
--------
>>> schema = record({"size": optional(integer(1)), "scales": array(integer(1))})
>>> schema({"size": None, "scales": [256, 512]}, "run")
{'size': None, 'scales': [256, 512]}
>>> schema({"size": "big", "scales": []}, "run")
Traceback (most recent call last):
...
naah.io.schema.SchemaError: run.size must be an integer >= 1 or null, got 'big'
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

# How deep a value that no check describes (anything) may nest: naah's metadata
# holds lists in objects in objects at most.
MAX_DEPTH = 16
# The largest integer a field may hold: what fits in 64 bits (JSON allows any).
LARGEST_INTEGER = 2**63 - 1
# Longest text: a path (Linux's PATH_MAX), a checksum, a name.
MAX_TEXT = 4096
# JSON has no infinities or NaN: naah writes them as Python spells them.
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class SchemaError(ValueError):
    """A value that its schema refuses; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field or 'the document'} {message}")
        self.field = field


def _shown(value: Any) -> str:
    """A value, shortened, for a message."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value) if not isinstance(value, int) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Check:
    """A schema: ``check(value, field)`` returns the value as the reader wants it.

    Attributes
    ----------
    expected : str
        What it accepts, in words (``'an integer >= 1'``).
    """

    expected = "a value"

    def __call__(self, value: Any, field: str) -> Any:
        raise NotImplementedError

    def refuse(self, value: Any, field: str) -> SchemaError:
        """The error for a value this check does not accept."""
        return SchemaError(field, f"must be {self.expected}, got {_shown(value)}")


class _Simple(Check):
    def __init__(self, expected: str, accept: Callable[[Any], Any]) -> None:
        self.expected = expected
        self._accept = accept

    def __call__(self, value: Any, field: str) -> Any:
        try:
            return self._accept(value)
        except (TypeError, ValueError, OverflowError):
            raise self.refuse(value, field) from None


def integer(low: int | None = None, high: int | None = None) -> Check:
    """An integer (not a bool) within ``[low, high]``, and within 64 bits."""
    if low is not None and high is not None:
        expected = f"an integer from {low} to {high}"
    elif low is not None:
        expected = f"an integer >= {low}"
    elif high is not None:
        expected = f"an integer <= {high}"
    else:
        expected = "an integer"

    def accept(value: Any) -> int:
        if type(value) is not int:
            raise TypeError
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError
        if not -LARGEST_INTEGER <= value <= LARGEST_INTEGER:
            raise OverflowError
        return value

    return _Simple(expected, accept)


def number(*, finite: bool = False) -> Check:
    """A number, as a float; unless ``finite``, also ``"inf"``, ``"-inf"`` or
    ``"nan"``, as naah writes those."""

    def accept(value: Any) -> float:
        if isinstance(value, str) and not finite and value in _NON_FINITE:
            return _NON_FINITE[value]
        if type(value) not in (int, float):
            raise TypeError
        result = float(value)  # OverflowError for an integer of 400 digits
        if finite and not math.isfinite(result):
            raise ValueError
        return result

    return _Simple("a finite number" if finite else "a number", accept)


def text(*choices: str) -> Check:
    """A string (of at most :data:`MAX_TEXT` characters), one of ``choices`` if
    given."""
    expected = f"one of {', '.join(map(repr, choices))}" if choices else "a string"

    def accept(value: Any) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise TypeError
        if choices and value not in choices:
            raise ValueError
        return value

    return _Simple(expected, accept)


def boolean() -> Check:
    """true or false."""

    def accept(value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError
        return value

    return _Simple("true or false", accept)


def anything(depth: int = MAX_DEPTH) -> Check:
    """Any JSON value nested at most ``depth`` deep, its integers within 64 bits,
    as it is."""

    def accept(value: Any) -> Any:
        level = [value]
        for _ in range(depth + 1):
            if any(type(v) is int and abs(v) > LARGEST_INTEGER for v in level):
                raise OverflowError
            level = [
                item
                for v in level
                if isinstance(v, dict | list)
                for item in (v.values() if isinstance(v, dict) else v)
            ]
            if not level:
                return value
        raise ValueError

    expected = f"a JSON value nested at most {depth} deep, of 64-bit integers"
    return _Simple(expected, accept)


class _Optional(Check):
    def __init__(self, check: Check) -> None:
        self.check = check
        self.expected = f"{check.expected} or null"

    def __call__(self, value: Any, field: str) -> Any:
        if value is None:
            return None
        try:
            return self.check(value, field)
        except SchemaError as error:
            if error.field != field:
                raise  # a field inside the value: its own message
            raise self.refuse(value, field) from None


def optional(check: Check) -> Check:
    """``check``'s values, or null (None)."""
    return _Optional(check)


class _Either(Check):
    def __init__(self, checks: tuple[Check, ...]) -> None:
        self.checks = checks
        self.expected = " or ".join(c.expected for c in checks)

    def __call__(self, value: Any, field: str) -> Any:
        for check in self.checks:
            try:
                return check(value, field)
            except SchemaError:
                continue
        raise self.refuse(value, field)


def either(*checks: Check) -> Check:
    """The value as the first of ``checks`` that accepts it takes it."""
    return _Either(checks)


class _Array(Check):
    def __init__(self, item: Check) -> None:
        self.item = item
        self.expected = f"a list, each item {item.expected}"

    def __call__(self, value: Any, field: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.refuse(value, field)
        return [self.item(v, f"{field}[{i}]") for i, v in enumerate(value)]


def array(item: Check) -> Check:
    """A list, each element checked by ``item``."""
    return _Array(item)


class _Mapping(Check):
    def __init__(self, value: Check) -> None:
        self.value = value
        self.expected = "an object"

    def __call__(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(value, field)
        return {k: self.value(v, _key(field, k)) for k, v in value.items()}


def mapping(value: Check) -> Check:
    """An object of any keys, each value checked by ``value``."""
    return _Mapping(value)


class _Record(Check):
    def __init__(
        self,
        required: Mapping[str, Check],
        optional: Mapping[str, Check],
        others: Check | None,
    ) -> None:
        self.required, self.optional, self.others = required, optional, others
        self.expected = "an object"

    def __call__(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(value, field)
        missing = [k for k in self.required if k not in value]
        if missing:
            raise SchemaError(_key(field, missing[0]), "is missing")
        checked = {}
        for key, item in value.items():
            check = self.required.get(key) or self.optional.get(key) or self.others
            if check is None:
                raise SchemaError(_key(field, key), "is no field of this naah")
            checked[key] = check(item, _key(field, key))
        return checked


def record(
    required: Mapping[str, Check],
    optional: Mapping[str, Check] | None = None,
    *,
    others: Check | None = None,
) -> Check:
    """An object with the ``required`` fields and any of the ``optional`` ones,
    each checked by its check; fields of neither are refused unless ``others``
    checks them."""
    return _Record(required, optional or {}, others)


def of_dataclass(
    cls: type, *, missing_ok: tuple[str, ...] = (), **overrides: Check
) -> Check:
    """The record of a dataclass's fields: each checked as its annotation says
    (int, float, str, bool, ``X | None``, ``dict[str, X]``, ``tuple[X, ...]``,
    ``list[X]``, a dataclass), required unless it has a default or is named in
    ``missing_ok`` (a reader fills it in); ``overrides`` replace a field's check.

    Examples
    --------
    >>> @dataclasses.dataclass
    ... class Point:
    ...     x: float
    ...     label: str | None = None
    >>> of_dataclass(Point)({"x": "inf"}, "point")
    {'x': inf}
    """
    hints = typing.get_type_hints(cls)
    required: dict[str, Check] = {}
    optional_: dict[str, Check] = {}
    for f in dataclasses.fields(cls):
        check = overrides.get(f.name) or _of_type(hints[f.name])
        may_miss = (
            f.default is not dataclasses.MISSING
            or f.default_factory is not dataclasses.MISSING
            or f.name in missing_ok
        )
        (optional_ if may_miss else required)[f.name] = check
    return record(required, optional_)


def _of_type(annotation: Any) -> Check:
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    simple = {int: integer(), float: number(), str: text(), bool: boolean()}
    if annotation in simple:
        return simple[annotation]
    if origin in (types.UnionType, typing.Union):
        others = [a for a in arguments if a is not type(None)]
        check = (
            _of_type(others[0]) if len(others) == 1 else either(*map(_of_type, others))
        )
        return optional(check) if len(others) < len(arguments) else check
    if origin is dict and arguments[0] is str:
        return mapping(_of_type(arguments[1]))
    if origin in (list, tuple):
        return array(_of_type(arguments[0]))
    if dataclasses.is_dataclass(annotation):
        return of_dataclass(annotation)  # type: ignore[arg-type]
    raise TypeError(f"no schema for the annotation {annotation!r}")


def _key(field: str, key: str) -> str:
    shown = key if key.isidentifier() and len(key) <= 60 else repr(key[:60])
    return f"{field}.{shown}" if field else shown
