"""jido.testing.plugin: the fixtures, the autojump clock, and the fault report of failed tests."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Mapping
from typing import Any

import pytest
import trio
import trio.testing

import jido
from jido.testing import (
    TEST_START,
    DropDelivery,
    FailAction,
    FailJournalWrite,
    FaultInjector,
    FaultPlan,
    SignalRecorder,
    wait_for_state,
    wait_until,
)
from tests.runtime.agents import Counter, Watcher, sig

pytest_plugins = ["pytester"]


class TestRuntimeFixture:
    async def test_runs_on_the_autojump_clock(self, jido_runtime: jido.Runtime) -> None:
        """A test using jido_runtime runs on a MockClock that jumps when every task waits."""
        clock = trio.lowlevel.current_clock()
        assert isinstance(clock, trio.testing.MockClock)
        assert clock.autojump_threshold == 0
        start = trio.current_time()
        await trio.sleep(3600)
        assert trio.current_time() - start == 3600

    async def test_wall_clock_starts_at_test_start(self, jido_runtime: jido.Runtime) -> None:
        """The runtime's wall clock is a TrioClock at TEST_START, moving with trio's clock."""
        assert isinstance(jido_runtime.clock, jido.TrioClock)
        assert jido_runtime.clock.now() == TEST_START
        await trio.sleep(90)
        assert jido_runtime.clock.now() == TEST_START + dt.timedelta(seconds=90)

    async def test_own_clock_kept(
        self, jido_runtime: jido.Runtime, mock_clock: trio.testing.MockClock
    ) -> None:
        """A test that asks for a clock fixture runs on that clock."""
        assert trio.lowlevel.current_clock() is mock_clock

    async def test_runtime_usable(self, jido_runtime: jido.Runtime) -> None:
        """Agents start and answer in the fixture's runtime."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        agent = await ref.call(sig("add", by=3))
        assert agent.state.count == 3

    async def test_faults_reach_agents(self, jido_runtime: jido.Runtime, jido_faults: FaultInjector) -> None:
        """A plan set on jido_faults strikes the actions of the runtime's agents."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        jido_faults.set_plan(FaultPlan([FailAction("add", on={1})]))
        with pytest.raises(jido.ActionError):
            await ref.call(sig("add", by=3))
        assert (await ref.call(sig("add", by=1))).state.count == 1
        assert len(jido_faults.records) == 1

    async def test_faults_reach_the_bus(self, jido_runtime: jido.Runtime, jido_faults: FaultInjector) -> None:
        """The runtime's bus was opened under jido_faults: its deliveries and journal writes can fail."""
        ref = await jido_runtime.start_agent(Watcher, id="w")
        jido_faults.set_plan(FaultPlan([DropDelivery("counter.changed", on={1}), FailJournalWrite(on={2})]))
        await jido_runtime.publish(sig("changed"))
        with pytest.raises(OSError, match="injected failure of journal write 2"):
            await jido_runtime.publish(sig("changed"))
        await jido_runtime.publish(sig("changed"))
        await wait_for_state(ref, lambda state: state.count == 2, timeout=60)
        assert [type(r.fault).__name__ for r in jido_faults.records] == ["FailJournalWrite", "DropDelivery"]


class TestRuntimeOptions:
    @pytest.fixture
    def jido_runtime_options(self) -> Mapping[str, Any]:
        return {"mailbox_size": 3}

    async def test_options_override(self, jido_runtime: jido.Runtime) -> None:
        """Overriding jido_runtime_options passes options to open_runtime."""
        assert jido_runtime.mailbox_size == 3


