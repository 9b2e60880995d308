"""Runtime properties under injected faults, checked with jido.testing itself.

* A committed state always conforms to the agent's schema, whatever signals arrive and whatever fails.
* A supervised agent under random crashes never loses a committed state, and its supervisor escalates exactly
  when the restarts within its window exceed its intensity (never later, never sooner).
* Every signal sent to an agent (cast, delivered, called, or published on the memory-journal bus, also while
  the bus loses or delays deliveries) is either processed or dead-lettered, exactly once.
* The ContentOps workflow (examples/content_ops.py) always completes or reports failure, and ``total_runs``
  counts the completed runs exactly.

Router ordering is stable: that property is covered against a reference model in
``tests/properties/test_router_model.py``.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

import jido
from dsl import action, agent, route
from examples.content_ops import ContentOps, request
from jido.convert import structure, unstructure
from jido.errors import SupervisionError
from jido.testing import (
    CrashAgent,
    DropDelivery,
    FailAction,
    Fault,
    FaultInjector,
    FaultPlan,
    RuntimeStateMachine,
    SlowAction,
    TimeoutAction,
    check_invariant,
    open_test_runtime,
)
from jido.testing import strategies as jst

# Stateful runs stay short in CI; the thorough profile makes them longer. Tests that run a whole runtime per
# example take a share of the profile's examples.
PROFILE_EXAMPLES = settings().max_examples
STEPS = 10 if PROFILE_EXAMPLES <= 100 else 30
ASYNC_GIVEN = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
RUNTIME_PER_EXAMPLE = settings(ASYNC_GIVEN, max_examples=max(10, PROFILE_EXAMPLES * 2 // 5))
STATEFUL = settings(max_examples=max(10, PROFILE_EXAMPLES // 2), stateful_step_count=STEPS)


# -- state always conforms to its schema ---------------------------------------------------------------------


class Tier(enum.Enum):
    FREE = "free"
    PRO = "pro"


@attrs.frozen
class Address:
    city: str = ""
    zip: str | None = None


@action(description="Set the level from any text: values outside the Literal must be refused")
class SetLevel:
    level: str

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"level": self.level}


@action(description="Set the tier from any text: values outside the Enum must be refused")
class SetTier:
    tier: str

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"tier": self.tier}


@action(description="Merge anything into the address: must still be an Address")
class MoveTo:
    address: Any = None

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"address": self.address}


@action(description="Score a key")
class Score:
    key: str
    points: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"scores": {self.key: self.points}, "tags": [*ctx.state.tags, self.key][-5:]}


@action(description="Set any field to any JSON value")
class Scribble:
    field: Literal["count", "tags", "scores", "level", "address"]
    value: Any = None

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {self.field: self.value}


@agent
@route("profile.level", SetLevel)
@route("profile.tier", SetTier)
@route("profile.move", MoveTo)
@route("profile.score", Score)
@route("profile.scribble", Scribble)
class Profile:
    level: Literal["low", "mid", "high"] = "low"
    tier: Tier = Tier.FREE
    address: Address | None = None
    scores: dict[str, int] = attrs.field(factory=dict)
    tags: list[str] = attrs.field(factory=list)
    count: int = 0


PROFILE: jido.AgentSpec = Profile.__jido_spec__  # type: ignore[attr-defined]
PROFILE_ACTIONS = ["set_level", "set_tier", "move_to", "score", "scribble"]


def conforms(state: Any) -> bool:
    """The state is an instance of the schema that survives the strict converter unchanged."""
    return isinstance(state, PROFILE.state) and structure(unstructure(state), PROFILE.state) == state


class TestStateConformsToSchema:
    def test_pure_core(self) -> None:
        """Under cmd, with faults, every state after every step conforms to the schema."""
        check_invariant(
            Profile,
            conforms,
            name="state conforms to its schema",
            settings=settings(max_examples=max(10, PROFILE_EXAMPLES // 2)),
        )

    @RUNTIME_PER_EXAMPLE
    @given(
        signals=st.lists(jst.signals_for(Profile), max_size=8),
        plan=jst.fault_plans(PROFILE_ACTIONS, agents=["profile"]),
        policy=st.sampled_from(["crash", "log"]),
    )
    async def test_under_the_runtime(
        self,
        autojump_clock: trio.testing.MockClock,
        signals: list[jido.Signal],
        plan: FaultPlan,
        policy: Literal["crash", "log"],
    ) -> None:
        """Under the runtime, each committed state an agent answers with conforms, and so does the last."""
        async with open_test_runtime(faults=plan) as rt:
            ref = await rt.start_agent(Profile, id="profile", error_policy=policy)
            for signal in signals:
                try:
                    answered = await ref.call(signal, timeout=120)
                except jido.JidoError:
                    assert conforms(ref.state)
                    continue
                assert conforms(answered.state)
            assert conforms(ref.state)


# -- supervision under random crashes ------------------------------------------------------------------------


@action(description="Add `by` to the count")
class Add:
    by: int = 1

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@agent
@route("tally.add", Add)
class Tally:
    count: int = 0


def add(by: int) -> jido.Signal:
    return jido.Signal(type="tally.add", source="/properties", data={"by": by})


class SupervisionMachine(RuntimeStateMachine):
    """A model of the root supervisor's restart budget beside the real one."""

    runtime_options: ClassVar[Mapping[str, Any]] = {"max_restarts": 3, "within": 5.0, "escalate": True}

    @initialize(restart=st.sampled_from(["transient", "permanent"]))
    def start(self, restart: Literal["transient", "permanent"]) -> None:
        self.ref = self.run(self.rt.start_agent, Tally, id="tally", restart=restart)
        self.committed = 0
        self.crashes = 0
        self.window: collections.deque[float] = collections.deque()
        self.escalated = False

    def alive(self) -> bool:
        return not self.escalated

    @precondition(alive)
    @rule(by=st.integers(0, 9))
    def add(self, by: int) -> None:
        answered = self.call(self.ref, add(by))
        assert isinstance(answered, jido.Agent), answered
        self.committed += by
        assert answered.state.count == self.committed

    @precondition(alive)
    @rule(how=st.sampled_from(["crash", "fail"]))
    def crash(self, how: str) -> None:
        fault: Fault = CrashAgent("tally", on={1}) if how == "crash" else FailAction("add", on={1})
        with self.faults.using(FaultPlan([fault])):
            answered = self.call(self.ref, add(1))
        assert isinstance(answered, jido.ActionError), answered
        now = self.clock.current_time()
        self.window.append(now)
        while self.window and self.window[0] <= now - 5.0:
            self.window.popleft()
        self.crashes += 1
        self.escalated = len(self.window) > 3
        failure = self.runtime_failure
        if self.escalated:
            assert isinstance(failure, SupervisionError), failure
            assert str(failure).startswith("supervisor 'root' gave up: 4 restarts within 5s (max_restarts=3)")
        else:
            assert failure is None, failure

    @precondition(alive)
    @rule(seconds=st.sampled_from([0.5, 1.0, 2.5, 5.0]))
    def wait(self, seconds: float) -> None:
        self.advance(seconds)

    @precondition(lambda self: self.escalated)
    @rule()
    def start_over(self) -> None:
        """After an escalation its parent starts a new runtime; the agent resumes from its last commit."""
        last = self.ref.agent
        assert last.state.count == self.committed
        self.reopen_runtime()
        self.ref = self.run(self.rt.start_agent, last)
        self.crashes = 0
        self.window.clear()
        self.escalated = False

    @invariant()
    def committed_state_kept(self) -> None:
        if not self.escalated:
            assert self.ref.state.count == self.committed
            assert self.ref.restarts == self.crashes
            assert self.ref.status == "running"


