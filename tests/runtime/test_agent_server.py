"""Agent servers: call, cast, ordering, timeouts, mailbox bounds, stop, waiting on state."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from jido.errors import (
    ActionError,
    AgentExistsError,
    CallTimeoutError,
    ClosedError,
    MailboxFullError,
    NoRouteError,
)
from jido.runtime.runtime import open_runtime
from jido.runtime.server import StopAfter

from .agents import Counter, sig


class TestCallAndCast:
    async def test_call_returns_committed_agent(self) -> None:
        """call waits for the signal to be handled and returns the agent as committed."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            agent = await ref.call(sig("add", by=2))
            assert agent.state.count == 2
            assert ref.state.count == 2

    async def test_casts_and_calls_keep_arrival_order(self) -> None:
        """Casts and calls are handled one at a time, in arrival order."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            for n in (1, 2, 3):
                await ref.cast(sig("add", by=n))
            ref.cast_nowait(sig("add", by=4))
            agent = await ref.call(sig("add", by=5))
            assert agent.state.seen == [1, 2, 3, 4, 5]

    async def test_concurrent_senders_all_handled(self) -> None:
        """Signals from many tasks are each handled exactly once."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(ref.cast, sig("add", by=1))
            agent = await ref.call(sig("add", by=0))
            assert agent.state.count == 50

    async def test_call_unrouted_raises_no_route(self) -> None:
        """call with a type no route matches raises NoRouteError."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy="log")
            with pytest.raises(
                NoRouteError, match=r"^no route for signal type 'counter\.nope' in agent 'counter'$"
            ):
                await ref.call(sig("nope"))

    async def test_call_action_error(self) -> None:
        """call raises the action's error."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy="log")
            with pytest.raises(ActionError, match=r"^action 'crash' failed"):
                await ref.call(sig("crash"))

    async def test_call_timeout(self, autojump_clock: trio.testing.MockClock) -> None:
        """A call without an answer in time raises CallTimeoutError; the signal is still handled."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(
                CallTimeoutError, match=r"^call to agent 'c' with 'counter\.slow' got no answer within 0\.5s$"
            ):
                await ref.call(sig("slow", seconds=2.0), timeout=0.5)
            state = await ref.wait_state(lambda s: s.count == 1, timeout=5)
            assert state.count == 1

    async def test_not_a_signal(self) -> None:
        """Sending something that is not a Signal is a TypeError."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(TypeError, match=r"^expected a jido\.Signal, got dict$"):
                await ref.cast({"type": "counter.add"})  # type: ignore[arg-type]


class TestMailbox:
    async def test_cast_nowait_full(self, autojump_clock: trio.testing.MockClock) -> None:
        """cast_nowait raises MailboxFullError when the mailbox is full; nothing is queued."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", mailbox_size=2)
            ref.cast_nowait(sig("slow", seconds=1.0))
            await trio.testing.wait_all_tasks_blocked()  # the slow one is being handled
            ref.cast_nowait(sig("add", by=1))
            ref.cast_nowait(sig("add", by=1))
            with pytest.raises(MailboxFullError, match=r"^mailbox of agent 'c' is full \(2 signals\)$"):
                ref.cast_nowait(sig("add", by=1))
            assert ref.mailbox_depth == 2
            state = await ref.wait_state(lambda s: s.count == 3, timeout=5)
            assert state.count == 3

    async def test_cast_waits_for_room(self, autojump_clock: trio.testing.MockClock) -> None:
        """cast waits while the mailbox is full, then queues."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", mailbox_size=1)
            ref.cast_nowait(sig("slow", seconds=1.0))
            await trio.testing.wait_all_tasks_blocked()
            ref.cast_nowait(sig("add", by=1))
            start = trio.current_time()
            await ref.cast(sig("add", by=1))
            assert trio.current_time() - start == pytest.approx(1.0)
            state = await ref.wait_state(lambda s: s.count == 3, timeout=5)
            assert state.seen == [1, 1]

    async def test_bad_mailbox_size(self) -> None:
        """A mailbox size below 1 is refused."""
        async with open_runtime() as rt:
            with pytest.raises(ValueError, match=r"^mailbox_size must be an int >= 1, got 0$"):
                await rt.start_agent(Counter, id="c", mailbox_size=0)


