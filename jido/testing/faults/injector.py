"""The fault injector: carries a plan out through the fault hooks of actions, the bus and the gateway."""

from __future__ import annotations

import contextlib
import inspect
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

import trio

from jido.action.exec import action_interceptor
from jido.action.spec import ActionContext, ActionSpec
from jido.bus.bus import journal_interceptor
from jido.bus.journal import Journal
from jido.bus.subscription import Delivery, delivery_interceptor
from jido.gateway.connection import connection_interceptor
from jido.signal.pattern import matches
from jido.signal.signal import Signal
from jido.testing.faults.journal import FaultyJournal
from jido.testing.faults.kinds import (
    ACTION_FAULTS,
    CrashAgent,
    DropDelivery,
    FailAction,
    Fault,
    InjectedCrash,
    InjectedError,
    InjectedTimeout,
    SlowAction,
    TimeoutAction,
    UnsupportedFaultError,
)
from jido.testing.faults.plan import FaultPlan, FaultRecord

__all__ = ["FaultInjector", "inject_faults"]


class _Rule:
    """A planned fault with its counters and its own random source."""

    __slots__ = ("agent", "count", "fault", "fired", "last_signal", "rng")

    fault: Any  # one of the Fault kinds; each site reads the fields of its own kinds

    def __init__(self, fault: Fault, seed: int, index: int) -> None:
        self.fault = fault
        self.agent: str | None = getattr(fault, "agent", None)
        self.count = 0
        self.fired = 0
        self.last_signal: object = None
        self.rng = random.Random(f"{seed}:{index}")

    def strikes(self) -> bool:
        """Count one occurrence; whether the fault strikes it."""
        self.count += 1
        fault = self.fault
        if fault.probability is not None:
            hit = self.rng.random() < fault.probability  # drawn on every occurrence: a stable sequence
        else:
            hit = fault.on is None or self.count in fault.on
        if hit and (fault.limit is None or self.fired < fault.limit):
            self.fired += 1
            return True
        return False


