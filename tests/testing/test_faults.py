"""jido.testing.faults: declaring faults, the action interceptor hook, and injecting faults into actions and agents."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing

import jido
from jido.action.exec import action_interceptor, execute, execute_sync
from jido.action.spec import ActionContext
from jido.errors import ActionError, ActionTimeoutError, DefinitionError
from jido.testing import (
    CrashAgent,
    CutConnection,
    DelayDelivery,
    DropDelivery,
    FailAction,
    FailJournalWrite,
    Fault,
    FaultInjector,
    FaultPlan,
    FaultRecord,
    InjectedCrash,
    InjectedTimeout,
    SlowAction,
    TimeoutAction,
    UnsupportedFaultError,
    inject_faults,
)
from tests.runtime.agents import Counter, sig


@attrs.frozen
class By:
    by: int = 1


def _add(params: By, ctx: ActionContext) -> dict[str, Any]:
    return {"total": params.by + 1}


async def _add_async(params: By, ctx: ActionContext) -> dict[str, Any]:
    await trio.lowlevel.checkpoint()
    return {"total": params.by + 1}


ADD = jido.ActionSpec(name="add", run=_add, params=By, timeout=10.0)
ADD_ASYNC = jido.ActionSpec(name="add_async", run=_add_async, params=By, timeout=10.0)
RETRIED = jido.ActionSpec(
    name="add",
    run=_add,
    params=By,
    timeout=10.0,
    retry=jido.RetryPolicy(max_attempts=3, backoff=0.0, jitter=0),
)
NO_DEADLINE = jido.ActionSpec(name="add", run=_add_async, params=By, timeout=math.inf)
CTX = ActionContext()


def instruction(spec: jido.ActionSpec = ADD, by: int = 1) -> jido.Instruction:
    return jido.Instruction(spec, {"by": by})


class TestFaultDeclarations:
    def test_repr_shows_only_what_differs_from_defaults(self) -> None:
        """A fault's repr is the call that makes it, without its defaults."""
        assert repr(FailAction("boost", on={3, 1})) == "FailAction('boost', on={1, 3})"
        assert repr(SlowAction("fetch", delay=1.5, agent="a", probability=0.25)) == (
            "SlowAction('fetch', delay=1.5, agent='a', probability=0.25)"
        )
        assert repr(CrashAgent("tracker", on=2, limit=1)) == "CrashAgent('tracker', on={2}, limit=1)"
        assert repr(FailAction("x", error=ConnectionError)) == "FailAction('x', error=ConnectionError)"

    def test_on_accepts_one_number(self) -> None:
        """on=2 means the 2nd occurrence."""
        assert FailAction("a", on=2).on == frozenset({2})

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"on": {0}}, r"^on must hold occurrence numbers >= 1 \(1 is the first\), got 0$"),
            ({"on": {True}}, r"^on must hold occurrence numbers >= 1 \(1 is the first\), got True$"),
            ({"on": set()}, r"^on must name at least one occurrence; leave it out to strike every time$"),
            ({"on": "12"}, r"^on must be a set of occurrence numbers >= 1, got '12'$"),
            ({"probability": 0}, r"^probability must be a number within \(0, 1\], got 0$"),
            ({"probability": 1.5}, r"^probability must be a number within \(0, 1\], got 1.5$"),
            ({"limit": 0}, r"^limit must be an int >= 1, got 0$"),
            ({"on": {1}, "probability": 0.5}, r"^FailAction: give on= or probability=, not both$"),
            (
                {"error": "boom"},
                r"^error must be an exception class or a function returning an exception, got 'boom'$",
            ),
        ],
    )
    def test_bad_fields_refused(self, kwargs: dict[str, Any], message: str) -> None:
        """A fault with a bad field is refused when declared, naming the field."""
        with pytest.raises(DefinitionError, match=message):
            FailAction("a", **kwargs)

    def test_bad_names_refused(self) -> None:
        """Action names and agent ids must be non-empty strings; a delay positive and finite."""
        with pytest.raises(DefinitionError, match=r"^action must be a non-empty string, got ''$"):
            FailAction("")
        with pytest.raises(DefinitionError, match=r"^agent must be a non-empty string, got 3$"):
            CrashAgent(3)  # type: ignore[arg-type]
        with pytest.raises(
            DefinitionError, match=r"^delay must be a positive, finite number of seconds, got inf$"
        ):
            SlowAction("a", delay=math.inf)

    def test_fault_base_is_abstract(self) -> None:
        """Fault itself cannot be planned: it says nothing about where it strikes."""
        with pytest.raises(DefinitionError, match=r"^Fault is abstract: use FailAction, "):
            Fault()

    def test_bus_and_gateway_faults_check_their_fields(self) -> None:
        """Delivery, connection and journal faults are checked when declared, naming the field."""
        with pytest.raises(DefinitionError, match=r"^pattern: "):
            DropDelivery("a..b")
        with pytest.raises(DefinitionError, match=r"^pattern must be a router pattern string, got 3$"):
            DelayDelivery(3)  # type: ignore[arg-type]
        with pytest.raises(DefinitionError, match=r"^subscription must be a non-empty string, got ''$"):
            DropDelivery(subscription="")
        with pytest.raises(
            DefinitionError, match=r"^connection must be a gateway connection id \(an int >= 1\), got '1'$"
        ):
            CutConnection(connection="1")  # type: ignore[arg-type]
        with pytest.raises(
            DefinitionError, match=r"^write must be one of 'append', 'checkpoint', 'dead_letter'"
        ):
            FailJournalWrite(write="read")
        with pytest.raises(DefinitionError, match=r"^error must be an exception class or a function"):
            FailJournalWrite(error=OSError("not callable"))  # type: ignore[arg-type]
        assert repr(DelayDelivery("orders.*", delay=2.0)) == "DelayDelivery(pattern='orders.*', delay=2.0)"
        assert repr(FailJournalWrite(write=None, on={2})) == "FailJournalWrite(write=None, on={2})"
        assert repr(CutConnection(connection=2)) == "CutConnection(connection=2)"


