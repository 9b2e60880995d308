"""Hibernation under a state machine: one agent that sleeps when idle and is woken by whatever is sent to it.

The agent records the number of every signal it applies. Rules send numbered signals through each door
(``cast``, ``cast_nowait`` and ``call`` on the ref held from the start, the same on a fresh virtual reference
``rt.agent(Cls, id)``, a publish on the bus it subscribes to), crash it with a signal whose action raises, and let
time pass, long enough for it to fall asleep or not, or exactly to the instant it does. Each example runs with or
without a ``MemoryStateStore``. After every step, once the runtime has settled:

* every accepted signal is applied exactly once, or (a crashing one) dead-lettered exactly once, and a
  ``cast_nowait`` refused with ``MailboxFullError`` is neither;
* the applied numbers follow the order they were sent in, per sender path: the direct sends of one task (on the
  held ref and on virtual references) in arrival order, the bus's in publish order, and a step's signals after
  those of the steps before it;
* the runtime never fails, and ``rt.statistics()`` says the agent is dormant (``hibernated`` is 1, no agent
  runs) exactly when it is, and exactly when a model of its idle time says it must be; ``hibernations`` and
  ``activations`` count the model's transitions.

Time is the machine's mock clock and moves only in rules (restarts are immediate), so the model knows when the
agent sleeps. Two known bugs shape it (see :class:`TestKnownBugs`): a sender that yields to the event loop
between its sends while the agent wakes can overtake its own earlier sends, so the direct sends of one rule do
not yield then; and a ref held from before reads a stale state once the agent sleeps a second time, so the
machine reads the state from where it is kept.
"""

from __future__ import annotations

import collections
import contextlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeAlias

import attrs
import pytest
import trio
import trio.testing
from hypothesis import event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

import jido
from dsl import action, agent, route
from jido.errors import ActionError, ClosedError, MailboxFullError
from jido.runtime.runtime import open_runtime
from jido.store import MemoryStateStore
from jido.testing import RuntimeStateMachine

