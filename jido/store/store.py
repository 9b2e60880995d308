"""The state store: agents' committed state, kept outside the process, behind one small interface.

The runtime saves an agent's new state (its JSON text) before a ``call`` returns and before the bus delivery
that caused it is acked, and loads it when the agent starts again or thaws from hibernation. Every backend
(:mod:`jido.store.memory`, :mod:`jido.store.sqlite`) keeps the same promises:

* ``data`` is kept exactly: the text loaded is equal, code point for code point, to the text saved. The store
  never parses it.
* An agent's ``revision`` grows by 1 with each save, and never repeats: its first save gives 1, unless the
  store has deleted states before; after ``delete`` the agent has no state (revision 0 for compare-and-set),
  and its next save gives a revision above every revision the store ever deleted (a store-wide floor, one
  number). A writer holding a revision from before a delete therefore cannot overwrite a state made after it.
* ``save_many`` is atomic. Its writes apply in order, as if one after another (a second write to the same
  agent sees the first), and either all of them are stored or none is. A write with ``expected_revision`` is a
  compare-and-set: when the agent's stored revision (0 for none) differs, the call raises
  :class:`StaleStateError` for the first such write and stores nothing of the call.
* Calls made at the same time are independent: each succeeds or fails on its own, whatever the others do
  (the SQLite store shares one transaction among them, but not their failures).
* When a write call returns, what it wrote is as durable as the backend makes it (on disk, for SQLite).
  ``Cancelled`` out of a write means it wrote nothing; a return means it wrote everything.
* ``list_ids`` pages through agent ids in code-point order (the order of ``sorted``, and of UTF-8 bytes).
* After ``aclose`` every call raises :class:`~jido.errors.ClosedError`.

A write may carry a ``wake_at`` time: when the agent has pending work (timers, cron ticks) that should wake
it. Backends that also implement :class:`WakeupIndex` (memory, SQLite, Redis) index it, so a runtime opened on
the store after a restart finds its sleepers without reading every state; the others keep the state and
ignore the time (the pending work is then resumed when the agent is next started).

Agent ids and data are ``str``; both must be encodable as UTF-8 (no lone surrogates), so that a value any
backend accepts, every backend can keep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from jido.errors import StaleStateError
from jido.store._checks import (
    MAX_REVISION,
    check_agent_id,
    check_data,
    check_expected_revision,
    check_int,
    check_wake_at,
)

__all__ = [
    "MAX_REVISION",
    "StaleStateError",
    "StateStore",
    "StateStoreStatistics",
    "StateWrite",
    "StoredState",
    "Wakeup",
    "WakeupIndex",
    "check_wakeup_query",
    "check_writes",
]


@attrs.frozen
class StoredState:
    """An agent's state as the store keeps it.

    Attributes:
        agent_id: whose state it is.
        data: the state's JSON text, exactly as it was saved.
        revision: 1 for the first save, one more for each save after it.
        updated_at: when it was saved (UTC, from the store's clock).
    """

    agent_id: str
    data: str
    revision: int
    updated_at: dt.datetime


@attrs.frozen
class StateWrite:
    """One state to save, for :meth:`StateStore.save_many`.

    Attributes:
        agent_id: whose state it is (a non-empty str).
        data: the state's JSON text; the store keeps it exactly and never parses it.
        expected_revision: None to write whatever is stored; an int to write only if the stored revision is
            that one (0: only if the agent has no state), else :class:`StaleStateError`.
        wake_at: when the agent's pending work (timers, cron ticks) comes due, timezone-aware; None for none.
            Kept to the microsecond in UTC by backends that implement :class:`WakeupIndex`.

    Raises:
        TypeError, ValueError: a field of the wrong type, an empty ``agent_id``, text that is not valid
            UTF-8 (a lone surrogate), ``expected_revision`` outside 0..``MAX_REVISION``, or a naive ``wake_at``.
    """

    agent_id: str = attrs.field(validator=lambda _, __, value: check_agent_id(value))
    data: str = attrs.field(validator=lambda _, __, value: check_data(value))
    expected_revision: int | None = attrs.field(
        default=None, validator=lambda _, __, value: check_expected_revision(value, minimum=0)
    )
    wake_at: dt.datetime | None = attrs.field(
        default=None, kw_only=True, validator=lambda _, __, value: check_wake_at(value)
    )


@attrs.frozen(order=True)
class Wakeup:
    """An agent with pending work, as :meth:`WakeupIndex.list_wakeups` lists it (ordered by time, then id).

    Attributes:
        wake_at: when its earliest pending timer or cron tick comes due (UTC).
        agent_id: whose it is.
    """

    wake_at: dt.datetime
    agent_id: str


@attrs.frozen
class StateStoreStatistics:
    """Counters of one state store since it was made.

    Attributes:
        saves: states written (one per :class:`StateWrite` stored).
        deletes: states deleted.
        transactions: write transactions committed (the SQLite store gathers concurrent calls into one;
            the memory store counts each call that wrote something).
        largest_batch: the most states written or deleted in one transaction.
        conflicts: writes and deletes refused with :class:`StaleStateError`.
        failures: write calls that failed for another reason (the SQLite store: disk full, locked, a
            corrupt row); nothing of them was stored.
    """

    saves: int = 0
    deletes: int = 0
    transactions: int = 0
    largest_batch: int = 0
    conflicts: int = 0
    failures: int = 0


@runtime_checkable
class StateStore(Protocol):
    """A state store backend. All methods but ``statistics`` are async and safe from any task of one trio run."""

    async def load(self, agent_id: str) -> StoredState | None:
        """The state stored for ``agent_id``, or None."""
        ...

    async def load_many(self, agent_ids: Iterable[str]) -> dict[str, StoredState]:
        """The states stored for those of ``agent_ids`` that have one, by agent id."""
        ...

    async def save_many(self, writes: Sequence[StateWrite]) -> list[StoredState]:
        """Store ``writes`` in order, atomically; returns the stored states, one per write, in order.

        Raises :class:`StaleStateError` (and stores nothing) when a compare-and-set write does not match.
        """
        ...

    async def delete(self, agent_id: str, *, expected_revision: int | None = None) -> bool:
        """Delete the state of ``agent_id``; returns whether there was one.

        With ``expected_revision`` (>= 1), delete only if that revision is stored, else raise
        :class:`StaleStateError`.
        """
        ...

    async def list_ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        """Agent ids with a state, in code-point order, only those after ``after``, at most ``limit``."""
        ...

    async def count(self) -> int:
        """How many agents have a state."""
        ...

    async def aclose(self) -> None:
        """Let the calls in progress finish, then release the backend; later calls raise ``ClosedError``."""
        ...

    def statistics(self) -> StateStoreStatistics:
        """Counters of what this store did since it was made."""
        ...


@runtime_checkable
class WakeupIndex(Protocol):
    """What a store that indexes ``wake_at`` adds to :class:`StateStore` (optional: the runtime uses it when
    the store has it, to find sleeping agents after a restart)."""

    async def list_wakeups(
        self, *, before: dt.datetime | None = None, after: Wakeup | None = None, limit: int = 1000
    ) -> list[Wakeup]:
        """Agents whose stored state has a ``wake_at``, ordered by (``wake_at``, agent id): only those after
        ``after`` in that order and due no later than ``before``, at most ``limit``."""
        ...


def check_wakeup_query(before: object, after: object, limit: object) -> tuple[dt.datetime | None, int]:
    """Check the arguments of ``list_wakeups``; returns ``before`` in UTC and ``limit``.

    Raises:
        TypeError, ValueError: ``before`` is not None or an aware datetime, ``after`` not None or a
            :class:`Wakeup`, or ``limit`` not an int >= 1.
    """
    if after is not None and not isinstance(after, Wakeup):
        raise TypeError(f"after must be None or a Wakeup, got {after!r}")
    return check_wake_at(before, "before"), check_int(limit, "limit", minimum=1)


def check_writes(writes: object) -> list[StateWrite]:
    """Return ``writes`` as a list if it is a sequence of :class:`StateWrite`; else raise TypeError."""
    if isinstance(writes, StateWrite):
        raise TypeError("writes must be a sequence of StateWrite, got one StateWrite (wrap it in a list)")
    if isinstance(writes, str | bytes) or not isinstance(writes, Sequence):
        raise TypeError(f"writes must be a sequence of StateWrite, got {type(writes).__name__}")
    batch = list(writes)
    for i, write in enumerate(batch):
        if not isinstance(write, StateWrite):
            raise TypeError(f"writes[{i}] must be a StateWrite, got {write!r}")
    return batch
