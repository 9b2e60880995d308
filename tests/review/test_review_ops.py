"""Review: the dashboard's hibernated listing (bounded work)."""

from __future__ import annotations

import trio
import trio.testing

from jido.ops.sleepers import Sleepers
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from tests.review.test_review_timers import ReviewSleeper


async def test_paging_a_filter_does_not_rescan_every_sleeper(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime() as rt:
        for i in range(100):
            await rt.agent(ReviewSleeper, f"s-{i}").call(Signal(type="review.timer", source="/t"))
        await trio.sleep(20)
        assert len(rt.hibernated_agents(limit=1000)[0]) == 100
        sleepers = Sleepers(rt)
        for offset in range(50):  # one client, one filter, 50 requests within REFRESH (no time passes)
            rows, total = sleepers.page("s-", offset, 10)
            assert total == 100 and len(rows) == 10
        assert sleepers.scans <= 2, f"{sleepers.scans} full scans of the sleepers for one filter"
