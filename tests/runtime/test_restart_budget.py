"""One agent's crash loop is that agent's problem: each child of the runtime's root has its own restart budget,
with exponential backoff; past it that child alone is stopped as failed, and it can be brought back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from dsl import agent, route, sensor
from jido.errors import ActionError, AgentExistsError, AgentFailedError, AgentNotFoundError
from jido.runtime.runtime import open_runtime
from jido.telemetry import Event, attach

from .agents import Add, Counter, Crash, sig


@pytest.fixture
def events() -> Iterator[list[tuple[float, Event]]]:
    """Agent lifecycle events, each with the trio time it was emitted at."""
    seen: list[tuple[float, Event]] = []
    attachment = attach("jido.agent.**", lambda event: seen.append((trio.current_time(), event)))
    yield seen
    attachment.detach()


def _named(events: list[tuple[float, Event]], name: str) -> list[tuple[float, dict[str, Any]]]:
    return [(at, dict(e.fields)) for at, e in events if e.name == name]


async def _crash(ref: Any) -> None:
    with pytest.raises(ActionError):
        await ref.call(sig("crash"), timeout=60)


class TestBudget:
    async def test_crash_loop_fails_the_agent_alone(
        self, autojump_clock: trio.testing.MockClock, events: list[tuple[float, Event]]
    ) -> None:
        """Past max_restarts crashes in a row the agent is failed; the runtime and a bystander go on."""
        async with open_runtime(max_restarts=3, within=5.0) as rt:
            ref = await rt.start_agent(Counter, id="c")
            bystander = await rt.start_agent(Counter, id="b")
            await ref.call(sig("add", by=4))
            for _ in range(4):
                await _crash(ref)
            await ref.wait_stopped()
            assert (ref.status, ref.restarts) == ("failed", 3)
            assert rt.whereis("c") is None
            with pytest.raises(AgentFailedError, match=r"^agent 'c' has failed \(restart budget exhausted\)"):
                await ref.call(sig("add"))
            assert (await bystander.call(sig("add", by=1))).state.count == 1
            stats = rt.statistics()
            assert stats.statuses["c"] == "failed" and stats.statuses["b"] == "running"
            assert stats.failed["c"].startswith("failed: ActionError: action 'crash' failed")
            [(_, failed)] = _named(events, "jido.agent.failed")
            assert (failed["agent_id"], failed["restarts"], failed["supervisor"]) == ("c", 3, "root")

    async def test_backoff_doubles(
        self, autojump_clock: trio.testing.MockClock, events: list[tuple[float, Event]]
    ) -> None:
        """The first restart is at once, then after restart_backoff, doubling, capped at the maximum."""
        async with open_runtime(
            max_restarts=6, within=60.0, restart_backoff=0.5, max_restart_backoff=3.0
        ) as rt:
            ref = await rt.start_agent(Counter, id="c")
            for _ in range(6):
                await _crash(ref)
            await ref.call(sig("add"), timeout=60)  # answered once the last restart is done
            crashed = [at for at, _ in _named(events, "jido.agent.crashed")]
            restarted = [at for at, _ in _named(events, "jido.agent.restarted")]
            waits = [round(r - c, 6) for c, r in zip(crashed, restarted, strict=True)]
            assert waits == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]
            assert ref.status == "running"

    async def test_streak_resets_after_a_healthy_run(self, autojump_clock: trio.testing.MockClock) -> None:
        """A crash after the agent ran `within` seconds starts a new streak: spread crashes never fail it."""
        async with open_runtime(max_restarts=1, within=2.0) as rt:
            ref = await rt.start_agent(Counter, id="c")
            for _ in range(10):
                await _crash(ref)
                await trio.sleep(2.5)
            assert (ref.status, ref.restarts) == ("running", 10)

    async def test_mailbox_dead_lettered_as_agent_failed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """What waits in a failing agent's mailbox goes to the dead letters with reason agent_failed."""
        async with open_runtime(max_restarts=0, within=5.0) as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.cast_nowait(sig("crash"))
            ref.cast_nowait(sig("add", by=1))
            ref.cast_nowait(sig("add", by=2))
            await ref.wait_stopped()
            reasons = [d.reason for d in rt.dead_letters(agent_id="c")]
            assert reasons == ["crash", "agent_failed", "agent_failed"]

    async def test_waiting_caller_gets_an_error_when_the_agent_fails(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A call queued behind the crash that fails the agent is answered, not left waiting."""
        async with open_runtime(max_restarts=0, within=5.0) as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.cast_nowait(sig("crash"))
            with pytest.raises(AgentFailedError):
                await ref.call(sig("add"), timeout=60)


class TestRestartAgent:
    async def test_restart_resumes_from_last_commit(self, autojump_clock: trio.testing.MockClock) -> None:
        """restart_agent starts a failed agent again from its last committed state, with a fresh budget."""
        async with open_runtime(max_restarts=1, within=5.0) as rt:
            ref = await rt.start_agent(Counter, id="c", mailbox_size=7)
            await ref.call(sig("add", by=5))
            await _crash(ref)
            await _crash(ref)
            await ref.wait_stopped()
            again = await rt.restart_agent("c")
            assert again is not ref and rt.get("c") is again
            assert (await again.call(sig("add", by=1))).state.count == 6
            assert (again.restarts, again.mailbox_size, again.status) == (0, 7, "running")
            assert "c" not in rt.statistics().failed
            await _crash(again)  # the budget is fresh: one restart allowed again
            assert (await again.call(sig("add"))).state.count == 7
            assert (again.status, again.restarts) == ("running", 1)

    async def test_restart_unknown_or_running(self) -> None:
        """restart_agent of an id that never failed, or that is running, is refused."""
        async with open_runtime() as rt:
            await rt.start_agent(Counter, id="c")
            with pytest.raises(AgentExistsError):
                await rt.restart_agent("c")
            with pytest.raises(AgentNotFoundError, match=r"^no agent with id 'nobody'$"):
                await rt.restart_agent("nobody")

    async def test_subscription_signals_come_again_after_restart(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Bus signals published while the agent was failed are delivered once it is restarted."""
        async with open_runtime(max_restarts=0, within=5.0) as rt:
            ref = await rt.start_agent(CrashySubscriber, id="s")
            await rt.publish(sig("add", by=1))
            await ref.wait_state(lambda state: state.count == 1)
            await rt.publish(sig("crash"))
            await ref.wait_stopped()
            await rt.publish(sig("add", by=2))
            await rt.publish(sig("add", by=3))
            await trio.testing.wait_all_tasks_blocked()
            again = await rt.restart_agent("s")
            await again.wait_state(lambda state: state.count == 6)
            assert [d.reason for d in rt.dead_letters(agent_id="s")] == ["crash"]


@agent(subscribe=["counter.*"])
@route("counter.add", Add)
@route("counter.crash", Crash)
class CrashySubscriber:
    count: int = 0
    seen: list[int] = attrs.field(factory=list)


class TestOptions:
    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"max_restarts": -1}, r"^max_restarts must be an int >= 0, got -1$"),
            ({"restart_backoff": -0.1}, r"^restart_backoff must be a number of seconds >= 0, got -0.1$"),
            (
                {"max_restart_backoff": "1"},
                r"^max_restart_backoff must be a number of seconds >= 0, got '1'$",
            ),
        ],
    )
    async def test_bad_options(self, options: dict[str, Any], message: str) -> None:
        """Bad restart options are refused when the runtime opens."""
        with pytest.raises(ValueError, match=message):
            async with open_runtime(**options):
                pass  # pragma: no cover


@sensor(every=1.0)
class Broken:
    def sample(self) -> None:
        raise RuntimeError("sensor down")


class TestOtherChildren:
    async def test_crash_looping_sensor_fails_alone(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sensor that keeps crashing is stopped as failed; the runtime and its agents go on."""
        async with open_runtime(max_restarts=2, within=5.0) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await rt.start_sensor(Broken)
            await trio.sleep(30)
            assert (await ref.call(sig("add"))).state.count == 1
            assert [s.name for s in rt._root_supervisor().slots] == ["c"]
