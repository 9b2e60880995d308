"""Instructions: an action with its params, context and per-call options, and the forms users may write them in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from jido.action.spec import ActionSpec, RetryPolicy, action_spec_of
from jido.signal.ids import new_id

__all__ = ["Instruction", "InstructionLike", "normalize_instructions"]


_NO_ID: Any = None  # the id is made when first read (see Instruction.__getattr__)


@attrs.frozen(init=False)
class Instruction:
    """One action to run, with its parameters.

    Attributes:
        action: the action's spec.
        params: raw parameters (a mapping, validated when run) or an instance of the params class.
        context: free-form context handed to the action as ``ctx.data``.
        timeout: overrides the action's timeout for this instruction.
        retry: overrides the action's retry policy for this instruction.
        id: a UUIDv7, for tracing; made when first read unless given.
    """

    action: ActionSpec
    params: Any
    context: Mapping[str, Any]
    timeout: float | None
    retry: RetryPolicy | None
    id: str = attrs.field(eq=False)

    def __init__(
        self,
        action: ActionSpec,
        params: Any = attrs.NOTHING,
        context: Any = attrs.NOTHING,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        id: str | None = _NO_ID,
    ) -> None:
        # Written by hand (attrs would make the id at once): an agent builds an instruction for every signal it
        # handles, and a UUIDv7 costs more than the rest of it while almost nothing ever reads it.
        setattr_ = object.__setattr__
        setattr_(self, "action", action)
        setattr_(self, "params", {} if params is attrs.NOTHING else params)
        setattr_(self, "context", {} if context is attrs.NOTHING else context)
        setattr_(self, "timeout", timeout)
        setattr_(self, "retry", retry)
        if id is not None:
            setattr_(self, "id", id)

    def __getattr__(self, name: str) -> Any:
        # Reached only for a slot never set: the id of an instruction made without one, made on first read.
        if name != "id":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = new_id()
        object.__setattr__(self, "id", value)
        return value

    def with_params(self, params: Any) -> Instruction:
        """This instruction (same id) with ``params`` instead of its own.

        Built directly: ``attrs.evolve`` costs three times this, on every signal an agent handles. Tests pin
        the fields, so a new one cannot be forgotten here.
        """
        return Instruction(self.action, params, self.context, self.timeout, self.retry, self.id)


InstructionLike: TypeAlias = Any
"""An :class:`Instruction`; an :class:`ActionSpec` or decorated action class (run with default params); an
instance of a decorated action class (its fields are the params); or a tuple ``(action, params)`` /
``(action, params, context)``. A list of these is several instructions, run in order."""


def _one(item: object, where: str) -> Instruction:
    if isinstance(item, Instruction):
        return item
    if isinstance(item, tuple):
        if not 2 <= len(item) <= 3:
            raise TypeError(f"{where}: a tuple instruction is (action, params) or (action, params, context)")
        spec = action_spec_of(item[0])
        if spec is None:
            raise TypeError(f"{where}: {item[0]!r} is not an action")
        params, context = item[1], item[2] if len(item) == 3 else {}
        if params is None:
            params = {}
        if not isinstance(context, Mapping):
            raise TypeError(f"{where}: context must be a mapping, got {type(context).__name__}")
        return Instruction(spec, params, context)
    spec = action_spec_of(item)
    if spec is None:
        raise TypeError(f"{where}: {item!r} is not an action, an action instance or an Instruction")
    if isinstance(item, ActionSpec | type):
        return Instruction(spec, {})
    return Instruction(spec, item)  # an instance of a decorated action class carries its own params


def normalize_instructions(instructions: InstructionLike) -> tuple[Instruction, ...]:
    """Turn what a user wrote into a tuple of :class:`Instruction`.

    Raises:
        TypeError: naming the position of the first item that is not an instruction.
    """
    if isinstance(instructions, list):
        return tuple(_one(item, f"instruction [{i}]") for i, item in enumerate(instructions))
    if isinstance(instructions, Sequence) and not isinstance(instructions, tuple | str):
        return tuple(_one(item, f"instruction [{i}]") for i, item in enumerate(instructions))
    return (_one(instructions, "instruction"),)
