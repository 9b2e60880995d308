"""Which offsets a subscription is done with: a checkpoint and a few ranges above it, never one entry per offset.

A subscription is done with an offset once its record was acked or dead-lettered, did not match its pattern,
or was removed by retention before the subscription read it. The checkpoint is the highest offset up to
which every offset is done. Above it, done offsets are kept as disjoint, non-adjacent ranges, so what this
costs depends on how many offsets are *not* done, never on how many are: the offsets between two ranges are
deliveries still in flight, so there are at most ``in_flight + 1`` ranges, and a retention gap of two million
offsets is one range, added in constant time.
"""

from __future__ import annotations

import bisect

__all__ = ["DoneOffsets"]


class DoneOffsets:
    """The offsets a subscription is done with: everything up to :attr:`checkpoint`, and ranges above it.

    Args:
        checkpoint: every offset up to this one is done already.
    """

    __slots__ = ("_checkpoint", "_ends", "_starts")

    def __init__(self, checkpoint: int) -> None:
        self._checkpoint = checkpoint
        # Parallel sorted lists: range i is starts[i]..ends[i], all above the checkpoint + 1 (a range that
        # reaches it is folded into the checkpoint at once), no two of them overlapping or touching.
        self._starts: list[int] = []
        self._ends: list[int] = []

    def __repr__(self) -> str:
        ranges = ", ".join(f"{s}..{e}" for s, e in zip(self._starts, self._ends, strict=True))
        return f"<DoneOffsets checkpoint={self._checkpoint} above=[{ranges}]>"

    @property
    def checkpoint(self) -> int:
        """Every offset up to this one is done."""
        return self._checkpoint

    def __len__(self) -> int:
        """How many ranges of done offsets sit above the checkpoint (what this object holds)."""
        return len(self._starts)

    def __contains__(self, offset: object) -> bool:
        if isinstance(offset, bool) or not isinstance(offset, int):
            return False
        if offset <= self._checkpoint:
            return True
        index = bisect.bisect_right(self._starts, offset) - 1
        return index >= 0 and offset <= self._ends[index]

    def add(self, first: int, last: int | None = None) -> bool:
        """Mark ``first..last`` (inclusive; just ``first`` when ``last`` is None) done.

        Offsets already done stay done (a redriven record acked again changes nothing). Returns whether the
        checkpoint moved.
        """
        if last is None:
            last = first
        if last < first or last <= self._checkpoint:
            return False
        first = max(first, self._checkpoint + 1)
        # Ranges that overlap or touch first..last merge with it: those ending at first - 1 or later and
        # starting at last + 1 or earlier.
        lo = bisect.bisect_left(self._ends, first - 1)
        hi = bisect.bisect_right(self._starts, last + 1)
        if lo < hi:
            first = min(first, self._starts[lo])
            last = max(last, self._ends[hi - 1])
            del self._starts[lo:hi]
            del self._ends[lo:hi]
        if first == self._checkpoint + 1:
            # Only the lowest range can touch the checkpoint, and it is this one (lo is then 0).
            self._checkpoint = last
            return True
        self._starts.insert(lo, first)
        self._ends.insert(lo, last)
        return False
