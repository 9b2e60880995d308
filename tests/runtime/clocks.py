"""Clocks for the runtime's time tests."""

from __future__ import annotations

import datetime as dt

from jido.clock import Clock


class ShiftedClock:
    """A clock set forward or back by ``offset`` from another, as an administrator (or NTP) might."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return self.base.now() + self.offset
