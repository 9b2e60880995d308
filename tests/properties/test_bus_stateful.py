"""The bus under publish / ack / nack / crash / reopen steps, against a model (SQLite journal).

One trio loop lives in a helper thread for each run of the state machine, so the bus and its subscription
survive from one rule to the next; "crash" drops the subscription without storing its checkpoint and closes
everything, "reopen" opens a new bus over the same file.

Invariants: offsets strictly increase across restarts; the stored checkpoint never moves backwards; at the
end, every published signal was acked or dead-lettered (nothing accepted is lost); a signal is dead-lettered
exactly when it was nacked ``MAX_ATTEMPTS`` times within one life of the subscription.
"""

from __future__ import annotations

import itertools
import pathlib
import tempfile
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from jido.bus.bus import Bus, open_bus
from jido.bus.sqlite import SQLiteJournal
from jido.bus.subscription import Subscription
from jido.signal import Signal

T = TypeVar("T")
MAX_ATTEMPTS = 2


class _Loop:
    """A trio run in a thread, taking work from the test thread."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self._thread.start()
        self._ready.wait()

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self._ready.set()
            await self._stop.wait()
            nursery.cancel_scope.cancel()

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return trio.from_thread.run(fn, *args, trio_token=self.token)

    def close(self) -> None:
        trio.from_thread.run_sync(self._stop.set, trio_token=self.token)
        self._thread.join(timeout=10)


class BusMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = _Loop()
        self.dir = tempfile.TemporaryDirectory()
        self.path = pathlib.Path(self.dir.name) / "journal.db"
        self.bus: Bus | None = None
        self.sub: Subscription | None = None
        self.close_bus: trio.Event | None = None
        self.published: list[int] = []
        self.acked: set[int] = set()
        self.dead: set[int] = set()
        self.nacks: dict[int, int] = {}  # within the current life of the subscription
        self.checkpoint = 0
        self.interval = 0.0

    async def _hold_bus(self, *, task_status: trio.TaskStatus[tuple[Bus, trio.Event]]) -> None:
        close = trio.Event()
        self.bus_closed = trio.Event()
        async with open_bus(SQLiteJournal(self.path)) as bus:
            task_status.started((bus, close))
            await close.wait()
        self.bus_closed.set()

    def _open(self) -> None:
        self.bus, self.close_bus = self.loop.run(self.loop.nursery.start, self._hold_bus)
        self.sub = self.loop.run(self._subscribe)
        self.nacks = {}

    async def _subscribe(self) -> Subscription:
        assert self.bus is not None
        return await self.bus.subscribe(
            "**",
            name="model",
            start_from="beginning",
            max_attempts=MAX_ATTEMPTS,
            backoff=0,
            max_in_flight=1,
            checkpoint_interval=self.interval,
        )

    def _close(self, *, crash: bool) -> None:
        assert self.sub is not None and self.close_bus is not None and self.bus is not None
        if crash:
            trio.from_thread.run_sync(self.sub.close_nowait, trio_token=self.loop.token)
        trio.from_thread.run_sync(self.close_bus.set, trio_token=self.loop.token)
        # Wait until the bus has closed, so the journal file is released before it is opened again.
        self.loop.run(self.bus_closed.wait)
        self.bus = self.sub = self.close_bus = None

    @initialize(interval=st.sampled_from([0.0, 3600.0]))
    def start(self, interval: float) -> None:
        self.interval = interval
        self._open()

    @rule(count=st.integers(1, 3))
    def publish(self, count: int) -> None:
        async def go() -> list[int]:
            assert self.bus is not None
            n = len(self.published)
            records = await self.bus.publish(
                [Signal(type="m.e", source="/m", data={"n": n + i}) for i in range(count)]
            )
            return [r.offset for r in records]

        offsets = self.loop.run(go)
        sequence = [*self.published[-1:], *offsets]
        assert all(b > a for a, b in itertools.pairwise(sequence))  # strictly increasing
        self.published.extend(offsets)

    def _pending(self) -> bool:
        assert self.sub is not None
        return self.sub.statistics().lag > 0 or self.sub.statistics().in_flight > 0 or bool(self.sub._redrive)

    async def _next(self) -> Any:
        assert self.sub is not None
        with trio.fail_after(5):
            return await self.sub.next()

    @precondition(lambda self: self.sub is not None and self._pending())
    @rule()
    def deliver_and_ack(self) -> None:
        delivery = self.loop.run(self._next)
        if delivery is None:
            return
        assert self.sub is not None
        self.loop.run(self.sub.ack, delivery.offset)
        self.acked.add(delivery.offset)

    @precondition(lambda self: self.sub is not None and self._pending())
    @rule()
    def deliver_and_nack(self) -> None:
        delivery = self.loop.run(self._next)
        assert self.sub is not None
        self.loop.run(self.sub.nack, delivery.offset, "handler failed")
        self.nacks[delivery.offset] = self.nacks.get(delivery.offset, 0) + 1
        if self.nacks[delivery.offset] >= MAX_ATTEMPTS:
            self.dead.add(delivery.offset)

    @rule()
    def crash_and_reopen(self) -> None:
        self._close(crash=True)
        self._open()

    @rule()
    def clean_reopen(self) -> None:
        self._close(crash=False)
        self._open()

    @invariant()
    def checkpoint_never_moves_back(self) -> None:
        if self.bus is None:
            return

        async def stored() -> int:
            assert self.bus is not None
            return await self.bus.journal.get_checkpoint("model") or 0

        now = self.loop.run(stored)
        assert now >= self.checkpoint
        self.checkpoint = now

    @invariant()
    def dead_letters_are_the_exhausted_ones(self) -> None:
        if self.bus is None:
            return

        async def letters() -> set[int]:
            assert self.bus is not None
            return {d.record.offset for d in await self.bus.dead_letters("model")}

        assert self.loop.run(letters) == self.dead

    def teardown(self) -> None:
        try:
            if self.sub is not None:
                while self._pending():  # drain: everything published is acked or dead-lettered
                    delivery = self.loop.run(self._next)
                    self.loop.run(self.sub.ack, delivery.offset)
                    self.acked.add(delivery.offset)
                assert set(self.published) <= self.acked | self.dead
                self._close(crash=False)
        finally:
            self.loop.close()
            self.dir.cleanup()


TestBusStateful = BusMachine.TestCase
TestBusStateful.settings = settings(stateful_step_count=20, deadline=None)
