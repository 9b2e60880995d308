"""The finite-state-machine strategy: which actions an agent accepts depends on the state it is in.

::

    FSM(
        field="phase",
        transitions={
            "idle": {"start": "running"},
            "running": {"progress": "running", "finish": "done", "fail": "failed"},
            "failed": {"reset": "idle"},
        },
    )

An instruction whose action is listed for the current value of ``field`` runs; when it commits, ``field``
moves to the listed target. Any other instruction is refused with a
:class:`~jido.errors.TransitionError` (as an ``Error`` directive) and the state stays as it was. The field is a
normal state field, so it is validated, persisted and visible like any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from jido.action.instruction import Instruction
from jido.agent.directives import Directive
from jido.agent.strategy import Fold
from jido.errors import DefinitionError, TransitionError

if TYPE_CHECKING:
    from jido.agent.spec import Agent

__all__ = ["FSM"]


def _freeze(transitions: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    if not isinstance(transitions, Mapping) or not transitions:
        raise DefinitionError("FSM transitions must be a non-empty mapping of state -> {action: next state}")
    frozen: dict[str, dict[str, str]] = {}
    for state, moves in transitions.items():
        if not isinstance(moves, Mapping):
            raise DefinitionError(f"FSM transitions[{state!r}] must map action names to next states")
        for action, target in moves.items():
            if not isinstance(action, str) or not isinstance(target, str):
                raise DefinitionError(f"FSM transitions[{state!r}]: {action!r} -> {target!r} must be strings")
        frozen[state] = dict(moves)
    return frozen


@attrs.frozen
class FSM:
    """Run only the actions the current state allows, and move to the next state on success.

    Attributes:
        transitions: for each state, the actions allowed in it and the state each one leads to.
        field: the state field holding the machine's current state.
    """

    transitions: Mapping[str, Mapping[str, str]] = attrs.field(converter=_freeze)
    field: str = "status"

    def _check(self, fold: Fold, instruction: Instruction) -> str | None:
        if not hasattr(fold.agent.state, self.field):
            raise DefinitionError(
                f"FSM strategy: agent {fold.agent.spec.name!r} has no state field {self.field!r}"
            )
        current = getattr(fold.agent.state, self.field)
        allowed = self.transitions.get(current, {}) if isinstance(current, str) else {}
        target = allowed.get(instruction.action.name)
        if target is None:
            fold.fail(instruction, TransitionError(instruction.action.name, current, tuple(allowed)))
        return target

    def run(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        fold = Fold(agent, signal)
        for instruction in instructions:
            target = self._check(fold, instruction)
            if target is not None and fold.run_sync(instruction):
                fold.set_field(self.field, target)
        return fold.agent, fold.directives

    async def run_async(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        fold = Fold(agent, signal)
        for instruction in instructions:
            target = self._check(fold, instruction)
            if target is not None and await fold.run_async(instruction):
                fold.set_field(self.field, target)
        return fold.agent, fold.directives