TestSupervisionUnderCrashes = SupervisionMachine.TestCase
TestSupervisionUnderCrashes.settings = STATEFUL


# -- every signal processed or dead-lettered, exactly once ---------------------------------------------------


@action(description="Record that signal number `n` was processed")
class Record:
    n: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"seen": [*ctx.state.seen, self.n]}


@agent(subscribe=["ledger.published"])
@route("ledger.add", Record)
@route("ledger.published", Record)
class Ledger:
    seen: list[int] = attrs.field(factory=list)


def ledger_signal(n: int, kind: str = "add") -> jido.Signal:
    return jido.Signal(type=f"ledger.{kind}", source="/properties", data={"n": n})


class DeliveryMachine(RuntimeStateMachine):
    """Signals numbered as they are sent, through every door; each number ends up processed or dead, once."""

    runtime_options: ClassVar[Mapping[str, Any]] = {
        "max_restarts": 10_000,
        "within": 1.0,
        "mailbox_size": 4,
        "escalate": True,
    }

    @initialize()
    def start(self) -> None:
        self.ref = self.run(self.rt.start_agent, Ledger, id="ledger")
        self.sent: list[int] = []
        self.next = 0
        self.stopped = False

    def number(self) -> int:
        self.next += 1
        self.sent.append(self.next)
        return self.next

    def running(self) -> bool:
        return not self.stopped

    @precondition(running)
    @rule(count=st.integers(1, 6))
    def cast(self, count: int) -> None:
        """Casts wait for room in the mailbox."""
        for _ in range(count):
            self.cast_signal(ledger_signal(self.number()))

    def cast_signal(self, signal: jido.Signal) -> None:
        self.run(self.ref.cast, signal)

    @rule(count=st.integers(1, 8))
    def deliver(self, count: int) -> None:
        """The runtime's own delivery never waits: a full mailbox (or a stopped agent) dead-letters."""

        async def burst() -> None:
            for _ in range(count):
                self.rt.deliver("ledger", ledger_signal(self.number()))

        self.run(burst)

    @rule(count=st.integers(1, 4))
    def publish(self, count: int) -> None:
        """Published on the bus; a stopped agent gets them when it starts again."""

        async def burst() -> None:
            for _ in range(count):
                await self.rt.publish(ledger_signal(self.number(), "published"))

        self.run(burst)

    @precondition(running)
    @rule(fault=st.sampled_from(["crash", "fail", "timeout", "no route"]))
    def poison(self, fault: str) -> None:
        """A signal that crashes the agent is dead-lettered; the agent goes on from its committed state."""
        n = self.number()
        if fault == "no route":
            answered = self.call(self.ref, ledger_signal(n, "unknown"))
            assert isinstance(answered, jido.NoRouteError), answered
            return
        plans = {
            "crash": FaultPlan([CrashAgent("ledger", on={1})]),
            "fail": FaultPlan([FailAction("record", on={1})]),
            "timeout": FaultPlan([TimeoutAction("record", on={1})]),
        }
        with self.faults.using(plans[fault]):
            answered = self.call(self.ref, ledger_signal(n), timeout=60)
        assert isinstance(answered, jido.ActionError), answered

    @precondition(running)
    @rule(
        count=st.integers(1, 3),
        fault=st.one_of(
            jst.delivery_faults(["ledger.published"], max_occurrence=3, delays=(5.0, 60.0)),
            st.just(DropDelivery("ledger.published", limit=5)),  # all 5 attempts of the first: dead-lettered
        ),
    )
    def publish_through_lost_deliveries(self, count: int, fault: Fault) -> None:
        """Published while the bus loses or delays deliveries to the agent: each signal still ends up
        processed or dead-lettered (by the bus, after its attempts), once."""

        async def burst() -> None:
            for _ in range(count):
                last = await self.rt.publish(ledger_signal(self.number(), "published"))
            [sub] = [s for s in self.rt.bus.subscriptions() if s.name.startswith("agent:ledger:")]
            await sub.wait_checkpoint(last)  # every delivery done: acked after handling, or dead-lettered

        with self.faults.using(FaultPlan([fault])):
            self.run(burst)

    @precondition(running)
    @rule(queued=st.integers(0, 3))
    def stop(self, queued: int) -> None:
        """Stopping handles what was queued before the stop; what arrives after it is dead-lettered."""

        async def stop_with_queue() -> None:
            for _ in range(queued):
                self.ref.cast_nowait(ledger_signal(self.number()))
            await self.ref.stop()

        self.run(stop_with_queue)
        self.stopped = True

    @precondition(lambda self: self.stopped)
    @rule()
    def start_again(self) -> None:
        """Started again from its last committed state, under the same id (its bus subscription resumes)."""
        self.ref = self.run(self.rt.start_agent, self.ref.agent)
        self.stopped = False

    @rule(seconds=st.sampled_from([1.0, 30.0]))
    def wait(self, seconds: float) -> None:
        self.advance(seconds)

    def accounted(self) -> list[int]:
        dead = [d.signal.data["n"] for d in self.rt.dead_letters() if isinstance(d.signal.data, dict)]
        # The journal keeps the runtime's dead letters too (record offset 0): count the bus's own only.
        stored = self.run(self.rt.bus.dead_letters)
        lost = [d.record.signal.data["n"] for d in stored if d.record.offset > 0]  # type: ignore[index]
        return list(self.ref.state.seen) + dead + lost

    @invariant()
    def at_most_once(self) -> None:
        """No signal is both processed and dead, or either twice, and nothing unsent shows up."""
        seen = self.accounted()
        duplicates = [n for n, times in collections.Counter(seen).items() if times > 1]
        assert duplicates == [], f"handled more than once: {duplicates}"
        assert set(seen) <= set(self.sent)

    @invariant()
    def at_least_once(self) -> None:
        """While the agent runs, every signal sent so far is accounted for (each rule ends settled); what
        was published while it was stopped is delivered once it runs again."""
        if self.running():
            assert sorted(self.accounted()) == self.sent


