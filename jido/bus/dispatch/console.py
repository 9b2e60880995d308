"""The console adapter: one line per signal on a text stream, for watching a bus from a terminal.

This is the one place jido writes to standard output, because a user asked for it by choosing this adapter.
"""

from __future__ import annotations

import sys
from typing import ClassVar, Final, TextIO, final

import attrs
import trio

from jido.bus.dispatch.base import AdapterBase, DispatchError, checked, expect_bool
from jido.convert import describe_value
from jido.signal import Signal
from jido.signal.serialization import dumps, format_time

__all__ = ["ConsoleAdapter", "format_console_line"]

_DIM: Final = "\x1b[2m"
_CYAN: Final = "\x1b[36m"
_RESET: Final = "\x1b[0m"


def _expect_stream(value: object) -> str | None:
    if value is None or callable(getattr(value, "write", None)):
        return None
    return f"expected a text stream (with write) or null, got {describe_value(value)}"


def format_console_line(signal: Signal, *, color: bool = False) -> str:
    """``<time> <id> <type> <source> <data>``: data as compact JSON, bytes as ``<N bytes>``, no newline.

    Args:
        signal: the signal to show.
        color: dim the time and id and color the type with ANSI escape codes.
    """
    data = signal.data
    shown = f"<{len(data)} bytes>" if isinstance(data, bytes) else dumps(data)
    time = format_time(signal.time)
    if color:
        return f"{_DIM}{time} {signal.id}{_RESET} {_CYAN}{signal.type}{_RESET} {signal.source} {shown}"
    return f"{time} {signal.id} {signal.type} {signal.source} {shown}"


@final
@attrs.frozen(kw_only=True, eq=False)
class ConsoleAdapter(AdapterBase):
    """Writes one line per signal (see :func:`format_console_line`) and flushes.

    Args:
        stream: where to write; ``None`` (default) means ``sys.stdout`` as it is at each delivery, so that
            redirecting standard output later is followed.
        color: ANSI colors (off by default).
    """

    name: ClassVar[str] = "console"

    stream: TextIO | None = attrs.field(default=None, metadata=checked(_expect_stream))
    color: bool = attrs.field(default=False, metadata=checked(expect_bool))

    async def deliver(self, signal: Signal) -> None:
        """Write ``signal`` as one line.

        Raises:
            DispatchError: the stream refused the write: an ``OSError`` (retryable) or a closed stream
                (not retryable).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        stream = self.stream if self.stream is not None else sys.stdout
        line = format_console_line(signal, color=self.color)
        try:
            stream.write(line + "\n")
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
        except OSError as exc:
            raise DispatchError(
                f"console stream failed: {type(exc).__name__}: {exc}", adapter=self.name, retryable=True
            ) from exc
        except ValueError as exc:  # what io raises for a write to a closed stream
            raise DispatchError(f"console stream failed: {exc}", adapter=self.name, retryable=False) from exc
        await trio.lowlevel.cancel_shielded_checkpoint()
