"""Property tests for the Demand Tracker under injected failures: a pytest file to copy into your project.

What it proves, whatever signals arrive and whatever fails on the way:

* demand always stays within 0..100 and ticks never go negative (the pure core, with faulted steps);
* a crash never loses committed demand, and every change is announced (the runtime, with the fixtures);
* the same invariants hold for the agent under its runtime, over random signals and fault plans;
* a long-lived runtime driven by a Hypothesis state machine keeps them too, across crashes and cron ticks.

Run it with ``pytest examples/property_test_demand.py`` (pytest collects ``property_test_*.py`` here; name
your copy ``test_*.py``), or ``python examples/property_test_demand.py``. Faults that fired in a failing
test are listed in its report; ``--hypothesis-profile=thorough`` runs many more examples if you register one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

import jido
from jido.testing import (
    CrashAgent,
    Fault,
    FaultInjector,
    FaultPlan,
    RuntimeStateMachine,
    SignalRecorder,
    check_invariant,
    open_test_runtime,
)
from jido.testing import strategies as jst

if TYPE_CHECKING:  # checkers see the module as this repository lays it out
    from examples.demand_tracker import DemandTracker, demand_signal
else:
    try:
        from examples.demand_tracker import DemandTracker, demand_signal
    except (
        ImportError
    ):  # run as a script (python examples/property_test_demand.py): its folder is on sys.path
        from demand_tracker import DemandTracker, demand_signal

ACTIONS = ["boost", "cool", "decay", "heartbeat", "cleanup"]


def demand_in_range(state: Any) -> bool:
    demand: int = state.demand
    return 0 <= demand <= 100


def ticks_never_negative(state: Any) -> bool:
    ticks: int = state.ticks
    return ticks >= 0


# -- the pure core: instruction sequences with faults ------------------------------------------------------


def test_demand_stays_within_range() -> None:
    """Any sequence of the tracker's actions, some failing, timing out or slowed, keeps demand in 0..100."""
    check_invariant(DemandTracker, demand_in_range)


def test_ticks_never_negative_from_any_start() -> None:
    """From any valid start state, ticks never go negative."""
    start = jst.from_schema(
        DemandTracker,
        demand=st.integers(0, 100),
        ticks=st.integers(0, 1_000),
        listing_id=st.just("demo-listing"),
    )
    check_invariant(DemandTracker, ticks_never_negative, initial=start)


# -- the runtime, with the plugin's fixtures ---------------------------------------------------------------


async def test_crash_keeps_committed_demand(jido_runtime: jido.Runtime, jido_faults: FaultInjector) -> None:
    """A crash on the second signal dead-letters it; the restarted agent resumes from the committed demand."""
    ref = await jido_runtime.start_agent(DemandTracker, id="tracker")
    jido_faults.set_plan(FaultPlan([CrashAgent("tracker", on={2})]))
    await ref.call(demand_signal("boost", amount=30))
    with pytest.raises(jido.ActionError):
        await ref.call(demand_signal("boost", amount=5))
    agent = await ref.call(demand_signal("cool", amount=10))
    assert agent.state.demand == 70
    assert ref.restarts == 1
    assert [letter.reason for letter in jido_runtime.dead_letters()] == ["crash"]


async def test_changes_are_announced(jido_runtime: jido.Runtime, signal_recorder: SignalRecorder) -> None:
    """Each change of demand is published once as listing.demand.changed, with its delta."""
    ref = await jido_runtime.start_agent(DemandTracker, id="tracker")
    await ref.call(demand_signal("boost", amount=60))
    await ref.call(demand_signal("cool", amount=0))
    [changed] = await signal_recorder.wait_for("listing.demand.changed")
    assert (changed.data["previous"], changed.data["current"], changed.data["delta"]) == (50, 100, 50)


# -- the runtime under random signals and fault plans ------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    signals=st.lists(jst.signals_for(DemandTracker), max_size=8),
    plan=jst.fault_plans(ACTIONS, agents=["tracker"]),
)
async def test_runtime_keeps_the_invariants(
    autojump_clock: trio.testing.MockClock, signals: list[jido.Signal], plan: FaultPlan
) -> None:
    """Whatever arrives and whatever fails, every committed state keeps both invariants."""
    async with open_test_runtime(faults=plan) as rt:
        ref = await rt.start_agent(DemandTracker, id="tracker")
        for signal in signals:
            try:
                # Long enough for any fault: an action times out after 30 s, whatever delays it.
                agent = await ref.call(signal, timeout=120)
            except jido.JidoError:
                continue  # refused or failed: nothing was committed
            assert demand_in_range(agent.state)
            assert ticks_never_negative(agent.state)


# -- a long-lived runtime under a Hypothesis state machine -------------------------------------------------


class TrackerMachine(RuntimeStateMachine):
    """Signals, faults, crashes and the passing of time, on one runtime; the invariants hold between steps."""

    @initialize()
    def start(self) -> None:
        self.ref = self.run(self.rt.start_agent, DemandTracker, id="tracker")

    @rule(kind=st.sampled_from(["boost", "cool", "tick"]), amount=st.integers(0, 150))
    def send(self, kind: str, amount: int) -> None:
        self.call(self.ref, demand_signal(kind, amount=amount) if kind != "tick" else demand_signal(kind))

    @rule(fault=jst.action_faults(ACTIONS, agent="tracker"))
    def inject(self, fault: Fault) -> None:
        self.faults.set_plan(FaultPlan([fault]))

    @rule()
    def crash_on_next_signal(self) -> None:
        self.faults.set_plan(FaultPlan([CrashAgent("tracker", on={1})]))

    @rule(minutes=st.integers(1, 30))
    def let_time_pass(self, minutes: int) -> None:
        self.advance(minutes * 60)  # the cron heartbeat decays demand every 5 minutes

    @invariant()
    def demand_in_range(self) -> None:
        assert demand_in_range(self.ref.state), self.ref.state

    @invariant()
    def ticks_never_negative(self) -> None:
        assert ticks_never_negative(self.ref.state), self.ref.state


TestTrackerMachine = TrackerMachine.TestCase
TestTrackerMachine.settings = settings(stateful_step_count=10, deadline=None)


if __name__ == "__main__":
    exit_code = pytest.main([__file__, "-q", "-p", "no:cacheprovider"])
    if exit_code:
        raise SystemExit(exit_code)
