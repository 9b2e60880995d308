"""The Demand Tracker with two plugins mounted: an audit trail of the signals it handled, and a memory with TTLs.

The tracker itself (``examples/demand_tracker.py``) is not touched: ``with_plugins`` mounts the plugins into
its spec. The audit trail's slice and the memory's slice become fields of the tracker's state (``audit`` and
``memory``), so they are committed, stored and restored with its demand; the memory's TTLs run on the
runtime's clock.

Run it: ``python examples/demand_tracker_plugins.py``. It shows the mounted routes, drives the agent through the
pure core, then runs it on virtual time (trio's ``MockClock``), where a remembered promotion expires after its
TTL without the program waiting; last, a second runtime on the same state store resumes the tracker with its
trail and its memory.
"""

from __future__ import annotations

import pathlib
import tempfile
from typing import TYPE_CHECKING, Any, Final

import trio
import trio.testing

import jido
from dsl import spec_of
from jido.agent.spec import AgentSpec
from jido.plugins import Audit, Memory
from jido.store import SQLiteStateStore

if TYPE_CHECKING:  # checkers see the module as this repository lays it out
    from examples.demand_tracker import Boost, Cool, DemandTracker, demand_signal
else:
    try:
        from examples.demand_tracker import Boost, Cool, DemandTracker, demand_signal
    except (
        ImportError
    ):  # run as a script (python examples/demand_tracker_plugins.py): its folder is on sys.path
        from demand_tracker import Boost, Cool, DemandTracker, demand_signal

AUDIT: Final = Audit.configure(limit=5)
MEMORY: Final = Memory.configure(max_keys=100, max_ttl=3600.0)


def tracker_spec() -> AgentSpec[DemandTracker]:
    """The Demand Tracker's spec with the audit trail and the memory mounted."""
    spec = spec_of(DemandTracker)
    assert isinstance(spec, AgentSpec)
    return spec.with_plugins(AUDIT, MEMORY)


SPEC: Final = tracker_spec()


def remember(key: str, value: Any, ttl: float | None = None) -> jido.Signal:
    data: dict[str, Any] = {"key": key, "value": value}
    if ttl is not None:
        data["ttl"] = ttl
    return jido.Signal(type="memory.put", source="/demo/client", data=data)


def show_routes() -> None:
    for route in SPEC.routes:
        origin = f"plugin {route.plugin!r}" if route.plugin else "the agent"
        print(f"route {route.pattern:<22} -> {route.action.name:<14} ({origin})")


def trail(agent: Any) -> str:
    return ", ".join(f"{e.signal_type}:{e.outcome}" for e in AUDIT.state_of(agent).entries)


def pure_walkthrough() -> None:
    """The pure core: the plugins' hooks and actions run inside ``jido.handle``, without an event loop."""
    tracker = SPEC.new()
    for signal in (
        demand_signal("boost", amount=20),
        remember("promo", "spring", ttl=60),
        demand_signal("cool"),
    ):
        tracker, directives = jido.handle(tracker, signal)
        kinds = [type(d).__name__ for d in directives]
        print(f"pure {signal.type:<22} demand={tracker.state.demand:3} directives={kinds}")
    tracker, _ = jido.cmd(tracker, Boost(amount=5))  # no signal: the audit trail records handled signals only
    tracker, _ = jido.cmd(tracker, Cool(amount=1))
    print(f"pure trail: {trail(tracker)}")
    print(f"pure memory: {sorted(MEMORY.state_of(tracker).entries)}")


async def ttl_walkthrough() -> None:
    """Under the runtime, on virtual time: a remembered promotion expires after its TTL."""
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(SPEC, id="tracker")
        await ref.call(demand_signal("boost", amount=25))
        await ref.call(remember("promo", {"code": "SPRING", "pct": 10}, ttl=60))
        print(f"runtime remembers: {sorted(MEMORY.state_of(ref).entries)}")
        start = trio.current_time()
        state = await ref.wait_state(lambda s: "promo" not in s.memory.entries)
        print(f"runtime promo expired after {trio.current_time() - start:g} s of virtual time")
        print(f"runtime demand={state.demand} trail: {trail(ref)}")


async def store_walkthrough(folder: pathlib.Path) -> None:
    """With a state store: a second runtime resumes the tracker with its demand, trail and memory."""
    path = folder / "state.db"
    async with jido.open_runtime(store=SQLiteStateStore(path)) as rt:
        ref = await rt.start_agent(SPEC, id="tracker")
        await ref.call(demand_signal("boost", amount=10))
        await ref.call(remember("owner", "ops-team"))
    async with jido.open_runtime(store=SQLiteStateStore(path)) as rt:
        ref = await rt.start_agent(SPEC, id="tracker")
        agent = await ref.call(demand_signal("tick"))
        print(f"resumed demand={agent.state.demand} trail: {trail(agent)}")
        remembered = {key: entry.value for key, entry in MEMORY.state_of(agent).entries.items()}
        print(f"resumed memory: {remembered}")


def main() -> None:
    show_routes()
    pure_walkthrough()
    # Virtual time: the 60 s TTL passes at once. The store below does real I/O, so it runs on the real clock.
    trio.run(ttl_walkthrough, clock=trio.testing.MockClock(autojump_threshold=0))
    with tempfile.TemporaryDirectory() as folder:
        trio.run(store_walkthrough, pathlib.Path(folder))


if __name__ == "__main__":
    main()
