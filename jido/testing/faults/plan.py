"""The fault plan (every fault of a test, in one place) and the records of faults that fired."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from jido.errors import DefinitionError
from jido.testing.faults.kinds import (
    CrashAgent,
    CutConnection,
    DelayDelivery,
    DropDelivery,
    FailJournalWrite,
    Fault,
)

__all__ = ["FaultPlan", "FaultRecord"]


def _faults(value: Iterable[Fault]) -> tuple[Fault, ...]:
    if isinstance(value, Fault):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise DefinitionError(f"FaultPlan faults must be a list of faults, got {value!r}") from None


@attrs.frozen(repr=False)
class FaultPlan:
    """Every fault of a test, in one place, with the seed of their random draws.

    Args:
        faults: the faults, in order; a fault's position seeds its own random source, so adding a fault
            does not change the draws of the others.
        seed: seeds the faults' random sources (the same plan fires the same faults on the same run).

    Raises:
        DefinitionError: an item is not a fault, or the seed is not an int.
    """

    faults: tuple[Fault, ...] = attrs.field(default=(), converter=_faults)
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise DefinitionError(f"FaultPlan seed must be an int, got {self.seed!r}")
        for index, fault in enumerate(self.faults):
            if not isinstance(fault, Fault):
                raise DefinitionError(f"FaultPlan faults[{index}]: expected a Fault, got {fault!r}")

    def __repr__(self) -> str:
        seed = f", seed={self.seed}" if self.seed else ""
        return f"FaultPlan([{', '.join(map(repr, self.faults))}]{seed})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def describe(self) -> str:
        """The plan, one fault per line."""
        if not self.faults:
            return "no faults planned"
        lines = [f"fault plan (seed {self.seed}):"]
        lines.extend(f"  {i}. {fault!r}" for i, fault in enumerate(self.faults, start=1))
        return "\n".join(lines)


@attrs.frozen
class FaultRecord:
    """One fault that fired.

    Attributes:
        fault: the fault, as planned.
        occurrence: the occurrence it fired on: the call of the action, the signal of the agent, the
            delivery, the frame, the journal write (each fault kind says which it counts).
        action: the action whose attempt it struck (action and agent faults).
        agent_id: the agent the attempt ran in, if any.
        signal_type: the type of the signal concerned, if any (for an append, the batch's first).
        note: what it did when that differs from its usual effect.
        subscription: the subscription concerned (delivery faults, checkpoint and dead-letter writes).
        offset: the journal offset of the record concerned (delivery faults, dead-letter writes).
        connection: the gateway connection cut (:class:`CutConnection`).
        write: the journal write struck (:class:`FailJournalWrite`): ``"append"``, ``"checkpoint"``,
            ``"dead_letter"``.
    """

    fault: Fault
    occurrence: int
    action: str | None = None
    agent_id: str | None = None
    signal_type: str | None = None
    note: str = ""
    subscription: str | None = attrs.field(default=None, kw_only=True)
    offset: int | None = attrs.field(default=None, kw_only=True)
    connection: int | None = attrs.field(default=None, kw_only=True)
    write: str | None = attrs.field(default=None, kw_only=True)

    def __str__(self) -> str:
        signal = f" ({self.signal_type!r})" if self.signal_type is not None else ""
        note = f": {self.note}" if self.note else ""
        fault, n = self.fault, self.occurrence
        if isinstance(fault, CrashAgent):
            return f"{fault!r} struck signal {n}{signal} of agent {self.agent_id!r}, in action {self.action!r}{note}"
        if isinstance(fault, DropDelivery | DelayDelivery):
            return (
                f"{fault!r} struck delivery {n} of offset {self.offset}{signal} "
                f"to subscription {self.subscription!r}{note}"
            )
        if isinstance(fault, CutConnection):
            return f"{fault!r} struck frame {n} of gateway connection {self.connection}{note}"
        if isinstance(fault, FailJournalWrite):
            what = {
                "append": f"append{signal}",
                "checkpoint": f"checkpoint of subscription {self.subscription!r}",
                "dead_letter": f"dead letter of offset {self.offset} of subscription {self.subscription!r}",
            }.get(self.write or "", str(self.write))
            return f"{fault!r} struck journal write {n}: {what}{note}"
        where = f" in agent {self.agent_id!r}" if self.agent_id is not None else ""
        return f"{fault!r} struck call {n} of action {self.action!r}{where}{signal}{note}"
