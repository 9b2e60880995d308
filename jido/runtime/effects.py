"""The registry of directive executors: how the runtime carries out each kind of directive an agent returns.

The agent server (:mod:`jido.runtime.server`) calls :func:`execute_directive`; the built-in executors
(:mod:`jido.runtime.executors`) and users' own register here with :func:`register_executor`. A new kind of
effect is a new :class:`~jido.directives.Directive` subclass plus an executor; the core never changes
for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from jido.directives import Directive
from jido.errors import DefinitionError, InternalError
from jido.signal import Signal

if TYPE_CHECKING:
    from jido.runtime.server import AgentRef

__all__ = ["Executor", "execute_directive", "register_executor"]

D = TypeVar("D", bound=Directive)
Executor: TypeAlias = "Callable[[AgentRef, Signal, Any], Awaitable[None]]"
"""``executor(ref, handled_signal, directive)``: carry ``directive`` out for the agent ``ref``."""

_EXECUTORS: dict[type[Directive], Executor] = {}


def register_executor(
    directive_type: type[D], executor: Callable[[AgentRef, Signal, D], Awaitable[None]]
) -> None:
    """Register how the runtime carries out ``directive_type`` (replacing any executor it had)."""
    if not (isinstance(directive_type, type) and issubclass(directive_type, Directive)):
        raise DefinitionError(f"register_executor: {directive_type!r} is not a Directive subclass")
    _EXECUTORS[directive_type] = executor


async def execute_directive(ref: AgentRef, signal: Signal, directive: Directive) -> None:
    """Carry out one directive for ``ref``, which is handling ``signal``."""
    for cls in type(directive).__mro__:
        executor = _EXECUTORS.get(cls)
        if executor is not None:
            await executor(ref, signal, directive)
            return
    raise InternalError(f"no executor registered for directive {type(directive).__name__}")
