"""The runtime's and the bus's events fire, with their documented fields, in the scenarios that cause them."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from jido.bus.bus import Retention, open_bus
from jido.errors import ActionError, AgentNotFoundError, NoRouteError, SupervisionError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.telemetry import Event, attach

from ..runtime.agents import Counter, Parent, Watcher, sig
from .conftest import Recorder


class TestSignalEvents:
    async def test_call_received_routed_handled(self, recorder: Recorder) -> None:
        """A call is received (call=True), routed to its actions and handled ok."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("add", by=2)
            await ref.call(signal)
        received = recorder.one("jido.signal.received", signal_id=signal.id)
        assert received["agent_id"] == "c" and received["call"] is True
        assert received["signal"] is signal and received["correlation_id"] == signal.id
        assert received["mailbox_depth"] == 0
        assert recorder.one("jido.signal.routed", signal_id=signal.id)["actions"] == ("add",)
        handled = recorder.one("jido.signal.handled", signal_id=signal.id)
        assert (handled["outcome"], handled["error"], handled["signal_type"]) == ("ok", None, "counter.add")

    async def test_cast_is_not_a_call(self, recorder: Recorder) -> None:
        """A cast is received with call=False."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("add")
            await ref.cast(signal)
            await ref.call(sig("add"))
        assert recorder.one("jido.signal.received", signal_id=signal.id)["call"] is False

    async def test_unroutable_under_log_policy(self, recorder: Recorder) -> None:
        """A signal no route matches is unroutable, then handled with outcome 'rejected' (the agent goes on)."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy="log")
            signal = sig("nope")
            with pytest.raises(NoRouteError):
                await ref.call(signal)
        unroutable = recorder.one("jido.signal.unroutable", signal_id=signal.id)
        assert isinstance(unroutable["error"], NoRouteError) and unroutable["ignored"] is False
        handled = recorder.one("jido.signal.handled", signal_id=signal.id)
        assert handled["outcome"] == "rejected" and handled["error"] is unroutable["error"]
        assert recorder.named("jido.signal.routed") == []

    async def test_unrequested_lifecycle_signal_is_ignored(self, recorder: Recorder) -> None:
        """A jido.* lifecycle signal the agent does not route is unroutable(ignored) and handled 'ignored'."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            notice = Signal(type="jido.agent.child.started", source="/test")
            await ref.cast(notice)
            await ref.call(sig("add"))
        assert recorder.one("jido.signal.unroutable", signal_id=notice.id)["ignored"] is True
        assert recorder.one("jido.signal.handled", signal_id=notice.id)["outcome"] == "ignored"

    async def test_crash_outcome(self, recorder: Recorder) -> None:
        """A signal whose action fails under the crash policy is handled with outcome 'crashed'."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("crash")
            with pytest.raises(ActionError):
                await ref.call(signal)
        handled = recorder.one("jido.signal.handled", signal_id=signal.id)
        assert handled["outcome"] == "crashed" and isinstance(handled["error"], ActionError)

    async def test_cancelled_outcome(
        self, recorder: Recorder, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A signal being handled when the runtime shuts down is handled with outcome 'cancelled'."""
        signal = sig("slow", seconds=100.0)
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.cast(signal)
            await trio.sleep(1)
        handled = recorder.one("jido.signal.handled", signal_id=signal.id)
        assert (handled["outcome"], handled["error"], handled["duration"]) == ("cancelled", None, 1.0)

    async def test_duration_is_trio_time(
        self, recorder: Recorder, autojump_clock: trio.testing.MockClock
    ) -> None:
        """duration is measured on the trio clock (virtual under MockClock)."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("slow", seconds=2.5)
            await ref.call(signal)
        assert recorder.one("jido.signal.handled", signal_id=signal.id)["duration"] == 2.5


class TestDeadLetterEvents:
    async def test_crash_dead_letter(self, recorder: Recorder) -> None:
        """The signal that crashed an agent is dead-lettered with reason 'crash' and its error."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("crash")
            with pytest.raises(ActionError) as caught:
                await ref.call(signal)
        letter = recorder.one("jido.signal.dead_lettered", signal_id=signal.id)
        assert (letter["agent_id"], letter["reason"], letter["error"]) == ("c", "crash", caught.value)
        assert letter["correlation_id"] == signal.id

    async def test_not_found_dead_letter(self, recorder: Recorder) -> None:
        """A signal delivered to an unknown agent is dead-lettered with reason 'not_found'."""
        async with open_runtime() as rt:
            signal = sig("add")
            assert rt.deliver("ghost", signal) is False
        letter = recorder.one("jido.signal.dead_lettered", signal_id=signal.id)
        assert letter["reason"] == "not_found" and isinstance(letter["error"], AgentNotFoundError)


class TestDirectiveEvents:
    async def test_emit_executed(self, recorder: Recorder) -> None:
        """An Emit directive is reported executed, ok, for the signal that produced it."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("announce")
            await ref.call(signal)
        executed = recorder.one("jido.directive.executed", signal_id=signal.id)
        assert (executed["directive"], executed["outcome"], executed["error"]) == ("Emit", "ok", None)
        assert executed["agent_id"] == "c" and executed["duration"] >= 0

    async def test_stop_executed(self, recorder: Recorder) -> None:
        """A Stop directive is reported executed before the agent stops."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("halt"))
            await ref.wait_stopped()
        assert recorder.one("jido.directive.executed", directive="Stop")["outcome"] == "ok"

    async def test_failed_directive(self, recorder: Recorder) -> None:
        """A directive that cannot be carried out is reported with outcome 'error' and its exception."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Parent, id="p")
            await ref.call(Signal(type="parent.spawn", source="/t", data={"tag": "w"}))
            again = Signal(type="parent.spawn", source="/t", data={"tag": "w"})
            with pytest.raises(ValueError, match=r"already has a child tagged 'w'"):
                await ref.call(again)
        executed = recorder.one("jido.directive.executed", signal_id=again.id)
        assert (executed["directive"], executed["outcome"]) == ("SpawnAgent", "error")
        assert isinstance(executed["error"], ValueError)


class TestAgentLifecycleEvents:
    async def test_started_and_stopped(self, recorder: Recorder) -> None:
        """An agent started then stopped emits started and stopped with its spec name and supervisor."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.stop("done")
        started = recorder.one("jido.agent.started", agent_id="c")
        assert started == {
            "agent_id": "c",
            "agent": "counter",
            "supervisor": "root",
            "parent_id": None,
            "tag": None,
        }
        stopped = recorder.one("jido.agent.stopped", agent_id="c")
        assert (stopped["reason"], stopped["failed"], stopped["restarts"]) == ("done", False, 0)

    async def test_child_started_names_parent(self, recorder: Recorder) -> None:
        """A child spawned by SpawnAgent is started with its parent's id and its tag."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Parent, id="p")
            await ref.call(Signal(type="parent.spawn", source="/t", data={"tag": "w"}))
        started = recorder.one("jido.agent.started", agent_id="p/w")
        assert (started["parent_id"], started["tag"], started["supervisor"]) == ("p", "w", "p.children")

    async def test_crash_then_restart(self, recorder: Recorder) -> None:
        """A crash emits crashed (with the error), then restarted with the restart count."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(ActionError):
                await ref.call(sig("crash"))
            await ref.call(sig("add"))
        crashed = recorder.one("jido.agent.crashed", agent_id="c")
        assert isinstance(crashed["error"], ActionError) and crashed["supervisor"] == "root"
        assert crashed["reason"].startswith("ActionError: action 'crash' failed")
        restarted = recorder.one("jido.agent.restarted", agent_id="c")
        assert (restarted["restarts"], restarted["reason"]) == (1, crashed["reason"])
        names = recorder.names()
        assert names.index("jido.agent.crashed") < names.index("jido.agent.restarted")

    async def test_escalation(self, recorder: Recorder) -> None:
        """Past its restart intensity a supervisor emits escalated, then fails."""
        with pytest.raises(SupervisionError):
            async with open_runtime(max_restarts=1, within=5, escalate=True) as rt:
                ref = await rt.start_agent(Counter, id="c")
                for _ in range(2):
                    ref.cast_nowait(sig("crash"))
                await trio.sleep_forever()
        escalated = recorder.one("jido.supervisor.escalated")
        assert {k: escalated[k] for k in ("supervisor", "child", "restarts", "max_restarts", "within")} == {
            "supervisor": "root",
            "child": "c",
            "restarts": 2,
            "max_restarts": 1,
            "within": 5.0,
        }
        assert isinstance(escalated["error"], ActionError)
        assert len(recorder.named("jido.agent.crashed")) == 2


class TestBusEvents:
    async def test_published_and_delivered(self, recorder: Recorder) -> None:
        """A publish emits published (with the number of matching subscriptions), a read emits delivered."""
        async with open_bus() as bus:
            sub = await bus.subscribe("order.*")
            await bus.subscribe("other.*")
            signal = Signal(type="order.placed", source="/shop")
            later = Signal(type="order.paid", source="/shop")
            await bus.publish([signal, later])
            delivery = await sub.next()
        published = recorder.one("jido.bus.published", signal_id=signal.id)
        assert (published["offset"], published["subscriptions"], published["signal_type"]) == (
            1,
            1,
            "order.placed",
        )
        delivered = recorder.one("jido.bus.delivered", signal_id=signal.id)
        assert delivered == {
            "subscription": sub.name,
            "offset": delivery.offset,
            "signal_id": signal.id,
            "signal_type": "order.placed",
            "lag": 1,
        }

    async def test_redelivered_after_ack_timeout(
        self, recorder: Recorder, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A delivery not acked in time is redelivered: attempt 2, error 'ack timeout'."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", ack_timeout=10)
            await bus.publish(Signal(type="order.placed", source="/shop"))
            await sub.next()
            await sub.next()
        redelivered = recorder.one("jido.bus.redelivered")
        assert (redelivered["attempt"], redelivered["error"], redelivered["offset"]) == (2, "ack timeout", 1)

    async def test_nack_then_dead_letter(
        self, recorder: Recorder, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Nacked deliveries are redelivered with the handler's error, then dead-lettered."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="flaky", max_attempts=2, backoff=1.0)
            await bus.publish(Signal(type="order.placed", source="/shop"))
            for _ in range(2):
                delivery = await sub.next()
                await sub.nack(delivery.offset, RuntimeError("handler down"))
        assert recorder.one("jido.bus.redelivered")["error"] == "RuntimeError: handler down"
        letter = recorder.one("jido.bus.dead_lettered")
        assert (letter["subscription"], letter["attempts"], letter["error"]) == (
            "flaky",
            2,
            "RuntimeError: handler down",
        )

    async def test_skipped_by_retention(
        self, recorder: Recorder, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Records removed by retention before a subscription read them are reported skipped."""
        async with open_bus(retention=Retention(max_entries=3, interval=1.0)) as bus:
            sub = await bus.subscribe("**", name="late", start_from="beginning")
            await bus.publish([Signal(type="order.placed", source="/shop") for _ in range(10)])
            await trio.sleep(1.5)
            await sub.next()
        assert recorder.one("jido.bus.skipped") == {"subscription": "late", "first": 1, "last": 7}

    async def test_agent_subscription_through_runtime(self, recorder: Recorder) -> None:
        """An emitted signal is published, delivered to the subscribed agent and handled there."""
        async with open_runtime() as rt:
            watcher = await rt.start_agent(Watcher, id="w")
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("announce"))
            await watcher.wait_state(lambda s: s.count == 1, timeout=5)
        [published] = recorder.named("jido.bus.published")
        assert published["signal_type"] == "counter.changed"
        delivered = recorder.one("jido.bus.delivered", signal_id=published["signal_id"])
        assert delivered["subscription"] == "agent:w:counter.changed"
        handled = recorder.one("jido.signal.handled", signal_id=published["signal_id"])
        assert (handled["agent_id"], handled["outcome"]) == ("w", "ok")


