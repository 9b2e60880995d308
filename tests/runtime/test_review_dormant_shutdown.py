"""Review: closing a runtime whose dormant agents have timers and cron jobs pending (the alarm task)."""

from __future__ import annotations

import trio
import trio.testing

from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore
from jido.telemetry import Event, attach
from tests.runtime.sleepers import Sleeper


async def test_review_close_does_not_wait_for_alarms(autojump_clock: trio.testing.MockClock) -> None:
    """A hundred dormant agents with timers a day away: leaving open_runtime takes no trio time (the alarm
    task is cancelled, not waited for) and wakes nobody."""
    woken: list[str] = []

    def on_activated(event: Event) -> None:
        woken.append(event.fields["agent_id"])

    handle = attach("jido.agent.activated", on_activated)
    try:
        async with open_runtime(store=MemoryStateStore()) as rt:
            for n in range(100):
                ref = await rt.start_agent(Sleeper, id=f"s{n}")
                await ref.call(Signal(type="set.later", source="/review", data={"delay": 86400.0 + n}))
            await trio.sleep(11)
            assert rt.statistics().hibernated == 100
            closing = trio.current_time()
        assert trio.current_time() == closing and woken == []
    finally:
        handle.detach()
