"""What the gateway holds for its clients, counted in bytes: an account per TCP connection, a budget over all.

An account counts three parts of one connection:

- ``incoming``: bytes read from its socket and not yet taken as a whole frame (the frame being assembled);
  the websocket layer holds at most one frame besides the one being handled.
- ``sends``: frames queued for its socket (the send queue, at most ``send_queue_bytes``).
- ``calls`` and ``deliveries``: the frames of its running calls; the frames of durable deliveries it has not
  acked, and a fixed share per subscription for what the bus reads ahead of it.

The first :data:`FLOOR` bytes of every account are its own. What an account holds above that is drawn from
the gateway's budget (``max_total_bytes``): when the budget is spent, pumps and readers above their floor
wait for room (the backlog stays in the journal), and new subscriptions and calls are refused with
``unavailable``. A client that sends small frames and reads what it is sent stays within its floor, so a
flood of greedy clients cannot stall it.

So the gateway holds at most ``max_total_bytes`` plus ``FLOOR`` twice per open TCP connection (its own share,
and one read from the socket that may overdraw), plus the shared cache of encoded signals.
"""

from __future__ import annotations

from typing import Final, Literal

import trio

__all__ = ["FLOOR", "Account", "Budget", "Part"]

FLOOR: Final = 32 << 10
"""Bytes every connection may hold without drawing on the gateway's budget: a few small frames each way."""

Part = Literal["incoming", "sends", "calls", "deliveries"]


class Budget:
    """The gateway's budget: bytes its accounts hold above their floors, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0
        self._room = trio.lowlevel.ParkingLot()  # waiters for room in the budget

    def __repr__(self) -> str:
        return f"<Budget {self.used}/{self.limit} bytes>"

    def _draw(self, delta: int) -> None:
        self.used += delta
        if delta > 0:
            self.peak = max(self.peak, self.used)
        elif delta < 0 and self._room:
            self._room.unpark_all()


class Account:
    """The bytes one TCP connection holds, by part; ``limits`` bound each part (a part holding nothing may
    take one item larger than its limit, or it could never be sent)."""

    def __init__(self, budget: Budget, limits: dict[Part, int]) -> None:
        self.budget = budget
        self.limits = limits
        self.parts: dict[Part, int] = {"incoming": 0, "sends": 0, "calls": 0, "deliveries": 0}
        self.used = 0
        self.peak = 0
        self._drawn = 0  # what this account holds above FLOOR: its share of budget.used
        self._released = trio.lowlevel.ParkingLot()  # waiters for a part of this account to shrink
        self._budget_waiters = 0  # tasks of this account waiting in wait_budget
        self.closed = False

    def __repr__(self) -> str:
        return f"<Account {self.used} bytes {self.parts}>"

    def _settle(self) -> None:
        drawn = max(0, self.used - FLOOR)
        if drawn != self._drawn:
            self.budget._draw(drawn - self._drawn)
            self._drawn = drawn

    def charge(self, part: Part, size: int) -> None:
        """Count ``size`` more bytes held in ``part`` (whether or not there is room: callers check first)."""
        if self.closed:
            return
        self.parts[part] += size
        self.used += size
        self.peak = max(self.peak, self.used)
        self._settle()

    def release(self, part: Part, size: int) -> None:
        """Count ``size`` bytes of ``part`` as given back."""
        if self.closed:
            return
        self.parts[part] -= size
        self.used -= size
        self._settle()
        if self._released:
            self._released.unpark_all()
        if self._budget_waiters and self.budget._room:
            self.budget._room.unpark_all()  # one of them may wait only while its sends hold something

    def close(self) -> None:
        """The connection is gone: whatever it still counts is given back, and nothing is counted after."""
        for part, size in list(self.parts.items()):
            if size:
                self.release(part, size)
        self.closed = True

    def part_room(self, part: Part, size: int) -> bool:
        """Whether ``part`` has room for ``size`` more bytes."""
        held = self.parts[part]
        return held == 0 or held + size <= self.limits[part]

    def budget_room(self, size: int) -> bool:
        """Whether the gateway's budget has room for this account to hold ``size`` more bytes."""
        drawn = max(0, self.used + size - FLOOR)
        others = self.budget.used - self._drawn
        # Nothing drawn at all: one item larger than the whole budget may still go (alone).
        return drawn <= self._drawn or self.budget.used == 0 or others + drawn <= self.budget.limit

    async def wait_budget(self, size: int, *, while_sending: bool = False) -> None:
        """Wait until the gateway's budget has room for ``size`` more bytes of this account; ``while_sending``:
        only while frames of it are queued (the connection's reader must not wait on others for good: the
        acks it reads are what frees their deliveries)."""
        while not self.budget_room(size) and (not while_sending or self.parts["sends"]):
            self._budget_waiters += 1
            try:
                await self.budget._room.park()
            finally:
                self._budget_waiters -= 1

    async def wait_room(self, part: Part, size: int, *, budget: bool = True) -> None:
        """Wait until ``part`` has room for ``size`` more bytes, and (``budget``) so has the gateway's budget."""
        while True:
            if not self.part_room(part, size):
                await self._released.park()
            elif budget and not self.budget_room(size):
                await self.budget._room.park()
            else:
                return
