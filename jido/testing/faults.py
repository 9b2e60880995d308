"""Fault injection: faults declared in one :class:`FaultPlan`, injected seeded and reproducibly, reported.

A plan lists faults. Each fault names *where* it strikes (an action, an agent, later a bus delivery or a
gateway connection) and *when*: on chosen occurrences (``on={2, 5}``: the 2nd and 5th), with a probability
(``probability=0.1``, drawn from a random source seeded by the plan's ``seed`` and the fault's position), or,
with neither, on every occurrence; ``limit`` caps how many times it fires. ::

    plan = FaultPlan(
        [
            FailAction("boost", on={2}),                 # the 2nd attempt of action "boost" raises
            TimeoutAction("fetch", probability=0.2),     # a fifth of "fetch" attempts run out of time
            SlowAction("fetch", delay=1.5, on={1}),      # the first "fetch" attempt takes 1.5 s longer
            CrashAgent("tracker", on={3}),               # agent "tracker" crashes on its 3rd signal
        ],
        seed=7,
    )
    with inject_faults(plan) as faults:
        async with jido.open_runtime() as rt:
            ...
    print(faults.report())

A :class:`FaultInjector` carries a plan out. It is installed in :data:`jido.action.exec.action_interceptor`
and consulted once per action attempt (retries count as calls). Trio tasks copy their context when they start:
install it before opening the runtime whose agents it should reach; :meth:`FaultInjector.set_plan` then changes
the faults of running agents too. Every fault that fires is recorded (:attr:`FaultInjector.records`) and
:meth:`FaultInjector.report` lists the plan and what fired, for failure output.

What each fault does:

* :class:`FailAction`: the attempt raises :class:`InjectedError` (retryable unless ``retryable=False``) or the
  exception ``error()`` returns; the action fails (and retries, by its policy) as if ``run`` had raised it.
* :class:`TimeoutAction`: the attempt waits until its deadline passes: it fails with
  :class:`~jido.errors.ActionTimeoutError`, retryable. An attempt without any deadline cannot time out: it
  fails with :class:`UnsupportedFaultError`. Without an event loop (:func:`~jido.action.exec.execute_sync`,
  ``jido.cmd``), where no deadline is enforced, it raises :class:`InjectedTimeout` (a ``TimeoutError``).
* :class:`SlowAction`: the attempt sleeps ``delay`` seconds before ``run``, inside its deadline, so a delay
  past it is a timeout. Without an event loop nothing can wait and no deadline is enforced: no effect (the
  record says so).
* :class:`CrashAgent`: the first action attempt of the agent's n-th signal raises :class:`InjectedCrash` (never
  retried). Under the default ``"crash"`` error policy that crashes the agent's server: the signal goes to the
  dead letters and the supervisor restarts the agent from its last committed state. Under ``"log"`` or
  ``StopAfter`` it is an ordinary action error. A signal that runs no action cannot be crashed this way.

Not supported yet (a plan holding one raises :class:`UnsupportedFaultError`): :class:`DropDelivery` and
:class:`DelayDelivery` (bus dispatch), :class:`CutConnection` (websocket gateway), :class:`FailJournalWrite`
(bus journal). They are declared here, with their fields, so that plans can name them once those components
grow their fault hooks.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Final

import attrs
import trio

from jido.action.exec import action_interceptor
from jido.action.spec import ActionContext, ActionSpec
from jido.errors import DefinitionError, JidoError
from jido.signal.pattern import parse_pattern
from jido.signal.signal import Signal

__all__ = [
    "CrashAgent",
    "CutConnection",
    "DelayDelivery",
    "DropDelivery",
    "FailAction",
    "FailJournalWrite",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "FaultRecord",
    "InjectedCrash",
    "InjectedError",
    "InjectedTimeout",
    "SlowAction",
    "TimeoutAction",
    "UnsupportedFaultError",
    "inject_faults",
]


class UnsupportedFaultError(JidoError, NotImplementedError):
    """A fault that cannot be injected: its component has no fault hook yet, or it cannot apply here."""


class InjectedError(Exception):
    """The exception a :class:`FailAction` raises by default.

    Attributes:
        retryable: whether a retry policy counts it as worth another attempt.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class InjectedCrash(Exception):
    """The exception a :class:`CrashAgent` raises inside the agent's action; never retried."""

    retryable: Final = False


class InjectedTimeout(TimeoutError):
    """A :class:`TimeoutAction` without an event loop, where no deadline is enforced; retryable."""


# -- faults --------------------------------------------------------------------------------------------------


def _occurrences(value: object) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Iterable) or isinstance(value, str):
        raise DefinitionError(f"on must be a set of occurrence numbers >= 1, got {value!r}")
    try:
        items: frozenset[Any] = frozenset(value)
    except TypeError:
        raise DefinitionError(f"on must be a set of occurrence numbers >= 1, got {value!r}") from None
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise DefinitionError(f"on must hold occurrence numbers >= 1 (1 is the first), got {item!r}")
    if not items:
        raise DefinitionError("on must name at least one occurrence; leave it out to strike every time")
    return items


