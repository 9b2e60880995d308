"""``cmd``: the pure core of an agent. ``cmd(agent, instructions) -> (agent, directives)``.

Nothing here performs an effect: the returned directives are data for the runtime to carry out. The sync
``cmd`` needs no event loop; ``cmd_async`` runs under trio and accepts async actions too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jido._typevars import S
from jido.action.instruction import InstructionLike, normalize_instructions
from jido.agent.directives import Directive
from jido.agent.spec import Agent

if TYPE_CHECKING:
    from jido.signal import Signal

__all__ = ["cmd", "cmd_async", "handle", "handle_async"]


def _check_agent(agent: Agent[S]) -> Agent[S]:
    if not isinstance(agent, Agent):
        raise TypeError(f"cmd expects a jido Agent value, got {type(agent).__name__}")
    return agent


def cmd(
    agent: Agent[S], instructions: InstructionLike, *, signal: Any = None
) -> tuple[Agent[S], list[Directive]]:
    """Run ``instructions`` against ``agent`` and return the new agent and the directives, without effects.

    Each instruction's result is merged into the state and validated against the schema; a failed
    instruction leaves the state as it was and adds an :class:`~jido.agent.directives.Error` directive, and
    the instructions after it still run. The given ``agent`` is never changed.

    Args:
        agent: the agent value.
        instructions: one instruction or a list (see :data:`~jido.action.instruction.InstructionLike`).
        signal: the signal being handled, visible to actions as ``ctx.signal``.

    Raises:
        TypeError: ``agent`` is not an agent, an item is not an instruction, or an action is async (use
            :func:`cmd_async`).
    """
    agent = _check_agent(agent)
    normalized = normalize_instructions(instructions)
    for instruction in normalized:
        if instruction.action.is_async:
            raise TypeError(
                f"action {instruction.action.name!r} is async: run it with `await jido.cmd_async(...)`"
            )
    return agent.spec.strategy.run(agent, normalized, signal=signal)


async def cmd_async(
    agent: Agent[S], instructions: InstructionLike, *, signal: Any = None
) -> tuple[Agent[S], list[Directive]]:
    """Like :func:`cmd`, under trio: actions may be async, and their timeouts are enforced."""
    agent = _check_agent(agent)
    return await agent.spec.strategy.run_async(agent, normalize_instructions(instructions), signal=signal)


def handle(agent: Agent[S], signal: Signal) -> tuple[Agent[S], list[Directive]]:
    """Route ``signal`` through the agent's routes and :func:`cmd` the resulting instructions.

    Raises:
        NoRouteError: no route matches the signal's type.
    """
    agent = _check_agent(agent)
    return cmd(agent, list(agent.spec.instructions_for(signal)), signal=signal)


async def handle_async(agent: Agent[S], signal: Signal) -> tuple[Agent[S], list[Directive]]:
    """Like :func:`handle`, under trio."""
    agent = _check_agent(agent)
    return await cmd_async(agent, list(agent.spec.instructions_for(signal)), signal=signal)
