"""Signal types and route patterns: parsing, validation, specificity and a standalone matcher.

A signal type is a dot path such as ``"order.item.added"``: segments of ``[A-Za-z0-9_-]+`` separated by
single dots, checked by the one rule in :mod:`jido.signal.signal` (:func:`~jido.signal.signal.type_problem`).
A route pattern is a dot path whose segments are literals (the same characters), ``*`` (exactly one segment)
or ``**`` (zero or more segments; ``"audit.**"`` matches ``"audit"``). Wildcards are whole segments (``"a*"``
is rejected) and ``**`` may not follow ``**``.

Specificity orders the routes that match one type (see :func:`specificity`); the router
(:class:`jido.signal.router.Router`) sorts by priority first, then specificity, then registration order.
"""

from __future__ import annotations

import functools
from typing import Final, TypeAlias

from jido.convert import describe_value
from jido.errors import InternalError, ValidationError
from jido.signal.signal import TYPE_PATTERN, TYPE_SEGMENT_PATTERN, type_problem

__all__ = [
    "DOUBLE_STAR",
    "STAR",
    "Specificity",
    "matches",
    "parse_pattern",
    "parse_type",
    "specificity",
]

STAR: Final = "*"
DOUBLE_STAR: Final = "**"

_SEGMENT_CHARS: Final = "[A-Za-z0-9_-]"
_SHOWN_CHARS: Final = 60

# Segment ranks in a specificity shape: a literal pins a segment's text, `*` only its existence.
_RANK_LITERAL: Final = 2
_RANK_STAR: Final = 1
_RANK_DOUBLE_STAR: Final = 0

Specificity: TypeAlias = tuple[int, int, int, tuple[int, ...]]
"""``(literals, -double_stars, stars, shape)``; a greater value is more specific (see :func:`specificity`)."""


def _show(text: str) -> str:
    """``repr(text)``, shortened: a type may come from untrusted input and be megabytes long."""
    shown = repr(text)
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 4] + "..." + shown[0]


def _check_str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise ValidationError.at(path, f"expected str, got {describe_value(value)}")
    if not value:
        raise ValidationError.at(path, "must not be empty")
    return value


def _pattern_problem(segments: list[str], text: str) -> str:
    """What is wrong with the first bad segment of pattern ``text``; called once a fast check has failed."""
    previous = ""
    for position, segment in enumerate(segments, start=1):
        where = f"at position {position} in {_show(text)}"
        shown = _show(segment)
        is_wildcard = segment in (STAR, DOUBLE_STAR)
        if not segment:
            return f"empty segment {where}"
        if segment == previous == DOUBLE_STAR:
            return f"{shown} {where} may not follow '**'"
        if not is_wildcard and not segment.strip(STAR):
            return f"{shown} {where} is not a valid segment (use '*' or '**')"
        if not is_wildcard and STAR in segment:
            return f"{shown} {where} mixes a wildcard with other characters; wildcards must be whole segments"
        if not is_wildcard and not TYPE_SEGMENT_PATTERN.match(segment):
            return f"{shown} {where} has characters outside {_SEGMENT_CHARS}"
        previous = segment
    raise InternalError(f"no bad segment found in {_show(text)}")  # pragma: no cover - callers found one


def parse_type(signal_type: object) -> tuple[str, ...]:
    """Split a signal type into its segments, checking it.

    Args:
        signal_type: the type, such as ``"order.item.added"``.

    Returns:
        The segments, in order.

    Raises:
        ValidationError: (at ``$.type``) the type is not a string, is empty, or has an empty or malformed
            segment.
    """
    if isinstance(signal_type, str) and TYPE_PATTERN.match(signal_type):  # the fast path, on every cache miss
        return tuple(signal_type.split("."))
    problem = type_problem(signal_type)
    if problem is None:  # pragma: no cover - TYPE_PATTERN and type_problem are one rule
        raise InternalError(f"type_problem found nothing wrong with {signal_type!r}")
    raise ValidationError.at("$.type", problem)


@functools.lru_cache(maxsize=4096)
def _parse_pattern(text: str) -> tuple[str, ...]:
    segments = text.split(".")
    previous = ""
    for segment in segments:
        if segment in (STAR, DOUBLE_STAR):
            if segment == previous == DOUBLE_STAR:
                break
        elif not TYPE_SEGMENT_PATTERN.match(segment):
            break
        previous = segment
    else:
        return tuple(segments)
    raise ValidationError.at("$.pattern", _pattern_problem(segments, text))


def parse_pattern(pattern: object) -> tuple[str, ...]:
    """Split a route pattern into its segments, checking it.

    Args:
        pattern: the pattern, such as ``"order.*.added"`` or ``"audit.**"``.

    Returns:
        The segments, in order (``"*"`` and ``"**"`` stand for themselves).

    Raises:
        ValidationError: (at ``$.pattern``) the pattern is not a string or is empty; a segment is empty,
            has characters outside ``[A-Za-z0-9_-]``, is ``***`` or longer, mixes a wildcard with other
            characters, or is a ``**`` that follows a ``**``.
    """
    return _parse_pattern(_check_str(pattern, "$.pattern"))


def specificity(pattern: str) -> Specificity:
    """How specific a pattern is: among routes that match one type, a greater value sorts first.

    The value is ``(literals, -double_stars, stars, shape)``, compared left to right:

    1. more literal segments first (``a.b.c`` before ``a.b.*`` before ``a.*.*``);
    2. then fewer ``**`` (``a.*.*`` before ``a.**``: ``**`` accepts any number of segments);
    3. then more ``*`` (``a.*.**`` before ``a.**``: each ``*`` demands one more segment);
    4. then the shape, segment by segment from the left, a literal before ``*`` before ``**``
       (``a.*`` before ``*.b``: a fixed prefix is the more specific one).

    Patterns equal on all four (``**.a.**`` and ``**.b.**``) fall back to registration order in the router.

    Raises:
        ValidationError: ``pattern`` is not a valid pattern.
    """
    segments = parse_pattern(pattern)
    shape = tuple(
        _RANK_DOUBLE_STAR if s == DOUBLE_STAR else _RANK_STAR if s == STAR else _RANK_LITERAL
        for s in segments
    )
    return (
        shape.count(_RANK_LITERAL),
        -shape.count(_RANK_DOUBLE_STAR),
        shape.count(_RANK_STAR),
        shape,
    )


def _match_segments(pattern: tuple[str, ...], signal_type: tuple[str, ...]) -> bool:
    """Whether parsed ``pattern`` segments match parsed ``signal_type`` segments (no checks done)."""
    end = len(signal_type)
    # Positions in the type that the pattern read so far can have consumed up to; a set keeps `**` linear.
    positions = {0}
    for segment in pattern:
        if segment == DOUBLE_STAR:
            positions = set(range(min(positions), end + 1))
        elif segment == STAR:
            positions = {i + 1 for i in positions if i < end}
        else:
            positions = {i + 1 for i in positions if i < end and signal_type[i] == segment}
        if not positions:
            return False
    return end in positions


def matches(pattern: str, signal_type: str) -> bool:
    """Whether a route pattern matches a signal type, without building a router.

    Args:
        pattern: a route pattern such as ``"order.*.added"``.
        signal_type: a signal type such as ``"order.item.added"``.

    Raises:
        ValidationError: either argument is malformed (``$.pattern`` or ``$.type``).
    """
    return _match_segments(parse_pattern(pattern), parse_type(signal_type))
