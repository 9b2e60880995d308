"""What an action is: a frozen spec (name, params schema, ``run``), and the values it runs with."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic

import attrs

from jido._spec_attr import SPEC_ATTR
from jido._typevars import S
from jido.errors import DefinitionError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ActionContext",
    "ActionSpec",
    "NoParams",
    "RetryPolicy",
    "action_spec_of",
]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds an action may run unless its spec or instruction says otherwise."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@attrs.frozen
class NoParams:
    """The params schema of an action that takes no parameters."""


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _NAME.match(value):
        raise DefinitionError(
            f"action name {value!r} is invalid: use letters, digits, '_' and '.', not starting with a digit"
        )


def _check_schema(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not (isinstance(value, type) and attrs.has(value)):
        raise DefinitionError(f"action {attribute.name} schema must be an attrs class, got {value!r}")


def _check_timeout(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise DefinitionError(
            f"{attribute.name} must be a positive number of seconds (or math.inf), got {value!r}"
        )


@attrs.frozen
class RetryPolicy:
    """When and how often a failed action is tried again.

    The delay before attempt ``n + 1`` is ``min(backoff * multiplier ** (n - 1), max_backoff)``, then scaled by a
    random factor in ``[1 - jitter, 1 + jitter]``. Only failures classified retryable are retried (see
    :func:`jido.action.retry.is_retryable`), or, when ``retry_on`` is given, instances of those types.

    Attributes:
        max_attempts: total attempts, including the first; 1 means no retries (the default).
        backoff: seconds before the second attempt.
        multiplier: growth of the delay per attempt.
        max_backoff: cap on one delay.
        jitter: relative randomness of each delay, 0..1.
        retry_on: exception types to retry; ``None`` uses the default classification.
    """

    max_attempts: int = attrs.field(default=1)
    backoff: float = 0.25
    multiplier: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] | None = None

    @max_attempts.validator
    def _check_attempts(self, _: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DefinitionError(f"max_attempts must be an int >= 1, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise DefinitionError("backoff and max_backoff must be >= 0 and multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise DefinitionError(f"jitter must be within 0..1, got {self.jitter!r}")


@attrs.frozen
class ActionSpec:
    """A compiled action: everything the runtime needs to validate, run, time, retry and compensate it.

    Attributes:
        name: unique, stable name (``"increment"``); used in errors, telemetry and tool calls.
        run: ``run(params, ctx)``, sync or async; ``params`` is an instance of ``params``, ``ctx`` an
            :class:`ActionContext`. It returns state changes and/or effects (see :mod:`jido.action.result`).
        params: attrs class of the parameters, validated strictly.
        description: one line for humans and LLM tool listings.
        output: attrs class the returned mapping must fit, or ``None`` to skip output validation.
        compensate: ``compensate(params, ctx, error)``, sync or async, run once after the last failed attempt.
        timeout: seconds per attempt (``math.inf`` for none).
        retry: the retry policy; the default makes a single attempt.
        compensation_timeout: seconds compensation may take.
        allow_extra: drop unknown parameter keys instead of rejecting them.
        category: free-form grouping.
        tags: free-form labels.
    """

    name: str = attrs.field(validator=_check_name)
    run: Callable[..., Any]
    params: type = attrs.field(default=NoParams, validator=_check_schema)
    description: str = ""
    output: type | None = attrs.field(default=None, validator=_check_schema)
    compensate: Callable[..., Any] | None = None
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=_check_timeout)
    retry: RetryPolicy = RetryPolicy()
    compensation_timeout: float = attrs.field(default=5.0, validator=_check_timeout)
    allow_extra: bool = False
    category: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def is_async(self) -> bool:
        """Whether ``run`` is a coroutine function (it then needs an event loop)."""
        return inspect.iscoroutinefunction(self.run)

    @property
    def has_deadline(self) -> bool:
        return not math.isinf(self.timeout)


@attrs.frozen
class ActionContext(Generic[S]):
    """What an action sees besides its params. Frozen: an action changes nothing by mutating it.

    Generic in the agent's state class: an action of a ``Counter`` agent takes ``ctx: ActionContext[Counter]``
    and a type checker knows ``ctx.state.count``. The runtime does not check ``S``: an action run outside an
    agent sees ``None``.

    Attributes:
        action: the running action's name.
        state: the agent's committed state (frozen), or ``None`` outside an agent.
        agent_id: the agent's id, or ``None``.
        signal: the signal being handled, or ``None``.
        data: the instruction's context mapping (free-form, read-only by convention).
        attempt: 1 for the first attempt, 2 for the first retry, ...
    """

    action: str = ""
    # Typed S though it may be None (outside an agent): an action's author names the agent it serves, and
    # making every ``ctx.state.count`` test for None first would cost each of them more than it catches.
    state: S = attrs.field(default=None)
    agent_id: str | None = None
    signal: Any = None
    data: Mapping[str, Any] = attrs.field(factory=dict)
    attempt: int = 1


def action_spec_of(obj: object) -> ActionSpec | None:
    """The :class:`ActionSpec` behind ``obj`` (a spec, a decorated class or one of its instances), or None."""
    if isinstance(obj, ActionSpec):
        return obj
    spec = getattr(obj if isinstance(obj, type) else type(obj), SPEC_ATTR, None)
    return spec if isinstance(spec, ActionSpec) else None