class TestFaultPlan:
    def test_every_kind_can_be_planned(self) -> None:
        """Every kind of fault is accepted by a plan and described on its own line."""
        plan = FaultPlan(
            [DropDelivery(), DelayDelivery("orders.**", delay=0.5), CutConnection(), FailJournalWrite(on={1})]
        )
        assert plan.describe().splitlines()[1:] == [
            "  1. DropDelivery()",
            "  2. DelayDelivery(pattern='orders.**', delay=0.5)",
            "  3. CutConnection()",
            "  4. FailJournalWrite(on={1})",
        ]
        FaultInjector(plan)  # and an injector can carry it out

    def test_unsupported_is_a_not_implemented_error(self) -> None:
        """UnsupportedFaultError is a JidoError and a NotImplementedError."""
        assert issubclass(UnsupportedFaultError, jido.JidoError)
        assert issubclass(UnsupportedFaultError, NotImplementedError)

    def test_items_must_be_faults(self) -> None:
        """Anything but a fault in a plan is refused, by position."""
        with pytest.raises(DefinitionError, match=r"^FaultPlan faults\[1\]: expected a Fault, got 'boom'$"):
            FaultPlan([FailAction("a"), "boom"])  # type: ignore[list-item]

    def test_seed_must_be_an_int(self) -> None:
        """The seed is an int."""
        with pytest.raises(DefinitionError, match=r"^FaultPlan seed must be an int, got '7'$"):
            FaultPlan([], seed="7")  # type: ignore[arg-type]

    def test_single_fault_accepted(self) -> None:
        """A single fault is a plan of one."""
        assert FaultPlan(FailAction("a")).faults == (FailAction("a"),)  # type: ignore[arg-type]

    def test_repr_and_describe(self) -> None:
        """A plan shows its faults and seed."""
        plan = FaultPlan([FailAction("a", on={2}), CrashAgent("t")], seed=5)
        assert repr(plan) == "FaultPlan([FailAction('a', on={2}), CrashAgent('t')], seed=5)"
        assert plan.describe() == "fault plan (seed 5):\n  1. FailAction('a', on={2})\n  2. CrashAgent('t')"
        assert FaultPlan().describe() == "no faults planned"


