"""The memory state store: states in a dict, for tests and runtimes whose state need not outlive them.

It keeps every promise of :mod:`jido.store.store` except durability, and indexes ``wake_at``
(:class:`~jido.store.store.WakeupIndex`). Nothing is bounded: the states are the user's own memory, one entry
per agent; a delete leaves one number behind for the whole store (the highest revision deleted), not a
tombstone per agent. ``list_ids`` sorts the ids once and reuses that order until an id is
added or removed (saving a known agent, the common case, keeps it), so paging through all ids costs one sort.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from types import TracebackType

import trio

from jido.errors import ClosedError
from jido.store._checks import (
    WallClock,
    check_agent_id,
    check_clock,
    check_expected_revision,
    check_ids,
    check_page,
    stamp,
)
from jido.store.store import (
    StaleStateError,
    StateStoreStatistics,
    StateWrite,
    StoredState,
    Wakeup,
    check_wakeup_query,
    check_writes,
)

__all__ = ["MemoryStateStore"]


class MemoryStateStore:
    """A state store in a dict. See :mod:`jido.store.store` for the promises it keeps.

    Every method checks its arguments, checkpoints (like any trio I/O: a cancelled call does nothing), then
    acts without awaiting again, so each call is atomic with respect to the others.

    Args:
        clock: where ``updated_at`` comes from (anything with a ``now()`` giving an aware datetime);
            the system clock by default.

    Raises:
        TypeError: ``clock`` has no ``now()`` method.
    """

    def __init__(self, *, clock: WallClock | None = None) -> None:
        self._clock = check_clock(clock)
        self._states: dict[str, StoredState] = {}
        self._sorted: list[str] | None = []  # the ids in order; None once an id came or went
        self._wakeups: dict[str, dt.datetime] = {}  # agent id -> wake_at, for those that have one
        self._floor = 0  # the highest revision ever deleted: a new state starts above it (no ABA)
        self._closed = False
        self._saves = 0
        self._deletes = 0
        self._transactions = 0
        self._largest_batch = 0
        self._conflicts = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._states)} states"
        return f"<MemoryStateStore {state}>"

    def statistics(self) -> StateStoreStatistics:
        """Counters of what this store did since it was made."""
        return StateStoreStatistics(
            saves=self._saves,
            deletes=self._deletes,
            transactions=self._transactions,
            largest_batch=self._largest_batch,
            conflicts=self._conflicts,
        )

    async def __aenter__(self) -> MemoryStateStore:
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def load(self, agent_id: str) -> StoredState | None:
        """The state stored for ``agent_id``, or None.

        Raises:
            TypeError, ValueError: ``agent_id`` is not a non-empty str.
            ClosedError: the store is closed.
        """
        self._check_open()
        check_agent_id(agent_id)
        await trio.lowlevel.checkpoint()
        self._check_open()
        return self._states.get(agent_id)

    async def load_many(self, agent_ids: Iterable[str]) -> dict[str, StoredState]:
        """The states stored for those of ``agent_ids`` that have one, by agent id.

        Raises:
            TypeError, ValueError: ``agent_ids`` is a str, not iterable, or holds a bad agent id.
            ClosedError: the store is closed.
        """
        self._check_open()
        ids = check_ids(agent_ids)
        await trio.lowlevel.checkpoint()
        self._check_open()
        return {agent_id: self._states[agent_id] for agent_id in ids if agent_id in self._states}

    async def save_many(self, writes: Sequence[StateWrite]) -> list[StoredState]:
        """Store ``writes`` in order, all or none; returns the stored states, one per write, in order.

        Raises:
            TypeError: ``writes`` is not a sequence of :class:`StateWrite`.
            ValueError: the clock gave a naive datetime.
            StaleStateError: a compare-and-set write did not match (the first such one); nothing was stored.
            ClosedError: the store is closed.
        """
        self._check_open()
        batch = check_writes(writes)
        await trio.lowlevel.checkpoint()
        self._check_open()
        if not batch:
            return []
        updated_at = stamp(self._clock)
        # Apply to an overlay first: a mismatch part way leaves the store untouched.
        overlay: dict[str, StoredState] = {}
        stored: list[StoredState] = []
        for write in batch:
            current = (
                overlay[write.agent_id] if write.agent_id in overlay else self._states.get(write.agent_id)
            )
            actual = 0 if current is None else current.revision
            if write.expected_revision is not None and write.expected_revision != actual:
                self._conflicts += 1
                raise StaleStateError(write.agent_id, write.expected_revision, actual)
            revision = self._floor + 1 if current is None else actual + 1
            state = StoredState(write.agent_id, write.data, revision, updated_at)
            overlay[write.agent_id] = state
            stored.append(state)
        if self._sorted is not None and not overlay.keys() <= self._states.keys():
            self._sorted = None
        self._states.update(overlay)
        for write in batch:
            if write.wake_at is None:
                self._wakeups.pop(write.agent_id, None)
            else:
                self._wakeups[write.agent_id] = write.wake_at.astimezone(dt.UTC)
        self._saves += len(batch)
        self._transactions += 1
        self._largest_batch = max(self._largest_batch, len(batch))
        return stored

    async def delete(self, agent_id: str, *, expected_revision: int | None = None) -> bool:
        """Delete the state of ``agent_id``; returns whether there was one.

        Raises:
            TypeError, ValueError: ``agent_id`` is not a non-empty str, or ``expected_revision`` is not None
                or an int >= 1.
            StaleStateError: ``expected_revision`` is given and another revision (or none) is stored.
            ClosedError: the store is closed.
        """
        self._check_open()
        check_agent_id(agent_id)
        check_expected_revision(expected_revision, minimum=1)
        await trio.lowlevel.checkpoint()
        self._check_open()
        current = self._states.get(agent_id)
        actual = 0 if current is None else current.revision
        if expected_revision is not None and expected_revision != actual:
            self._conflicts += 1
            raise StaleStateError(agent_id, expected_revision, actual)
        if current is None:
            return False
        del self._states[agent_id]
        self._wakeups.pop(agent_id, None)
        self._floor = max(self._floor, current.revision)
        if self._sorted is not None:
            del self._sorted[bisect.bisect_left(self._sorted, agent_id)]
        self._deletes += 1
        self._transactions += 1
        self._largest_batch = max(self._largest_batch, 1)
        return True

    async def list_ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        """Agent ids with a state, in code-point order, only those greater than ``after``, at most ``limit``.

        Raises:
            TypeError, ValueError: ``after`` is not None or a str, or ``limit`` is not an int >= 1.
            ClosedError: the store is closed.
        """
        self._check_open()
        after, limit = check_page(after, limit)
        await trio.lowlevel.checkpoint()
        self._check_open()
        if self._sorted is None:
            self._sorted = sorted(self._states)
        start = 0 if after is None else bisect.bisect_right(self._sorted, after)
        return self._sorted[start : start + limit]

    async def list_wakeups(
        self, *, before: dt.datetime | None = None, after: Wakeup | None = None, limit: int = 1000
    ) -> list[Wakeup]:
        """Agents whose state has a ``wake_at``, by (``wake_at``, agent id): those after ``after``, due no later
        than ``before``, at most ``limit``. Sorts the indexed agents at each call (this store is for tests).

        Raises:
            TypeError, ValueError: a bad argument.
            ClosedError: the store is closed.
        """
        self._check_open()
        before, limit = check_wakeup_query(before, after, limit)
        await trio.lowlevel.checkpoint()
        self._check_open()
        found = sorted(Wakeup(wake_at, agent_id) for agent_id, wake_at in self._wakeups.items())
        start = 0 if after is None else bisect.bisect_right(found, after)
        page = found[start : start + limit]
        return page if before is None else [w for w in page if w.wake_at <= before]

    async def count(self) -> int:
        """How many agents have a state.

        Raises:
            ClosedError: the store is closed.
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        self._check_open()
        return len(self._states)

    async def aclose(self) -> None:
        """Close the store: later calls raise :class:`~jido.errors.ClosedError` (``aclose`` itself may be
        called again). The states are dropped."""
        self._closed = True
        self._states = {}
        self._sorted = []
        self._wakeups = {}
        await trio.lowlevel.checkpoint()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError("MemoryStateStore is closed")
