"""The in-process adapters: agent, callback, channel, logger, console."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from typing import Any

import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.bus.dispatch import (
    AgentAdapter,
    CallbackAdapter,
    ChannelAdapter,
    ConsoleAdapter,
    DispatchError,
    LoggerAdapter,
    make_adapter,
)
from jido.errors import ActionError, AgentNotFoundError, NoRouteError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal

T0 = dt.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def sig(kind: str = "add", **data: Any) -> Signal:
    return Signal(type=f"tally.{kind}", source="/test", data=data or None, id="sig-1", time=T0)


@action
class Add:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action
class Slow:
    async def run(self, ctx: ActionContext) -> dict[str, Any]:
        await trio.sleep(10)
        return {"count": ctx.state.count + 1}


@action
class Flaky:
    def run(self, ctx: ActionContext) -> None:
        raise RuntimeError("flaky")


@action
class Reject:
    def run(self, ctx: ActionContext) -> None:
        raise ValueError("bad input")


@agent
@route("tally.add", Add)
@route("tally.slow", Slow)
@route("tally.flaky", Flaky)
@route("tally.reject", Reject)
class Tally:
    count: int = 0


class TestAgentAdapter:
    async def test_cast_reaches_mailbox(self) -> None:
        """cast delivery puts the signal in the agent's mailbox; the agent handles it."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Tally, id="t")
            await AgentAdapter(target="t", runtime=rt).deliver(sig(by=3))
            state = await ref.wait_state(lambda s: s.count == 3, timeout=5)
            assert state.count == 3

    async def test_call_returns_after_handling(self) -> None:
        """call delivery returns once the agent has handled the signal."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Tally, id="t")
            await AgentAdapter(target="t", runtime=rt, delivery="call").deliver(sig(by=4))
            assert ref.state.count == 4

    async def test_unknown_agent_is_retryable(self) -> None:
        """An agent that is not running fails the delivery as retryable, with the lookup error as cause."""
        async with open_runtime() as rt:
            with pytest.raises(DispatchError, match=exactly("agent 'ghost' is not running")) as caught:
                await AgentAdapter(target="ghost", runtime=rt).deliver(sig())
            assert caught.value.retryable is True and caught.value.adapter == "agent"
            assert isinstance(caught.value.__cause__, AgentNotFoundError)

    async def test_agent_looked_up_at_each_delivery(self) -> None:
        """An agent started after the adapter was made (or restarted) receives later deliveries."""
        async with open_runtime() as rt:
            adapter = AgentAdapter(target="late", runtime=rt, delivery="call")
            with pytest.raises(DispatchError):
                await adapter.deliver(sig())
            ref = await rt.start_agent(Tally, id="late")
            await adapter.deliver(sig(by=2))
            assert ref.state.count == 2

    async def test_call_timeout_is_retryable(self, autojump_clock: trio.testing.MockClock) -> None:
        """A call without an answer within the timeout fails as retryable."""
        async with open_runtime() as rt:
            await rt.start_agent(Tally, id="t")
            adapter = AgentAdapter(target="t", runtime=rt, delivery="call", timeout=0.5)
            with pytest.raises(
                DispatchError, match=exactly("agent 't' did not answer within 0.5s")
            ) as caught:
                await adapter.deliver(sig("slow"))
            assert caught.value.retryable is True

    async def test_call_failure_keeps_action_classification(self) -> None:
        """A failed handling is retryable as the action error says (a RuntimeError is)."""
        async with open_runtime() as rt:
            await rt.start_agent(Tally, id="t", error_policy="log")
            adapter = AgentAdapter(target="t", runtime=rt, delivery="call")
            with pytest.raises(
                DispatchError, match=r"^agent 't' failed to handle signal 'sig-1': "
            ) as caught:
                await adapter.deliver(sig("flaky"))
            assert caught.value.retryable is True
            assert isinstance(caught.value.__cause__, ActionError)

    async def test_call_bad_input_not_retryable(self) -> None:
        """An action that rejects its input (ValueError) fails the delivery as not retryable."""
        async with open_runtime() as rt:
            await rt.start_agent(Tally, id="t", error_policy="log")
            adapter = AgentAdapter(target="t", runtime=rt, delivery="call")
            with pytest.raises(DispatchError) as caught:
                await adapter.deliver(sig("reject"))
            assert caught.value.retryable is False

    async def test_call_no_route_not_retryable(self) -> None:
        """A signal the agent has no route for fails as not retryable: it would never be handled."""
        async with open_runtime() as rt:
            await rt.start_agent(Tally, id="t", error_policy="log")
            adapter = AgentAdapter(target="t", runtime=rt, delivery="call")
            message = "agent 't' failed to handle signal 'sig-1': no route for signal type 'tally.nope' in agent 'tally'"
            with pytest.raises(DispatchError, match=exactly(message)) as caught:
                await adapter.deliver(sig("nope"))
            assert caught.value.retryable is False
            assert isinstance(caught.value.__cause__, NoRouteError)


class TestCallbackAdapter:
    async def test_sync_function(self) -> None:
        """A sync function is called with the signal."""
        seen: list[Signal] = []
        await CallbackAdapter(fn=seen.append).deliver(sig())
        assert seen == [sig()]

    async def test_async_function(self) -> None:
        """An async function is called with the signal and awaited."""
        seen: list[Signal] = []

        async def record(signal: Signal) -> None:
            await trio.lowlevel.checkpoint()
            seen.append(signal)

        await CallbackAdapter(fn=record).deliver(sig())
        assert seen == [sig()]

    async def test_exception_is_retryable_by_default(self) -> None:
        """An exception becomes a retryable DispatchError naming the function, with the exception as cause."""

        def explode(signal: Signal) -> None:
            raise KeyError("k")

        message = "callback TestCallbackAdapter.test_exception_is_retryable_by_default.<locals>.explode raised KeyError: 'k'"
        with pytest.raises(DispatchError, match=exactly(message)) as caught:
            await CallbackAdapter(fn=explode).deliver(sig())
        assert caught.value.retryable is True and caught.value.adapter == "callback"
        assert isinstance(caught.value.__cause__, KeyError)

    async def test_exception_can_refuse_retry(self) -> None:
        """An exception with retryable = False makes the DispatchError not retryable."""

        class Permanent(Exception):
            retryable = False

        async def refuse(signal: Signal) -> None:
            raise Permanent("never")

        with pytest.raises(DispatchError) as caught:
            await CallbackAdapter(fn=refuse).deliver(sig())
        assert caught.value.retryable is False

    async def test_cancellable(self, autojump_clock: trio.testing.MockClock) -> None:
        """Cancelling a delivery cancels the async function, and no DispatchError is raised."""
        finished = False

        async def slow(signal: Signal) -> None:
            nonlocal finished
            await trio.sleep(100)
            finished = True

        with trio.move_on_after(1) as scope:
            await CallbackAdapter(fn=slow).deliver(sig())
        assert scope.cancelled_caught and not finished


class TestChannelAdapter:
    async def test_wait_mode_sends(self) -> None:
        """The signal arrives on the receiving end."""
        send, receive = trio.open_memory_channel[Signal](1)
        await ChannelAdapter(channel=send).deliver(sig())
        assert receive.receive_nowait() == sig()

    async def test_wait_mode_waits_for_room(self) -> None:
        """In wait mode a full channel makes the delivery wait until the reader takes one."""
        send, receive = trio.open_memory_channel[Signal](0)
        adapter = ChannelAdapter(channel=send)
        done = trio.Event()

        async def deliver() -> None:
            await adapter.deliver(sig())
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(deliver)
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()
            assert await receive.receive() == sig()
        assert done.is_set()

    async def test_nowait_full_is_retryable(self) -> None:
        """In nowait mode a full channel fails the delivery at once, as retryable."""
        send, _receive = trio.open_memory_channel[Signal](1)
        adapter = ChannelAdapter(channel=send, mode="nowait")
        await adapter.deliver(sig())
        with pytest.raises(DispatchError, match=exactly("channel is full (1 signals)")) as caught:
            await adapter.deliver(sig())
        assert caught.value.retryable is True

    async def test_receiver_gone_not_retryable(self) -> None:
        """A channel whose receiving end was closed fails as not retryable."""
        send, receive = trio.open_memory_channel[Signal](1)
        await receive.aclose()
        message = "channel has no receiver left (its receiving end was closed)"
        for mode in ("wait", "nowait"):
            with pytest.raises(DispatchError, match=exactly(message)) as caught:
                await make_adapter("channel", channel=send, mode=mode).deliver(sig())
            assert caught.value.retryable is False

    async def test_closed_channel_not_retryable(self) -> None:
        """A send channel closed by its owner fails as not retryable."""
        send, _receive = trio.open_memory_channel[Signal](1)
        await send.aclose()
        with pytest.raises(DispatchError, match=exactly("channel is closed")) as caught:
            await ChannelAdapter(channel=send).deliver(sig())
        assert caught.value.retryable is False

    async def test_aclose_leaves_channel_open(self) -> None:
        """The channel belongs to the user: aclose does not close it."""
        send, receive = trio.open_memory_channel[Signal](1)
        await ChannelAdapter(channel=send).aclose()
        send.send_nowait(sig())
        assert receive.receive_nowait() == sig()

    async def test_nowait_cancelled_before_sending(self) -> None:
        """A nowait delivery in a cancelled scope raises Cancelled and sends nothing."""
        send, receive = trio.open_memory_channel[Signal](1)
        with trio.CancelScope() as scope:
            scope.cancel()
            await ChannelAdapter(channel=send, mode="nowait").deliver(sig())
        assert scope.cancelled_caught
        with pytest.raises(trio.WouldBlock):
            receive.receive_nowait()


class TestLoggerAdapter:
    async def test_logs_one_record(self, caplog: pytest.LogCaptureFixture) -> None:
        """One record at the level given, on jido.dispatch, naming type, id and source."""
        caplog.set_level(logging.DEBUG, logger="jido.dispatch")
        await LoggerAdapter(level="warning").deliver(sig())
        [record] = caplog.records
        assert (record.name, record.levelno) == ("jido.dispatch", logging.WARNING)
        assert record.getMessage() == "signal tally.add sig-1 from /test"
        assert not hasattr(record, "signal")

    async def test_structured_attaches_signal(self, caplog: pytest.LogCaptureFixture) -> None:
        """structured=True attaches the signal's CloudEvents JSON object as record.signal."""
        caplog.set_level(logging.INFO, logger="app.events")
        await LoggerAdapter(logger_name="app.events", structured=True).deliver(sig(by=2))
        [record] = caplog.records
        assert record.name == "app.events"
        assert record.__dict__["signal"] == sig(by=2).to_dict()

    async def test_below_level_not_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        """Nothing is logged when the logger is not enabled for the level."""
        caplog.set_level(logging.INFO, logger="jido.dispatch")
        await LoggerAdapter(level="debug").deliver(sig())
        assert caplog.records == []