class TestInterceptorHook:
    def test_unset_by_default(self) -> None:
        """No interceptor is installed unless a test installs one."""
        assert action_interceptor.get() is None

    def test_interceptor_replaces_run(self) -> None:
        """An installed interceptor is called once per attempt, in place of run, with sync=True under execute_sync."""
        calls: list[tuple[str, Any, bool]] = []

        def interceptor(spec: jido.ActionSpec, params: Any, ctx: ActionContext, sync: bool) -> object:
            calls.append((spec.name, params, sync))
            return {"total": 99}

        token = action_interceptor.set(interceptor)
        try:
            result = execute_sync(instruction(), CTX)
        finally:
            action_interceptor.reset(token)
        assert result.value == {"total": 99}
        assert calls == [("add", By(1), True)]

    async def test_interceptor_under_trio(self) -> None:
        """Under execute the interceptor gets sync=False, and its raise counts as run's failure."""
        seen: list[bool] = []

        def interceptor(spec: jido.ActionSpec, params: Any, ctx: ActionContext, sync: bool) -> object:
            seen.append(sync)
            raise ConnectionError("down")

        token = action_interceptor.set(interceptor)
        try:
            with pytest.raises(
                ActionError, match=r"^action 'add' failed: ConnectionError\('down'\)$"
            ) as info:
                await execute(instruction(), CTX)
        finally:
            action_interceptor.reset(token)
        assert seen == [False]
        assert isinstance(info.value.__cause__, ConnectionError)


