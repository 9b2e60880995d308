"""The dispatch seam: one small protocol every adapter implements, the error they raise, and option checks.

An adapter carries a signal somewhere outside the bus (an agent, a function, a channel, a log, a terminal, an
HTTP endpoint). It makes exactly one attempt per :meth:`Adapter.deliver` call and says, through
:class:`DispatchError`, whether another attempt could succeed; retrying, backoff and dead letters belong to the
bus, so that every adapter fails the same way.

Adapter options are checked when the adapter is made, never at the first delivery: every problem is reported
at once as a :class:`~jido.errors.ValidationError` with one ``$.options.<name>: problem`` line each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol, TypeAlias, runtime_checkable

import attrs

from jido.convert import describe_value
from jido.errors import FieldError, JidoError, ValidationError
from jido.signal import Signal

__all__ = [
    "OPTIONS_PATH",
    "Adapter",
    "AdapterBase",
    "Check",
    "DispatchError",
    "checked",
    "option_problems",
]

OPTIONS_PATH: Final = "$.options"

Check: TypeAlias = Callable[[Any], str | None]
"""Looks at one option value; returns the problem (``expected ..., got ...``) or ``None`` when it is fine."""

_CHECK_KEY: Final = "jido.dispatch.check"


class DispatchError(JidoError):
    """An adapter could not deliver a signal. ``__cause__`` holds what went wrong underneath, if anything.

    Attributes:
        adapter: the adapter's name (``"http"``, ``"agent"`` ...).
        retryable: whether another attempt may succeed (a timeout, a 503, an agent being restarted) or
            would fail the same way (a 404, a receiver that is gone for good).
        retry_after: seconds the receiver asked us to wait before the next attempt (HTTP ``Retry-After``),
            or ``None``.
    """

    def __init__(
        self, message: str, *, adapter: str, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.adapter = adapter
        self.retryable = retryable
        self.retry_after = retry_after


@runtime_checkable
class Adapter(Protocol):
    """Carries signals to one destination, one attempt per call.

    The bus calls :meth:`deliver` for each signal (possibly from several tasks at once when a subscription
    allows more than one delivery in flight) and :meth:`aclose` once, when it is done with the adapter.
    """

    name: ClassVar[str]

    async def deliver(self, signal: Signal) -> None:
        """Deliver ``signal`` once. Cancellable at every await.

        Raises:
            DispatchError: the delivery failed; ``retryable`` says whether to try again.
        """
        ...

    async def aclose(self) -> None:
        """Release what the adapter holds (connections); idempotent."""
        ...


def checked(check: Check) -> dict[str, Check]:
    """Field metadata that attaches ``check`` to an adapter option: ``attrs.field(metadata=checked(f))``."""
    return {_CHECK_KEY: check}


def option_problems(cls: type[Any], values: Mapping[str, object]) -> list[FieldError]:
    """The problems of the options in ``values`` for the adapter class ``cls``, in field order.

    Only options present in ``values`` are looked at: unknown and missing options are the caller's concern.
    """
    problems: list[FieldError] = []
    for field in attrs.fields(cls):
        check: Check | None = field.metadata.get(_CHECK_KEY)
        if check is None or not field.init or field.alias not in values:
            continue
        message = check(values[field.alias])
        if message is not None:
            problems.append(FieldError(f"{OPTIONS_PATH}.{field.alias}", message))
    return problems


class AdapterBase:
    """What the adapters share: their options are checked when they are made, and by default hold nothing."""

    __slots__ = ()

    name: ClassVar[str]

    def __attrs_post_init__(self) -> None:
        cls: type[Any] = type(
            self
        )  # an attrs class: the adapters derive from this base and are @attrs.frozen
        values = {f.alias: getattr(self, f.name) for f in attrs.fields(cls) if f.init}
        problems = option_problems(cls, values)
        if problems:
            raise ValidationError(problems)

    async def aclose(self) -> None:
        """Nothing to release: this adapter holds no resources of its own."""


# -- checks shared by the adapters -------------------------------------------------------------------------


def expect_str(value: object) -> str | None:
    """A non-empty str."""
    if not isinstance(value, str):
        return f"expected a str, got {describe_value(value)}"
    if not value:
        return "expected a non-empty str"
    return None


def expect_bool(value: object) -> str | None:
    """A bool (not 0 or 1)."""
    return None if isinstance(value, bool) else f"expected a bool, got {describe_value(value)}"


def expect_seconds(value: object) -> str | None:
    """A positive, finite number of seconds (int or float, not bool)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf:
        return None
    return f"expected a positive number of seconds, got {describe_value(value)}"


def expect_choice(choices: Collection[str]) -> Check:
    """One of ``choices``, exactly (case included)."""
    shown = ", ".join(describe_value(c) for c in choices)

    def check(value: object) -> str | None:
        if isinstance(value, str) and value in choices:
            return None
        return f"expected one of {shown}, got {describe_value(value)}"

    return check


def expect_callable(value: object) -> str | None:
    """Anything callable."""
    return None if callable(value) else f"expected a callable, got {describe_value(value)}"


# RFC 9110 section 5.1 (field names are tokens) and 5.5 (values: no CR, LF or NUL).
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_CHARS: Final = re.compile(r"[\r\n\x00]")


def header_value_problem(value: object) -> str | None:
    """Why ``value`` cannot be an HTTP header value, or ``None``."""
    if not isinstance(value, str):
        return f"expected a str, got {describe_value(value)}"
    if _BAD_VALUE_CHARS.search(value):
        return f"contains a line break or NUL: {value!r}"
    return None


def expect_headers(reserved: Collection[str]) -> Check:
    """A mapping of header names to values; names in ``reserved`` (lower case) are set by the adapter."""

    def check(value: object) -> str | None:
        if not isinstance(value, Mapping):
            return f"expected an object of header names to values, got {describe_value(value)}"
        for name, item in value.items():
            if not isinstance(name, str) or not _TOKEN.fullmatch(name):
                return f"invalid header name {name!r}"
            if name.lower() in reserved:
                return f"header {name!r} is set by the adapter and cannot be given"
            problem = header_value_problem(item)
            if problem is not None:
                return f"header {name!r}: {problem}"
        return None

    return check


def frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of a mapping option (anything else is left for its check to report)."""
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


def show_header_names(value: Mapping[str, str]) -> str:
    """A repr for headers that shows their names only: values often hold credentials."""
    return "{" + ", ".join(f"{name!r}: ..." for name in value) + "}"
