"""Runtime.observe_handled: the agent servers report each handled signal (agent, outcome, duration) directly."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

import jido
from tests.runtime.sleepers import Sleeper, command


async def test_each_handled_signal_is_reported_once_for_this_runtime_only() -> None:
    seen: list[tuple[str, str, float]] = []
    async with jido.open_runtime() as rt, jido.open_runtime() as other:
        stop = rt.observe_handled(
            lambda agent_id, outcome, seconds: seen.append((agent_id, outcome, seconds))
        )
        a = await rt.start_agent(Sleeper, id="a")
        b = await other.start_agent(Sleeper, id="b")
        await a.call(command("ping"))
        await a.call(command("ping"))
        await b.call(command("ping"))  # another runtime's agent: not reported here
        assert [(agent_id, outcome) for agent_id, outcome, _ in seen] == [("a", "ok"), ("a", "ok")]
        assert all(seconds >= 0 for _, _, seconds in seen)
        stop()
        stop()  # idempotent
        await a.call(command("ping"))
        assert len(seen) == 2


async def test_a_failed_signal_is_reported_with_its_outcome() -> None:
    seen: list[str] = []
    async with jido.open_runtime() as rt:
        rt.observe_handled(lambda agent_id, outcome, seconds: seen.append(outcome))
        a = await rt.start_agent(Sleeper, id="a")
        with pytest.raises(jido.JidoError):
            await a.call(command("set.later", delay="soon"))  # a bad param: the signal fails
        await a.call(command("ping"))
        assert seen[-1] == "ok" and seen[0] != "ok"


async def test_an_observer_that_raises_is_removed_and_the_agent_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    def broken(agent_id: str, outcome: str, seconds: float) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("observer bug")

    async with jido.open_runtime() as rt:
        rt.observe_handled(broken)
        a = await rt.start_agent(Sleeper, id="a")
        with caplog.at_level(logging.ERROR, logger="jido.runtime"):
            await a.call(command("ping"))
            await a.call(command("ping"))
        assert calls == 1 and a.status == "running" and a.state.log == ["ping", "ping"]
        assert "raised and was removed" in caplog.text


async def test_a_non_callable_is_refused() -> None:
    async with jido.open_runtime() as rt:
        with pytest.raises(TypeError, match="observer must be callable"):
            rt.observe_handled("not a function")  # type: ignore[arg-type]


async def test_observing_does_not_change_what_agents_do(autojump_clock: trio.testing.MockClock) -> None:
    async with jido.open_runtime() as rt:
        rt.observe_handled(lambda *_: None)
        a = await rt.start_agent(Sleeper, id="a")
        for _ in range(5):
            a.cast_nowait(command("ping"))
        await trio.testing.wait_all_tasks_blocked()
        assert a.state.log == ["ping"] * 5 and a.handled == 5