class TestFailingHandler:
    async def test_raising_handler_does_not_affect_the_runtime(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A handler raising on every event is detached at once; calls, crashes and restarts go on."""
        calls: list[str] = []

        def broken(event: Event) -> None:
            calls.append(event.name)
            raise RuntimeError("observer bug")

        attachment = attach("**", broken)
        with caplog.at_level(logging.ERROR, logger="jido.telemetry"):
            async with open_runtime() as rt:
                ref = await rt.start_agent(Counter, id="c")
                with pytest.raises(ActionError):
                    await ref.call(sig("crash"))
                agent = await ref.call(sig("add", by=3))
        assert agent.state.count == 3 and ref.restarts == 1
        assert not attachment.attached and len(calls) == 1
        assert [r.name for r in caplog.records if r.name == "jido.telemetry"] == ["jido.telemetry"]

    async def test_handler_raising_midway_keeps_signal_pairing(self, recorder: Recorder) -> None:
        """A handler that breaks on 'received' is detached; the signal is still handled and reported."""

        def broken(event: Event) -> None:
            raise RuntimeError("observer bug")

        attach("jido.signal.received", broken)
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("add")
            await ref.call(signal)
        assert recorder.one("jido.signal.handled", signal_id=signal.id)["outcome"] == "ok"
