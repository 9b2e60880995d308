"""Logging: structured context on jido's records, and nothing printed by the library itself."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from jido.bus.bus import open_bus
from jido.errors import ActionError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.telemetry.logs import context_of, log_context

from ..runtime.agents import Counter, sig


class TestLogContext:
    def test_signal_context(self) -> None:
        """log_context carries the signal's id, type and conversation id, the agent id, and extras."""
        parent = Signal(type="a.b", source="/t")
        child = Signal(type="a.c", source="/t").caused_by(parent)
        assert log_context(child, agent_id="x", reason="crash") == {
            "agent_id": "x",
            "signal_id": child.id,
            "signal_type": "a.c",
            "correlation_id": parent.id,
            "reason": "crash",
        }

    def test_no_signal(self) -> None:
        """Without a signal the signal keys are present and None."""
        assert log_context(agent_id="x") == {
            "agent_id": "x",
            "signal_id": None,
            "signal_type": None,
            "correlation_id": None,
        }


class TestRecords:
    async def test_dead_letter_and_crash_records(self, caplog: pytest.LogCaptureFixture) -> None:
        """The dead letter and the crash of an agent are logged with the agent's and the signal's context."""
        with caplog.at_level(logging.WARNING, logger="jido"):
            async with open_runtime() as rt:
                ref = await rt.start_agent(Counter, id="c")
                signal = sig("crash")
                with pytest.raises(ActionError):
                    await ref.call(signal)
                await ref.call(sig("add"))  # after the restart: the supervisor has seen the crash
        dead = next(r for r in caplog.records if r.getMessage().startswith("dead letter (crash)"))
        assert context_of(dead) == {
            "agent_id": "c",
            "signal_id": signal.id,
            "signal_type": "counter.crash",
            "correlation_id": signal.id,
        }
        crash = next(r for r in caplog.records if "crashed" in r.getMessage())
        assert (crash.name, crash.levelno, context_of(crash)) == (
            "jido.runtime",
            logging.ERROR,
            {"agent_id": "c"},
        )
        assert crash.supervisor == "root"  # type: ignore[attr-defined]

    async def test_handling_error_record(self, caplog: pytest.LogCaptureFixture) -> None:
        """Under the log policy a failed signal is logged with the agent's and the signal's context."""
        with caplog.at_level(logging.WARNING, logger="jido.runtime"):
            async with open_runtime() as rt:
                ref = await rt.start_agent(Counter, id="c", error_policy="log")
                signal = sig("crash")
                with pytest.raises(ActionError):
                    await ref.call(signal)
        [record] = [r for r in caplog.records if "handling" in r.getMessage()]
        assert context_of(record)["signal_id"] == signal.id and context_of(record)["agent_id"] == "c"

    async def test_bus_dead_letter_record(
        self, caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A bus dead letter is logged with the subscription, offset and signal context."""
        signal = Signal(type="order.placed", source="/shop")
        with caplog.at_level(logging.WARNING, logger="jido.bus"):
            async with open_bus() as bus:
                sub = await bus.subscribe("**", name="flaky", max_attempts=1)
                await bus.publish(signal)
                delivery = await sub.next()
                await sub.nack(delivery.offset, "bad")
        [record] = [r for r in caplog.records if "dead-lettered" in r.getMessage()]
        assert context_of(record)["signal_id"] == signal.id
        assert (record.subscription, record.offset) == ("flaky", 1)  # type: ignore[attr-defined]

    async def test_nothing_printed(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Crashes, restarts and dead letters print nothing to stdout or stderr when logging is unset."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(ActionError):
                await ref.call(sig("crash"))
            rt.deliver("ghost", sig("add"))
            await ref.call(sig("add"))
        assert capsys.readouterr() == ("", "")