class TestSignalRecorder:
    async def test_records_published_signals(
        self, jido_runtime: jido.Runtime, signal_recorder: SignalRecorder
    ) -> None:
        """Signals emitted by agents are recorded, in order."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        await ref.call(sig("announce"))
        await ref.call(sig("announce"))
        [first, second] = await signal_recorder.wait_for("counter.changed", count=2)
        assert (first.data, second.data) == ({"count": 1}, {"count": 2})
        assert signal_recorder.types() == ["counter.changed", "counter.changed"]
        assert signal_recorder.matching("other.*") == []

    async def test_wait_for_fails_with_what_was_recorded(
        self, jido_runtime: jido.Runtime, signal_recorder: SignalRecorder
    ) -> None:
        """A wait that is not met fails (in virtual time) and lists what was recorded."""
        await jido_runtime.publish(jido.Signal(type="a.b", source="/t"))
        with pytest.raises(
            AssertionError,
            match=r"^0 of 1 signal\(s\) matching 'x\.\*' recorded within 5s; recorded types: \['a\.b'\]$",
        ):
            await signal_recorder.wait_for("x.*", timeout=5)

    async def test_clear(self, jido_runtime: jido.Runtime, signal_recorder: SignalRecorder) -> None:
        """clear() forgets what was recorded."""
        await jido_runtime.publish(jido.Signal(type="a.b", source="/t"))
        await signal_recorder.wait_for()
        signal_recorder.clear()
        assert signal_recorder.signals == []

    def test_bad_arguments(self) -> None:
        """Patterns and counts are checked."""
        with pytest.raises(jido.ValidationError):
            SignalRecorder("a..b")
        recorder = SignalRecorder()
        with pytest.raises(ValueError, match=r"^count must be an int >= 1, got 0$"):
            trio.run(lambda: recorder.wait_for(count=0))


class TestWaits:
    async def test_wait_for_state(self, jido_runtime: jido.Runtime) -> None:
        """wait_for_state returns the first committed state that matches."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        await ref.cast(sig("later", delay=8.0))
        state = await wait_for_state(ref, lambda s: s.count >= 100)
        assert state.count == 100

    async def test_wait_for_state_timeout(self, jido_runtime: jido.Runtime) -> None:
        """A state that never comes fails the test, showing the last state."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        with pytest.raises(
            AssertionError,
            match=r"^agent 'c': no committed state matched within 2s; last state: Counter\(count=0, seen=\[\]\)$",
        ):
            await wait_for_state(ref, lambda s: s.count > 0, timeout=2)

    async def test_wait_for_state_stopped(self, jido_runtime: jido.Runtime) -> None:
        """An agent that stops first fails the wait."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        await ref.cast(sig("halt"))
        with pytest.raises(
            AssertionError, match=r"^agent 'c' stopped before its state matched; last state: "
        ):
            await wait_for_state(ref, lambda s: s.count > 0)

    async def test_wait_until(self, jido_runtime: jido.Runtime) -> None:
        """wait_until returns once the condition holds (here: the agent restarted after a crash)."""
        ref = await jido_runtime.start_agent(Counter, id="c")
        await ref.cast(sig("crash"))
        await wait_until(lambda: ref.restarts == 1)
        assert [letter.reason for letter in jido_runtime.dead_letters()] == ["crash"]

    async def test_wait_until_timeout(self, autojump_clock: trio.testing.MockClock) -> None:
        """A condition that never holds fails with the given description."""
        with pytest.raises(AssertionError, match=r"^two dead letters not met within 1s$"):
            await wait_until(lambda: False, timeout=1, message="two dead letters")

    async def test_bad_timeout(self) -> None:
        """Timeouts must be positive numbers."""
        with pytest.raises(ValueError, match=r"^timeout must be a positive number of seconds, got 0$"):
            await wait_until(lambda: True, timeout=0)