TestEverySignalOnce = DeliveryMachine.TestCase
TestEverySignalOnce.settings = STATEFUL


def test_published_while_never_checkpointed() -> None:
    """A signal published while its subscribed agent is stopped reaches the agent once it starts again."""
    machine = DeliveryMachine()
    try:
        machine.ref = machine.run(machine.rt.start_agent, Ledger, id="ledger")
        machine.run(machine.ref.stop)
        machine.run(machine.rt.publish, ledger_signal(1, "published"))
        machine.ref = machine.run(machine.rt.start_agent, machine.ref.agent)
        machine.advance(60)
        assert machine.ref.state.seen == [1]
    finally:
        machine.teardown()


# -- ContentOps: completes or reports failure; total_runs counts completed runs ---------------------------


PLAN_STEPS = [
    "build_run_context",
    "load_policy_bundle",
    "select_work",
    "collect_change_requests",
    "delivery_sink",
    "publish_run_report",
]


# The faults a run may meet: in a step of the workflow, or in recording the completed run.
RUN_FAULTS = jst.action_faults([*PLAN_STEPS, "record_run"], max_occurrence=1, delays=(0.5, 60.0))


@st.composite
def runs(draw: st.DrawFn) -> tuple[str, Fault | None]:
    """A run request: its mode, and maybe a fault on the first attempt of a step or of its recording."""
    mode = draw(st.sampled_from(["hourly", "nightly", "weekly", "monthly"]))
    if draw(st.booleans()):
        return mode, None
    return mode, draw(RUN_FAULTS)


