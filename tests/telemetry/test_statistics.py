"""rt.statistics(): a frozen snapshot with per-agent counts and bus lag, for `jido inspect`."""

from __future__ import annotations

import attrs
import pytest
import trio

from jido.errors import ActionError
from jido.runtime.runtime import RuntimeStatistics, open_runtime

from ..runtime.agents import Counter, Watcher, sig


class TestRuntimeStatistics:
    async def test_per_agent_counts(self) -> None:
        """handled, errors, statuses and mailbox sizes are reported per agent."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", mailbox_size=8)
            other = await rt.start_agent(Counter, id="d", error_policy="log")
            await ref.call(sig("add"))
            await ref.call(sig("add"))
            with pytest.raises(ActionError):
                await other.call(sig("crash"))
            stats = rt.statistics()
        assert stats.handled == {"c": 2, "d": 1}  # under "log", a failed signal still commits
        assert stats.errors == {"d": 1}
        assert stats.statuses == {"c": "running", "d": "running"}
        assert stats.mailbox_sizes == {"c": 8, "d": 1024}

    async def test_subscription_lag(self) -> None:
        """The lag of each bus subscription is reported by name."""
        async with open_runtime() as rt:
            watcher = await rt.start_agent(Watcher, id="w")
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("announce"))
            await watcher.wait_state(lambda s: s.count == 1, timeout=5)
            await trio.testing.wait_all_tasks_blocked()
            stats = rt.statistics()
        assert stats.subscription_lag == {"agent:w:counter.changed": 0}

    async def test_dead_letters_and_eviction(self) -> None:
        """Dead letters recorded and evicted past the limit are both counted."""
        async with open_runtime(dead_letter_limit=1) as rt:
            for _ in range(3):
                rt.deliver("ghost", sig("add"))
            stats = rt.statistics()
        assert (stats.dead_letters, stats.dead_letters_evicted) == (3, 2)

    def test_frozen(self) -> None:
        """The snapshot is a frozen value."""
        stats = RuntimeStatistics(
            agents=0, mailbox_depths={}, restarts={}, dead_letters=0, published=0, ignored_system_signals=0
        )
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            stats.agents = 1  # type: ignore[misc]
