"""The shipped plugins under the runtime: crashes and restarts, TTLs on the runtime's clock, hibernation, a
state store across runtimes, rejections by a plugin. Time is trio's MockClock (autojump); nothing sleeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from jido.agent.plugin import PluginHookError, PluginRejectedError, PluginSpec
from jido.agent.routes import RouteSpec
from jido.errors import ActionError, BrokenError
from jido.plugins import Audit, Memory, Thread
from jido.runtime.runtime import open_runtime
from jido.store import MemoryStateStore, SQLiteStateStore

from .kit import counter, reject_spam, sig

SPEC = counter(Thread.configure(limit=5), Memory.configure(max_keys=10), Audit.configure(limit=20))


def say(text: str) -> Any:
    return sig("thread.append", {"role": "user", "text": text})


def types(agent: Any) -> list[str]:
    return [e.signal_type for e in Audit.state_of(agent).entries]


class TestCrashes:
    async def test_plugin_state_survives_restart(self, autojump_clock: trio.testing.MockClock) -> None:
        """A crash restarts the agent from its last committed state, every plugin slice included; the signal
        that crashed it commits nothing, not even its audit entry."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(SPEC, id="c")
            await ref.call(say("hello"))
            await ref.call(sig("memory.put", {"key": "k", "value": [1, 2]}))
            await ref.call(sig("counter.inc"))
            with pytest.raises(ActionError, match=r"^action 'boom' failed"):
                await ref.call(sig("counter.boom"))
            agent = await ref.call(sig("counter.inc"))
            assert ref.restarts == 1 and agent.state.count == 2
            assert [m.text for m in Thread.state_of(agent).messages] == ["hello"]
            assert Memory.state_of(agent).entries["k"].value == [1, 2]
            assert types(agent) == ["thread.append", "memory.put", "counter.inc", "counter.inc"]
            assert {d.reason for d in rt.dead_letters(agent_id="c")} == {"crash"}

    async def test_failing_after_cmd_hook_crashes_and_recovers(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An after_cmd hook that raises is the agent's error: under "crash" it restarts, nothing committed,
        and the dead letter names the plugin."""

        def picky(config: Any, state: Any, outcome: Any) -> None:
            if outcome.signal is not None and outcome.signal.type == "counter.shout":
                raise RuntimeError("no shouting")

        spec = counter(PluginSpec("picky", after_cmd=picky))
        async with open_runtime() as rt:
            ref = await rt.start_agent(spec, id="p")
            await ref.call(sig("counter.inc"))
            with pytest.raises(
                PluginHookError, match=r"^plugin 'picky': after_cmd raised RuntimeError: no shouting$"
            ):
                await ref.call(sig("counter.shout"))
            agent = await ref.call(sig("counter.inc"))
            assert agent.state.count == 2 and ref.restarts == 1

    async def test_rejection_by_plugin_is_not_a_crash(self, autojump_clock: trio.testing.MockClock) -> None:
        """A before_route Reject answers the caller and dead-letters the signal; the agent does not restart."""
        spec = counter(PluginSpec("guard", before_route=reject_spam), Audit)
        async with open_runtime() as rt:
            ref = await rt.start_agent(spec, id="g")
            with pytest.raises(
                PluginRejectedError, match=r"^plugin 'guard' rejected signal 'spam\.x': spam$"
            ):
                await ref.call(sig("spam.x"))
            agent = await ref.call(sig("counter.inc"))
            assert ref.restarts == 0 and ref.rejected == 1 and types(agent) == ["counter.inc"]
            assert [d.reason for d in rt.dead_letters(agent_id="g")] == ["rejected"]


class TestMemoryTtl:
    async def test_expires_on_the_runtime_clock(self, autojump_clock: trio.testing.MockClock) -> None:
        """An entry with a TTL is removed when the runtime's clock has moved past it."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(SPEC, id="m")
            start = trio.current_time()
            await ref.call(sig("memory.put", {"key": "k", "value": 1, "ttl": 30}))
            await ref.call(sig("memory.put", {"key": "keep", "value": 2}))
            state = await ref.wait_state(lambda s: "k" not in s.memory.entries, timeout=3600)
            assert trio.current_time() - start >= 30
            assert list(state.memory.entries) == ["keep"] and state.memory.expired == 1

    async def test_pending_expiry_survives_a_crash(self, autojump_clock: trio.testing.MockClock) -> None:
        """A crash between the put and its expiry does not lose the expiry."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(SPEC, id="m")
            await ref.call(sig("memory.put", {"key": "k", "value": 1, "ttl": 30}))
            await trio.sleep(10)  # the mock clock: lets virtual time pass before the crash
            with pytest.raises(ActionError):
                await ref.call(sig("counter.boom"))
            state = await ref.wait_state(lambda s: not s.memory.entries, timeout=3600)
            assert ref.restarts == 1 and state.memory.expired == 1


class TestDurable:
    async def test_hibernation_keeps_plugin_state_and_timers(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An idle agent hibernates with its slices stored; its pending TTL wakes it, and it expires the key."""
        spec = attrs.evolve(SPEC, idle_timeout=5.0)
        async with open_runtime(store=MemoryStateStore()) as rt:
            ref = await rt.start_agent(spec, id="h")
            await ref.call(say("before"))
            await ref.call(sig("memory.put", {"key": "k", "value": 1, "ttl": 60}))
            await trio.sleep(10)  # virtual time: past the idle timeout, before the TTL
            assert ref.status == "hibernated" and rt.whereis("h") is None
            await trio.sleep(100)  # virtual time: past the TTL, whose timer wakes the agent
            agent = await rt.activate("h")
            assert Memory.state_of(agent).entries == {} and Memory.state_of(agent).expired == 1
            assert [m.text for m in Thread.state_of(agent).messages] == ["before"]
            assert types(agent) == ["thread.append", "memory.put", "memory.expire"]

    async def test_restored_by_a_new_runtime(self, tmp_path: Path) -> None:
        """A runtime opened on the same store resumes the agent with its plugin slices."""
        path = tmp_path / "state.db"
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(SPEC, id="d")
            await ref.call(say("one"))
            await ref.call(sig("memory.put", {"key": "k", "value": {"deep": [1]}}))
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(SPEC, id="d")
            agent = await ref.call(say("two"))
            assert [m.text for m in Thread.state_of(agent).messages] == ["one", "two"]
            assert Memory.state_of(agent).entries["k"].value == {"deep": [1]}
            assert types(agent) == ["thread.append", "memory.put", "thread.append"]


class TestMountingOverStoredStates:
    async def test_adding_and_removing_a_plugin(self, tmp_path: Path) -> None:
        """A plugin mounted into an agent with stored states starts from its defaults; unmounting one needs a
        migration that drops its key (a stored state with a key the schema lacks is refused, not trimmed)."""
        path = tmp_path / "state.db"
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(counter(), id="a")
            await ref.call(sig("counter.inc"))
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(counter(Audit), id="a")
            agent = await ref.call(sig("counter.inc"))
            assert agent.state.count == 2 and types(agent) == ["counter.inc"]
        with pytest.raises(BrokenError, match=r"does not fit the 'counter' state schema"):
            async with open_runtime(store=SQLiteStateStore(path)) as rt:
                await rt.start_agent(counter(), id="a")

        def drop_audit(state: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in state.items() if k != "audit"}

        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(counter(version=2, migrations={1: drop_audit}), id="a")
            assert ref.state.count == 2 and not hasattr(ref.state, "audit")


class TestMergedIntoTheSpec:
    async def test_plugin_subscription_and_cron(self, autojump_clock: trio.testing.MockClock) -> None:
        """A plugin's bus subscription and cron schedule reach the agent through the runtime as it is: the
        published signal and the ticks are routed to the plugin's actions (job ids prefixed with its key)."""
        import datetime as dt

        from jido.agent.routes import CronSchedule
        from jido.clock import TrioClock

        from .kit import NOTE, notes

        plugin = notes(
            routes=[RouteSpec("notes.add", NOTE), RouteSpec("notes.tick", NOTE, params={"text": "tick"})],
            subscriptions=["notes.*"],
            schedules=[CronSchedule("* * * * *", "notes.tick", "tick")],
        ).configure(limit=10)
        spec = counter(plugin)
        assert [s.job_id for s in spec.schedules] == ["notes.tick"]
        clock = TrioClock(start=dt.datetime(2026, 3, 7, 12, 0, 30, tzinfo=dt.UTC))
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(spec, id="n")
            await rt.publish(sig("notes.add", {"text": "from the bus"}))
            state = await ref.wait_state(lambda s: len(s.notes.items) >= 3, timeout=3600)
            assert state.notes.items[0] == "from the bus" and set(state.notes.items[1:]) == {"tick"}
