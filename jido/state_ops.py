"""State operations an action may return beside its result, applied in order to the agent's state.

They sit below the action layer (an action's ``run`` may return them); ``jido.agent.state_ops`` re-exports this
module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["DeleteKeys", "DeletePath", "ReplaceState", "SetPath", "SetState", "StateOp"]


class StateOp:
    """Base of the state operations."""

    __slots__ = ()


def _path(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split("."))
    return tuple(value)


def _keys(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class SetState(StateOp):
    """Deep-merge ``values`` into the state (the same as returning the mapping)."""

    values: Mapping[str, Any]


@attrs.frozen
class ReplaceState(StateOp):
    """Replace the whole state by ``values`` (fields left out take their defaults)."""

    values: Mapping[str, Any]


@attrs.frozen
class DeleteKeys(StateOp):
    """Reset top-level fields to their defaults (the schema keeps every field, so "delete" means reset)."""

    keys: tuple[str, ...] = attrs.field(converter=_keys)


@attrs.frozen
class SetPath(StateOp):
    """Set the value at a nested ``path`` (``"a.b"`` or ``("a", "b")``), creating mappings on the way."""

    path: tuple[str, ...] = attrs.field(converter=_path)
    value: Any


@attrs.frozen
class DeletePath(StateOp):
    """Delete the key at a nested ``path`` inside a mapping field (a top-level path resets the field)."""

    path: tuple[str, ...] = attrs.field(converter=_path)