class FaultInjector:
    """Carries a :class:`FaultPlan` out: the interceptor of actions, bus deliveries, journal writes and gateway
    frames that makes planned faults happen.

    Args:
        plan: the faults to inject; none by default (:meth:`set_plan` changes them later).
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._records: list[FaultRecord] = []
        self._plan = FaultPlan()
        self._by_action: dict[str, list[_Rule]] = {}
        self._crashes: list[_Rule] = []
        self._deliveries: list[_Rule] = []
        self._cuts: list[_Rule] = []
        self._journal_writes: list[_Rule] = []
        self.set_plan(plan if plan is not None else FaultPlan())

    def __repr__(self) -> str:
        return f"<FaultInjector {self._plan!r} fired={len(self._records)}>"

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    @property
    def records(self) -> tuple[FaultRecord, ...]:
        """Every fault that fired, oldest first (across plans, until :meth:`clear`)."""
        return tuple(self._records)

    def set_plan(self, plan: FaultPlan) -> None:
        """Put ``plan`` in force, with fresh counters and random sources; the records are kept.

        Raises:
            TypeError: ``plan`` is not a :class:`FaultPlan`.
        """
        if not isinstance(plan, FaultPlan):
            raise TypeError(f"expected a FaultPlan, got {type(plan).__name__}")
        by_action: dict[str, list[_Rule]] = {}
        by_site: dict[str, list[_Rule]] = {"agent": [], "delivery": [], "gateway": [], "journal": []}
        for index, fault in enumerate(plan.faults):
            rule = _Rule(fault, plan.seed, index)
            if isinstance(fault, ACTION_FAULTS):
                by_action.setdefault(fault.action, []).append(rule)
            elif fault.site in by_site:
                by_site[fault.site].append(rule)
            else:  # a new kind of fault must be wired in here
                raise UnsupportedFaultError(f"{type(fault).__name__} has no injector")
        self._plan = plan
        self._by_action = by_action
        self._crashes = by_site["agent"]
        self._deliveries = by_site["delivery"]
        self._cuts = by_site["gateway"]
        self._journal_writes = by_site["journal"]

    @contextlib.contextmanager
    def using(self, plan: FaultPlan) -> Iterator[FaultInjector]:
        """Put ``plan`` in force inside the block; the previous plan (with fresh counters) after it."""
        previous = self._plan
        self.set_plan(plan)
        try:
            yield self
        finally:
            self.set_plan(previous)

    def clear(self) -> None:
        """Forget the records."""
        self._records.clear()

    @contextlib.contextmanager
    def install(self) -> Iterator[FaultInjector]:
        """Make this the fault interceptor of the current context inside the block: of actions
        (:data:`~jido.action.exec.action_interceptor`), bus deliveries
        (:data:`~jido.bus.subscription.delivery_interceptor`), bus journals
        (:data:`~jido.bus.bus.journal_interceptor`) and gateway connections
        (:data:`~jido.gateway.connection.connection_interceptor`).

        Tasks started inside the block (a runtime opened there, its agents, a gateway served there) keep it
        after it ends. Buses, subscriptions and connections read it when they are made: install it first.
        """
        tokens = (
            action_interceptor.set(self),
            delivery_interceptor.set(self._deliver),
            journal_interceptor.set(self._wrap_journal),
            connection_interceptor.set(self._frame),
        )
        try:
            yield self
        finally:
            connection_interceptor.reset(tokens[3])
            journal_interceptor.reset(tokens[2])
            delivery_interceptor.reset(tokens[1])
            action_interceptor.reset(tokens[0])

    def report(self) -> str:
        """The plan and the faults that fired, for failure output."""
        lines = [self._plan.describe()]
        if self._records:
            lines.append(f"faults fired ({len(self._records)}):")
            lines.extend(f"  {record}" for record in self._records)
        else:
            lines.append("no fault fired")
        return "\n".join(lines)

    # -- the interceptor ---------------------------------------------------------------------------------
    def __call__(self, spec: ActionSpec, params: Any, ctx: ActionContext, sync: bool) -> object:
        """Run one attempt of ``spec``, unless a planned fault strikes it (see the module docstring)."""
        struck: _Rule | None = None
        if self._crashes and ctx.agent_id is not None:
            struck = self._crash(ctx)
        rules = self._by_action.get(spec.name)
        if rules:
            for rule in rules:
                if (rule.agent is None or rule.agent == ctx.agent_id) and rule.strikes() and struck is None:
                    struck = rule
        if struck is None:
            return spec.run(params, ctx)
        return self._strike(struck, spec, params, ctx, sync)

    def _crash(self, ctx: ActionContext) -> _Rule | None:
        signal = ctx.signal
        struck = None
        for rule in self._crashes:
            if rule.agent != ctx.agent_id:
                continue
            # One occurrence per signal: the attempts of a signal's other instructions are the same one.
            if signal is not None and rule.last_signal is signal:
                continue
            rule.last_signal = signal
            if rule.strikes() and struck is None:
                struck = rule
        return struck

    def _record(self, rule: _Rule, spec: ActionSpec, ctx: ActionContext, note: str = "") -> None:
        signal_type = ctx.signal.type if isinstance(ctx.signal, Signal) else None
        self._records.append(FaultRecord(rule.fault, rule.count, spec.name, ctx.agent_id, signal_type, note))

    def _strike(self, rule: _Rule, spec: ActionSpec, params: Any, ctx: ActionContext, sync: bool) -> object:
        fault = rule.fault
        if isinstance(fault, CrashAgent):
            self._record(rule, spec, ctx)
            raise InjectedCrash(f"injected crash of agent {fault.agent!r} on its signal {rule.count}")
        if isinstance(fault, FailAction):
            self._record(rule, spec, ctx)
            if fault.error is not None:
                raise fault.error()
            raise InjectedError(
                f"injected failure of action {spec.name!r} on call {rule.count}", retryable=fault.retryable
            )
        if isinstance(fault, TimeoutAction):
            if sync:
                self._record(rule, spec, ctx, "no event loop: raised InjectedTimeout")
                raise InjectedTimeout(f"injected timeout of action {spec.name!r} on call {rule.count}")
            self._record(rule, spec, ctx)
            return _hang(spec.name)
        assert isinstance(fault, SlowAction)
        if sync:
            self._record(rule, spec, ctx, "no event loop: no delay")
            return spec.run(params, ctx)
        self._record(rule, spec, ctx)
        return _late(fault.delay, spec, params, ctx)

    # -- bus deliveries ----------------------------------------------------------------------------------
    async def _deliver(self, delivery: Delivery) -> bool:
        """Whether to hand ``delivery`` over (after waiting, for a late one); False loses it."""
        if not self._deliveries:
            return True
        signal = delivery.signal
        struck: _Rule | None = None
        for rule in self._deliveries:
            fault = rule.fault
            if (
                (fault.subscription is None or fault.subscription == delivery.subscription)
                and matches(fault.pattern, signal.type)
                and rule.strikes()
                and struck is None
            ):
                struck = rule
        if struck is None:
            return True
        self._records.append(
            FaultRecord(
                struck.fault,
                struck.count,
                signal_type=signal.type,
                subscription=delivery.subscription,
                offset=delivery.offset,
            )
        )
        if isinstance(struck.fault, DropDelivery):
            return False
        await trio.sleep(struck.fault.delay)
        return True

    # -- gateway connections -----------------------------------------------------------------------------
    def _frame(self, connection: int, frame: str) -> bool:
        """Whether to cut ``connection`` instead of sending ``frame``."""
        struck: _Rule | None = None
        for rule in self._cuts:
            target = rule.fault.connection
            if (target is None or target == connection) and rule.strikes() and struck is None:
                struck = rule
        if struck is None:
            return False
        self._records.append(FaultRecord(struck.fault, struck.count, connection=connection))
        return True

    # -- journal writes ----------------------------------------------------------------------------------
    def _wrap_journal(self, journal: Journal) -> Journal:
        return FaultyJournal(journal, self._journal_write)

    def _journal_write(
        self,
        write: str,
        *,
        signal_type: str | None = None,
        subscription: str | None = None,
        offset: int | None = None,
    ) -> None:
        """Raise the planned error if a fault strikes this write to the journal."""
        struck: _Rule | None = None
        for rule in self._journal_writes:
            wanted = rule.fault.write
            if (wanted is None or wanted == write) and rule.strikes() and struck is None:
                struck = rule
        if struck is None:
            return
        self._records.append(
            FaultRecord(
                struck.fault,
                struck.count,
                signal_type=signal_type,
                subscription=subscription,
                offset=offset,
                write=write,
            )
        )
        if struck.fault.error is not None:
            raise struck.fault.error()
        raise OSError(f"injected failure of journal write {struck.count} ({write})")


async def _hang(action: str) -> None:
    if trio.current_effective_deadline() == math.inf:
        raise UnsupportedFaultError(f"cannot time out action {action!r}: its attempt has no deadline")
    await trio.sleep_forever()


async def _late(delay: float, spec: ActionSpec, params: Any, ctx: ActionContext) -> object:
    await trio.sleep(delay)
    returned = spec.run(params, ctx)
    if inspect.isawaitable(returned):
        returned = await returned
    return returned


@contextlib.contextmanager
def inject_faults(plan: FaultPlan | Sequence[Fault] = ()) -> Iterator[FaultInjector]:
    """Inject ``plan``'s faults into what runs in this context (and in tasks started in the block): actions,
    agents, the deliveries and journal writes of buses opened there, the connections of gateways served there.

    Args:
        plan: a :class:`FaultPlan`, or a list of faults (seed 0).

    Yields:
        The :class:`FaultInjector`: its ``records`` and ``report()`` say what fired.
    """
    injector = FaultInjector(plan if isinstance(plan, FaultPlan) else FaultPlan(plan))
    with injector.install():
        yield injector
