"""Per-agent debug rings: off by default, switched at runtime, bounded, kept after the agent stops."""

from __future__ import annotations

import pytest

from jido.errors import ActionError, ClosedError
from jido.runtime.runtime import open_runtime
from jido.telemetry import attachments
from jido.telemetry.handlers import _BY_NAME
from jido.telemetry.ring import _RINGS, DebugRing

from ..runtime.agents import Counter, sig


class TestDebugRing:
    async def test_off_by_default(self) -> None:
        """A new agent records nothing and no handler is attached."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add"))
            assert ref.recent_events() == () and not ref.debugging
            assert _BY_NAME == {}

    async def test_switched_on_while_running(self) -> None:
        """Turned on while the agent runs, the ring records its next signals' events, oldest first."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add"))
            ref.debug(True)
            signal = sig("add", by=2)
            await ref.call(signal)
            events = ref.recent_events()
            assert ref.debugging
            assert [e.name for e in events] == [
                "jido.signal.received",
                "jido.signal.routed",
                "jido.action.start",
                "jido.action.stop",
                "jido.signal.handled",
            ]
            assert all(e.fields["signal_id"] == signal.id for e in events)

    async def test_only_its_own_agent(self) -> None:
        """A ring records the events of its agent, not of others."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            other = await rt.start_agent(Counter, id="d")
            ref.debug(True)
            await other.call(sig("add"))
            assert ref.recent_events() == ()

    async def test_switched_off_discards_and_detaches(self) -> None:
        """Turned off, the ring is emptied and the handler detached (no cost left)."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.debug(True)
            await ref.call(sig("add"))
            ref.debug(False)
            await ref.call(sig("add"))
            assert ref.recent_events() == () and attachments() == [] and _RINGS == {}

    async def test_bounded(self) -> None:
        """A ring keeps only the newest ``size`` events."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.debug(True, size=4)
            signals = [sig("add") for _ in range(3)]
            for signal in signals:
                await ref.call(signal)
            events = ref.recent_events()
            assert len(events) == 4 and events[-1].fields["signal_id"] == signals[-1].id

    async def test_resize_keeps_newest(self) -> None:
        """Calling debug(True, size) again resizes the ring, keeping its newest events."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.debug(True)
            await ref.call(sig("add"))
            ref.debug(True, size=2)
            assert [e.name for e in ref.recent_events()] == ["jido.action.stop", "jido.signal.handled"]
            await ref.call(sig("add"))
            assert len(ref.recent_events()) == 2

    async def test_crash_and_restart_are_recorded(self) -> None:
        """The ring shows the crash and the restart, and survives the restart."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.debug(True)
            with pytest.raises(ActionError):
                await ref.call(sig("crash"))
            await ref.call(sig("add"))
            names = [e.name for e in ref.recent_events()]
            assert {"jido.signal.dead_lettered", "jido.agent.crashed", "jido.agent.restarted"} <= set(names)

    async def test_kept_after_stop(self) -> None:
        """After the agent stops, its last events stay readable and recording ends."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.debug(True)
            await ref.stop("done")
            assert ref.recent_events()[-1].name == "jido.agent.stopped"
            assert not ref.debugging and _RINGS == {}
            with pytest.raises(ClosedError, match=r"^agent 'c' has stopped$"):
                ref.debug(True)

    async def test_bad_arguments(self) -> None:
        """debug() checks its arguments."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(TypeError, match=r"^debug\(enabled=\.\.\.\) must be a bool, got 1$"):
                ref.debug(1)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match=r"^debug ring size must be an int >= 1, got 0$"):
                ref.debug(True, size=0)
            assert not ref.debugging

    def test_ring_repr(self) -> None:
        """A ring's repr names its agent and how full it is."""
        ring = DebugRing.start("x", 3)
        try:
            assert repr(ring) == "<DebugRing 'x' 0/3>"
        finally:
            ring.stop()
