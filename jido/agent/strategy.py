"""Strategies decide how ``cmd`` runs an agent's instructions. :class:`Direct` runs them in order, one by one.

A strategy is pure like ``cmd`` itself: it returns the new agent and the directives, and carries nothing out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from jido.action.exec import execute, execute_sync
from jido.action.instruction import Instruction
from jido.action.result import ActionResult
from jido.action.spec import ActionContext
from jido.agent.directives import Directive, Error
from jido.agent.state import apply_changes
from jido.agent.state_ops import StateOp
from jido.errors import ActionError, ValidationError

if TYPE_CHECKING:
    from jido.agent.spec import Agent

__all__ = ["Direct", "Fold", "RecoversFromCrash", "Strategy"]


@runtime_checkable
class Strategy(Protocol):
    """How an agent turns instructions into a new state and directives."""

    def run(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        """Run sync instructions without an event loop."""
        ...

    async def run_async(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        """Run instructions (sync or async actions) under trio."""
        ...


@runtime_checkable
class RecoversFromCrash(Protocol):
    """A strategy with its own answer to a crash: when handling a signal crashed the agent under the
    ``"crash"`` error policy (nothing of that signal committed; the agent restarts from its last committed
    state), the runtime asks the strategy what the restarted agent should handle next.

    This is how a strategy keeps its own bookkeeping whole (a workflow whose outcome could not be recorded
    reports the run again, as failed) without the runtime knowing any strategy by name. Like ``run``, it is
    pure: it returns a signal, and the runtime delivers it.
    """

    def after_crash(self, agent_id: str, signal: Any, error: BaseException) -> Any:
        """A signal (``jido.Signal``) for the agent ``agent_id`` to handle after its restart, or None.

        Args:
            agent_id: the agent that crashed.
            signal: the signal whose handling crashed it.
            error: what it raised.
        """
        ...


class Fold:
    """The state threaded through one ``cmd``: what is committed so far and the directives collected.

    Strategies other than :class:`Direct` reuse it to run single instructions the same way.
    """

    __slots__ = ("agent", "directives", "signal")

    def __init__(self, agent: Agent, signal: Any) -> None:
        self.agent = agent
        self.signal = signal
        self.directives: list[Directive] = []

    def context(self, action: str = "") -> ActionContext:
        # Named for the action it is built for, ``execute`` hands this very context to the first attempt.
        agent = self.agent
        return ActionContext(action, agent.state, agent.id, self.signal, {})

    def commit(self, instruction: Instruction, result: ActionResult) -> None:
        """Apply one successful result; if the new state does not validate, record an Error instead."""
        effects = result.effects
        ops = [e for e in effects if isinstance(e, StateOp)] if effects else ()
        agent = self.agent
        try:
            state = apply_changes(agent.state, result.value, ops, subject=f"{agent.spec.name} state")
        except ValidationError as exc:
            self.fail(instruction, exc)
            return
        if state is not agent.state:
            self.agent = agent.with_state(state)
        if effects:
            self.directives.extend(e for e in effects if isinstance(e, Directive))

    def fail(self, instruction: Instruction, error: Exception) -> None:
        self.directives.append(Error(error, context="instruction", action=instruction.action.name))

    def run_sync(self, instruction: Instruction) -> bool:
        """Run one instruction without an event loop; True when it was committed."""
        before = len(self.directives)
        try:
            result = execute_sync(instruction, self.context(instruction.action.name))
        except (ActionError, ValidationError) as exc:
            self.fail(instruction, exc)
            return False
        self.commit(instruction, result)
        return self._committed(before)

    async def run_async(self, instruction: Instruction) -> bool:
        """Run one instruction under trio; True when it was committed."""
        before = len(self.directives)
        try:
            result = await execute(instruction, self.context(instruction.action.name))
        except (ActionError, ValidationError) as exc:
            self.fail(instruction, exc)
            return False
        self.commit(instruction, result)
        return self._committed(before)

    def _committed(self, before: int) -> bool:
        """Whether nothing added since ``before`` directives is an Error (the instruction committed)."""
        directives = self.directives
        if len(directives) == before:
            return True
        return not any(isinstance(d, Error) for d in directives[before:])

    def set_field(self, field: str, value: Any) -> None:
        """Commit one state field (a strategy's own bookkeeping, such as an FSM's current state)."""
        state = apply_changes(self.agent.state, {field: value}, subject=f"{self.agent.spec.name} state")
        self.agent = self.agent.with_state(state)


@attrs.frozen
class Direct:
    """Run each instruction in order; merge its result into state; on failure keep state, add an ``Error``.

    The instructions after a failed one still run, against the state as it was before the failure.
    """

    def run(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        fold = Fold(agent, signal)
        for instruction in instructions:
            fold.run_sync(instruction)
        return fold.agent, fold.directives

    async def run_async(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        fold = Fold(agent, signal)
        for instruction in instructions:
            # Fold.run_async, inline: one coroutine less per instruction on every signal an agent handles.
            try:
                result = await execute(instruction, fold.context(instruction.action.name))
            except (ActionError, ValidationError) as exc:
                fold.fail(instruction, exc)
                continue
            fold.commit(instruction, result)
        return fold.agent, fold.directives