def fails(fault: Fault | None) -> bool:
    """Whether the fault fails what it strikes: a raise, a timeout, or a delay past the 30 s action timeout."""
    return fault is not None and not (isinstance(fault, SlowAction) and fault.delay < 30)


class TestContentOps:
    @RUNTIME_PER_EXAMPLE
    @given(planned=st.lists(runs(), min_size=1, max_size=4), overlap=st.booleans())
    async def test_completes_or_reports_failure(
        self, autojump_clock: trio.testing.MockClock, planned: list[tuple[str, Fault | None]], overlap: bool
    ) -> None:
        """Each run ends completed or failed as its faults decide; total_runs counts the completed ones."""
        faults = FaultInjector()
        async with open_test_runtime(faults=faults) as rt:
            await rt.start_supervisor(ContentOps)
            ref = rt.get("content_ops.orchestrator")
            completed = 0
            for mode, fault in planned:
                with faults.using(FaultPlan([fault] if fault is not None else [])):
                    answered = await ref.call(request(mode))
                    assert answered.state.status == "running"
                    if overlap:
                        with pytest.raises(jido.WorkflowBusyError):
                            await ref.call(request(mode))
                    state = await ref.wait_state(lambda s: s.status != "running", timeout=300)
                if fails(fault):
                    assert state.status == "failed"
                    if getattr(fault, "action", None) != "record_run":
                        assert state.last_error.startswith("plan step ")
                else:
                    completed += 1
                    assert state.status == "completed"
                    assert state.last_run_mode == mode
                assert state.total_runs == completed
            assert ref.restarts == 0

    async def test_recording_failure_is_not_a_completed_run(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run whose recording fails must not read as completed with total_runs unchanged."""
        async with open_test_runtime(faults=FaultPlan([FailAction("record_run", on={1})])) as rt:
            await rt.start_supervisor(ContentOps)
            ref = rt.get("content_ops.orchestrator")
            await ref.call(request("weekly"))
            state = await ref.wait_state(lambda s: s.status != "running", timeout=300)
            assert (state.status, state.total_runs) == ("failed", 0)