class TestInPytest:
    """The plugin as a user's test session sees it."""

    @pytest.fixture
    def session(self, pytester: pytest.Pytester) -> pytest.Pytester:
        pytester.makeini("[pytest]\ntrio_mode = true\naddopts = -p no:cacheprovider\n")
        return pytester

    def test_failed_test_reports_its_faults(self, session: pytest.Pytester) -> None:
        """A failing test that injected faults gets a 'jido faults' report section."""
        session.makepyfile(
            textwrap.dedent(
                """
                import jido
                from jido.testing import FaultPlan, FailAction
                from jido.action.spec import ActionSpec

                SPEC = ActionSpec(name="ping", run=lambda params, ctx: None)

                async def test_fails(jido_faults):
                    jido_faults.set_plan(FaultPlan([FailAction("ping")], seed=4))
                    await jido.run_action(SPEC)

                async def test_passes(jido_faults):
                    jido_faults.set_plan(FaultPlan([FailAction("other")]))
                    await jido.run_action(SPEC)
                """
            )
        )
        result = session.runpytest_inprocess()
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*- jido faults -*",
                "fault plan (seed 4):",
                "  1. FailAction('ping')",
                "faults fired (1):",
                "  FailAction('ping') struck call 1 of action 'ping'",
            ]
        )
        assert result.stdout.str().count("jido faults") == 1

    def test_hypothesis_tests_refused(self, session: pytest.Pytester) -> None:
        """A Hypothesis test asking for the jido fixtures is told to open a runtime per example instead."""
        session.makepyfile(
            textwrap.dedent(
                """
                from hypothesis import HealthCheck, given, settings, strategies as st

                @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=2, database=None)
                @given(st.integers())
                async def test_with_fixture(jido_runtime, n):
                    pass
                """
            )
        )
        result = session.runpytest_inprocess()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "*jido_runtime cannot serve a Hypothesis test: pytest-trio sets async fixtures up once per test, not*"
            ]
        )

    ASYNC_GIVEN = """
        import pytest
        import trio
        from hypothesis import given, settings, strategies as st

        @settings(max_examples=2, database=None)
        @given(st.integers())
        async def test_async_given(n):
            await trio.sleep(0)
    """

    def test_async_hypothesis_test_without_trio_mode(self, pytester: pytest.Pytester) -> None:
        """An async Hypothesis test nothing runs on trio fails with the line of configuration to add."""
        pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
        pytester.makepyfile(textwrap.dedent(self.ASYNC_GIVEN))
        result = pytester.runpytest_inprocess()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "*test_async_given is an async Hypothesis test and nothing runs it on trio: set "
                "`trio_mode = true` under [[]tool.pytest.ini_options[]] (pytest-trio then runs every async "
                "test), or mark the test with @pytest.mark.trio"
            ]
        )

    @pytest.mark.parametrize("how", ["trio_mode", "marker"])
    def test_async_hypothesis_test_on_trio(self, pytester: pytest.Pytester, how: str) -> None:
        """With trio_mode, or marked for trio, the same test runs."""
        ini = "trio_mode = true\n" if how == "trio_mode" else ""
        pytester.makeini(f"[pytest]\n{ini}addopts = -p no:cacheprovider\n")
        code = textwrap.dedent(self.ASYNC_GIVEN)
        if how == "marker":
            code = code.replace("@settings", "@pytest.mark.trio\n@settings")
        pytester.makepyfile(code)
        pytester.runpytest_inprocess().assert_outcomes(passed=1)

    def test_open_test_runtime_in_hypothesis(self, session: pytest.Pytester) -> None:
        """open_test_runtime gives each Hypothesis example its own runtime, faults and autojump clock included."""
        session.makepyfile(
            textwrap.dedent(
                """
                import pytest
                import trio
                from hypothesis import HealthCheck, given, settings, strategies as st
                import jido
                from jido.testing import FaultPlan, FailAction, open_test_runtime, TEST_START
                from tests.runtime.agents import Counter, Watcher, sig

                @settings(
                    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=5, database=None
                )
                @given(st.integers(1, 3))
                async def test_each_example(autojump_clock, n):
                    async with open_test_runtime(faults=FaultPlan([FailAction("add", on={n})])) as rt:
                        assert rt.clock.now() == TEST_START
                        ref = await rt.start_agent(Counter, id="c")
                        for i in range(1, 4):
                            if i == n:
                                with pytest.raises(jido.ActionError):
                                    await ref.call(sig("add", by=1))
                            else:
                                await ref.call(sig("add", by=1))
                        assert ref.state.count == 2
                        await trio.sleep(60)
                """
            )
        )
        session.runpytest_inprocess().assert_outcomes(passed=1)

    def test_sync_tests_untouched(self, session: pytest.Pytester) -> None:
        """Sync tests and trio tests without jido fixtures run as before."""
        session.makepyfile(
            textwrap.dedent(
                """
                import trio

                def test_sync():
                    assert True

                async def test_trio():
                    assert not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
                """
            )
        )
        session.runpytest_inprocess().assert_outcomes(passed=2)


