"""Listing hibernated agents: pages in hibernation order, filters, and the root supervisor's accessors."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import jido
from tests.runtime.sleepers import Sleeper, command


async def _sleep_all(rt: jido.Runtime, ids: list[str]) -> None:
    for agent_id in ids:  # started a virtual tenth of a second apart, so they fall asleep in this order
        await rt.start_agent(Sleeper, id=agent_id)
        await trio.sleep(0.1)
    await trio.sleep(11)  # past the idle timeout (virtual time)
    await trio.testing.wait_all_tasks_blocked()


async def test_pages_follow_hibernation_order_and_count_all(autojump_clock: trio.testing.MockClock) -> None:
    async with jido.open_runtime() as rt:
        ids = [f"s{i:02d}" for i in range(25)]
        await _sleep_all(rt, ids)
        assert rt.statistics().hibernated == 25
        first, total = rt.hibernated_agents(limit=10)
        assert total == 25
        assert [h.id for h in first] == ids[:10]
        assert {h.name for h in first} == {"sleeper"}  # the spec name of the class Sleeper
        last, _ = rt.hibernated_agents(offset=20, limit=10)
        assert [h.id for h in last] == ids[20:]
        beyond, total = rt.hibernated_agents(offset=30, limit=10)
        assert beyond == [] and total == 25


async def test_filter_matches_id_or_class_case_insensitively(autojump_clock: trio.testing.MockClock) -> None:
    async with jido.open_runtime() as rt:
        await _sleep_all(rt, ["alpha-1", "beta-2", "ALPHA-3"])
        rows, total = rt.hibernated_agents(contains="alpha")
        assert [h.id for h in rows] == ["alpha-1", "ALPHA-3"] and total == 2
        rows, total = rt.hibernated_agents(contains="sleeper", offset=1, limit=1)
        assert [h.id for h in rows] == ["beta-2"] and total == 3
        assert rt.hibernated_agents(contains="nobody") == ([], 0)


async def test_pending_work_and_woken_agents_leave_the_list(autojump_clock: trio.testing.MockClock) -> None:
    async with jido.open_runtime() as rt:
        a = await rt.start_agent(Sleeper, id="a")
        await rt.start_agent(Sleeper, id="b")
        await a.call(command("set.later", delay=3600.0))
        await trio.sleep(11)
        await trio.testing.wait_all_tasks_blocked()
        rows, _ = rt.hibernated_agents()
        assert {h.id: h.pending_work for h in rows} == {"a": True, "b": False}
        await rt.agent(Sleeper, "b").call(command("ping"))
        rows, total = rt.hibernated_agents()
        assert [h.id for h in rows] == ["a"] and total == 1


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, -5)])
async def test_negative_offset_or_limit_is_refused(offset: int, limit: int) -> None:
    async with jido.open_runtime() as rt:
        with pytest.raises(ValueError, match="must be >= 0"):
            rt.hibernated_agents(offset=offset, limit=limit)


async def test_root_supervisor_and_running_follow_the_lifecycle() -> None:
    async with jido.open_runtime() as rt:
        assert rt.running
        root = rt.root_supervisor
        assert root is not None and root.name == "root"
        await rt.start_agent(Sleeper, id="x")
        assert any(slot.ref is not None and slot.ref.id == "x" for slot in root.slots)
    assert not rt.running
    assert rt.root_supervisor is None


async def test_one_sleeper_is_found_by_id(autojump_clock: trio.testing.MockClock) -> None:
    async with jido.open_runtime() as rt:
        a = await rt.start_agent(Sleeper, id="a")
        await a.call(command("set.later", delay=3600.0))
        await rt.start_agent(Sleeper, id="awake")
        assert rt.hibernated_agent("a") is None  # running
        await trio.sleep(5)
        await rt.agent(Sleeper, "awake").cast(command("ping"))  # keeps it awake past the others' timeout
        await trio.sleep(6)
        await trio.testing.wait_all_tasks_blocked()
        found = rt.hibernated_agent("a")
        assert found is not None and (found.id, found.name, found.pending_work) == ("a", "sleeper", True)
        assert rt.hibernated_agent("awake") is None
        assert rt.hibernated_agent("nobody") is None


async def test_forget_hibernated_stops_a_sleeper_without_waking_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with jido.open_runtime() as rt:
        a = await rt.start_agent(Sleeper, id="a")
        await a.call(command("set.later", delay=30.0))
        await rt.start_agent(Sleeper, id="b")
        await trio.sleep(11)
        await trio.testing.wait_all_tasks_blocked()
        assert rt.forget_hibernated("a", keep_pending=True)
        assert rt.hibernated_agent("a") is None and rt.statistics().activations == 0
        assert not rt.forget_hibernated("a") and not rt.forget_hibernated("nobody")
        await trio.sleep(60)  # past a's timer: its alarm went with it, nothing wakes it
        await trio.testing.wait_all_tasks_blocked()
        assert rt.whereis("a") is None and rt.statistics().activations == 0
        assert [h.id for h in rt.hibernated_agents()[0]] == ["b"]
