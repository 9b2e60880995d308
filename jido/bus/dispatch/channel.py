"""The channel adapter: send signals into a trio memory channel that some task of yours reads."""

from __future__ import annotations

from typing import ClassVar, Final, Literal, final

import attrs
import trio

from jido.bus.dispatch.base import AdapterBase, DispatchError, checked, expect_choice
from jido.convert import describe_value
from jido.signal import Signal

__all__ = ["ChannelAdapter"]

CHANNEL_MODES: Final = ("wait", "nowait")


def _expect_send_channel(value: object) -> str | None:
    if isinstance(value, trio.MemorySendChannel):
        return None
    return f"expected a trio.MemorySendChannel, got {describe_value(value)}"


@final
@attrs.frozen(kw_only=True, eq=False)
class ChannelAdapter(AdapterBase):
    """Sends each signal into ``channel``.

    The channel stays yours: :meth:`aclose` does not close it (close it, or the receiving end, yourself).

    Args:
        channel: the send side of a trio memory channel of signals.
        mode: ``"wait"`` (default) waits for room in a full channel, which slows the subscription down to
            the reader's pace; ``"nowait"`` fails at once with a retryable :class:`DispatchError`, so the bus
            retries later with backoff.
    """

    name: ClassVar[str] = "channel"

    channel: trio.MemorySendChannel[Signal] = attrs.field(metadata=checked(_expect_send_channel))
    mode: Literal["wait", "nowait"] = attrs.field(
        default="wait", metadata=checked(expect_choice(CHANNEL_MODES))
    )

    async def deliver(self, signal: Signal) -> None:
        """Send ``signal`` into the channel.

        Raises:
            DispatchError: the channel is full in ``"nowait"`` mode (retryable); the channel was closed or
                its receiving end is gone (not retryable: a memory channel never reopens).
        """
        try:
            if self.mode == "wait":
                await self.channel.send(signal)
            else:
                # Trio's checkpoint rule without the risk of a cancellation after the signal went in.
                await trio.lowlevel.checkpoint_if_cancelled()
                self.channel.send_nowait(signal)
                await trio.lowlevel.cancel_shielded_checkpoint()
        except trio.WouldBlock as exc:
            size = self.channel.statistics().max_buffer_size
            raise DispatchError(
                f"channel is full ({size:g} signals)", adapter=self.name, retryable=True
            ) from exc
        except trio.ClosedResourceError as exc:
            raise DispatchError("channel is closed", adapter=self.name, retryable=False) from exc
        except trio.BrokenResourceError as exc:
            raise DispatchError(
                "channel has no receiver left (its receiving end was closed)",
                adapter=self.name,
                retryable=False,
            ) from exc
