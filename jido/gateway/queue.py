"""A connection's send queue, bounded in frames and in bytes.

A bound in frames alone does not bound memory: a thousand frames of a megabyte each are a gigabyte per client
that stopped reading. So a frame is let in only while both bounds hold, except that a frame larger than the
whole byte bound is let into an empty queue (else it could never be sent). Producers that find no room wait in
arrival order: a large frame waiting for room is not overtaken forever by small ones that fit.

Sizes are what the frames take in memory (``sys.getsizeof``, a constant-time read of the string's length and
width), which is what the bound is about.
"""

from __future__ import annotations

import sys
from collections import deque

import attrs
import trio

from jido.gateway.budget import Account

__all__ = ["SendQueue", "frame_size"]


def frame_size(frame: str) -> int:
    """Bytes ``frame`` takes in memory."""
    return sys.getsizeof(frame)


@attrs.define(eq=False)
class _Waiter:
    frame: str
    size: int
    queued: bool = False
    admitted: trio.Event = attrs.field(factory=trio.Event)


class SendQueue:
    """Frames waiting to be written to one connection (internal to the gateway).

    ``put`` waits for room; ``get`` waits for a frame. After ``close``, producers get
    ``trio.ClosedResourceError`` and the consumer gets what is queued, then ``trio.EndOfChannel``.
    """

    def __init__(self, max_frames: int, max_bytes: int, account: Account | None = None) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._account = account  # counts the queued bytes as the connection's "sends"
        self._frames: deque[tuple[str, int]] = deque()
        self._bytes = 0
        self._waiting: deque[_Waiter] = deque()
        self._readable = trio.Event()
        self._closed = False
        self.peak_bytes = 0

    def __repr__(self) -> str:
        return (
            f"<SendQueue {len(self._frames)}/{self.max_frames} frames, {self._bytes}/{self.max_bytes} bytes>"
        )

    @property
    def frames(self) -> int:
        """Frames queued now."""
        return len(self._frames)

    @property
    def bytes(self) -> int:
        """Bytes queued now."""
        return self._bytes

    def _fits(self, size: int) -> bool:
        if not self._frames:
            return True
        return len(self._frames) < self.max_frames and self._bytes + size <= self.max_bytes

    def _append(self, frame: str, size: int) -> None:
        self._frames.append((frame, size))
        self._bytes += size
        self.peak_bytes = max(self.peak_bytes, self._bytes)
        if self._account is not None:
            self._account.charge("sends", size)
        self._readable.set()

    def put_nowait(self, frame: str) -> None:
        """Queue ``frame`` if there is room and nobody is waiting for it.

        Raises:
            trio.WouldBlock: no room now.
            trio.ClosedResourceError: the queue is closed.
        """
        if self._closed:
            raise trio.ClosedResourceError("the connection is closing")
        size = frame_size(frame)
        if self._waiting or not self._fits(size):
            raise trio.WouldBlock
        self._append(frame, size)

    async def put(self, frame: str) -> None:
        """Queue ``frame``, waiting (in arrival order) for room.

        Raises:
            trio.ClosedResourceError: the queue is closed (before or while waiting).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self.put_nowait(frame)
        except trio.WouldBlock:
            pass
        else:
            await (
                trio.lowlevel.cancel_shielded_checkpoint()
            )  # queued: a cancellation now must not say otherwise
            return
        waiter = _Waiter(frame, frame_size(frame))
        self._waiting.append(waiter)
        try:
            await waiter.admitted.wait()
        except BaseException:
            if not waiter.admitted.is_set():
                self._waiting.remove(waiter)
                self._admit()  # a smaller frame behind this one may fit now
            raise
        if not waiter.queued:
            raise trio.ClosedResourceError("the connection is closing")

    def _admit(self) -> None:
        while self._waiting and self._fits(self._waiting[0].size):
            waiter = self._waiting.popleft()
            self._append(waiter.frame, waiter.size)
            waiter.queued = True
            waiter.admitted.set()

    def get_nowait(self) -> str:
        """The oldest frame.

        Raises:
            trio.WouldBlock: none is queued.
            trio.EndOfChannel: none is queued and the queue is closed.
        """
        if not self._frames:
            if self._closed:
                raise trio.EndOfChannel
            raise trio.WouldBlock
        frame, size = self._frames.popleft()
        self._bytes -= size
        if self._account is not None:
            self._account.release("sends", size)
        if not self._frames:
            self._readable = trio.Event()
        self._admit()
        return frame

    async def get(self) -> str:
        """The oldest frame, waiting for one.

        Raises:
            trio.EndOfChannel: the queue is closed and empty.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                frame = self.get_nowait()
            except trio.WouldBlock:
                await self._readable.wait()
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()  # taken: it must reach the caller
                return frame

    def close(self) -> None:
        """No more frames: producers waiting for room are refused; the consumer drains what is queued."""
        self._closed = True
        waiting, self._waiting = self._waiting, deque()
        for waiter in waiting:
            waiter.admitted.set()  # wakes it; it finds itself not queued and raises ClosedResourceError
        self._readable.set()
