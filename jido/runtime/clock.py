"""Moved to :mod:`jido.clock` (below the bus and the runtime, which both use it); kept so imports keep working."""

from jido.clock import DEFAULT_MAX_NAP, Clock, SystemClock, TrioClock, check_aware, sleep_until_wall

__all__ = ["DEFAULT_MAX_NAP", "Clock", "SystemClock", "TrioClock", "check_aware", "sleep_until_wall"]
