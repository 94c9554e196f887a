"""A tiny validator kit that produces the real API's error messages and ``param`` paths.

Each validator is ``(value, path) -> value``; it raises :class:`ProtocolError` with the path of
the offending field (``session.audio.input.turn_detection.threshold``), so clients get the same
``Unknown parameter: '…'`` / ``Invalid type for '…'`` / ``Missing required parameter: '…'``
errors the live API sends. Objects are closed: unknown keys are errors, which is how the GA API
rejects beta-era names such as ``session.modalities``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from realtime_transport_emulator.session import errors

Validator = Callable[[Any, str], Any]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def anything() -> Validator:
    def check(value: Any, path: str) -> Any:
        return value

    return check


def string(*, max_length: int | None = None) -> Validator:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_type(path, value, "a string")
        if max_length is not None and len(value) > max_length:
            raise errors.too_long(path, "a string", max_length, len(value))
        return value

    return check


def boolean() -> Validator:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise errors.invalid_type(path, value, "a boolean")
        return value

    return check


def integer(low: int | None = None, high: int | None = None) -> Validator:
    def check(value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise errors.invalid_type(path, value, "an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            raise errors.out_of_range(path, value, low, high)
        return value

    return check


def number(low: float | None = None, high: float | None = None) -> Validator:
    def check(value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.invalid_type(path, value, "a number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise errors.out_of_range(path, float(value), low, high)
        return value

    return check


def enum(*values: str) -> Validator:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_type(path, value, "a string")
        if value not in values:
            raise errors.invalid_value(path, value, list(values))
        return value

    return check


def nullable(inner: Validator) -> Validator:
    def check(value: Any, path: str) -> Any:
        return None if value is None else inner(value, path)

    return check


def list_of(inner: Validator, *, max_items: int | None = None) -> Validator:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise errors.invalid_type(path, value, "an array")
        if max_items is not None and len(value) > max_items:
            raise errors.too_long(path, "an array", max_items, len(value))
        return [inner(item, f"{path}[{index}]") for index, item in enumerate(value)]

    return check


def obj(fields: Mapping[str, Validator], *, required: tuple[str, ...] = ()) -> Validator:
    """A closed object: unknown keys -> ``Unknown parameter``; missing required -> error."""

    def check(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise errors.invalid_type(path, value, "an object")
        for key in value:
            if key not in fields:
                raise errors.unknown_parameter(_join(path, str(key)))
        for key in required:
            if key not in value:
                raise errors.missing(_join(path, key))
        return {key: fields[key](item, _join(path, key)) for key, item in value.items()}

    return check


def tagged(variants: Mapping[str, Validator], *, tag: str = "type") -> Validator:
    """An object whose ``type`` picks the variant (turn detection, tools, items…)."""

    def check(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise errors.invalid_type(path, value, "an object")
        kind = value.get(tag)
        if kind is None:
            raise errors.missing(_join(path, tag))
        if not isinstance(kind, str):
            raise errors.invalid_type(_join(path, tag), kind, "a string")
        variant = variants.get(kind)
        if variant is None:
            raise errors.invalid_value(_join(path, tag), kind, list(variants))
        return variant(value, path)

    return check


def string_or(values: tuple[str, ...], other: Validator, *, expected: str) -> Validator:
    """A fixed string (``"auto"``, ``"inf"``…) or something else (an object, an integer)."""

    def check(value: Any, path: str) -> Any:
        if isinstance(value, str):
            if value not in values:
                raise errors.invalid_value(path, value, list(values))
            return value
        try:
            return other(value, path)
        except errors.ProtocolError as exc:
            if exc.code == "invalid_type" and exc.param == path:
                raise errors.invalid_type(path, value, expected) from None
            raise

    return check


def string_map(*, max_items: int | None = None, max_value: int | None = None) -> Validator:
    """``metadata``-style objects: string keys to string values."""

    def check(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise errors.invalid_type(path, value, "an object")
        if max_items is not None and len(value) > max_items:
            raise errors.ProtocolError(
                f"Invalid '{path}': too many keys. Expected at most {max_items}, "
                f"but got {len(value)} instead.",
                code="object_above_max_properties",
                param=path,
            )
        for key, item in value.items():
            string(max_length=max_value)(item, _join(path, str(key)))
        return dict(value)

    return check