def _check_probability(_: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise DefinitionError(f"probability must be a number within (0, 1], got {value!r}")


def _check_limit(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise DefinitionError(f"limit must be an int >= 1, got {value!r}")


def _check_name(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise DefinitionError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _check_optional_name(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        _check_name(_, attribute, value)


def _check_delay(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise DefinitionError(f"{attribute.name} must be a positive, finite number of seconds, got {value!r}")


def _check_pattern(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise DefinitionError(f"{attribute.name} must be a router pattern string, got {value!r}")
    try:
        parse_pattern(value)
    except JidoError as exc:
        raise DefinitionError(f"{attribute.name}: {exc}") from None


def _check_error(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise DefinitionError(
            f"error must be an exception class or a function returning an exception, got {value!r}"
        )


@attrs.frozen(repr=False)
class Fault:
    """What every fault has: when it strikes. Use one of the subclasses.

    Attributes:
        on: the occurrences it strikes (1 is the first), or ``None``.
        probability: the chance it strikes each occurrence, or ``None``. With neither, it strikes every time.
        limit: the most times it may strike, or ``None`` for no limit.
    """

    site: ClassVar[str] = ""
    """Where the fault strikes: ``"action"``, ``"agent"``, ``"delivery"``, ``"gateway"`` or ``"journal"``."""
    requires: ClassVar[str | None] = None
    """For a fault that is not supported yet: the component whose fault hook it waits for."""

    on: frozenset[int] | None = attrs.field(default=None, converter=_occurrences, kw_only=True)
    probability: float | None = attrs.field(default=None, validator=_check_probability, kw_only=True)
    limit: int | None = attrs.field(default=None, validator=_check_limit, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if type(self) is Fault:
            raise DefinitionError(
                "Fault is abstract: use FailAction, TimeoutAction, SlowAction or CrashAgent"
            )
        if self.on is not None and self.probability is not None:
            raise DefinitionError(f"{type(self).__name__}: give on= or probability=, not both")

    def __repr__(self) -> str:
        """The constructor call that makes this fault, with only the fields that differ from the defaults."""
        positional: list[str] = []
        own: list[str] = []
        common: list[str] = []
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.default is attrs.NOTHING:
                positional.append(repr(value))
            elif value != field.default:
                shown = "{" + ", ".join(map(str, sorted(value))) + "}" if field.name == "on" else _show(value)
                (common if field.name in _COMMON else own).append(f"{field.name}={shown}")
        return f"{type(self).__name__}({', '.join(positional + own + common)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis (and IPython) print the short repr, not every field."""
        printer.text(repr(self))


_COMMON: Final = frozenset({"on", "probability", "limit"})


def _show(value: object) -> str:
    if isinstance(value, type):
        return value.__qualname__
    if callable(value) and hasattr(value, "__qualname__"):
        return str(value.__qualname__)
    return repr(value)


@attrs.frozen(repr=False)
class FailAction(Fault):
    """An attempt of ``action`` raises.

    Attributes:
        action: the action's name.
        agent: only attempts inside this agent (by id); ``None`` for any (plan steps run outside agents).
        error: an exception class, or a function returning the exception to raise; :class:`InjectedError`
            by default.
        retryable: whether the default :class:`InjectedError` is worth a retry.
    """

    site: ClassVar[str] = "action"

    action: str = attrs.field(validator=_check_name)
    agent: str | None = attrs.field(default=None, validator=_check_optional_name)
    error: Callable[[], BaseException] | None = attrs.field(default=None, validator=_check_error)
    retryable: bool = True


@attrs.frozen(repr=False)
class TimeoutAction(Fault):
    """An attempt of ``action`` runs out of time.

    Attributes:
        action: the action's name.
        agent: only attempts inside this agent (by id); ``None`` for any.
    """

    site: ClassVar[str] = "action"

    action: str = attrs.field(validator=_check_name)
    agent: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class SlowAction(Fault):
    """An attempt of ``action`` starts ``delay`` seconds late (inside its deadline).

    Attributes:
        action: the action's name.
        delay: seconds, positive and finite.
        agent: only attempts inside this agent (by id); ``None`` for any.
    """

    site: ClassVar[str] = "action"

    action: str = attrs.field(validator=_check_name)
    delay: float = attrs.field(default=1.0, validator=_check_delay)
    agent: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class CrashAgent(Fault):
    """The agent's server crashes on its n-th signal (``on`` and ``probability`` count signals).

    Attributes:
        agent: the agent's id.
    """

    site: ClassVar[str] = "agent"

    agent: str = attrs.field(validator=_check_name)


@attrs.frozen(repr=False)
class DropDelivery(Fault):
    """Not supported yet. A bus delivery of a signal matching ``pattern`` is lost.

    Attributes:
        pattern: router pattern of the signal types concerned.
        subscription: only deliveries to this subscription (by name); ``None`` for any.
    """

    site: ClassVar[str] = "delivery"
    requires: ClassVar[str | None] = "the bus's dispatch (jido.bus)"

    pattern: str = attrs.field(default="**", validator=_check_pattern)
    subscription: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class DelayDelivery(Fault):
    """Not supported yet. A bus delivery of a signal matching ``pattern`` arrives ``delay`` seconds late.

    Attributes:
        pattern: router pattern of the signal types concerned.
        delay: seconds, positive and finite.
        subscription: only deliveries to this subscription (by name); ``None`` for any.
    """

    site: ClassVar[str] = "delivery"
    requires: ClassVar[str | None] = "the bus's dispatch (jido.bus)"

    pattern: str = attrs.field(default="**", validator=_check_pattern)
    delay: float = attrs.field(default=1.0, validator=_check_delay)
    subscription: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class CutConnection(Fault):
    """Not supported yet. A websocket gateway connection is cut (``on`` counts frames sent to it).

    Attributes:
        connection: only this connection (by id); ``None`` for any.
    """

    site: ClassVar[str] = "gateway"
    requires: ClassVar[str | None] = "the websocket gateway (jido.gateway)"

    connection: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class FailJournalWrite(Fault):
    """Not supported yet. A write to the bus journal fails (``on`` counts writes).

    Attributes:
        error: an exception class, or a function returning the exception to raise; ``OSError`` by default.
    """

    site: ClassVar[str] = "journal"
    requires: ClassVar[str | None] = "the bus journal (jido.bus.journal)"

    error: Callable[[], BaseException] | None = attrs.field(default=None, validator=_check_error)


_ACTION_FAULTS: Final = (FailAction, TimeoutAction, SlowAction)


# -- the plan ------------------------------------------------------------------------------------------------


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
        UnsupportedFaultError: a fault needs a component hook that does not exist yet.
    """

    faults: tuple[Fault, ...] = attrs.field(default=(), converter=_faults)
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise DefinitionError(f"FaultPlan seed must be an int, got {self.seed!r}")
        for index, fault in enumerate(self.faults):
            if not isinstance(fault, Fault):
                raise DefinitionError(f"FaultPlan faults[{index}]: expected a Fault, got {fault!r}")
            if fault.requires is not None:
                raise UnsupportedFaultError(
                    f"{type(fault).__name__} is not supported yet: it needs a fault hook in {fault.requires}"
                )

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
        occurrence: the occurrence it fired on (the call of the action, the signal of the agent).
        action: the action whose attempt it struck.
        agent_id: the agent the attempt ran in, if any.
        signal_type: the type of the signal being handled, if any.
        note: what it did when that differs from its usual effect.
    """

    fault: Fault
    occurrence: int
    action: str
    agent_id: str | None = None
    signal_type: str | None = None
    note: str = ""

    def __str__(self) -> str:
        signal = f" ({self.signal_type!r})" if self.signal_type is not None else ""
        note = f": {self.note}" if self.note else ""
        if isinstance(self.fault, CrashAgent):
            return (
                f"{self.fault!r} struck signal {self.occurrence}{signal} of agent {self.agent_id!r}, "
                f"in action {self.action!r}{note}"
            )
        where = f" in agent {self.agent_id!r}" if self.agent_id is not None else ""
        return f"{self.fault!r} struck call {self.occurrence} of action {self.action!r}{where}{signal}{note}"


class _Rule:
    """A planned fault with its counters and its own random source."""

    __slots__ = ("agent", "count", "fault", "fired", "last_signal", "rng")

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
    """Carries a :class:`FaultPlan` out: the action interceptor that makes planned faults happen.

    Args:
        plan: the faults to inject; none by default (:meth:`set_plan` changes them later).
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._records: list[FaultRecord] = []
        self._plan = FaultPlan()
        self._by_action: dict[str, list[_Rule]] = {}
        self._crashes: list[_Rule] = []
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
        crashes: list[_Rule] = []
        for index, fault in enumerate(plan.faults):
            rule = _Rule(fault, plan.seed, index)
            if isinstance(fault, CrashAgent):
                crashes.append(rule)
            elif isinstance(fault, _ACTION_FAULTS):
                by_action.setdefault(fault.action, []).append(rule)
            else:  # FaultPlan refuses the others; a new supported kind must be wired in here
                raise UnsupportedFaultError(f"{type(fault).__name__} has no injector")
        self._plan = plan
        self._by_action = by_action
        self._crashes = crashes

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
        """Make this the action interceptor of the current context inside the block.

        Tasks started inside the block (a runtime opened there, and its agents) keep it after it ends.
        """
        token = action_interceptor.set(self)
        try:
            yield self
        finally:
            action_interceptor.reset(token)

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
    """Inject ``plan``'s faults into the actions run in this context (and in tasks started in the block).

    Args:
        plan: a :class:`FaultPlan`, or a list of faults (seed 0).

    Yields:
        The :class:`FaultInjector`: its ``records`` and ``report()`` say what fired.
    """
    injector = FaultInjector(plan if isinstance(plan, FaultPlan) else FaultPlan(plan))
    with injector.install():
        yield injector
