"""Supervision: restarts from the last committed state, dead letters, strategies, kinds, intensity."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from dsl import child, supervisor
from jido.errors import ActionError, SupervisionError
from jido.runtime.runtime import open_runtime

from .agents import Counter, sig


class TestRestart:
    async def test_crash_restarts_from_committed_state(self) -> None:
        """A crash restarts the agent from its last committed state."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add", by=5))
            with pytest.raises(ActionError):
                await ref.call(sig("crash"))
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 6
            assert ref.restarts == 1
            assert rt.whereis("c") is ref

    async def test_poison_signal_is_dead_lettered_once(self) -> None:
        """The signal that crashed an agent is a dead letter with its error, and is not retried."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            poison = sig("crash")
            ref.cast_nowait(poison)
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 1
            [letter] = rt.dead_letters()
            assert (letter.signal, letter.agent_id, letter.reason) == (poison, "c", "crash")
            assert isinstance(letter.error, ActionError)
            assert ref.restarts == 1

    async def test_queued_signals_survive_a_crash(self) -> None:
        """Signals queued behind a poison signal are handled by the next incarnation."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.cast_nowait(sig("add", by=1))
            ref.cast_nowait(sig("crash"))
            ref.cast_nowait(sig("add", by=2))
            ref.cast_nowait(sig("add", by=3))
            agent = await ref.call(sig("add", by=4))
            assert agent.state.seen == [1, 2, 3, 4]

    async def test_crash_commits_nothing_of_the_signal(self) -> None:
        """Under the crash policy a failing signal commits none of its instructions."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add", by=1))
            ref.cast_nowait(sig("nope"))  # no route: an error too
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 2
            assert [d.reason for d in rt.dead_letters()] == ["no_route"]

    async def test_temporary_not_restarted(self) -> None:
        """A temporary agent that crashes is not restarted."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", restart="temporary")
            ref.cast_nowait(sig("crash"))
            await ref.wait_stopped()
            assert ref.status == "failed"
            assert rt.whereis("c") is None

    async def test_permanent_restarted_after_normal_stop(self) -> None:
        """A permanent agent that stops by a Stop directive is started again."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", restart="permanent")
            await ref.call(sig("add", by=3))
            await ref.call(sig("halt"))
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 4
            assert ref.restarts == 1

    async def test_intensity_escalates(self) -> None:
        """With escalate=True, past max_restarts within the window the root fails and the runtime with it."""
        with pytest.raises(
            SupervisionError, match=r"^supervisor 'root' gave up: 3 restarts within 5s \(max_restarts=2\)"
        ):
            async with open_runtime(max_restarts=2, within=5.0, escalate=True) as rt:
                ref = await rt.start_agent(Counter, id="c")
                for _ in range(3):
                    ref.cast_nowait(sig("crash"))
                await trio.sleep_forever()

    async def test_restarts_outside_window_do_not_count(self, autojump_clock: trio.testing.MockClock) -> None:
        """Restarts spread wider than the window never escalate."""
        async with open_runtime(max_restarts=1, within=1.0) as rt:
            ref = await rt.start_agent(Counter, id="c")
            for _ in range(5):
                with pytest.raises(ActionError):
                    await ref.call(sig("crash"))
                await trio.sleep(2)
            assert ref.restarts == 5


def _build(strategy: Any) -> type:
    @supervisor(name="team", strategy=strategy, max_restarts=5)
    class Team:
        a = child(Counter, id="a")
        b = child(Counter, id="b")
        c = child(Counter, id="c")

    return Team


class TestStrategies:
    @pytest.mark.parametrize(
        ("strategy", "restarted"),
        [
            ("one_for_one", {"b": 1}),
            ("one_for_all", {"a": 1, "b": 1, "c": 1}),
            ("rest_for_one", {"b": 1, "c": 1}),
        ],
    )
    async def test_who_restarts(self, strategy: str, restarted: dict[str, int]) -> None:
        """A crash of b restarts b / everyone / b and those after it, by strategy; state is kept."""
        async with open_runtime() as rt:
            await rt.start_supervisor(_build(strategy))
            for agent_id in "abc":
                await rt.get(agent_id).call(sig("add", by=1))
            with pytest.raises(ActionError):
                await rt.get("b").call(sig("crash"))
            for agent_id in "abc":
                agent = await rt.get(agent_id).call(sig("add", by=1))
                assert agent.state.count == 2
            assert rt.statistics().restarts == restarted

    async def test_nested_supervisor_escalates_to_parent(self) -> None:
        """A nested supervisor past its intensity fails; its parent restarts it, state kept."""

        @supervisor(name="inner", max_restarts=0)
        class Inner:
            w = child(Counter, id="w")

        @supervisor(name="outer", max_restarts=3)
        class Outer:
            inner = child(Inner)

        async with open_runtime() as rt:
            await rt.start_supervisor(Outer)
            await rt.get("w").call(sig("add", by=7))
            with pytest.raises(ActionError):
                await rt.get("w").call(sig("crash"))
            await trio.testing.wait_all_tasks_blocked()
            ref = rt.get("w")
            agent = await ref.call(sig("add", by=1))
            assert (
                agent.state.count == 8
            )  # the inner supervisor was rebuilt; its agent resumed from its commit

    async def test_tree_escalating_to_the_root_keeps_state(self) -> None:
        """A declared tree that gives up is restarted by the root; its agents, nested ones too, keep state."""

        @supervisor(name="leaf", max_restarts=5)
        class Leaf:
            deep = child(Counter, id="deep")

        @supervisor(name="team", strategy="one_for_all", max_restarts=0)
        class Team:
            a = child(Counter, id="a")
            leaf = child(Leaf)

        async with open_runtime() as rt:
            await rt.start_supervisor(Team)
            await rt.get("a").call(sig("add", by=2))
            await rt.get("deep").call(sig("add", by=3))
            with pytest.raises(ActionError):
                await rt.get("a").call(sig("crash"))
            await trio.testing.wait_all_tasks_blocked()
            assert (await rt.get("a").call(sig("add", by=1))).state.count == 3
            assert (await rt.get("deep").call(sig("add", by=1))).state.count == 4

    async def test_replicas_get_numbered_ids(self) -> None:
        """replicas=3 starts three agents with numbered ids."""

        @supervisor(name="pool")
        class Pool:
            workers = child(Counter, replicas=3)

        async with open_runtime() as rt:
            await rt.start_supervisor(Pool)
            assert sorted(r.id for r in rt.agents()) == ["pool.workers.0", "pool.workers.1", "pool.workers.2"]