class TestFailureReports:
    """What a failing test shows: the user's lines and the story, not our frames or other examples' logs."""

    @pytest.fixture
    def session(self, pytester: pytest.Pytester) -> pytest.Pytester:
        pytester.makeini("[pytest]\ntrio_mode = true\naddopts = -p no:cacheprovider -p no:randomly\n")
        return pytester

    def test_check_invariant_failure_shows_no_frame_of_ours(self, session: pytest.Pytester) -> None:
        """A violated invariant is reported at the test's line, with its message, and no jido source."""
        session.makepyfile(
            textwrap.dedent(
                """
                from typing import Any
                from hypothesis import settings
                from jido.action.spec import ActionSpec
                from jido.agent.spec import AgentSpec, RouteSpec
                from jido.agent.state import StateMapping
                from jido.testing import check_invariant
                import attrs

                @attrs.frozen
                class State(StateMapping):
                    n: int = 5

                DOWN = ActionSpec(name="down", run=lambda params, ctx: {"n": ctx.state.n - 3})
                THING = AgentSpec(name="thing", state=State, routes=[RouteSpec("down", DOWN)])

                def test_positive():
                    check_invariant(THING, lambda state: state.n >= 0, name="positive", faults=(),
                                    settings=settings(derandomize=True, database=None))
                """
            )
        )
        result = session.runpytest_inprocess()
        result.assert_outcomes(failed=1)
        output = result.stdout.str()
        assert "invariant 'positive' violated after step 2 of 2: returned False" in output
        assert "jido/testing" not in output and "hypothesis/core.py" not in output, output

    def test_failed_wait_shows_no_frame_of_ours(self, session: pytest.Pytester) -> None:
        """A wait that times out fails at the test's await, with the last state."""
        session.makepyfile(
            textwrap.dedent(
                """
                from jido.testing import wait_until

                async def test_wait(jido_runtime):
                    await wait_until(lambda: False, timeout=5, message="nothing")
                """
            )
        )
        result = session.runpytest_inprocess()
        result.assert_outcomes(failed=1)
        output = result.stdout.str()
        assert "AssertionError: nothing not met within 5s" in output
        assert "helpers.py" not in output, output

    def test_property_failure_shows_only_its_own_example_logs(self, session: pytest.Pytester) -> None:
        """Logs of the examples that passed are dropped; the failing one's are attached to its failure."""
        session.makepyfile(
            textwrap.dedent(
                """
                import attrs
                import trio
                import trio.testing
                from hypothesis import given, settings, strategies as st

                import jido
                from jido.action.spec import ActionSpec
                from jido.agent.spec import AgentSpec, RouteSpec
                from jido.agent.state import StateMapping
                from jido.testing import CrashAgent, FaultPlan, open_test_runtime

                @attrs.frozen
                class State(StateMapping):
                    n: int = 0

                ADD = ActionSpec(name="add", run=lambda params, ctx: {"n": ctx.state.n + 1})
                THING = AgentSpec(name="thing", state=State, routes=[RouteSpec("add", ADD)])

                @settings(max_examples=20, derandomize=True, database=None)
                @given(st.integers(0, 10))
                def test_crashes(k):
                    async def scenario():
                        async with open_test_runtime(faults=FaultPlan([CrashAgent("thing", on={1})])) as rt:
                            ref = await rt.start_agent(THING, id="thing")
                            try:
                                await ref.call(jido.Signal(type="add", source="/t"))
                            except jido.ActionError:
                                pass
                            assert k < 5, k

                    trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
                """
            )
        )
        result = session.runpytest_inprocess()
        result.assert_outcomes(failed=1)
        output = result.stdout.str()
        assert "Captured log" not in output, output
        assert output.count("injected crash of agent 'thing' on its signal 1") >= 1
        assert "jido log of this example:" in output
        assert output.count("Traceback (most recent call last)") == 0, output
