"""Signal ids: UUIDv7 strings (RFC 9562), unique and ordered by creation time.

Ids made in one process sort, as strings, in the order they were made. The first 48 bits are the Unix time in
milliseconds, so sorting ids sorts by time across processes too (to the millisecond).

Why not ``uuid6.uuid7()``: on every id made in the same millisecond as the previous one it moves its
timestamp one millisecond forward, so a burst of 100,000 ids ends up stamped 100 seconds in the future, and an
id no longer says when it was made. Here ids in the same millisecond share its timestamp and are ordered by a
12-bit counter in ``rand_a`` (RFC 9562 section 6.2, method 1) that starts at a random value below 2048 each
millisecond. Only more than 2048 ids in one millisecond (far more than this process can make) borrow the next.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
import uuid
from typing import Final

__all__ = ["id_time", "new_id"]

_COUNTER_MAX: Final = 0xFFF
_VERSION_BITS: Final = 0x7 << 76
_VARIANT_BITS: Final = 0b10 << 62

# Random bits come from a private generator seeded from os.urandom: ids must be unique, not secret, and a
# system call per id (``secrets``) would cost more than the rest of new_id together.
_rng = random.Random()
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _after_fork_in_child() -> None:
    global _lock
    _rng.seed()  # a forked child must not repeat its parent's random bits
    _lock = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def new_id() -> str:
    """A new UUIDv7 string, such as ``"019a7a5c-3b1e-7d2f-9c41-5f0e2b7d8a13"``.

    Each id sorts after every id this process made before it. Safe to call from several threads.
    """
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = _rng.getrandbits(11)
        else:
            # Same millisecond, or the clock stepped back: stay on the last timestamp so ids keep their order.
            _counter += 1
            if _counter > _COUNTER_MAX:
                _last_ms += 1
                _counter = _rng.getrandbits(11)
        ms, counter = _last_ms, _counter
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80 | _VERSION_BITS | counter << 64 | _VARIANT_BITS | _rng.getrandbits(62)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def id_time(signal_id: str) -> dt.datetime | None:
    """When a UUIDv7 was made (UTC, to the millisecond); ``None`` for anything that is not a UUIDv7 string.

    Args:
        signal_id: a signal id, such as one from :func:`new_id`.
    """
    try:
        parsed = uuid.UUID(signal_id)
    except (ValueError, TypeError, AttributeError):
        return None
    if parsed.version != 7 or parsed.variant != uuid.RFC_4122:
        return None
    ms = parsed.int >> 80
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
