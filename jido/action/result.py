"""What an action's ``run`` may return, and its normal form :class:`ActionResult`.

``run`` returns any of:

* ``None``: no state change, no effects;
* a mapping: state changes, deep-merged into the agent's state;
* a :class:`~jido.directives.Directive` or :class:`~jido.state_ops.StateOp`, or a list of them;
* a tuple ``(mapping_or_None, effect_or_list_of_effects)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from jido.directives import Directive
from jido.errors import ActionError
from jido.state_ops import StateOp

__all__ = ["ActionResult", "Effect", "normalize_result"]

Effect: TypeAlias = Directive | StateOp


@attrs.frozen
class ActionResult:
    """The normal form of what ``run`` returned.

    Attributes:
        value: the state changes (or, for a standalone call, the output) as a mapping.
        effects: directives and state operations, in the order returned.
    """

    value: Mapping[str, Any] = attrs.field(factory=dict)
    effects: tuple[Effect, ...] = ()


def _effects(obj: object, action: str) -> tuple[Effect, ...]:
    items = obj if isinstance(obj, list | tuple) else [obj]
    for item in items:
        if not isinstance(item, Directive | StateOp):
            raise ActionError(
                f"action {action!r} returned {type(item).__name__} where a Directive or StateOp was expected",
                action=action,
            )
    return tuple(items)


def normalize_result(returned: object, action: str) -> ActionResult:
    """Bring ``returned`` to an :class:`ActionResult`.

    Raises:
        ActionError: when ``returned`` has none of the accepted shapes.
    """
    if type(returned) is dict:  # the common case first
        return ActionResult(returned)
    if returned is None:
        return ActionResult()
    if isinstance(returned, ActionResult):
        return returned
    if isinstance(returned, Mapping):
        return ActionResult(returned)
    if isinstance(returned, Directive | StateOp | list):
        return ActionResult({}, _effects(returned, action))
    if isinstance(returned, tuple) and len(returned) == 2:
        value, effects = returned
        if value is not None and not isinstance(value, Mapping):
            raise ActionError(
                f"action {action!r} returned a tuple whose first item is {type(value).__name__}, not a mapping",
                action=action,
            )
        return ActionResult(value or {}, _effects(effects, action))
    raise ActionError(
        f"action {action!r} returned {type(returned).__name__}: expected None, a mapping, effects, "
        "or a (mapping, effects) tuple",
        action=action,
    )