class TestConsoleAdapter:
    async def test_one_line_per_signal(self) -> None:
        """A line with time, id, type, source and data as JSON."""
        stream = io.StringIO()
        adapter = ConsoleAdapter(stream=stream)
        await adapter.deliver(sig(by=2))
        await adapter.deliver(sig("reset"))
        assert stream.getvalue().splitlines() == [
            '2025-01-02T03:04:05.678000Z sig-1 tally.add /test {"by":2}',
            "2025-01-02T03:04:05.678000Z sig-1 tally.reset /test null",
        ]

    async def test_bytes_data_shown_as_size(self) -> None:
        """Bytes data is shown by its size, not dumped."""
        stream = io.StringIO()
        signal = Signal(type="blob.put", source="/b", data=b"\x00\x01\x02", id="b-1", time=T0)
        await ConsoleAdapter(stream=stream).deliver(signal)
        assert stream.getvalue() == "2025-01-02T03:04:05.678000Z b-1 blob.put /b <3 bytes>\n"

    async def test_color(self) -> None:
        """color=True dims time and id and colors the type with ANSI codes."""
        stream = io.StringIO()
        await ConsoleAdapter(stream=stream, color=True).deliver(sig(by=1))
        expected = '\x1b[2m2025-01-02T03:04:05.678000Z sig-1\x1b[0m \x1b[36mtally.add\x1b[0m /test {"by":1}\n'
        assert stream.getvalue() == expected

    async def test_default_is_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a stream, lines go to standard output as it is at delivery time."""
        await ConsoleAdapter().deliver(sig(by=5))
        out = capsys.readouterr().out
        assert json.loads(out.split(" ", 4)[4]) == {"by": 5}

    async def test_closed_stream_not_retryable(self) -> None:
        """A closed stream fails the delivery as not retryable."""
        stream = io.StringIO()
        stream.close()
        with pytest.raises(
            DispatchError, match=exactly("console stream failed: I/O operation on closed file")
        ) as c:
            await ConsoleAdapter(stream=stream).deliver(sig())
        assert c.value.retryable is False

    async def test_os_error_retryable(self) -> None:
        """An OSError from the stream (a full disk, say) fails as retryable."""

        class FullDisk(io.StringIO):
            def write(self, text: str) -> int:
                raise OSError(28, "No space left on device")

        with pytest.raises(
            DispatchError, match=exactly("console stream failed: OSError: [Errno 28] No space left on device")
        ) as caught:
            await ConsoleAdapter(stream=FullDisk()).deliver(sig())
        assert caught.value.retryable is True
