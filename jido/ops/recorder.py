"""Handling latency and outcomes of one runtime's agents, counted by a handled-signal observer.

The runtime's statistics count signals per agent but keep no durations; the dashboard's charts and the
``/metrics`` histogram need them. The recorder registers with :meth:`Runtime.observe_handled` (the agent
servers call it with the agent, the outcome and the duration: no telemetry event is built, and only this
runtime's agents are seen) and does the least it can per signal (a bisect and three increments): it runs in
the agent's task, on the hot path, for every signal handled.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from jido.runtime.runtime import Runtime

__all__ = ["BUCKETS", "ERROR_OUTCOMES", "Recorder", "Totals"]

BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the latency histogram's buckets; one more bucket takes everything above."""
ERROR_OUTCOMES: Final = frozenset({"error", "crashed", "rejected"})


@attrs.frozen
class Totals:
    """Counts since the recorder started: signals handled, of them failed, and the latency histogram."""

    handled: int
    errors: int
    buckets: tuple[int, ...]  # per bucket (not cumulative); len(BUCKETS) + 1
    seconds: float  # the sum of durations

    def minus(self, earlier: Totals) -> Totals:
        """What happened between ``earlier`` and this."""
        return Totals(
            self.handled - earlier.handled,
            self.errors - earlier.errors,
            tuple(a - b for a, b in zip(self.buckets, earlier.buckets, strict=True)),
            self.seconds - earlier.seconds,
        )

    def quantile(self, q: float) -> float | None:
        """The upper bound of the bucket holding the ``q`` quantile (None when nothing was handled).

        Past the last bound it answers the last bound: the chart shows "at least that".
        """
        total = sum(self.buckets)
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for index, count in enumerate(self.buckets):
            seen += count
            if seen >= rank and count:
                return BUCKETS[min(index, len(BUCKETS) - 1)]
        return BUCKETS[-1]


class Recorder:
    """Counts the handled signals of one runtime's agents while attached (a context manager)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._handled = 0
        self._errors = 0
        self._buckets = [0] * (len(BUCKETS) + 1)
        self._seconds = 0.0
        self._stop: Callable[[], None] | None = None

    def __enter__(self) -> Recorder:
        self._stop = self._runtime.observe_handled(self._on_handled)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def _on_handled(self, agent_id: str, outcome: str, duration: float) -> None:
        if outcome == "ignored":
            return
        self._handled += 1
        if outcome in ERROR_OUTCOMES:
            self._errors += 1
        self._buckets[bisect.bisect_left(BUCKETS, duration)] += 1
        self._seconds += duration

    def totals(self) -> Totals:
        return Totals(self._handled, self._errors, tuple(self._buckets), self._seconds)