class TestLifecycle:
    async def test_registry(self) -> None:
        """Agents are found by id; ids are unique."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            assert rt.whereis("c") is ref
            assert rt.agents() == [ref]
            assert rt.whereis("nope") is None
            with pytest.raises(AgentExistsError, match=r"^an agent with id 'c' is already running$"):
                await rt.start_agent(Counter, id="c")

    async def test_initial_state(self) -> None:
        """start_agent takes initial state, validated."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", state={"count": 41})
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 42

    async def test_stop(self) -> None:
        """stop() handles what is queued, then stops; the agent leaves the registry."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.cast_nowait(sig("add", by=1))
            await ref.stop()
            assert ref.status == "stopped"
            assert ref.state.count == 1
            assert rt.whereis("c") is None
            with pytest.raises(ClosedError, match=r"^agent 'c' has stopped$"):
                await ref.cast(sig("add"))

    async def test_stop_directive(self) -> None:
        """A Stop directive stops a transient agent for good, with its reason."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("halt"))
            await ref.wait_stopped()
            assert (ref.status, ref.exit_reason) == ("stopped", "done")

    async def test_pending_calls_answered_on_stop(self, autojump_clock: trio.testing.MockClock) -> None:
        """A call still queued when its agent stops gets ClosedError, never silence."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.cast_nowait(sig("slow", seconds=1.0))
            ref.cast_nowait(sig("halt"))
            with pytest.raises(ClosedError, match=r"stopped \(done\) before handling the signal"):
                await ref.call(sig("add", by=1))
            assert ref.state.count == 1

    async def test_shutdown_leaves_no_task(self, autojump_clock: trio.testing.MockClock) -> None:
        """Leaving the runtime stops every agent, timer and child, and leaves no task behind."""
        before = count_tasks()
        async with open_runtime() as rt:
            refs = [await rt.start_agent(Counter, id=f"c{i}") for i in range(5)]
            await refs[0].call(sig("later", delay=60.0))
            assert count_tasks() > before + 5
        assert count_tasks() == before
        assert all(r.status == "stopped" for r in refs)

    async def test_await_completion(self, autojump_clock: trio.testing.MockClock) -> None:
        """await_completion checks the field exists, and times out."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(ValueError, match=r"^agent 'c' has no state field 'status'$"):
                await ref.await_completion()
            with pytest.raises(TrioTooSlowError):
                await ref.wait_state(lambda s: s.count > 0, timeout=1)


TrioTooSlowError = trio.TooSlowError


def count_tasks() -> int:
    """Every task alive in this trio run."""
    pending = [trio.lowlevel.current_root_task()]
    total = 0
    while pending:
        task = pending.pop()
        total += 1
        pending.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return total


class TestErrorPolicies:
    async def test_log_commits_what_succeeded(self) -> None:
        """Under the log policy an error is logged and the agent keeps going."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy="log")
            ref.cast_nowait(sig("crash"))
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 1
            assert ref.restarts == 0
            assert rt.dead_letters() == []

    async def test_stop_after(self) -> None:
        """StopAfter(n) stops the agent at the n-th error."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy=StopAfter(2))
            ref.cast_nowait(sig("crash"))
            ref.cast_nowait(sig("crash"))
            await ref.wait_stopped()
            assert ref.exit_reason == "stopped after 2 errors"

    async def test_bad_policy(self) -> None:
        """An unknown policy is refused."""
        async with open_runtime() as rt:
            with pytest.raises(
                ValueError, match=r"^error_policy must be 'crash', 'log' or StopAfter\(n\), got 'ignore'$"
            ):
                await rt.start_agent(Counter, id="c", error_policy="ignore")  # type: ignore[arg-type]