PROFILE_EXAMPLES = settings().max_examples
STEPS = 20 if PROFILE_EXAMPLES <= 100 else 40
STATEFUL = settings(max_examples=max(10, PROFILE_EXAMPLES // 2), stateful_step_count=STEPS)

IDLE = 10.0  # the agent's idle_timeout; waits are multiples of 4 s, so no wait ends exactly on its deadline
MAILBOX = 4  # small, so that cast_nowait meets a full mailbox (and a full queue of a waking agent)
ID = "sleeper"
SETTLE_LIMIT = 3600.0  # virtual seconds a settling wait may take before the checks report what is missing


@action(description="Record that signal number `n` was applied")
class Record:
    n: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"seen": [*ctx.state.seen, self.n]}


@action(description="Raise: the agent crashes and restarts from its last committed state")
class Boom:
    n: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        raise RuntimeError(f"boom {self.n}")


@agent(subscribe=["hib.bus.*"], idle_timeout=IDLE)
@route("hib.add", Record)
@route("hib.boom", Boom)
@route("hib.bus.add", Record)
@route("hib.bus.boom", Boom)
class Sleeper:
    seen: list[int] = attrs.field(factory=list)


Door: TypeAlias = Literal["ref", "virtual"]
Op: TypeAlias = Literal["cast", "cast_nowait", "call"]
Kind: TypeAlias = Literal["add", "boom"]
Path: TypeAlias = Literal["direct", "bus"]


@attrs.frozen
class Sent:
    """What the model knows of one numbered signal."""

    n: int
    path: Path
    step: int
    kind: Kind
    refused: bool = False  # cast_nowait raised MailboxFullError: never accepted


def numbered(n: int, kind: Kind, *, bus: bool = False) -> jido.Signal:
    return jido.Signal(type=f"hib.{'bus.' if bus else ''}{kind}", source="/properties", data={"n": n})


kinds = st.sampled_from(["add", "add", "add", "boom"])  # mostly applied, sometimes a crash
sends = st.tuples(
    st.sampled_from(["ref", "virtual"]), st.sampled_from(["cast", "cast_nowait", "call"]), kinds
)


class HibernationMachine(RuntimeStateMachine):
    """One hibernating agent beside a model of when it sleeps and what it must have applied."""

    runtime_options: ClassVar[Mapping[str, Any]] = {
        "max_restarts": 10_000,
        "within": 1.0,
        "mailbox_size": MAILBOX,
        "restart_backoff": 0.0,  # restarts at once: time moves only in rules, so the model knows the idle time
    }

    @initialize(durable=st.booleans(), first=st.sampled_from(["start_agent", "virtual"]))
    def start(self, durable: bool, first: Literal["start_agent", "virtual"]) -> None:
        event(f"store: {durable}, started by {first}")
        self.store: MemoryStateStore | None = None
        if durable:
            self.store = MemoryStateStore()
            # This example's own options: a fresh store (the runtime closes its store when it closes).
            self.runtime_options = {**type(self).runtime_options, "store": self.store}  # type: ignore[misc]
            self.reopen_runtime()
        if first == "start_agent":
            self.ref = self.run(self.rt.start_agent, Sleeper, id=ID)
        else:
            self.ref = self.run(self.rt.agent(Sleeper, ID).ref)
        self.sent: list[Sent] = []
        self.step = 0
        self.dormant = False
        self.idle_since = self.clock.current_time()
        self.hibernations = 0
        self.activations = 1 if first == "virtual" else 0  # a virtual reference's first use starts it

    # -- the model --------------------------------------------------------------------------------------------
    def number(self, path: Path, kind: Kind) -> int:
        n = len(self.sent) + 1
        self.sent.append(Sent(n, path, self.step, kind))
        return n

    def refuse(self, n: int) -> None:
        self.sent[n - 1] = attrs.evolve(self.sent[n - 1], refused=True)

    def woken(self, how: str) -> None:
        """Something was sent this step: the agent is awake and its idle time starts again now."""
        if self.dormant:
            event(f"woken by {how}")
            self.activations += 1
        self.dormant = False
        self.idle_since = self.clock.current_time()

    def begin(self) -> None:
        self.step += 1

    def awake(self) -> bool:
        return not self.dormant

    # -- sending --------------------------------------------------------------------------------------------
    async def send_one(self, door: Door, op: Op, kind: Kind) -> None:
        n = self.number("direct", kind)
        signal = numbered(n, kind)
        target = self.ref if door == "ref" else self.rt.agent(Sleeper, ID)  # a fresh virtual reference
        if op == "cast":
            await target.cast(signal)
        elif op == "cast_nowait":
            try:
                target.cast_nowait(signal)
            except MailboxFullError:
                self.refuse(n)
        elif kind == "add":
            answered = await target.call(signal, timeout=60)
            assert answered.state.seen[-1] == n, (n, answered.state.seen)
        else:
            with pytest.raises(ActionError, match=f"boom {n}"):
                await target.call(signal, timeout=60)

    @rule(burst=st.lists(sends, min_size=1, max_size=6))
    def send(self, burst: list[tuple[Door, Op, Kind]]) -> None:
        """A burst of direct sends from one task, through the held ref and fresh virtual references."""
        self.begin()

        async def go() -> None:
            for door, op, kind in burst:
                await self.send_one(door, op, kind)

        self.run(go)
        self.woken("direct sends")

    @rule(door=st.sampled_from(["ref", "virtual", "bus"]), op=st.sampled_from(["cast", "call"]))
    def crash(self, door: Door | Literal["bus"], op: Op) -> None:
        """A signal whose action raises: dead-lettered, and the agent restarts from its last commit."""
        self.begin()
        if door == "bus":
            self.run(self.rt.publish, numbered(self.number("bus", "boom"), "boom", bus=True))
        else:
            self.run(self.send_one, door, op, "boom")
        self.woken("a crash")

    @rule(burst=st.lists(kinds, min_size=1, max_size=4))
    def publish(self, burst: list[Kind]) -> None:
        """Published on the bus the agent subscribes to: delivered (waking it) in publish order."""
        self.begin()

        async def go() -> None:
            for kind in burst:
                await self.rt.publish(numbered(self.number("bus", kind), kind, bus=True))

        self.run(go)
        self.woken("the bus")

    @rule(seconds=st.sampled_from([4.0, 12.0, 28.0]))
    def wait(self, seconds: float) -> None:
        """Time passes: past its idle_timeout since its last message, the agent falls asleep."""
        self.advance(seconds)
        if not self.dormant and self.clock.current_time() - self.idle_since >= IDLE:
            self.dormant = True
            self.hibernations += 1

    @rule(burst=st.lists(sends, min_size=1, max_size=6))
    def sleep_then_send(self, burst: list[tuple[Door, Op, Kind]]) -> None:
        """Long enough idle to fall asleep, then a burst of direct sends that wakes it."""
        self.wait(28.0)
        self.send(burst)

    @precondition(awake)
    @rule(burst=st.lists(sends, min_size=1, max_size=3))
    def send_as_it_falls_asleep(self, burst: list[tuple[Door, Op, Kind]]) -> None:
        """Sent at the very instant its idle time runs out: it sleeps and wakes, or stays awake, and either
        way handles what was sent."""
        self.begin()
        remaining = self.idle_since + IDLE - self.clock.current_time()
        before = self.rt.statistics()

        async def go() -> None:
            await trio.sleep(remaining)
            for door, op, kind in burst:
                await self.send_one(door, op, kind)

        self.run(go)
        after = self.rt.statistics()
        slept = after.hibernations - before.hibernations
        note(f"fell asleep before the send: {bool(slept)}")
        event(f"sent at the instant it fell asleep: {'asleep' if slept else 'awake'} first")
        assert slept in (0, 1)
        assert after.activations - before.activations == slept
        self.hibernations += slept
        self.activations += slept
        self.woken("a send at the instant it fell asleep")

    # -- reading --------------------------------------------------------------------------------------------
    def committed_seen(self) -> list[int]:
        """The agent's last committed ``seen``: from its live ref, or, while it sleeps, from where its state is
        kept (the store, or the dormant entry's JSON text)."""
        live = self.rt.whereis(ID)
        if live is not None:
            return list(live.state.seen)
        if self.store is not None:
            stored = self.run(self.store.load, ID)
            return (
                [] if stored is None else list(json.loads(stored.data)["state"]["seen"])
            )  # None: no commit yet
        _, data, _, _ = self.rt._dormancy._dormant[
            ID
        ]  # the dormant entry's state (no public reader without a store)
        assert data is not None
        return list(json.loads(data)["seen"])

    def settle(self) -> None:
        """Wait (on the mock clock, without sleeping) until the agent has applied what it must, or sleeps."""
        want = sum(1 for s in self.sent if s.kind == "add" and not s.refused)

        async def go() -> None:
            with trio.move_on_after(SETTLE_LIMIT):
                while (live := self.rt.whereis(ID)) is not None:
                    with contextlib.suppress(ClosedError):  # it fell asleep meanwhile: look again
                        await live.wait_state(lambda state: len(state.seen) >= want)
                        return

        before = self.clock.current_time()
        self.run(go)
        assert self.clock.current_time() == before, "the runtime had not settled at the end of the step"

    # -- invariants -----------------------------------------------------------------------------------------
    @invariant()
    def runtime_never_fails(self) -> None:
        assert self.runtime_failure is None, self.runtime_failure
        assert self.rt.statistics().failed == {}

    @invariant()
    def each_signal_once(self) -> None:
        """Applied exactly once, or (a crash) dead-lettered exactly once; a refused cast_nowait is neither."""
        self.settle()
        seen = self.committed_seen()
        letters = self.rt.dead_letters()
        dead = [d.signal.data["n"] for d in letters]
        assert {d.reason for d in letters} <= {"crash"}, [(d.reason, d.error) for d in letters]
        assert {d.agent_id for d in letters} <= {ID}
        stored = self.run(self.rt.bus.dead_letters)
        given_up = [d.record.signal.data for d in stored if d.record.offset > 0]  # the bus's own, not ours
        assert given_up == [], f"the bus gave up on {given_up}"
        twice = [n for n, times in collections.Counter(seen + dead).items() if times > 1]
        assert twice == [], f"applied or dead-lettered more than once: {twice}"
        applied = [s.n for s in self.sent if s.kind == "add" and not s.refused]
        crashed = [s.n for s in self.sent if s.kind == "boom" and not s.refused]
        assert sorted(seen) == applied, f"applied {sorted(seen)}, expected {applied}"
        assert sorted(dead) == crashed, f"dead-lettered {sorted(dead)}, expected {crashed}"

    @invariant()
    def order_per_sender_path(self) -> None:
        """Direct sends of one task in arrival order, bus signals in publish order, steps one after another."""
        seen = self.committed_seen()
        by_n = {s.n: s for s in self.sent}
        for path in ("direct", "bus"):
            numbers = [n for n in seen if by_n[n].path == path]
            assert numbers == sorted(numbers), f"{path} signals applied out of order: {numbers}"
        steps = [by_n[n].step for n in seen]
        assert steps == sorted(steps), f"a step's signals applied before an earlier step's: {seen}"

    @invariant()
    def dormant_when_idle(self) -> None:
        """statistics().hibernated is 0 or 1, and 1 exactly when the agent sleeps, as the model says."""
        stats = self.rt.statistics()
        handle = self.rt.agent(Sleeper, ID)
        assert stats.hibernated in (0, 1)
        observed = stats.hibernated == 1
        assert observed == (handle.status == "hibernated") == (self.rt.whereis(ID) is None)
        assert stats.agents == (0 if observed else 1)
        assert observed == self.dormant, f"dormant: {observed}, the model says {self.dormant}"
        if not observed:
            assert handle.status == "running"
        assert (stats.hibernations, stats.activations) == (self.hibernations, self.activations)


TestHibernation = HibernationMachine.TestCase
TestHibernation.settings = STATEFUL


# -- regressions the machine found ---------------------------------------------------------------------------


class TestRegressions:
    async def test_casts_that_yield_stay_in_order(self, autojump_clock: trio.testing.MockClock) -> None:
        """Casts on a held ref to a sleeping agent, yielding between them, are applied in arrival order."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Sleeper, id=ID)
            await trio.sleep(IDLE + 1)
            assert rt.statistics().hibernated == 1
            for n in range(10):
                ref.cast_nowait(numbered(n, "add"))
                await trio.lowlevel.checkpoint()
            state = await rt.get(ID).wait_state(lambda s: len(s.seen) == 10, timeout=60)
            assert state.seen == list(range(10))

    async def test_held_ref_reads_the_last_commit(self, autojump_clock: trio.testing.MockClock) -> None:
        """A ref held from before reads the last committed state, also while the agent sleeps again."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Sleeper, id=ID)
            await ref.call(numbered(1, "add"))
            await trio.sleep(IDLE + 1)
            await ref.call(numbered(2, "add"))  # woken: the new incarnation commits [1, 2]
            await trio.sleep(IDLE + 1)
            assert rt.statistics().hibernated == 1
            assert ref.state.seen == [1, 2]
