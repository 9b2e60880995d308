"""Validators the shipped plugins share for their config and params: strict bounds, named in messages."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from jido.errors import ValidationError

__all__ = ["bounded_float", "bounded_int", "bounded_str"]


def _invalid(attribute: attrs.Attribute[Any], message: str) -> ValidationError:
    # Raised inside attrs validators; the strict converter keeps the $.path line as it is.
    return ValidationError.at(f"$.{attribute.name}", message)


def bounded_int(low: int, high: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: an int (not a bool) within ``low..high``."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _invalid(attribute, f"expected an int within {low}..{high}, got {value!r}")

    return check


def bounded_float(
    low: float, high: float, *, optional: bool = False
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: a finite number within ``low..high`` exclusive of ``low`` (None too if ``optional``)."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low < value <= high
        ):
            raise ValueError(
                f"{attribute.name} must be a number of seconds in ({low:g}, {high:g}], got {value!r}"
            )

    return check


def bounded_str(high: int, *, empty: bool = False) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: a string of at most ``high`` characters (and not empty unless ``empty``)."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            raise _invalid(attribute, f"expected a string, got {type(value).__name__}")
        if len(value) > high or (not empty and not value):
            low = 0 if empty else 1
            raise _invalid(attribute, f"expected {low}..{high} characters, got {len(value)}")

    return check
