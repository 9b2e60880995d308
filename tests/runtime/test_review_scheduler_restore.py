"""Review: Scheduler.restore (583b7b5) on text export did not write ("bad text names where; nothing is
scheduled")."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import trio
import trio.testing

from jido.clock import TrioClock
from jido.errors import ValidationError
from jido.runtime.scheduler import Scheduler
from jido.signal import Signal

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SIGNAL = Signal(type="test.tick", source="/review").to_json()


def text(*deadlines: object) -> str:
    return json.dumps({"timers": [[d, SIGNAL] for d in deadlines], "cron": []})


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        (text(5.0, float("inf")), "$.timers[1]"),  # json writes Infinity; json.loads reads it back
        (text(5.0, float("nan")), "$.timers[1]"),
        (
            f'{{"timers": [[5.0, {json.dumps(SIGNAL)}], [1e999, {json.dumps(SIGNAL)}]], "cron": []}}',
            "$.timers[1]",
        ),
    ],
)
async def test_review_restore_non_finite_deadline(
    bad: str, path: str, autojump_clock: trio.testing.MockClock
) -> None:
    """A non-finite deadline is not what export writes: restore must refuse the text naming the timer, with
    nothing scheduled. Infinity raises from schedule() as "$.delay" after timer 0 was scheduled; NaN is taken
    as "due now" (max(0.0, nan) is 0.0) and fires at once."""
    got: list[Signal] = []
    async with trio.open_nursery() as nursery:
        scheduler = Scheduler(nursery, got.append, clock=TrioClock(start=START))
        try:
            with pytest.raises(ValidationError) as caught:
                scheduler.restore(bad)
            assert caught.value.errors[0].path == path
            assert scheduler.pending() == 0
        finally:
            scheduler.close()
