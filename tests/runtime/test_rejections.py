"""Rejections are not crashes: a signal no route accepts, or whose data does not fit the action's params, is
answered with the error and dead-lettered; the agent goes on as it was, under every error policy."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing

from dsl import agent, route
from jido.errors import NoRouteError, ValidationError
from jido.runtime.runtime import open_runtime
from jido.runtime.server import ErrorPolicy, StopAfter
from jido.signal import Signal

from .agents import Add, Counter, sig

POLICIES: list[ErrorPolicy] = ["crash", "log", StopAfter(1)]


@agent(subscribe=["counter.*"])
@route("counter.add", Add)
class Subscriber:
    count: int = 0
    seen: list[int] = attrs.field(factory=list)


class TestCalls:
    @pytest.mark.parametrize("policy", POLICIES, ids=["crash", "log", "stop_after_1"])
    async def test_unroutable_call_rejected(self, policy: ErrorPolicy) -> None:
        """A call no route accepts gets NoRouteError; the agent neither restarts nor stops."""
        async with open_runtime(max_restarts=1, within=60.0) as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy=policy)
            for _ in range(20):
                with pytest.raises(NoRouteError, match=r"^no route for signal type 'counter\.nobody' "):
                    await ref.call(sig("nobody"))
            agent = await ref.call(sig("add", by=2))
            assert agent.state.count == 2
            assert (ref.status, ref.restarts, ref.rejected, ref.errors) == ("running", 0, 20, 20)
            reasons = {d.reason for d in rt.dead_letters(agent_id="c")}
            assert reasons == {"no_route"}

    @pytest.mark.parametrize("policy", POLICIES, ids=["crash", "log", "stop_after_1"])
    async def test_invalid_params_rejected(self, policy: ErrorPolicy) -> None:
        """A call whose data does not fit the params gets a ValidationError naming $.data.<field>."""
        async with open_runtime(max_restarts=1, within=60.0) as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy=policy)
            await ref.call(sig("add", by=1))
            for _ in range(20):
                with pytest.raises(
                    ValidationError, match=r'^invalid add params:\n\$\.data\.by: expected int, got "x"$'
                ):
                    await ref.call(sig("add", by="x"))
            assert ref.state.count == 1
            assert (ref.status, ref.restarts, ref.rejected) == ("running", 0, 20)
            assert {d.reason for d in rt.dead_letters(agent_id="c")} == {"invalid_params"}

    async def test_unknown_key_rejected(self) -> None:
        """An unknown key in the data is an invalid_params rejection naming its path."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(
                ValidationError, match=r"^invalid add params:\n\$\.data: unknown field\(s\): bye$"
            ):
                await ref.call(sig("add", bye=1))
            assert ref.restarts == 0

    async def test_casts_rejected_without_restart(self) -> None:
        """1,000 bad casts, mixed unroutable and invalid, leave the agent running with its state."""
        async with open_runtime(max_restarts=1, within=60.0) as rt:
            ref = await rt.start_agent(Counter, id="c", mailbox_size=2048)
            bystander = await rt.start_agent(Counter, id="bystander")
            for i in range(1000):
                ref.cast_nowait(sig("nobody") if i % 2 else sig("add", by=str(i)))
            agent = await ref.call(sig("add", by=3))
            assert agent.state.count == 3
            assert (ref.restarts, ref.rejected) == (0, 1000)
            assert (await bystander.call(sig("add", by=1))).state.count == 1
            assert rt.statistics().dead_letters == 1000

    async def test_crash_still_restarts(self) -> None:
        """An exception raised while an action runs is still a crash: the agent restarts."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(Exception, match="poison"):
                await ref.call(sig("crash"))
            await ref.call(sig("add"))
            assert (ref.restarts, ref.rejected) == (1, 0)


class TestBus:
    async def test_published_invalid_signals_rejected(self) -> None:
        """Bad signals published to a subscribing agent are rejected and acked; the agent goes on."""
        async with open_runtime(max_restarts=1, within=60.0) as rt:
            ref = await rt.start_agent(Subscriber, id="s")
            for i in range(200):
                data: Any = {"by": "x"} if i % 2 else {"by": 1, "extra": True}
                await rt.publish(Signal(type="counter.add", source="/test", data=data))
                await rt.publish(Signal(type="counter.unknown", source="/test"))
            await rt.publish(Signal(type="counter.add", source="/test", data={"by": 5}))
            await ref.wait_state(lambda state: state.count == 5)
            assert (ref.restarts, ref.rejected, ref.status) == (0, 400, "running")
            await trio.testing.wait_all_tasks_blocked()
            [sub] = [s for s in rt.bus.subscriptions() if s.name.startswith("agent:s:")]
            assert sub.statistics(await rt.bus.journal.last_offset()).lag == 0
