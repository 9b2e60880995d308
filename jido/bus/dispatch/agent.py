"""The agent adapter: put signals in the mailbox of an agent of a runtime, found by id at each delivery."""

from __future__ import annotations

from typing import ClassVar, Final, Literal, Protocol, final, runtime_checkable

import attrs

from jido.action.retry import is_retryable
from jido.action.spec import RetryPolicy
from jido.bus.dispatch.base import (
    AdapterBase,
    DispatchError,
    checked,
    expect_choice,
    expect_seconds,
    expect_str,
)
from jido.convert import describe_value
from jido.errors import AgentNotFoundError, CallTimeoutError, ClosedError
from jido.signal import Signal

__all__ = ["AgentAdapter", "AgentHost", "AgentTarget"]

DELIVERY_MODES: Final = ("cast", "call")

_CLASSIFY: Final = RetryPolicy()


class AgentTarget(Protocol):
    """What the adapter does with an agent: cast a signal to it, or call it with one."""

    async def cast(self, signal: Signal) -> None: ...

    async def call(self, signal: Signal, *, timeout: float) -> object: ...


@runtime_checkable
class AgentHost(Protocol):
    """Where the adapter finds agents by id: a jido ``Runtime`` is one. The bus sits below the runtime, so it
    speaks to this protocol rather than importing the runtime."""

    def get(self, agent_id: str) -> AgentTarget:
        """The running agent ``agent_id``; raises ``AgentNotFoundError`` when there is none."""
        ...

    def whereis(self, agent_id: str) -> AgentTarget | None:
        """The running agent ``agent_id``, or None."""
        ...


def _expect_runtime(value: object) -> str | None:
    return None if isinstance(value, AgentHost) else f"expected a jido Runtime, got {describe_value(value)}"


@final
@attrs.frozen(kw_only=True, eq=False)
class AgentAdapter(AdapterBase):
    """Delivers each signal to the agent registered as ``target`` in ``runtime``.

    The agent is looked up at every delivery, so a restarted agent, or one started again under the same id,
    keeps receiving. An agent that is not running fails the delivery as retryable: it may come back.

    Args:
        target: the agent's id.
        runtime: the runtime the agent runs in.
        delivery: ``"cast"`` (default) puts the signal in the mailbox, waiting for room, and returns;
            ``"call"`` also waits until the agent has handled it, so that a failed handling fails the
            delivery.
        timeout: seconds ``"call"`` waits for the answer (default 5). After a timeout the signal may still be
            handled, so a retry can deliver it twice (the bus delivers at least once).
    """

    name: ClassVar[str] = "agent"

    target: str = attrs.field(metadata=checked(expect_str))
    runtime: AgentHost = attrs.field(metadata=checked(_expect_runtime))
    delivery: Literal["cast", "call"] = attrs.field(
        default="cast", metadata=checked(expect_choice(DELIVERY_MODES))
    )
    timeout: float = attrs.field(default=5.0, metadata=checked(expect_seconds))

    async def deliver(self, signal: Signal) -> None:
        """Cast or call ``signal`` to the agent.

        Raises:
            DispatchError: the agent is not running or stopped meanwhile, or a call timed out (retryable);
                the agent failed to handle the signal in ``"call"`` mode (retryable as jido classifies
                the failure: see :func:`jido.action.retry.is_retryable`; a missing route is not).
        """
        try:
            ref = self.runtime.get(self.target)
            if self.delivery == "cast":
                await ref.cast(signal)
            else:
                await ref.call(signal, timeout=self.timeout)
        except AgentNotFoundError as exc:
            raise DispatchError(
                f"agent {self.target!r} is not running", adapter=self.name, retryable=True
            ) from exc
        except ClosedError as exc:
            raise DispatchError(
                f"agent {self.target!r} has stopped", adapter=self.name, retryable=True
            ) from exc
        except CallTimeoutError as exc:
            raise DispatchError(
                f"agent {self.target!r} did not answer within {self.timeout:g}s",
                adapter=self.name,
                retryable=True,
            ) from exc
        except Exception as exc:
            raise DispatchError(
                f"agent {self.target!r} failed to handle signal {signal.id!r}: {exc}",
                adapter=self.name,
                retryable=is_retryable(exc, _CLASSIFY),
            ) from exc
