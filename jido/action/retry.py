"""Which failures are worth another attempt, and how long to wait before it.

Classification (:func:`is_retryable`), first rule that applies wins:

=========================================================  ==============================================
failure                                                    retryable?
=========================================================  ==============================================
any exception, when the policy gives ``retry_on``          only an instance of one of those types
an exception with a boolean ``retryable`` attribute        as the attribute says (every ``ActionError``)
``TimeoutError`` (incl. ``ActionTimeoutError``),           yes: the next attempt may meet a faster or
``OSError`` (incl. ``ConnectionError``),                   healthier peer
``trio.BrokenResourceError``
``ValidationError``, ``DefinitionError``, ``TypeError``,   no: programming or input errors give the same
``ValueError``, ``LookupError``, ``AttributeError``,       result on every attempt
``NameError``, ``AssertionError``, ``NotImplementedError``
anything else                                              yes
=========================================================  ==============================================

An exception group (a ``run`` that failed inside a nursery) is retryable when every exception in it is.

The delay before attempt ``n + 1`` is ``min(backoff * multiplier ** (n - 1), max_backoff)`` scaled by a factor
drawn uniformly from ``[1 - jitter, 1 + jitter]``. The factor comes from :data:`jitter_rng`, which tests may
seed or replace; with ``jitter=0`` no random number is drawn at all.
"""

from __future__ import annotations

import random
from typing import Final

import trio

from jido.action.spec import RetryPolicy
from jido.errors import DefinitionError, ValidationError

__all__ = ["backoff_delay", "is_retryable", "jitter_rng"]

jitter_rng: random.Random = random.Random()
"""The random source of backoff jitter: seed it (``jitter_rng.seed(0)``) or replace it to reproduce delays."""

_RETRYABLE: Final = (TimeoutError, OSError, trio.BrokenResourceError)
_NOT_RETRYABLE: Final = (
    ValidationError,
    DefinitionError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    NameError,
    AssertionError,
    NotImplementedError,
)


def is_retryable(exc: BaseException, policy: RetryPolicy) -> bool:
    """Whether ``exc`` is worth another attempt under ``policy`` (see the table in this module's docstring).

    Args:
        exc: what the failed attempt raised.
        policy: the retry policy in force; its ``retry_on``, when given, replaces the default classification.
    """
    if isinstance(exc, BaseExceptionGroup):
        return all(is_retryable(inner, policy) for inner in exc.exceptions)
    if policy.retry_on is not None:
        return isinstance(exc, policy.retry_on)
    flag = getattr(exc, "retryable", None)
    if isinstance(flag, bool):
        return flag
    if isinstance(exc, _RETRYABLE):
        return True
    return not isinstance(exc, _NOT_RETRYABLE)


def backoff_delay(policy: RetryPolicy, attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one.

    Args:
        policy: the retry policy in force.
        attempt: the attempt that just failed; 1 for the first.
        rng: the random source for jitter; :data:`jitter_rng` when omitted.

    Raises:
        ValueError: ``attempt`` is not an int >= 1.
    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be an int >= 1, got {attempt!r}")
    try:
        raw = policy.backoff * policy.multiplier ** (attempt - 1)
    except OverflowError:  # a long retry series: the cap applies anyway
        raw = policy.max_backoff
    delay = min(raw, policy.max_backoff)
    if policy.jitter:
        delay *= (rng or jitter_rng).uniform(1 - policy.jitter, 1 + policy.jitter)
    return delay