class TestActionFaults:
    async def test_fail_on_chosen_calls(self) -> None:
        """FailAction strikes exactly the chosen calls; the others run."""
        with inject_faults([FailAction("add", on={2, 3})]) as faults:
            outcomes: list[str] = []
            for _ in range(4):
                try:
                    await execute(instruction(), CTX)
                except ActionError as exc:
                    outcomes.append(type(exc.__cause__).__name__)
                else:
                    outcomes.append("ok")
        assert outcomes == ["ok", "InjectedError", "InjectedError", "ok"]
        assert [r.occurrence for r in faults.records] == [2, 3]

    async def test_injected_error_message(self) -> None:
        """The default injected error names the action and the call."""
        with (
            inject_faults([FailAction("add")]),
            pytest.raises(
                ActionError,
                match=r"""^action 'add' failed: InjectedError\("injected failure of action 'add' on call 1"\)$""",
            ),
        ):
            await execute(instruction(), CTX)

    async def test_retries_count_as_calls(self) -> None:
        """Each attempt is a call: failing the first two attempts of a 3-attempt policy still succeeds."""
        with inject_faults([FailAction("add", on={1, 2})]) as faults:
            result = await execute(instruction(RETRIED), CTX)
        assert result.value == {"total": 2}
        assert len(faults.records) == 2

    async def test_not_retryable_error(self) -> None:
        """FailAction(retryable=False) is not retried."""
        with inject_faults([FailAction("add", retryable=False)]), pytest.raises(ActionError) as info:
            await execute(instruction(RETRIED), CTX)
        assert info.value.attempts == 1
        assert info.value.retryable is False

    async def test_custom_error(self) -> None:
        """error= picks what the attempt raises."""
        with (
            inject_faults([FailAction("add", error=lambda: KeyError("k"))]),
            pytest.raises(ActionError) as info,
        ):
            await execute(instruction(), CTX)
        assert isinstance(info.value.__cause__, KeyError)

    async def test_timeout_under_trio(self, autojump_clock: trio.testing.MockClock) -> None:
        """TimeoutAction makes the attempt run out of its own time: an ActionTimeoutError."""
        for spec in (ADD, ADD_ASYNC):
            with (
                inject_faults([TimeoutAction(spec.name)]),
                pytest.raises(ActionTimeoutError, match=rf"^action '{spec.name}' timed out after 10s$"),
            ):
                await execute(instruction(spec), CTX)

    async def test_timeout_without_deadline(self) -> None:
        """An attempt without any deadline cannot time out: the fault says so."""
        with inject_faults([TimeoutAction("add")]), pytest.raises(ActionError) as info:
            await execute(instruction(NO_DEADLINE), CTX)
        assert isinstance(info.value.__cause__, UnsupportedFaultError)
        assert str(info.value.__cause__) == "cannot time out action 'add': its attempt has no deadline"

    def test_timeout_without_event_loop(self) -> None:
        """Without an event loop a timeout fault raises InjectedTimeout, a retryable TimeoutError."""
        with inject_faults([TimeoutAction("add")]) as faults, pytest.raises(ActionError) as info:
            execute_sync(instruction(), CTX)
        assert isinstance(info.value.__cause__, InjectedTimeout)
        assert info.value.retryable is True
        assert faults.records[0].note == "no event loop: raised InjectedTimeout"

    async def test_slow_within_deadline(self, autojump_clock: trio.testing.MockClock) -> None:
        """SlowAction delays the attempt by its delay, and the action still completes."""
        for spec in (ADD, ADD_ASYNC):
            start = trio.current_time()
            with inject_faults([SlowAction(spec.name, delay=4.0)]):
                result = await execute(instruction(spec), CTX)
            assert result.value == {"total": 2}
            assert trio.current_time() - start == pytest.approx(4.0)

    async def test_slow_past_deadline_times_out(self, autojump_clock: trio.testing.MockClock) -> None:
        """A delay past the action's timeout is a timeout."""
        with inject_faults([SlowAction("add", delay=60.0)]), pytest.raises(ActionTimeoutError):
            await execute(instruction(), CTX)

    def test_slow_without_event_loop(self) -> None:
        """Without an event loop a slow fault has no effect, and the record says so."""
        with inject_faults([SlowAction("add", delay=5.0)]) as faults:
            assert execute_sync(instruction(), CTX).value == {"total": 2}
        assert faults.records[0].note == "no event loop: no delay"

    async def test_other_actions_untouched(self) -> None:
        """A fault on one action leaves the others alone."""
        with inject_faults([FailAction("other")]) as faults:
            assert (await execute(instruction(), CTX)).value == {"total": 2}
        assert faults.records == ()

    async def test_agent_scope(self) -> None:
        """A fault scoped to an agent strikes only attempts inside that agent."""
        with inject_faults([FailAction("add", agent="a")]):
            assert (await execute(instruction(), ActionContext(agent_id="b"))).value == {"total": 2}
            with pytest.raises(ActionError):
                await execute(instruction(), ActionContext(agent_id="a"))

    async def test_limit(self) -> None:
        """limit caps how many times a fault strikes."""
        with inject_faults([FailAction("add", limit=2)]) as faults:
            for _ in range(4):
                with contextlib.suppress(ActionError):
                    await execute(instruction(), CTX)
        assert [r.occurrence for r in faults.records] == [1, 2]

    async def test_probability_is_seeded(self) -> None:
        """The same plan strikes the same calls; another seed strikes others."""

        async def struck(seed: int) -> list[int]:
            with inject_faults(FaultPlan([FailAction("add", probability=0.5)], seed=seed)) as faults:
                for _ in range(40):
                    with contextlib.suppress(ActionError):
                        await execute(instruction(), CTX)
            return [r.occurrence for r in faults.records]

        first = await struck(1)
        assert first == await struck(1)
        assert first != await struck(2)
        assert 5 < len(first) < 35

    async def test_adding_a_fault_keeps_the_draws_of_others(self) -> None:
        """A fault's random draws depend on its position, not on the faults after it."""

        async def struck(plan: FaultPlan) -> list[int]:
            with inject_faults(plan) as faults:
                for _ in range(30):
                    with contextlib.suppress(ActionError):
                        await execute(instruction(), CTX)
            return [r.occurrence for r in faults.records if r.fault.action == "add"]  # type: ignore[attr-defined]

        alone = await struck(FaultPlan([FailAction("add", probability=0.3)], seed=3))
        beside = await struck(FaultPlan([FailAction("add", probability=0.3), FailAction("x")], seed=3))
        assert alone == beside


