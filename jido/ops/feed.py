"""The dashboard's clock: a point on the charts every ``interval`` seconds, and a tick the pages wait on.

Pages do not poll. Each websocket client waits for the next tick (:meth:`Feed.next_tick`) and is then sent
what its page shows, computed once per client per tick; the charts keep the last :data:`HISTORY` points.
"""

from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Any, Final

import trio

from jido.errors import ClosedError
from jido.ops.recorder import Recorder, Totals

if TYPE_CHECKING:
    from jido.runtime.runtime import Runtime

__all__ = ["HISTORY", "MAX_PAGES", "Feed"]

HISTORY: Final = 300
"""Chart points kept (five minutes at the default interval of one second)."""
MAX_PAGES: Final = 64
"""Live pages served at once: each costs a computation per tick, so more are refused (close code 1013)."""


class Feed:
    """Chart points from a :class:`Recorder`, and the tick the live pages follow.

    Also counts who watches which agent, so that an agent's debug ring (its recent events, which cost
    something for every telemetry event in the process while any ring is on) is on only while a page shows
    it, and only when the dashboard turned it on.
    """

    def __init__(self, runtime: Runtime, recorder: Recorder, *, interval: float = 1.0) -> None:
        if not (isinstance(interval, int | float) and 0 < interval < 3600):
            raise ValueError(f"interval must be a number of seconds in (0, 3600), got {interval!r}")
        self.runtime = runtime
        self.recorder = recorder
        self.interval = float(interval)
        self.points: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self.ticks = 0
        self.pages = 0  # live pages open now (bounded by MAX_PAGES)
        self._tick = trio.Event()
        self._watchers: dict[str, int] = {}
        self._debug_enabled: set[str] = set()

    async def next_tick(self) -> None:
        """Wait for the next tick."""
        await self._tick.wait()

    def tick(self, now: float, last: Totals, totals: Totals, elapsed: float) -> None:
        """Add the chart point of the interval that just ended, and wake every page."""
        delta = totals.minus(last)
        stats = self.runtime.statistics()
        p50 = delta.quantile(0.5)
        p95 = delta.quantile(0.95)
        self.points.append(
            {
                "t": now,
                "throughput": delta.handled / elapsed if elapsed > 0 else 0.0,
                "errors": delta.errors / elapsed if elapsed > 0 else 0.0,
                "p50_ms": None if p50 is None else p50 * 1000,
                "p95_ms": None if p95 is None else p95 * 1000,
                "mailbox": sum(stats.mailbox_depths.values()),
                "dead_letters": stats.dead_letters,
            }
        )
        self.ticks += 1
        event, self._tick = self._tick, trio.Event()
        event.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Tick every ``interval`` seconds until cancelled."""
        last = self.recorder.totals()
        previous = trio.current_time()
        task_status.started()
        while True:
            await trio.sleep_until(previous + self.interval)
            now = trio.current_time()
            totals = self.recorder.totals()
            self.tick(time.time(), last, totals, now - previous)
            last, previous = totals, now

    # -- agents watched by a page ------------------------------------------------------------------------------
    def watch(self, agent_id: str) -> None:
        """A page shows ``agent_id``: turn its debug ring on, if it is not on already."""
        self._watchers[agent_id] = self._watchers.get(agent_id, 0) + 1
        ref = self.runtime.whereis(agent_id)
        if ref is not None and not ref.debugging and agent_id not in self._debug_enabled:
            try:
                ref.debug(True)
            except ClosedError:
                return
            self._debug_enabled.add(agent_id)

    def unwatch(self, agent_id: str) -> None:
        """A page stopped showing ``agent_id``: the last one turns off the ring the dashboard turned on."""
        left = self._watchers.get(agent_id, 0) - 1
        if left > 0:
            self._watchers[agent_id] = left
            return
        self._watchers.pop(agent_id, None)
        if agent_id in self._debug_enabled:
            self._debug_enabled.discard(agent_id)
            ref = self.runtime.whereis(agent_id)
            if ref is not None:
                ref.debug(False)

    def rewatch(self, agent_id: str) -> None:
        """Turn the ring on again for an agent that restarted or woke (a new ref) while a page shows it."""
        if agent_id in self._watchers:
            ref = self.runtime.whereis(agent_id)
            if ref is not None and not ref.debugging:
                try:
                    ref.debug(True)
                except ClosedError:
                    return
                self._debug_enabled.add(agent_id)