class TestInjector:
    async def test_set_plan_reaches_running_code(self) -> None:
        """Changing the plan of an installed injector changes the faults at once, with fresh counters."""
        injector = FaultInjector()
        with injector.install():
            await execute(instruction(), CTX)
            injector.set_plan(FaultPlan([FailAction("add", on={1})]))
            with pytest.raises(ActionError):
                await execute(instruction(), CTX)

    async def test_using_restores_the_plan(self) -> None:
        """using(plan) puts the plan in force inside the block only."""
        injector = FaultInjector(FaultPlan([FailAction("x")]))
        with injector.install():
            with injector.using(FaultPlan([FailAction("add")])), pytest.raises(ActionError):
                await execute(instruction(), CTX)
            assert injector.plan == FaultPlan([FailAction("x")])
            await execute(instruction(), CTX)

    def test_install_resets_the_context_variable(self) -> None:
        """Leaving install() restores the interceptor there was before."""
        with FaultInjector().install() as injector:
            assert action_interceptor.get() is injector
        assert action_interceptor.get() is None

    def test_set_plan_checks_its_argument(self) -> None:
        """set_plan takes a FaultPlan."""
        with pytest.raises(TypeError, match=r"^expected a FaultPlan, got list$"):
            FaultInjector().set_plan([])  # type: ignore[arg-type]

    async def test_report(self) -> None:
        """report() lists the plan and what fired; clear() forgets the records."""
        with inject_faults([FailAction("add", on={2})]) as faults:
            assert faults.report() == "fault plan (seed 0):\n  1. FailAction('add', on={2})\nno fault fired"
            await execute(instruction(), CTX)
            with pytest.raises(ActionError):
                await execute(instruction(), CTX)
        assert faults.report() == (
            "fault plan (seed 0):\n  1. FailAction('add', on={2})\n"
            "faults fired (1):\n  FailAction('add', on={2}) struck call 2 of action 'add'"
        )
        faults.clear()
        assert faults.records == ()

    def test_record_text(self) -> None:
        """A record says what struck, which call or signal, where."""
        record = FaultRecord(FailAction("add"), 3, "add", "a", "counter.add")
        assert str(record) == "FailAction('add') struck call 3 of action 'add' in agent 'a' ('counter.add')"
        crash = FaultRecord(CrashAgent("a"), 2, "add", "a", "counter.add")
        assert str(crash) == "CrashAgent('a') struck signal 2 ('counter.add') of agent 'a', in action 'add'"


class TestAgentFaults:
    async def test_crash_agent_on_its_nth_signal(self, autojump_clock: trio.testing.MockClock) -> None:
        """CrashAgent crashes the agent's server on its n-th signal: dead letter, restart, state kept."""
        with inject_faults([CrashAgent("c", on={2})]) as faults:
            async with jido.open_runtime() as rt:
                ref = await rt.start_agent(Counter, id="c")
                await ref.call(sig("add", by=5))
                with pytest.raises(ActionError) as info:
                    await ref.call(sig("add", by=1))
                assert isinstance(info.value.__cause__, InjectedCrash)
                agent = await ref.call(sig("add", by=2))
                assert agent.state.count == 7
                assert ref.restarts == 1
                [letter] = rt.dead_letters()
                assert (letter.reason, letter.agent_id) == ("crash", "c")
        [record] = faults.records
        assert (record.occurrence, record.signal_type) == (2, "counter.add")

    async def test_crash_counts_signals_not_attempts(self) -> None:
        """A signal's retried or further attempts are one occurrence for CrashAgent."""
        spec = jido.ActionSpec(
            name="add", run=_add, params=By, retry=jido.RetryPolicy(max_attempts=3, backoff=0)
        )
        signal = sig("add", by=1)
        ctx = ActionContext(agent_id="c", signal=signal)
        with inject_faults([CrashAgent("c", on={2}), FailAction("add", on={1})]) as faults:
            await execute(jido.Instruction(spec, {"by": 1}), ctx)  # two attempts, one signal
            with pytest.raises(ActionError) as info:
                await execute(jido.Instruction(spec, {"by": 1}), attrs.evolve(ctx, signal=sig("add", by=2)))
        assert info.value.attempts == 1  # an injected crash is never retried
        assert [type(r.fault).__name__ for r in faults.records] == ["FailAction", "CrashAgent"]

    async def test_crash_of_another_agent(self) -> None:
        """CrashAgent leaves other agents and code outside agents alone."""
        with inject_faults([CrashAgent("c")]) as faults:
            await execute(instruction(), ActionContext(agent_id="d"))
            await execute(instruction(), CTX)
        assert faults.records == ()
